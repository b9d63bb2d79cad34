"""A view's page statement is built once and run again at every later miss: it must
still answer for the moment it runs, and only for its own view."""

from __future__ import annotations

import datetime as dt

import pytest

from hangar_bay.contracts import listing
from hangar_bay.contracts.schemas import ContractFilters
from hangar_bay.core.database import Database
from hangar_bay.models import utcnow
from tests.contracts.factories import AUTOCANNON, DRAKE, DRAKE_BP, RIFTER, RIFTER_BP, Item, make


async def _ids(database: Database, f: ContractFilters, now: dt.datetime) -> list[int]:
    """The ids of ``f``'s page at ``now``, checked against the view's count then."""
    async with database.read() as session:
        page = await listing.list_page(session, f, now=now)
    ids = [summary["contract_id"] for summary in page["items"]]
    if f.page == 1 and page["total"] <= f.size:
        assert page["total"] == len(ids), "the count and the page disagree"
    return ids


async def test_kept_statements_answer_for_the_moment_they_run(universe: Database) -> None:
    soon = await make(universe, items=[Item(RIFTER)], expires_in=dt.timedelta(minutes=30))
    later = await make(universe, items=[Item(RIFTER)], expires_in=dt.timedelta(days=3))
    f = ContractFilters(sort="date_expired")
    now = utcnow()
    assert await _ids(universe, f, now) == [soon.contract_id, later.contract_id]
    # An hour on, the same view (its page and count statements now kept) no longer lists
    # or counts the expired one.
    assert await _ids(universe, f, now + dt.timedelta(hours=1)) == [later.contract_id]
    assert await _ids(universe, f, now + dt.timedelta(days=4)) == []


async def test_views_differing_in_one_value_never_share_a_statement(universe: Database) -> None:
    cheap = await make(universe, items=[Item(RIFTER)], price=1_000_000.0)
    dear = await make(universe, items=[Item(DRAKE)], price=90_000_000.0)
    now = utcnow()
    for _ in range(2):  # built, then kept
        assert await _ids(universe, ContractFilters(max_price=5_000_000), now) == [
            cheap.contract_id
        ]
        assert await _ids(universe, ContractFilters(min_price=5_000_000), now) == [dear.contract_id]
        assert await _ids(universe, ContractFilters(type_id=[DRAKE]), now) == [dear.contract_id]
        assert await _ids(universe, ContractFilters(type_id=[RIFTER]), now) == [cheap.contract_id]
        assert await _ids(universe, ContractFilters(size=1, sort="price"), now) == [
            cheap.contract_id
        ]
        assert await _ids(universe, ContractFilters(size=1, sort="price", page=2), now) == [
            dear.contract_id
        ]


async def test_the_kept_statements_are_bounded(
    universe: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make(universe, items=[Item(RIFTER)], price=1_000_000.0)
    monkeypatch.setattr(listing._PAGE_STATEMENTS, "size", 3)
    now = utcnow()
    for price in range(10):
        assert await _ids(universe, ContractFilters(max_price=2_000_000 + price), now)
    assert len(listing._PAGE_STATEMENTS) <= 3


async def test_a_page_reads_its_shown_lines_in_record_order(universe: Database) -> None:
    """Ships and blueprints come with the page statement (one JSON column): in record
    order, a ship type's lines summed, modules and requested items only counted."""
    contract = await make(
        universe,
        items=[
            Item(DRAKE_BP, bpc=False, runs=-1, me=10, te=20),
            Item(AUTOCANNON, 5),
            Item(RIFTER, 1),
            Item(RIFTER_BP, bpc=True, runs=3, me=4, te=8),
            Item(RIFTER, 2),
            Item(DRAKE, included=False),
        ],
    )
    async with universe.read() as session:
        page = await listing.list_page(session, ContractFilters(ships_only=False), now=utcnow())
    (summary,) = [s for s in page["items"] if s["contract_id"] == contract.contract_id]
    assert "shown_lines" not in summary
    assert summary["ships"] == [
        {
            "type_id": RIFTER,
            "name": "Rifter",
            "group_id": 25,
            "group_name": "Frigate",
            "quantity": 3,
        }
    ]
    assert [(b["type_id"], b["is_copy"], b["runs"]) for b in summary["blueprints"]] == [
        (DRAKE_BP, False, -1),
        (RIFTER_BP, True, 3),
    ]
    assert (summary["offered_count"], summary["requested_count"]) == (5, 1)
    summaries = await _summaries_for(universe, [contract.contract_id])
    assert summaries[contract.contract_id] == summary


async def _summaries_for(database: Database, ids: list[int]) -> dict[int, dict[str, object]]:
    async with database.read() as session:
        return await listing.summaries_for(session, ids)
