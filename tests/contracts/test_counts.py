"""The counts cache: one exact count per view and generation, shared by its pages and sorts.

The tests change the data *without* bumping the generation, as a sweep in progress
does, so that a count taken from the cache and a count computed afresh differ and can
be told apart in the response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.app import create_app
from hangar_bay.contracts import caching, listing
from hangar_bay.contracts.schemas import NOT_COUNTED, ContractFilters
from hangar_bay.core.cache import CacheError, MemoryCache, ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.settings import Settings
from tests.contracts.factories import (
    AMARR_8,
    DRAKE,
    RIFTER,
    Item,
    add,
    build_contract,
    make,
)
from tests.fakes import DownCache


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """Every SQL statement the database runs inside the block."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def counting(seen: list[str]) -> list[str]:
    # The per-type counts of a view (a summary's item counts are subqueries of the page).
    return [s for s in seen if "group by contracts.type" in s.lower()]


async def _get(client: httpx.AsyncClient, query: str = "") -> dict[str, Any]:
    response = await client.get(f"/api/v1/contracts?{query}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _ships(database: Database, n: int) -> None:
    await add(database, *[build_contract(items=[Item(RIFTER)]) for _ in range(n)])


# --- sharing within a view and a generation ------------------------------------------------


async def test_pages_sorts_and_types_of_a_view_share_its_counts(
    client: httpx.AsyncClient, universe: Database
) -> None:
    await _ships(universe, 3)
    assert (await _get(client))["total"] == 3
    # A contract arrives mid-sweep: the generation has not moved.
    await _ships(universe, 1)
    with statements(universe) as seen:
        by_price = await _get(client, "sort=price")
        second_page = await _get(client, "sort=-price&page=2&size=2")
        exchanges = await _get(client, "contract_type=item_exchange&sort=volume")
    # The rows are new (four of them), the counts are the view's, taken once.
    assert len(by_price["items"]) == 4
    assert by_price["total"] == second_page["total"] == exchanges["total"] == 3
    assert by_price["counts"]["item_exchange"] == 3
    assert counting(seen) == []
    assert seen, "the pages themselves were computed"


async def test_a_new_generation_counts_again(
    client: httpx.AsyncClient, universe: Database, cache: ResilientCache
) -> None:
    await _ships(universe, 2)
    assert (await _get(client, "sort=price"))["total"] == 2
    await _ships(universe, 1)
    assert (await _get(client, "sort=-price"))["total"] == 2
    await cache.incr(caching.GENERATION_KEY)
    with statements(universe) as seen:
        body = await _get(client, "sort=volume")
    assert body["total"] == 3
    assert len(counting(seen)) == 1


async def test_different_filters_never_share_counts(
    client: httpx.AsyncClient, universe: Database
) -> None:
    await _ships(universe, 2)
    assert (await _get(client))["total"] == 2
    # One more ship, and a courier, both matched by the views below.
    await _ships(universe, 1)
    await make(universe, type="courier", price=0.0, reward=1e6, end_location=AMARR_8)
    assert (await _get(client, "ships_only=false"))["total"] == 4
    assert (await _get(client, f"type_id={RIFTER}"))["total"] == 3
    assert (await _get(client, "region_id=10000002"))["total"] == 3
    assert (await _get(client, "q=rifter"))["total"] == 3
    assert (await _get(client, "max_price=1000000000"))["total"] == 3
    # And the first view still has its own.
    assert (await _get(client, "page=2"))["total"] == 2


def _other_value(name: str) -> Any:
    """A valid, non-default value for each filter of ContractFilters."""
    values: dict[str, Any] = {
        "ships_only": False,
        "type_id": [DRAKE],
        "group_id": [26],
        "region_id": [10000002],
        "security": ["low"],
        "min_price": 1.0,
        "max_price": 2.0,
        "contract_type": ["auction"],
        "bpc": "copies",
        "min_runs": 2,
        "max_runs": 3,
        "min_me": 4,
        "min_te": 5,
        "hull_only": True,
        "issuer_id": [90000001],
        "q": "drake",
        "sort": "price",
        "page": 3,
        "size": 10,
        # value filters (issue 12)
        "min_discount": 0.2,
        "flag": ["bait_price"],
        "no_flags": True,
    }
    return values[name]


@pytest.mark.parametrize("name", list(ContractFilters.model_fields))
def test_every_filter_but_order_and_window_has_counts_of_its_own(name: str) -> None:
    default = ContractFilters()
    changed = ContractFilters.model_validate({name: _other_value(name)})
    if name in NOT_COUNTED:
        assert changed.counts_key() == default.counts_key()
    else:
        # A filter added later is counted apart unless deliberately listed as not counted.
        assert changed.counts_key() != default.counts_key()
    assert changed.cache_key() != default.cache_key()


# --- warm_counts ---------------------------------------------------------------------------


async def test_warm_counts_fills_what_the_default_views_use(
    client: httpx.AsyncClient, universe: Database, cache: ResilientCache
) -> None:
    await _ships(universe, 2)
    await make(universe, type="courier", price=0.0, reward=1e6, end_location=AMARR_8)
    # What a finished sweep does: bump the generation, then count the default views.
    await cache.incr(caching.GENERATION_KEY)
    await caching.warm_counts(universe, cache)
    # More data without a new generation: a count taken now would include it.
    await _ships(universe, 3)
    with statements(universe) as seen:
        ships = await _get(client)
        everything = await _get(client, "ships_only=false&page=2&size=1")
        everything_by_price = await _get(client, "ships_only=false&sort=price")
    assert counting(seen) == []
    assert ships["total"] == 2
    assert ships["counts"] == {"item_exchange": 2, "auction": 0, "courier": 0, "loan": 0}
    assert everything["total"] == everything_by_price["total"] == 3
    assert everything["counts"]["courier"] == 1
    # A filtered view is not warmed: it counts, and sees every contract.
    with statements(universe) as seen:
        assert (await _get(client, f"type_id={RIFTER}"))["total"] == 5
    assert len(counting(seen)) == 1


async def test_warm_counts_matches_a_fresh_count(universe: Database, cache: ResilientCache) -> None:
    await _ships(universe, 2)
    await make(universe, type="auction", items=[Item(DRAKE)], price=1e6, buyout=2e6)
    await make(universe, items=[Item(RIFTER)], ended=True)
    await cache.incr(caching.GENERATION_KEY)
    await caching.warm_counts(universe, cache)
    gen = await caching.generation(cache)
    for f in caching.DEFAULT_VIEWS:
        _, (payload,) = await caching.read_stamped(cache, [caching.counts_cache_key(f)])
        assert payload is not None
        async with universe.session() as session:
            fresh = await listing.list_page(session, f)
        assert caching._decode_counts(payload) == fresh["counts"]
    # Stamped with the generation it was counted for: the next one does not use it.
    await cache.incr(caching.GENERATION_KEY)
    _, (stale,) = await caching.read_stamped(
        cache, [caching.counts_cache_key(caching.DEFAULT_VIEWS[0])]
    )
    assert stale is None
    assert gen == await caching.generation(cache) - 1


async def test_warm_counts_keeps_counts_already_there(
    universe: Database, cache: ResilientCache
) -> None:
    await _ships(universe, 1)
    await caching.warm_counts(universe, cache)
    with statements(universe) as seen:
        await caching.warm_counts(universe, cache)
    assert seen == []


class _WriteDownCache(MemoryCache):
    """Reads work, writes fail: the outage starts between the two."""

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        raise CacheError("down")


class _BrokenDatabase:
    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        raise ConnectionRefusedError("database down")
        yield  # pragma: no cover


async def test_warm_counts_never_raises(universe: Database) -> None:
    await _ships(universe, 1)
    # Each returns quietly; the requests then count for themselves.
    await caching.warm_counts(universe, DownCache())  # type: ignore[arg-type]
    await caching.warm_counts(universe, ResilientCache(DownCache()))  # type: ignore[arg-type]
    await caching.warm_counts(universe, _WriteDownCache())
    await caching.warm_counts(_BrokenDatabase(), MemoryCache())  # type: ignore[arg-type]


# --- outages and bad entries ------------------------------------------------------------------


class _MgetDownCache(MemoryCache):
    """Everything works but the multi-get, the read of every browse request."""

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        raise CacheError("down")


async def test_a_failing_multi_get_degrades_to_computing(
    settings: Settings, universe: Database
) -> None:
    await _ships(universe, 2)
    app = create_app(settings, database=universe, cache=ResilientCache(_MgetDownCache()))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            for _ in range(2):
                with statements(universe) as seen:
                    assert (await _get(http, "sort=price"))["total"] == 2
                # Nothing can be read back, so each request counts.
                assert len(counting(seen)) == 1
            assert (await http.get("/")).status_code == 200


async def test_a_foreign_counts_entry_is_recounted(
    client: httpx.AsyncClient, universe: Database, cache: ResilientCache
) -> None:
    await _ships(universe, 2)
    gen = await caching.generation(cache)
    key = caching.counts_cache_key(ContractFilters())
    for junk in (b"not json", b'{"item_exchange": "many"}', b"[1, 2]"):
        await cache.set(key, f"{gen}\n".encode() + junk, ttl=60)
        await cache.delete(caching.list_cache_key(ContractFilters()))
        assert (await _get(client))["total"] == 2


# --- the hit path ------------------------------------------------------------------------------


async def test_a_cache_hit_never_touches_the_database(
    client: httpx.AsyncClient, universe: Database
) -> None:
    contract = await make(universe, items=[Item(RIFTER)])
    paths = ["/api/v1/contracts", "/api/v1/contracts?ships_only=false", "/"]
    paths.append(f"/api/v1/contracts/{contract.contract_id}")
    checkouts: list[object] = []

    def checkout(*args: object) -> None:
        checkouts.append(args)

    for path in paths:
        assert (await client.get(path)).status_code == 200
    engine = universe.engine.sync_engine
    event.listen(engine, "checkout", checkout)
    try:
        with statements(universe) as seen:
            for path in paths:
                assert (await client.get(path)).status_code == 200
    finally:
        event.remove(engine, "checkout", checkout)
    assert seen == []
    assert checkouts == []
