"""Sorting, paging, the detail endpoint, taxonomy, bad input and caching of the JSON API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import event

from hangar_bay.app import create_app
from hangar_bay.contracts import caching, listing
from hangar_bay.contracts.detail import detail_cache_key
from hangar_bay.contracts.http import etag_for, pack
from hangar_bay.contracts.schemas import ContractFilters
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.settings import Settings
from tests.contracts import factories
from tests.contracts.factories import (
    AUTOCANNON,
    DRAKE,
    RAVEN,
    RIFTER,
    VEXOR,
    Item,
    add,
    build_contract,
    make,
)
from tests.fakes import DownCache


async def _ids(client: httpx.AsyncClient, query: str) -> list[int]:
    response = await client.get(f"/api/v1/contracts?{query}")
    assert response.status_code == 200, response.text
    return [item["contract_id"] for item in response.json()["items"]]


# --- sorting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [
        ("price", "price", False),
        ("-price", "price", True),
        ("volume", "volume", False),
        ("-volume", "volume", True),
        ("date_issued", "date_issued", False),
        ("-date_issued", "date_issued", True),
        ("date_expired", "date_expired", False),
        ("-date_expired", "date_expired", True),
        ("price_per_ship", "price_per_ship", False),
        ("-price_per_ship", "price_per_ship", True),
    ],
)
async def test_sort_orders_by_the_field_then_contract_id(
    client: httpx.AsyncClient,
    universe: Database,
    monkeypatch: pytest.MonkeyPatch,
    sort: str,
    key: str,
    reverse: bool,
) -> None:
    # One clock for every contract: built across a second boundary, their issue and
    # expiry times would no longer tie (the factory's clock has whole seconds).
    frozen = factories.now()
    monkeypatch.setattr(factories, "now", lambda: frozen)
    # Pairs of equal values force the contract_id tie-break to decide.
    specs = [
        {"price": 30e6, "volume": 500.0, "hours": 3, "days": 5, "qty": 1},
        {"price": 10e6, "volume": 2500.0, "hours": 1, "days": 9, "qty": 2},
        {"price": 30e6, "volume": 500.0, "hours": 3, "days": 5, "qty": 1},
        {"price": 20e6, "volume": 1500.0, "hours": 2, "days": 7, "qty": 4},
        {"price": 10e6, "volume": 2500.0, "hours": 1, "days": 9, "qty": 2},
    ]
    contracts = [
        build_contract(
            items=[Item(VEXOR, s["qty"])],
            price=s["price"],
            volume=s["volume"],
            issued_ago=dt.timedelta(hours=s["hours"]),
            expires_in=dt.timedelta(days=s["days"]),
        )
        for s in specs
    ]
    await add(universe, *contracts)
    body = (await client.get(f"/api/v1/contracts?sort={sort}")).json()
    got = [(item[key], item["contract_id"]) for item in body["items"]]
    expected = sorted(got, reverse=reverse)
    assert got == expected
    assert len({value for value, _ in got}) < len(got), "the data must contain ties"


async def test_default_sort_is_newest_first(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    ids = await _ids(client, "size=3")
    # The market fixture issues its contracts newest first in this order.
    assert ids == [market["rifter_jita"], market["drake_fit"], market["vexor_amarr"]]


async def test_missing_prices_sort_last_both_ways(
    client: httpx.AsyncClient, universe: Database
) -> None:
    priced = build_contract(items=[Item(RIFTER)], price=5e6)
    unpriced = build_contract(items=[Item(RIFTER)], price=None)
    await add(universe, priced, unpriced)
    assert await _ids(client, "sort=price") == [priced.contract_id, unpriced.contract_id]
    assert await _ids(client, "sort=-price") == [priced.contract_id, unpriced.contract_id]


# --- paging -----------------------------------------------------------------------------


async def test_pages_partition_the_results_without_overlap(
    client: httpx.AsyncClient, universe: Database
) -> None:
    same_time = dt.timedelta(hours=1)
    contracts = [
        build_contract(items=[Item(RIFTER)], price=1e6, issued_ago=same_time) for _ in range(5)
    ]
    await add(universe, *contracts)
    pages = [await _ids(client, f"sort=price&size=2&page={n}") for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [2, 2, 1]
    flat = [cid for page in pages for cid in page]
    assert flat == sorted(c.contract_id for c in contracts)

    last = (await client.get("/api/v1/contracts?size=2&page=3")).json()
    assert (last["total"], last["pages"], last["page"]) == (5, 3, 3)
    past = (await client.get("/api/v1/contracts?size=2&page=4")).json()
    assert past["items"] == []
    assert past["total"] == 5
    exact = (await client.get("/api/v1/contracts?size=5")).json()
    assert (len(exact["items"]), exact["pages"]) == (5, 1)


async def test_size_limits(client: httpx.AsyncClient, universe: Database) -> None:
    await add(universe, *[build_contract(items=[Item(RIFTER)]) for _ in range(3)])
    assert len(await _ids(client, "size=200")) == 3
    assert len(await _ids(client, "size=1")) == 1
    default = (await client.get("/api/v1/contracts")).json()
    assert default["size"] == 50
    for bad in ("size=201", "size=0", "page=0", "page=10001"):
        response = await client.get(f"/api/v1/contracts?{bad}")
        assert response.status_code == 422, bad


async def test_empty_database_gives_an_empty_page(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/contracts")).json()
    assert body == {
        "total": 0,
        "page": 1,
        "size": 50,
        "pages": 1,
        "counts": {"item_exchange": 0, "auction": 0, "courier": 0, "loan": 0},
        "items": [],
    }


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("size=abc", "size"),
        ("page=-1", "page"),
        ("security=lowsec", "security"),
        ("sort=cheapest", "sort"),
        ("sort=--price", "sort"),
        ("min_price=-5", "min_price"),
        ("min_price=nan", "min_price"),
        ("max_price=1e99", "max_price"),
        ("type_id=drake", "type_id"),
        ("type_id=0", "type_id"),
        ("region_id=99999999999999999999", "region_id"),
        ("contract_type=want_to_buy", "contract_type"),
        ("bpc=both", "bpc"),
        ("min_me=11", "min_me"),
        ("min_te=21", "min_te"),
        ("hull_only=perhaps", "hull_only"),
        ("ships_only=maybe", "ships_only"),
        ("q=" + "x" * 101, "q"),
        ("q=" + "+".join("abcdefghi"), "q"),
    ],
)
async def test_bad_parameter_is_422_naming_it(
    client: httpx.AsyncClient, query: str, field: str
) -> None:
    response = await client.get(f"/api/v1/contracts?{query}")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert [err["loc"][:2] for err in body["detail"]] == [["query", field]]


async def test_empty_values_mean_any(client: httpx.AsyncClient, market: dict[str, int]) -> None:
    # What a plain GET form sends when nothing is filled in.
    query = "ships_only=&type_id=&security=&min_price=&max_price=&q=&sort=&page=&size=&bpc="
    body = (await client.get(f"/api/v1/contracts?{query}")).json()
    assert body["total"] == 10


async def test_unknown_parameters_are_ignored(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    body = (await client.get("/api/v1/contracts?utm_source=discord")).json()
    assert body["total"] == 10


# --- detail -----------------------------------------------------------------------------


async def test_detail_has_offered_and_requested_items_and_bids(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    body = (await client.get(f"/api/v1/contracts/{market['requests']}")).json()
    assert body["status"] == "outstanding"
    items = {(i["type_id"], i["is_included"]) for i in body["items"]}
    assert items == {(DRAKE, True), (RAVEN, False)}
    assert body["issuer_name"] == "Chribba"
    assert body["issuer_corporation_name"] == "Otherworld Enterprises"

    auction = (await client.get(f"/api/v1/contracts/{market['auction_raven']}")).json()
    assert auction["current_bid"] == 120e6
    assert [b["amount"] for b in auction["bids"]] == [120e6, 110e6]
    assert auction["buyout"] == 200e6

    courier = (await client.get(f"/api/v1/contracts/{market['courier']}")).json()
    assert courier["end_location_name"] == "Amarr VIII (Oris) - Emperor Family Academy"
    assert courier["items"] == []
    assert courier["reward"] == 5e6


async def test_ended_contract_is_still_served_marked_ended(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    ended = await client.get(f"/api/v1/contracts/{market['ended']}")
    assert ended.status_code == 200
    assert ended.json()["status"] == "ended"
    assert ended.json()["ended_at"] is not None
    expired = (await client.get(f"/api/v1/contracts/{market['expired']}")).json()
    assert expired["status"] == "expired"


async def test_unknown_contract_is_404(client: httpx.AsyncClient, universe: Database) -> None:
    response = await client.get("/api/v1/contracts/123456789")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "contract 123456789"}


@pytest.mark.parametrize("bad", ["abc", "0", "-3", "99999999999999999999"])
async def test_bad_contract_id_is_422(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.get(f"/api/v1/contracts/{bad}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "contract_id"]


async def test_hostile_title_is_returned_verbatim_as_json(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    body = (await client.get(f"/api/v1/contracts/{market['hostile']}")).json()
    assert body["title"] == "<script>alert('x')</script> Ræven ☃ ünïcode & co"


# --- taxonomy ---------------------------------------------------------------------------


async def test_taxonomy_lists_ship_groups_and_types_on_offer(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    body = (await client.get("/api/v1/taxonomy")).json()
    groups = {g["name"]: {t["name"]: t["contracts"] for t in g["types"]} for g in body["groups"]}
    # Raven: raven_low, auction_raven, hostile (requested Ravens do not count);
    # Rifter: the ended and expired ones do not count.
    assert groups == {
        "Battleship": {"Raven": 3},
        "Combat Battlecruiser": {"Drake": 3},
        "Cruiser": {"Vexor": 2},
        "Frigate": {"Rifter": 2},
    }
    assert [g["name"] for g in body["groups"]] == sorted(groups)


# --- caching ----------------------------------------------------------------------------


async def test_list_is_cached_until_the_ingestion_generation_changes(
    client: httpx.AsyncClient, universe: Database, cache: ResilientCache
) -> None:
    await make(universe, items=[Item(RIFTER)])
    assert (await client.get("/api/v1/contracts")).json()["total"] == 1
    await make(universe, items=[Item(RIFTER)])
    # Same sweep: the cached answer stands.
    assert (await client.get("/api/v1/contracts")).json()["total"] == 1
    # A different filter set is computed fresh, its counts included: it never borrows
    # another filter set's counts, though both match the same contracts here.
    assert (await client.get("/api/v1/contracts?ships_only=false")).json()["total"] == 2
    assert (await client.get(f"/api/v1/contracts?type_id={RIFTER}")).json()["total"] == 2
    await cache.incr("ingest:generation")
    assert (await client.get("/api/v1/contracts")).json()["total"] == 2


async def test_equivalent_queries_share_one_cache_entry() -> None:
    a = ContractFilters.from_multi([("group_id", "26"), ("group_id", "25"), ("q", " Drake  ")])
    b = ContractFilters.from_multi([("q", "drake"), ("group_id", "25"), ("group_id", "26")])
    assert a.cache_key() == b.cache_key()
    assert a.cache_key() != ContractFilters(group_id=[25]).cache_key()


async def test_etag_and_cache_control(client: httpx.AsyncClient, market: dict[str, int]) -> None:
    first = await client.get("/api/v1/contracts")
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = await client.get("/api/v1/contracts", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = await client.get("/api/v1/contracts?sort=price", headers={"If-None-Match": etag})
    assert other.status_code == 200
    detail = await client.get(f"/api/v1/contracts/{market['rifter_jita']}")
    revalidated = await client.get(
        f"/api/v1/contracts/{market['rifter_jita']}",
        headers={"If-None-Match": detail.headers["etag"]},
    )
    assert revalidated.status_code == 304


async def test_a_cache_hit_sends_the_stored_bytes_and_etag(
    client: httpx.AsyncClient, universe: Database, cache: ResilientCache
) -> None:
    await make(universe, items=[Item(RIFTER)])
    first = await client.get("/api/v1/contracts")
    gen = await caching.generation(cache)
    key = caching.list_cache_key(ContractFilters())
    stored = await cache.get(key)
    assert stored == f"{gen}\n".encode() + pack(first.content, first.headers["etag"])
    # Replace the entry: a hit must send it as stored, not re-serialise or re-hash.
    await cache.set(key, f'{gen}\n"planted-etag"\n{{"planted": true}}'.encode(), ttl=60)
    hit = await client.get("/api/v1/contracts")
    assert hit.content == b'{"planted": true}'
    assert hit.headers["etag"] == '"planted-etag"'
    assert hit.headers["content-type"] == "application/json"
    # The entry is stamped with its generation: after a sweep it is never served.
    await cache.incr("ingest:generation")
    fresh = await client.get("/api/v1/contracts")
    assert fresh.json()["total"] == 1
    assert fresh.headers["etag"] == first.headers["etag"]


async def test_revalidation_is_answered_from_the_cached_etag(
    client: httpx.AsyncClient,
    universe: Database,
    cache: ResilientCache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await make(universe, items=[Item(RIFTER)])
    etag = (await client.get("/api/v1/contracts")).headers["etag"]

    async def no_query(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("a cache hit must not query the database")

    # The name the cache layer calls on a miss.
    monkeypatch.setattr(caching, "list_page", no_query)
    again = await client.get("/api/v1/contracts", headers={"If-None-Match": f'W/"x", {etag}'})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag


async def test_an_entry_that_is_not_packed_is_recomputed(
    client: httpx.AsyncClient, universe: Database, cache: ResilientCache
) -> None:
    await make(universe, items=[Item(RIFTER)])
    gen = await caching.generation(cache)
    key = caching.list_cache_key(ContractFilters())
    # Not an entry of ours: bare JSON, or a stamp without an ETag.
    await cache.set(key, b'{"total": 99}', ttl=60)
    assert (await client.get("/api/v1/contracts")).json()["total"] == 1
    await cache.set(key, f'{gen}\n{{"total": 99}}'.encode(), ttl=60)
    response = await client.get("/api/v1/contracts")
    assert response.json()["total"] == 1
    assert response.headers["etag"] == etag_for(response.content)


async def test_detail_is_cached_packed_until_the_generation_changes(
    client: httpx.AsyncClient, universe: Database, cache: ResilientCache
) -> None:
    cid = (await make(universe, items=[Item(RIFTER)], title="Before")).contract_id
    first = await client.get(f"/api/v1/contracts/{cid}")
    assert first.json()["title"] == "Before"
    assert first.headers["etag"] == etag_for(first.content)
    gen = await caching.generation(cache)
    key = detail_cache_key(cid)
    await cache.set(key, f'{gen}\n"planted"\n{{"title": "Planted"}}'.encode(), ttl=60)
    assert (await client.get(f"/api/v1/contracts/{cid}")).json()["title"] == "Planted"
    await cache.incr("ingest:generation")
    assert (await client.get(f"/api/v1/contracts/{cid}")).json()["title"] == "Before"


# --- query count (no N+1) -----------------------------------------------------------------


async def test_a_page_costs_two_queries_whatever_its_size(universe: Database) -> None:
    contracts = [
        build_contract(items=[Item(DRAKE), Item(AUTOCANNON, 3), Item(VEXOR)]) for _ in range(30)
    ]
    await add(universe, *contracts)
    statements: list[str] = []

    def count(*args: Any) -> None:
        if not str(args[2]).startswith("SET LOCAL"):
            statements.append(str(args[2]))

    engine = universe.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for size in (1, 30):
            statements.clear()
            async with universe.session() as session:
                page = await listing.list_contracts(session, ContractFilters(size=size))
            assert len(page.items) == size
            assert all(len(item.ships) == 2 for item in page.items)
            # The counts, then the page with its shown item lines.
            assert len(statements) == 2, statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_openapi_documents_the_parameters(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/api/v1/contracts"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"ships_only", "type_id", "group_id", "security", "q", "sort", "page", "size"} <= names
    assert "/api/v1/contracts/{contract_id}" in spec["paths"]
    assert "/api/v1/taxonomy" in spec["paths"]


async def test_browsing_survives_a_cache_outage(
    settings: Settings, universe: Database, market: dict[str, int]
) -> None:
    app = create_app(settings, database=universe, cache=ResilientCache(DownCache()))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            listing = await http.get("/api/v1/contracts")
            assert listing.status_code == 200
            assert listing.json()["total"] == 10
            # Nothing cached, yet the ETag still describes the body and revalidates.
            assert listing.headers["etag"] == etag_for(listing.content)
            revalidated = await http.get(
                "/api/v1/contracts", headers={"If-None-Match": listing.headers["etag"]}
            )
            assert revalidated.status_code == 304
            page = await http.get("/")
            assert page.status_code == 200
            assert page.headers["etag"] == etag_for(page.content)
            assert (await http.get(f"/contracts/{market['rifter_jita']}")).status_code == 200


async def test_list_and_detail_write_timestamps_alike(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    listed = (await client.get(f"/api/v1/contracts?type_id={VEXOR}&region_id=10000043")).json()
    detail = (await client.get(f"/api/v1/contracts/{market['vexor_amarr']}")).json()
    assert listed["items"][0]["date_issued"] == detail["date_issued"]
    assert dt.datetime.fromisoformat(detail["date_expired"]).tzinfo is not None


async def test_a_one_value_parameter_given_twice_is_refused(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    for path in ("/api/v1/contracts", "/api/v1/contracts.csv"):
        response = await client.get(path, params=[("q", "rifter"), ("q", "raven")])
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "q"]
    # Repeatable parameters stay repeatable.
    ok = await client.get("/api/v1/contracts", params=[("region_id", 10000002), ("region_id", 1)])
    assert ok.status_code == 200


async def test_a_one_value_parameter_given_twice_is_refused_once_however_often(
    client: httpx.AsyncClient,
) -> None:
    # Which of two sorts was meant is a guess: neither is taken.
    twice = await client.get("/api/v1/contracts?sort=price&sort=-price")
    assert twice.status_code == 422
    (error,) = twice.json()["detail"]
    assert error["loc"] == ["query", "sort"]
    assert "more than once" in error["msg"]
    # A thousand repeats are still one error per parameter, not a thousand.
    flood = "&".join(f"q=a{n}" for n in range(999))
    response = await client.get(f"/api/v1/contracts?{flood}&page=1&page=2")
    assert response.status_code == 422
    assert sorted(tuple(e["loc"]) for e in response.json()["detail"]) == [
        ("query", "page"),
        ("query", "q"),
    ]
    # Plural parameters repeat by design.
    assert (await client.get("/api/v1/contracts?region_id=1&region_id=2")).status_code == 200


async def test_whole_number_parameters_are_written_as_digits(client: httpx.AsyncClient) -> None:
    # Pydantic alone would read "5.0", "1_0" and "+1" as whole numbers.
    for query, field in (
        ("type_id=16238.0", "type_id"),
        ("size=5.0", "size"),
        ("region_id=%2B10000002", "region_id"),
        ("min_runs=1_0&ships_only=false", "min_runs"),
    ):
        response = await client.get(f"/api/v1/contracts?{query}")
        assert response.status_code == 422, query
        assert response.json()["detail"][0]["loc"] == ["query", field]
    assert (await client.get("/api/v1/contracts?type_id=16238&size=5")).status_code == 200
