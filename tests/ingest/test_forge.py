"""Forge scale (about 38,000 live contracts): one pass is exact, also through a burst of
503s in the middle of its items phase."""

from __future__ import annotations

import httpx
import pytest

from hangar_bay.core.database import Database
from hangar_bay.ingest.once import run_once
from hangar_bay.settings import Settings
from tests.ingest.conftest import SimProcess, sim_settings
from tests.ingest.truth import database_state, ground_truth, mismatches


@pytest.mark.slow
async def test_forge_once_is_exact(
    database: Database, settings: Settings, forge_sim: SimProcess
) -> None:
    ingest = sim_settings(
        settings,
        forge_sim.base_url,
        esi_http_client="httptools",
        esi_max_concurrency=32,
        ingest_items_batch=500,
    )
    # A short outage in the middle of the items phase: 60 consecutive 503s (the
    # simulator's error budget is 100 a minute) are retried within the same pass.
    httpx.post(
        f"{forge_sim.base_url}/_sim/faults",
        json={"error_burst": {"route": "items", "after": 15_000, "length": 60, "status": 503}},
        timeout=30,
    ).raise_for_status()
    try:
        summary = await run_once(ingest, show_progress=False)
    finally:
        httpx.delete(f"{forge_sim.base_url}/_sim/faults", timeout=30)
    assert summary.ok, summary.line()
    truth = ground_truth(forge_sim)
    assert len(truth["contracts"]) > 30_000
    assert mismatches(await database_state(database), truth) == []
