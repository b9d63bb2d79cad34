"""The embedded default: ``serve`` sweeps regions in-process; freshness is served."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager

from esi_sim.testing import RunningSimulator
from hangar_bay.app import create_app
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.ingest.sweep import GENERATION_KEY
from hangar_bay.runtime import background_hooks
from hangar_bay.settings import Settings
from tests.ingest.truth import database_state, ground_truth, mismatches, wait_complete

REGIONS = [10000002, 10000043, 10000032]


async def test_serve_ingests_in_process_and_reports_freshness(
    database: Database, cache: ResilientCache, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    settings = ingest_settings.model_copy(update={"regions": REGIONS})
    app = create_app(
        settings, database=database, cache=cache, background=background_hooks(settings, ingest=True)
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            await wait_complete(database, len(REGIONS), 60)
            regions = (await http.get("/api/v1/regions")).json()["regions"]
            ready = (await http.get("/ready")).json()
            metrics = (await http.get("/metrics")).text
    by_id = {r["region_id"]: r for r in regions}
    assert set(REGIONS) <= by_id.keys()
    forge = by_id[10000002]
    assert forge["name"] == "The Forge"
    assert forge["last_outcome"] == "complete"
    assert forge["stale"] is False
    assert forge["contracts_live"] > 0
    assert forge["last_complete_at"] is not None
    assert ready["freshness"]["regions_tracked"] == len(REGIONS)
    assert ready["freshness"]["regions_stale"] == 0
    assert 'hangar_esi_requests_total{route="contracts",status="200"}' in metrics
    assert "hangar_ingest_contracts_total" in metrics
    assert int(await cache.get(GENERATION_KEY) or 0) >= len(REGIONS)
    assert mismatches(await database_state(database), ground_truth(sim.sim, REGIONS), REGIONS) == []


async def test_regions_endpoint_before_any_sweep(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/regions")
    assert response.status_code == 200
    assert response.json() == {"regions": []}
