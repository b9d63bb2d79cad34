"""A cached answer is never served past the expiry of a contract it shows as live: a
contract expiring is no sweep, so no new generation would replace the entry."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx

from hangar_bay.contracts import caching
from hangar_bay.core.database import Database
from hangar_bay.models import utcnow
from tests.contracts.factories import RIFTER, Item, make

SOON = dt.timedelta(seconds=1.5)
BROWSER = {"accept": "text/html"}


async def _until(moment: dt.datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - utcnow()).total_seconds()) + 0.3)


async def test_a_cached_list_drops_a_contract_once_it_expires(
    client: httpx.AsyncClient, universe: Database
) -> None:
    soon = await make(universe, items=[Item(RIFTER)], expires_in=SOON)
    later = await make(universe, items=[Item(RIFTER)])
    view = "/api/v1/contracts?sort=date_expired"
    first = (await client.get(view)).json()
    assert [c["contract_id"] for c in first["items"]] == [soon.contract_id, later.contract_id]
    await _until(soon.date_expired)
    again = (await client.get(view)).json()
    assert [c["contract_id"] for c in again["items"]] == [later.contract_id]


async def test_a_cached_browse_page_drops_a_contract_once_it_expires(
    client: httpx.AsyncClient, universe: Database
) -> None:
    soon = await make(universe, items=[Item(RIFTER)], expires_in=SOON, title="gone soon")
    await make(universe, items=[Item(RIFTER)], title="stays")
    first = await client.get("/", headers=BROWSER)
    assert "gone soon" in first.text
    assert "stays" in first.text
    await _until(soon.date_expired)
    again = await client.get("/", headers=BROWSER)
    assert "gone soon" not in again.text
    assert "stays" in again.text


async def test_a_cached_contract_turns_expired_on_time(
    client: httpx.AsyncClient, universe: Database
) -> None:
    soon = await make(universe, items=[Item(RIFTER)], expires_in=SOON)
    path = f"/api/v1/contracts/{soon.contract_id}"
    assert (await client.get(path)).json()["status"] == "outstanding"
    await _until(soon.date_expired)
    assert (await client.get(path)).json()["status"] == "expired"
    page = await client.get(f"/contracts/{soon.contract_id}", headers=BROWSER)
    assert page.status_code == 200


def test_the_ttl_never_passes_the_first_expiry() -> None:
    now = utcnow()
    in_ten = now + dt.timedelta(seconds=10)
    assert caching.ttl_until_expiry([], 60) == 60
    assert 9 < caching.ttl_until_expiry([now + dt.timedelta(hours=1), in_ten], 60) <= 10
    assert caching.ttl_until_expiry([now + dt.timedelta(hours=1)], 60) == 60
    assert 0 < caching.ttl_until_expiry([now - dt.timedelta(seconds=5)], 60) < 0.01
