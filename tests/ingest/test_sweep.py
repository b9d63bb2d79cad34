"""A complete pass against the simulator leaves exactly its ground truth in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from esi_sim.testing import RunningSimulator
from hangar_bay.core.database import Database
from hangar_bay.ingest.once import UnknownRegions, run_once
from hangar_bay.models import Contract, EsiPage, RegionStatus
from hangar_bay.settings import Settings
from tests.ingest.truth import browse_live, database_state, ground_truth, mismatches


async def test_once_matches_ground_truth(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    summary = await run_once(ingest_settings, show_progress=False)
    assert summary.ok, summary.line()
    state = await database_state(database)
    truth = ground_truth(sim.sim)
    assert truth["contracts"]
    assert mismatches(state, truth) == []
    ships = [c for c in state["contracts"].values() if c.is_ship_contract]
    assert ships
    assert all(c.ship_count >= 1 for c in ships)
    assert any(c.start_is_structure for c in state["contracts"].values())
    async with database.sessionmaker() as session:
        statuses = (await session.execute(select(RegionStatus))).scalars().all()
    assert statuses
    assert all(s.last_outcome == "complete" for s in statuses)
    assert sum(s.contracts_live for s in statuses) == browse_live(truth, sim.sim)


async def test_search_text_holds_title_items_and_location(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    assert (await run_once(ingest_settings, show_progress=False)).ok
    state = await database_state(database)
    ship = next(
        c for c in state["contracts"].values() if c.is_ship_contract and c.start_location_name
    )
    assert ship.search_text == ship.search_text.lower()
    assert ship.start_location_name.lower() in ship.search_text
    if ship.title:
        assert ship.title.lower() in ship.search_text


async def test_rerun_before_expiry_sends_no_listing_requests(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    assert (await run_once(ingest_settings, show_progress=False)).ok
    sim.sim.reset_stats()
    again = await run_once(ingest_settings, show_progress=False)
    assert again.ok, again.line()
    routes = sim.sim.stats.as_dict()["by_route"]
    assert "contracts" not in routes
    assert "items" not in routes
    # Counts carried over from the previous complete sweep still match the data.
    async with database.sessionmaker() as session:
        statuses = (await session.execute(select(RegionStatus))).scalars().all()
    assert sum(s.contracts_live for s in statuses) == browse_live(ground_truth(sim.sim), sim.sim)
    assert sum(s.items_total for s in statuses) == sum(
        len(v) for v in (await database_state(database))["items"].values()
    )


async def test_unchanged_pass_sends_only_conditional_requests(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    assert (await run_once(ingest_settings, show_progress=False)).ok
    # Pretend every stored copy expired while ESI's data stayed the same.
    async with database.session() as session:
        await session.execute(update(EsiPage).values(expires=None))
    sim.sim.reset_stats()
    again = await run_once(ingest_settings, show_progress=False)
    assert again.ok, again.line()
    routes = sim.sim.stats.as_dict()["by_route"]
    assert set(routes["contracts"]) == {"304"}
    assert set(routes.get("bids", {"304": 0})) == {"304"}
    assert "items" not in routes
    assert again.not_modified >= len(again.results)
    assert mismatches(await database_state(database), ground_truth(sim.sim)) == []


async def test_time_passing_delists_and_adds(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    assert (await run_once(ingest_settings, show_progress=False)).ok
    before = await database_state(database)
    sim.sim.clock.advance(4 * 3600)
    assert (await run_once(ingest_settings, show_progress=False)).ok
    after = await database_state(database)
    truth = ground_truth(sim.sim)
    assert mismatches(after, truth) == []
    ended = [c for c in after["contracts"].values() if c.ended_at is not None]
    assert ended, "four hours should end some contracts"
    for contract in ended:
        # Delisted, not deleted: the row and its last sighting are kept.
        assert contract.last_seen_at is not None
        assert contract.contract_id in before["contracts"]
    new = after["contracts"].keys() - before["contracts"].keys()
    assert new, "four hours should bring new contracts"


async def test_region_subset_and_unknown_region(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    summary = await run_once(ingest_settings, [10000002, 10000043], show_progress=False)
    assert summary.ok, summary.line()
    state = await database_state(database)
    assert {c.region_id for c in state["contracts"].values()} <= {10000002, 10000043}
    assert (
        mismatches(state, ground_truth(sim.sim, [10000002, 10000043]), [10000002, 10000043]) == []
    )
    # A region ESI does not list is refused before any sweep (a configuration error).
    with pytest.raises(UnknownRegions) as refused:
        await run_once(ingest_settings, [10000002, 19999999], show_progress=False)
    assert refused.value.region_ids == [19999999]


async def test_failed_listing_delists_nothing(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    from esi_sim.config import FaultConfig

    assert (await run_once(ingest_settings, [10000002], show_progress=False)).ok
    sim.sim.clock.advance(4 * 3600)
    sim.sim.set_faults(FaultConfig(error_rate={"contracts": 1.0}))
    result = await run_once(ingest_settings, [10000002], show_progress=False)
    assert not result.ok
    async with database.sessionmaker() as session:
        ended = (
            await session.execute(select(Contract).where(Contract.ended_at.is_not(None)))
        ).all()
        status = await session.get(RegionStatus, 10000002)
    assert ended == []
    assert status is not None
    assert status.last_outcome == "failed"
    assert status.last_complete_at is not None


async def test_unresolvable_types_are_handed_on_and_their_contracts_wait(
    database: Database,
    ingest_settings: Settings,
    sim: RunningSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hangar_bay.app import build_esi_client
    from hangar_bay.core.cache import MemoryCache, ResilientCache
    from hangar_bay.ingest.service import Ingestor
    from hangar_bay.ingest.universe import Incomplete, TypeFacts, Universe

    http = build_esi_client(ingest_settings)
    ingestor = Ingestor.build(
        database=database,
        cache=ResilientCache(MemoryCache()),
        http=http,
        settings=ingest_settings,
    )
    handed: list[list[int]] = []

    async def record(type_ids: list[int]) -> None:
        handed.append(type_ids)

    async def types_down(self: Universe, type_ids: object) -> dict[int, TypeFacts]:
        raise Incomplete("type lookups failing")

    ingestor.sweeper.types_missing = record
    try:
        with monkeypatch.context() as patch:
            patch.setattr(Universe, "ensure_types", types_down)
            result = await ingestor.sweep_region(10000002, wait=True)
        assert result.outcome == "partial"
        assert result.items_pending > 0
        truth = sim.sim.ground_truth(region_ids=[10000002])["contracts"]
        wanted = {i["type_id"] for c in truth for i in c.get("items") or []}
        assert handed
        assert {t for batch in handed for t in batch} == wanted
        # Once types resolve again, the waiting contracts are picked up.
        result = await ingestor.sweep_region(10000002, wait=True)
        assert result.outcome == "complete"
        assert result.items_pending == 0
    finally:
        await ingestor.esi.close()
        await http.aclose()


async def test_only_a_sweep_that_changed_something_starts_a_generation(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    from hangar_bay.app import build_esi_client
    from hangar_bay.contracts.caching import DEFAULT_VIEWS, counts_cache_key, read_stamped
    from hangar_bay.core.cache import MemoryCache, ResilientCache
    from hangar_bay.ingest.service import Ingestor
    from hangar_bay.ingest.sweep import GENERATION_KEY

    cache = ResilientCache(MemoryCache())
    http = build_esi_client(ingest_settings)
    ingestor = Ingestor.build(database=database, cache=cache, http=http, settings=ingest_settings)
    region = 10000002
    keys = [counts_cache_key(f) for f in DEFAULT_VIEWS]
    try:
        assert (await ingestor.sweep_region(region, wait=True)).complete
        first = int(await cache.get(GENERATION_KEY) or 0)
        assert first == 1
        # The sweep counted the default views for the browse pages of its generation.
        gen, warmed = await read_stamped(cache, keys)
        assert gen == first
        assert all(payload is not None for payload in warmed)

        # Everything expired, nothing changed: the caches of this generation stay valid.
        async with database.session() as session:
            await session.execute(update(EsiPage).values(expires=None))
        assert (await ingestor.sweep_region(region, wait=True)).complete
        assert int(await cache.get(GENERATION_KEY) or 0) == first

        # Time passes and contracts come and go: a new generation, counted again.
        sim.sim.clock.advance(4 * 3600)
        async with database.session() as session:
            await session.execute(update(EsiPage).values(expires=None))
        changed = await ingestor.sweep_region(region, wait=True)
        assert changed.contracts_written or changed.delisted
        assert int(await cache.get(GENERATION_KEY) or 0) == first + 1
        gen, warmed = await read_stamped(cache, keys)
        assert gen == first + 1
        assert all(payload is not None for payload in warmed)
    finally:
        await ingestor.esi.close()
        await http.aclose()
