"""What ESI really does must never hide, resurrect or lose a contract (issue 9).

Each test is one kind of ESI behaviour, reproduced with the simulator's fault switches
over HTTP, on whichever backend the suite runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, update

from esi_sim.config import ErrorBurst, FaultConfig, SimConfig
from esi_sim.testing import RunningSimulator, running_simulator_async
from hangar_bay.core.database import Database
from hangar_bay.ingest.common import poll_floor
from hangar_bay.ingest.once import run_once
from hangar_bay.ingest.recheck import recheck_delay
from hangar_bay.models import Contract, EntityName, EsiPage, NameCheck, RegionStatus, as_utc, utcnow
from hangar_bay.settings import Settings
from tests.ingest.conftest import sim_settings
from tests.ingest.truth import database_state, ground_truth, mismatches

REGION = 10000002


@pytest.fixture
async def roomy_sim() -> AsyncIterator[RunningSimulator]:
    # An error budget a short outage does not run down (the stand-in).
    config = SimConfig(scale="tiny", clock="manual", seed=7, error_limit=1000)
    async with running_simulator_async(config) as running:
        yield running


def _live_truth(sim: Any, kind: str, ship: bool | None = None) -> dict[str, Any]:
    live = sim.ground_truth(live_only=True, region_ids=[REGION])["contracts"]
    return next(
        c for c in live if c["type"] == kind and (ship is None or c["is_ship_contract"] == ship)
    )


async def _contract(database: Database, contract_id: int) -> Contract:
    async with database.sessionmaker() as session:
        found = await session.get(Contract, contract_id)
    assert found is not None
    return found


async def _expire_pages(database: Database) -> None:
    async with database.session() as session:
        await session.execute(update(EsiPage).values(expires=None))


def _items_requests(sim: Any) -> int:
    return sum(sim.stats.as_dict()["by_route"].get("items", {}).values())


def test_recheck_interval_doubles_up_to_the_ceiling() -> None:
    assert recheck_delay(1, 300, 3600) == dt.timedelta(seconds=300)
    assert recheck_delay(2, 300, 3600) == dt.timedelta(seconds=600)
    assert recheck_delay(4, 300, 3600) == dt.timedelta(seconds=2400)
    assert recheck_delay(5, 300, 3600) == dt.timedelta(seconds=3600)
    assert recheck_delay(500, 300, 3600) == dt.timedelta(seconds=3600)


def test_poll_floor_ignores_expires_before_date() -> None:
    now = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    floored = poll_floor(now - dt.timedelta(seconds=60), now, 60)
    assert now + dt.timedelta(seconds=60) <= floored <= now + dt.timedelta(seconds=66)
    later = now + dt.timedelta(minutes=30)
    assert poll_floor(later, now, 60) == later


# 1. A transient burst during the items phase is retried within the same pass.
async def test_burst_of_503s_in_items_phase_is_retried_in_the_same_pass(
    database: Database, settings: Settings, roomy_sim: RunningSimulator
) -> None:
    sim = roomy_sim.sim
    sim.set_faults(FaultConfig(error_burst=ErrorBurst(route="items", after=40, length=130)))
    ingest = sim_settings(settings, roomy_sim.base_url)
    summary = await run_once(ingest, show_progress=False)
    assert summary.ok, summary.line()
    assert sim.stats.as_dict()["by_route"]["items"].get("503") == 130
    assert mismatches(await database_state(database), ground_truth(sim)) == []


# 1. (other side) Items failing pass after pass are asked again at a growing interval.
async def test_items_failing_every_pass_back_off(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    stuck = _live_truth(sim.sim, "item_exchange")["contract_id"]
    sim.sim.set_faults(FaultConfig(contract_504_streaks={stuck: -1}))
    first = await run_once(ingest_settings, [REGION], show_progress=False)
    assert not first.ok
    assert first.results[0].outcome == "partial"
    contract = await _contract(database, stuck)
    assert (contract.items_status, contract.ended_at) == ("pending", None)
    assert contract.items_attempts == 1
    # The next pass asks once more (one failed pass is not yet a pattern)...
    await _expire_pages(database)
    await run_once(ingest_settings, [REGION], show_progress=False)
    contract = await _contract(database, stuck)
    assert contract.items_attempts == 2
    assert contract.items_next_check_at is not None
    # ...after that it waits: a third pass right away sends no items request at all.
    await _expire_pages(database)
    sim.sim.reset_stats()
    third = await run_once(ingest_settings, [REGION], show_progress=False)
    assert _items_requests(sim.sim) == 0
    assert third.results[0].outcome == "partial"
    assert (await _contract(database, stuck)).ended_at is None


# 2. A 204 for a listed contract hides it, is re-checked, and restores it with its items.
async def test_204_while_listed_hides_then_restores(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    ship = _live_truth(sim.sim, "item_exchange", ship=True)["contract_id"]
    sim.sim.set_faults(FaultConfig(items_204={ship: 1}))
    first = await run_once(ingest_settings, [REGION], show_progress=False)
    assert first.ok, first.line()
    hidden = await _contract(database, ship)
    assert hidden.items_status == "gone"
    assert hidden.ended_at is not None  # out of every live view
    assert hidden.items_next_check_at is not None
    wait = as_utc(hidden.items_next_check_at) - as_utc(hidden.ended_at)
    assert dt.timedelta(seconds=299) < wait < dt.timedelta(seconds=301)
    # Not before its time...
    await _expire_pages(database)
    await run_once(ingest_settings, [REGION], show_progress=False)
    assert (await _contract(database, ship)).items_status == "gone"
    # ...then asked again: the items are back, and so is the contract.
    async with database.session() as session:
        await session.execute(
            update(Contract)
            .where(Contract.contract_id == ship)
            .values(items_next_check_at=utcnow() - dt.timedelta(seconds=1))
        )
    again = await run_once(ingest_settings, [REGION], show_progress=False)
    assert again.ok, again.line()
    restored = await _contract(database, ship)
    assert restored.items_status == "fetched"
    assert restored.ended_at is None
    assert restored.is_ship_contract
    assert restored.items_attempts == 0
    assert (
        mismatches(await database_state(database), ground_truth(sim.sim, [REGION]), [REGION]) == []
    )


async def test_items_204_every_time_stays_hidden_until_delisted(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    contract_id = _live_truth(sim.sim, "item_exchange")["contract_id"]
    sim.sim.set_faults(FaultConfig(items_204={contract_id: -1}))
    for _ in range(3):
        await _expire_pages(database)
        async with database.session() as session:
            await session.execute(update(Contract).values(items_next_check_at=None))
        await run_once(ingest_settings, [REGION], show_progress=False)
        hidden = await _contract(database, contract_id)
        assert hidden.ended_at is not None
        assert hidden.items_status == "gone"
    assert hidden.items_attempts == 3


# 3. A listing page without X-Pages is not "one page" and delists nothing.
async def test_missing_x_pages_never_delists(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    live = sim.sim.ground_truth(region_ids=[REGION])["contracts"]
    size = -(-len(live) // 3)
    sim.sim.set_faults(FaultConfig(page_size=size))
    first = await run_once(ingest_settings, [REGION], show_progress=False)
    assert first.ok
    assert first.results[0].pages == 3
    before = await database_state(database)
    live_before = {c for c, row in before["contracts"].items() if row.ended_at is None}

    sim.sim.set_faults(FaultConfig(page_size=size, drop_x_pages=[1]))
    # Page 1 changed (so it answers 200, without X-Pages); the stored count (3) is used
    # and the other pages' counts prove the read whole.
    async with database.session() as session:
        await session.execute(update(EsiPage).values(expires=None))
        await session.execute(
            update(EsiPage).where(EsiPage.url.like("%/?page=1")).values(etag='"other"')
        )
    proven = await run_once(ingest_settings, [REGION], show_progress=False)
    assert proven.ok, proven.line()
    assert proven.results[0].pages == 3
    assert proven.results[0].delisted == 0

    # Nothing stored to go by and no page telling the count: reading on until the short
    # last page proves the listing whole; the same contracts stay live.
    sim.sim.set_faults(FaultConfig(page_size=size, drop_x_pages=[1, 2, 3]))
    async with database.session() as session:
        await session.execute(EsiPage.__table__.delete())
    probed = await run_once(ingest_settings, [REGION], show_progress=False)
    result = probed.results[0]
    assert result.outcome == "complete", probed.line()
    assert result.pages == 3
    assert result.delisted == 0
    after = await database_state(database)
    assert {c for c, row in after["contracts"].items() if row.ended_at is None} == live_before


# 3b. Fresh database, page 1 without X-Pages: the following pages are read until the
# listing's end is proven (a page's X-Pages, a short page, or a 404), every region.
async def test_missing_x_pages_on_a_fresh_database_reads_every_page(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    sim.sim.set_faults(FaultConfig(page_size=50, drop_x_pages=[1]))
    for _ in range(2):
        summary = await run_once(ingest_settings, show_progress=False)
        assert summary.exit_code == 0, summary.line()
    assert any(r.pages > 1 for r in summary.results), "the test needs a region of many pages"
    assert mismatches(await database_state(database), ground_truth(sim.sim)) == []


async def test_no_x_pages_anywhere_probes_to_the_end_and_delists(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    live = len(sim.sim.ground_truth(live_only=True, region_ids=[REGION])["contracts"])
    # Pages that divide the listing exactly: only the 404 after the last page ends it.
    size = next(d for d in range(max(1, live // 4), live + 1) if live % d == 0)
    every_page = list(range(1, live // size + 2))
    sim.sim.set_faults(FaultConfig(page_size=size, drop_x_pages=every_page))
    first = await run_once(ingest_settings, [REGION], show_progress=False)
    assert first.ok, first.line()
    assert first.results[0].pages == live // size
    # Time passes: contracts end, new ones come; the probed listing is proven whole, so
    # the ended ones are delisted and the state is exact again.
    sim.sim.clock.advance(4 * 3600)
    sim.sim.set_faults(FaultConfig(page_size=50, drop_x_pages=list(range(1, 100))))
    second = await run_once(ingest_settings, [REGION], show_progress=False)
    assert second.ok, second.line()
    assert second.results[0].delisted > 0
    assert (
        mismatches(await database_state(database), ground_truth(sim.sim, [REGION]), [REGION]) == []
    )


async def test_rows_repeated_across_pages_are_written_once(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    listed = sim.sim.ground_truth(region_ids=[REGION])["contracts"]
    sim.sim.set_faults(FaultConfig(page_size=-(-len(listed) // 3), duplicate_rows=True))
    summary = await run_once(ingest_settings, [REGION], show_progress=False)
    assert summary.ok, summary.line()
    state = await database_state(database)
    assert len(state["contracts"]) == len(listed)
    assert mismatches(state, ground_truth(sim.sim, [REGION]), [REGION]) == []


async def test_listing_older_than_stored_changes_nothing(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    assert (await run_once(ingest_settings, [REGION], show_progress=False)).ok
    before = await database_state(database)
    # Pretend the stored copy came from a newer listing than the one ESI serves now
    # (an out-of-date cache node answered).
    async with database.session() as session:
        await session.execute(
            update(EsiPage)
            .where(EsiPage.url.like("/contracts/public/10000002/%"))
            .values(etag=None, expires=None, last_modified=utcnow() + dt.timedelta(days=30))
        )
    stale = await run_once(ingest_settings, [REGION], show_progress=False)
    assert stale.results[0].outcome == "partial"
    assert stale.results[0].delisted == 0
    after = await database_state(database)
    assert {c: r.ended_at for c, r in after["contracts"].items()} == {
        c: r.ended_at for c, r in before["contracts"].items()
    }


# 4. Expires at or before Date: the re-poll interval keeps its floor.
async def test_expires_before_date_keeps_the_poll_floor(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    sim.sim.set_faults(FaultConfig(expires_offset_seconds=-60))
    started = utcnow()
    first = await run_once(ingest_settings, [REGION], show_progress=False)
    assert first.ok, first.line()
    due = first.results[0].next_due_at
    assert due is not None
    assert due >= started + dt.timedelta(seconds=59)
    sim.sim.reset_stats()
    again = await run_once(ingest_settings, [REGION], show_progress=False)
    assert again.ok
    routes = sim.sim.stats.as_dict()["by_route"]
    # Neither the listing nor the bids are asked for again within the floor.
    assert "contracts" not in routes
    assert "bids" not in routes


# 5. An id /universe/names/ refused is asked again later, from the database's memory.
async def test_refused_name_is_asked_again_after_its_delay(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    contract = _live_truth(sim.sim, "item_exchange")
    issuer = contract["issuer_id"]
    sim.sim.set_faults(FaultConfig(unknown_names=[issuer]))
    # A name ESI refuses neither hides the contract nor changes the exit code
    # (docs/ingestion.md): it is re-checked later.
    first = await run_once(ingest_settings, [REGION], show_progress=False)
    assert first.exit_code == 0, first.line()
    assert (await _contract(database, contract["contract_id"])).ended_at is None
    async with database.sessionmaker() as session:
        assert await session.get(EntityName, issuer) is None
        check = await session.get(NameCheck, issuer)
    assert check is not None
    assert check.attempts == 1
    sim.sim.clear_faults()
    # Before its time (a new process, as after a restart): not asked.
    await _expire_pages(database)
    await run_once(ingest_settings, [REGION], show_progress=False)
    async with database.sessionmaker() as session:
        assert await session.get(EntityName, issuer) is None
    async with database.session() as session:
        await session.execute(
            update(NameCheck).values(next_check_at=utcnow() - dt.timedelta(seconds=1))
        )
    # A sweep that writes nothing new still asks for it once it is due.
    sim.sim.reset_stats()
    quiet = await run_once(ingest_settings, [REGION], show_progress=False)
    assert quiet.results[0].contracts_written == 0
    async with database.sessionmaker() as session:
        named = await session.get(EntityName, issuer)
        assert named is not None
        assert await session.get(NameCheck, issuer) is None


# 6. Courier destinations are resolved as start locations are.
async def test_courier_destinations_are_resolved(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    assert (await run_once(ingest_settings, show_progress=False)).ok
    truth = ground_truth(sim.sim)
    assert mismatches(await database_state(database), truth) == []
    async with database.sessionmaker() as session:
        couriers = (
            (await session.execute(select(Contract).where(Contract.type == "courier")))
            .scalars()
            .all()
        )
    npc = [c for c in couriers if c.end_location_id and 60_000_000 <= c.end_location_id < 7e7]
    assert npc
    for courier in npc:
        assert courier.end_location_name
        assert courier.end_system_id is not None
        assert courier.end_security is not None


# 7. No items for expired contracts; bids once per pass; region counts as browse counts.
async def test_no_wasted_item_or_bid_requests(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    summary = await run_once(ingest_settings, show_progress=False)
    assert summary.ok, summary.line()
    now = dt.datetime.fromtimestamp(sim.sim.now(), dt.UTC)
    state = await database_state(database)
    by_route = sim.sim.stats.as_dict()["by_route"]
    auctions = [
        c
        for c in state["contracts"].values()
        if c.type == "auction" and c.items_status == "fetched"
    ]
    assert auctions
    assert sum(by_route["bids"].values()) == len(auctions)
    expired = [
        c
        for c in state["contracts"].values()
        if c.type != "courier" and c.date_expired.replace(tzinfo=dt.UTC) <= now
    ]
    for contract in expired:
        assert contract.items_status == "pending"
        assert contract.contract_id not in state["items"]
    async with database.sessionmaker() as session:
        counted = sum(
            s.contracts_live for s in (await session.execute(select(RegionStatus))).scalars()
        )
    browse = [
        c
        for c in state["contracts"].values()
        if c.ended_at is None and c.date_expired.replace(tzinfo=dt.UTC) > now
    ]
    assert counted == len(browse)
