"""Price history at forge scale after hours of simulated churn (issue 12's check).

Usage::

    .venv/bin/python bench/history.py                 # forge, 4 simulated hours
    .venv/bin/python bench/history.py --hours 8 --scale small

Starts the simulator in its own process (manual clock), ingests The Forge into a scratch
SQLite file with ``ingest --once`` (which runs the market pass after its sweep), then
moves the simulator's clock an hour at a time and ingests again. Prints what the market
pass stored, the type with the most days of history, its
``/api/v1/types/{id}/price-history`` days and whether ``/types/{id}`` draws the chart.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ingest.conftest import SimProcess  # noqa: E402

from hangar_bay import migrate  # noqa: E402
from hangar_bay.app import create_app  # noqa: E402
from hangar_bay.core.database import Database  # noqa: E402
from hangar_bay.ingest.once import run_once  # noqa: E402
from hangar_bay.settings import Settings  # noqa: E402

FORGE = 10000002


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="forge")
    parser.add_argument("--hours", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sim = SimProcess(args.scale, args.seed)
    scratch = tempfile.TemporaryDirectory()
    url = f"sqlite+aiosqlite:///{scratch.name}/history.db"
    try:
        sim.wait_ready()
        await migrate.upgrade(url)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            environment="test",
            database_url=url,
            esi_base_url=sim.base_url,
            esi_user_agent="hangar-bay bench/history.py",
            esi_http_client="httptools",
            esi_max_concurrency=32,
            esi_max_requests_per_second=5000.0,
            ingest_items_batch=500,
        )
        for hour in range(args.hours + 1):
            started = time.monotonic()
            summary = await run_once(settings, [FORGE], show_progress=False)
            print(f"hour {hour}: {summary.line()} ({time.monotonic() - started:.1f}s)")
            async with httpx.AsyncClient(base_url=sim.base_url) as admin:
                await admin.post("/_sim/clock/advance", json={"seconds": 3600})
        database = Database.from_url(url)
        async with database.engine.connect() as conn:
            observed = (
                await conn.execute(
                    text(
                        "SELECT count(*), sum(single_hull), count(ended_at) FROM price_observations"
                    )
                )
            ).one()
            top = (
                await conn.execute(
                    text(
                        "SELECT type_id, count(*), sum(count) FROM price_daily "
                        "GROUP BY type_id ORDER BY 3 DESC, 1 LIMIT 1"
                    )
                )
            ).one()
            valued = (
                await conn.execute(
                    text(
                        "SELECT count(*), sum(value_complete), count(discount), "
                        "sum(flags != '') FROM contracts WHERE ended_at IS NULL"
                    )
                )
            ).one()
        print(f"observations (all / single hull / ended): {tuple(observed)}")
        print(f"live contracts (all / complete value / discount / flagged): {tuple(valued)}")
        app = create_app(settings, database=database)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                history = (
                    await client.get(f"/api/v1/types/{top[0]}/price-history?days=365")
                ).json()
                page = await client.get(f"/types/{top[0]}")
        print(
            f"most observed hull: {history['type_name']} ({top[0]}), "
            f"{len(history['days'])} days, {top[2]} single-hull contracts"
        )
        for day in history["days"][-5:]:
            print(f"  {day}")
        dots = page.text.count('<circle class="median"')
        print(f"/types/{top[0]}: HTTP {page.status_code}, chart with {dots} daily points")
        await database.dispose()
    finally:
        sim.stop()
        scratch.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
