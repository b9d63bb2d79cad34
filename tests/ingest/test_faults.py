"""Faults: ESI misbehaving never corrupts data, and we never exhaust the error budget."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from esi_sim.config import FaultConfig, Latency, SimConfig
from esi_sim.testing import RunningSimulator, running_simulator_async
from hangar_bay.core.database import Database
from hangar_bay.ingest.once import run_once
from hangar_bay.models import Contract
from hangar_bay.settings import Settings
from tests.ingest.conftest import sim_settings
from tests.ingest.truth import database_state, ground_truth, mismatches


@pytest.fixture
async def strict_sim() -> AsyncIterator[RunningSimulator]:
    # A small error budget in short windows, so the governor has to act within the test.
    config = SimConfig(
        scale="tiny", clock="manual", seed=11, error_limit=45, error_window_seconds=4
    )
    async with running_simulator_async(config) as running:
        yield running


async def test_faulty_esi_complete_regions_exact_others_lose_nothing(
    database: Database, settings: Settings, strict_sim: RunningSimulator
) -> None:
    sim = strict_sim.sim
    ingest = sim_settings(settings, strict_sim.base_url, esi_max_retries=3)
    clean = await run_once(ingest, show_progress=False)
    assert clean.ok, clean.line()
    before = await database_state(database)
    sim.clock.advance(3 * 3600)
    truth_now = sim.ground_truth()
    live_now = {c["contract_id"] for c in sim.ground_truth(live_only=True)["contracts"]}
    # New since the clean pass (items are fetched once per contract) and not yet ended.
    item_contracts = [
        c["contract_id"]
        for c in truth_now["contracts"]
        if c["type"] == "item_exchange"
        and c["contract_id"] not in before["contracts"]
        and c["contract_id"] in live_now
    ]
    assert len(item_contracts) > 4
    sim.set_faults(
        FaultConfig(
            error_rate={"*": 0.05},
            latency={"*": Latency(min_ms=0, max_ms=15, slow_rate=0.0)},
            empty_200_rate={"*": 0.03},
            truncated_json_rate={"*": 0.02},
            flapping_pages=True,
            # Just-deleted contracts answer 504 for a while; one never recovers.
            contract_504_streaks={item_contracts[0]: 2, item_contracts[1]: -1},
        )
    )
    faulty = await run_once(ingest, show_progress=False)
    stats = sim.stats.as_dict()
    assert stats["error_limited_420"] == 0
    assert faulty.lowest_error_budget is not None
    assert faulty.lowest_error_budget > 0

    after = await database_state(database)
    truth = ground_truth(sim)
    complete = [r.region_id for r in faulty.results if r.complete]
    incomplete = [r.region_id for r in faulty.results if not r.complete]
    assert complete, faulty.line()
    # The contract whose items never recover keeps its region incomplete.
    stuck_region = next(
        c["region_id"] for c in truth["contracts"] if c["contract_id"] == item_contracts[1]
    )
    assert stuck_region in incomplete
    assert mismatches(after, truth, complete) == []
    # Nothing is ever deleted; a region whose listing failed delisted nothing.
    assert before["contracts"].keys() <= after["contracts"].keys()
    failed = {r.region_id for r in faulty.results if r.outcome == "failed"}
    for cid, contract in after["contracts"].items():
        if contract.region_id in failed and cid in before["contracts"]:
            assert contract.ended_at == before["contracts"][cid].ended_at

    # Once ESI behaves, the next pass completes everything and is exact.
    sim.clear_faults()
    healed = await run_once(ingest, show_progress=False)
    assert healed.ok, healed.line()
    assert mismatches(await database_state(database), ground_truth(sim)) == []
    async with database.sessionmaker() as session:
        rows = await session.scalar(select(func.count()).select_from(Contract))
    assert rows == len(after["contracts"].keys() | healed_ids(await database_state(database)))


def healed_ids(state: dict[str, object]) -> set[int]:
    contracts = state["contracts"]
    assert isinstance(contracts, dict)
    return set(contracts)
