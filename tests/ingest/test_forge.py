"""Forge scale (about 38,000 live contracts): one pass is exact."""

from __future__ import annotations

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
    summary = await run_once(ingest, show_progress=False)
    assert summary.ok, summary.line()
    truth = ground_truth(forge_sim)
    assert len(truth["contracts"]) > 30_000
    assert mismatches(await database_state(database), truth) == []
