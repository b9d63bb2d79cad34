"""Distributed ingestion: scheduler + workers on Redis, against the simulator over HTTP."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import func, select

from esi_sim.config import FaultConfig, Latency
from esi_sim.testing import RunningSimulator
from hangar_bay.core.database import Database
from hangar_bay.models import Contract
from hangar_bay.settings import Settings
from tests.conftest import TEST_CACHE_URL
from tests.ingest.conftest import SimProcess
from tests.ingest.test_cli import cli_env
from tests.ingest.truth import database_state, ground_truth, mismatches, wait_complete

pytestmark = pytest.mark.skipif(
    not TEST_CACHE_URL.startswith("redis"),
    reason="worker mode needs Redis (runs with HANGAR_TEST_CACHE_URL=redis://…)",
)


def worker_env(settings: Settings, base_url: str, **extra: str) -> dict[str, str]:
    return cli_env(
        settings,
        base_url,
        HANGAR_INGEST_REQUEUE_SECONDS="6",
        HANGAR_INGEST_LOCK_SECONDS="3",
        # A region left partial by a killed worker is due again soon.
        HANGAR_INGEST_RETRY_FAILED_SECONDS="2",
        HANGAR_ESI_HTTP_CLIENT="httptools",
        **extra,
    )


@contextmanager
def workers(env: dict[str, str], count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "hangar_bay.cli", "worker", "--concurrency", "4"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def region_count(base_url: str) -> int:
    async with httpx.AsyncClient(base_url=base_url) as http:
        return len((await http.get("/latest/universe/regions/")).json())


async def test_scheduler_and_two_workers_reach_ground_truth(
    database: Database, settings: Settings, sim: RunningSimulator
) -> None:
    env = worker_env(settings, sim.base_url)
    with workers(env, 2) as procs:
        await wait_complete(database, await region_count(sim.base_url), 120)
        assert all(p.poll() is None for p in procs)
    truth = ground_truth(sim.sim)
    state = await database_state(database)
    assert mismatches(state, truth) == []
    # Each page of each contract's items was asked for exactly once: no task ran twice.
    items = sim.sim.stats.as_dict()["by_route"]["items"]
    pages = sum(
        max(1, -(-len(state["items"].get(c.contract_id, [])) // 1000))
        for c in state["contracts"].values()
        # Past date_expired (still listed) and never asked for: left pending.
        if c.type in ("item_exchange", "auction") and c.items_status != "pending"
    )
    assert sum(items.values()) == pages


async def test_worker_killed_mid_sweep_then_others_converge(
    database: Database, settings: Settings, sim: RunningSimulator
) -> None:
    sim.sim.set_faults(FaultConfig(latency={"items": Latency(min_ms=40, max_ms=60)}))
    env = worker_env(
        settings, sim.base_url, HANGAR_ESI_MAX_CONCURRENCY="2", HANGAR_INGEST_ITEMS_BATCH="5"
    )
    with workers(env, 1) as procs:
        fetched = 0
        for _ in range(600):
            await asyncio.sleep(0.1)
            async with database.sessionmaker() as session:
                fetched = int(
                    await session.scalar(
                        select(func.count())
                        .select_from(Contract)
                        .where(Contract.items_status == "fetched")
                    )
                    or 0
                )
            if fetched >= 10:
                break
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait()
    assert fetched >= 10
    sim.sim.clear_faults()
    with workers(env, 2):
        await wait_complete(database, await region_count(sim.base_url), 180)
    assert mismatches(await database_state(database), ground_truth(sim.sim)) == []


@pytest.mark.slow
async def test_forge_scale_distributed(
    database: Database, settings: Settings, forge_sim: SimProcess
) -> None:
    env = worker_env(settings, forge_sim.base_url, HANGAR_ESI_MAX_CONCURRENCY="16")
    with workers(env, 2):
        await wait_complete(database, await region_count(forge_sim.base_url), 600)
    truth = ground_truth(forge_sim)
    assert len(truth["contracts"]) > 30_000
    assert mismatches(await database_state(database), truth) == []
