"""The detail views cached like browse: the contract page, the type page, the contract
JSON and the price history. A hit opens no database session, a new generation is seen at
once, an unknown contract is not remembered, and no pilot's data reaches a shared copy."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import orjson
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.accounts.sessions import SESSION_COOKIE
from hangar_bay.accounts.testing import LoggedIn, log_in
from hangar_bay.contracts import service
from hangar_bay.contracts.caching import GENERATION_KEY
from hangar_bay.contracts.http import etag_for
from hangar_bay.contracts.schemas import ContractDetail
from hangar_bay.core import stale
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.models import Contract
from hangar_bay.web.router import contract_page_key, type_page_key
from tests.contracts.factories import RIFTER, Item, make, next_id


@pytest.fixture
def sessions(universe: Database, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry per database session opened from now on (the app's database object)."""
    opened: list[str] = []
    real: Callable[[], AbstractAsyncContextManager[AsyncSession]] = universe.session

    def counting() -> AbstractAsyncContextManager[AsyncSession]:
        opened.append("session")
        return real()

    monkeypatch.setattr(universe, "session", counting)
    return opened


def _csrf_fields(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]+)"', html))


async def _pilot(database: Database, number: int, name: str) -> LoggedIn:
    return await log_in(
        database, character_id=91000000 + number, character_name=name, owner_hash=f"owner-{number}"
    )


# --- a hit opens no session ---------------------------------------------------------------


async def test_a_contract_page_hit_opens_no_session(
    client: httpx.AsyncClient, market: dict[str, int], sessions: list[str]
) -> None:
    url = f"/contracts/{market['drake_fit']}?sort=price"
    first = await client.get(url)
    assert first.status_code == 200
    assert sessions, "the miss reads the contract"
    sessions.clear()
    again = await client.get(url)
    assert again.status_code == 200
    assert sessions == []
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"] == etag_for(first.content)
    assert again.headers["cache-control"] == "public, max-age=60"
    assert again.headers["vary"] == "Cookie"
    # Another "back to results" link is another page, rendered from the contract's
    # cached JSON: still no query.
    other = await client.get(f"/contracts/{market['drake_fit']}?sort=-price")
    assert 'href="/?sort=-price"' in other.text
    assert sessions == []
    # A browser revalidating its copy gets a 304 from the cache alone.
    revalidated = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert revalidated.status_code == 304
    assert sessions == []


async def test_the_page_renders_from_the_contract_json_the_api_cached(
    client: httpx.AsyncClient, market: dict[str, int], sessions: list[str]
) -> None:
    cid = market["auction_raven"]
    api = await client.get(f"/api/v1/contracts/{cid}")
    assert api.status_code == 200
    sessions.clear()
    page = await client.get(f"/contracts/{cid}")
    assert page.status_code == 200
    assert "120,000,000.00 ISK" in page.text  # the current bid
    assert sessions == []
    assert (await client.get(f"/api/v1/contracts/{cid}")).content == api.content
    assert sessions == []


async def test_every_contract_reads_back_from_its_cached_json_unchanged(
    universe: Database, market: dict[str, int]
) -> None:
    # The page renders from the cached JSON as readily as from the database: the same
    # model, whatever the contract's type, items, bids or state.
    async with universe.session() as session:
        for cid in market.values():
            detail = await service.get_contract(session, cid)
            assert detail is not None
            cached = orjson.dumps(detail.model_dump())
            assert ContractDetail.model_validate_json(cached) == detail


async def test_type_page_and_price_history_hits_open_no_session(
    client: httpx.AsyncClient, market: dict[str, int], sessions: list[str]
) -> None:
    for url in (f"/types/{RIFTER}?days=30", f"/api/v1/types/{RIFTER}/price-history?days=30"):
        sessions.clear()
        first = await client.get(url)
        assert first.status_code == 200, url
        assert sessions, url
        sessions.clear()
        again = await client.get(url)
        assert sessions == [], url
        assert again.content == first.content
        assert again.headers["etag"] == etag_for(again.content)
        assert again.headers["cache-control"] == "public, max-age=60"


# --- freshness ----------------------------------------------------------------------------


async def test_a_cached_contract_page_follows_the_generation(
    client: httpx.AsyncClient, universe: Database, cache: ResilientCache
) -> None:
    cid = (await make(universe, items=[Item(RIFTER)], title="Before")).contract_id
    assert "Before" in (await client.get(f"/contracts/{cid}")).text
    async with universe.session() as session:
        await session.execute(
            update(Contract).where(Contract.contract_id == cid).values(title="After")
        )
    # Within a generation the copy stands; the sweep that changed it bumps the generation.
    assert "Before" in (await client.get(f"/contracts/{cid}")).text
    await cache.incr(GENERATION_KEY)
    page = await client.get(f"/contracts/{cid}")
    assert "After" in page.text
    assert "Before" not in page.text
    assert (await client.get(f"/api/v1/contracts/{cid}")).json()["title"] == "After"


async def test_an_unknown_contract_is_found_once_a_sweep_brings_it(
    client: httpx.AsyncClient, universe: Database, cache: ResilientCache
) -> None:
    cid = next_id()
    missing = await client.get(f"/contracts/{cid}")
    assert missing.status_code == 404
    assert "Contract not found" in missing.text
    assert (await client.get(f"/api/v1/contracts/{cid}")).status_code == 404
    await make(universe, contract_id=cid, items=[Item(RIFTER)], title="Arrived")
    await cache.incr(GENERATION_KEY)  # as the sweep that stored it does
    page = await client.get(f"/contracts/{cid}")
    assert page.status_code == 200
    assert "Arrived" in page.text
    assert (await client.get(f"/api/v1/contracts/{cid}")).json()["title"] == "Arrived"


# --- pilots -------------------------------------------------------------------------------


async def test_no_pilot_data_reaches_a_shared_contract_page(
    client: httpx.AsyncClient, universe: Database, market: dict[str, int], cache: ResilientCache
) -> None:
    alpha = await _pilot(universe, 1, "Pilot Alpha")
    bravo = await _pilot(universe, 2, "Pilot Bravo")
    cid = market["drake_fit"]
    url = f"/contracts/{cid}?sort=price"
    # Pilot A is the first to ask: the shared copy is written during their request.
    client.cookies.set(SESSION_COOKIE, alpha.cookie)
    seen_a = await client.get(url)
    assert "Pilot Alpha" in seen_a.text
    assert 'action="/me/watchlist"' in seen_a.text
    assert 'inputmode="decimal" value="60000000"' in seen_a.text
    assert _csrf_fields(seen_a.text) == {alpha.csrf_token}
    assert seen_a.headers["cache-control"] == "private, no-cache"
    assert seen_a.headers["etag"] == etag_for(seen_a.content)

    client.cookies.delete(SESSION_COOKIE)
    visitor = await client.get(url)
    assert "Pilot Alpha" not in visitor.text
    assert "csrf_token" not in visitor.text
    assert 'action="/me/watchlist"' not in visitor.text
    assert "Log in to watch Drake" in visitor.text
    assert "Log in with EVE Online" in visitor.text
    assert visitor.headers["cache-control"] == "public, max-age=60"
    assert visitor.headers["etag"] == etag_for(visitor.content)

    # Pilot B on a cache hit: their own header and forms, nothing of A's.
    client.cookies.set(SESSION_COOKIE, bravo.cookie)
    seen_b = await client.get(url)
    assert "Pilot Bravo" in seen_b.text
    assert "Pilot Alpha" not in seen_b.text
    assert _csrf_fields(seen_b.text) == {bravo.csrf_token}
    assert 'inputmode="decimal" value="60000000"' in seen_b.text
    assert seen_b.headers["cache-control"] == "private, no-cache"

    # And the copy kept for a database outage is the visitor's.
    kept = await stale.recall(cache, contract_page_key(cid, "sort=price"))
    assert kept is not None
    assert kept[1] == visitor.content
    assert b"Pilot" not in kept[1]
    assert b"csrf_token" not in kept[1]


async def test_a_shared_copy_carries_no_visitors_stray_parameters(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    cid = market["drake_fit"]
    first = await client.get(f"/contracts/{cid}?utm=mail%20campaign&sort=price")
    second = await client.get(f"/contracts/{cid}?sort=price")
    assert second.content == first.content
    assert "utm" not in first.text
    assert f'href="/auth/login?next=/contracts/{cid}%3Fsort%3Dprice"' in first.text


async def test_the_type_page_shows_a_pilot_their_header_and_shares_none_of_it(
    client: httpx.AsyncClient, universe: Database, market: dict[str, int], cache: ResilientCache
) -> None:
    alpha = await _pilot(universe, 1, "Pilot Alpha")
    client.cookies.set(SESSION_COOKIE, alpha.cookie)
    seen = await client.get(f"/types/{RIFTER}")
    assert "Pilot Alpha" in seen.text
    assert _csrf_fields(seen.text) == {alpha.csrf_token}
    assert seen.headers["cache-control"] == "private, no-cache"
    client.cookies.delete(SESSION_COOKIE)
    visitor = await client.get(f"/types/{RIFTER}")
    assert "Pilot Alpha" not in visitor.text
    assert "csrf_token" not in visitor.text
    assert "Log in with EVE Online" in visitor.text
    kept = await stale.recall(cache, type_page_key(RIFTER, 90))
    assert kept is not None
    assert kept[1] == visitor.content
