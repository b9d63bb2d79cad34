"""A fleet on PostgreSQL + Redis: two ``serve --no-ingest`` processes, two workers (one
of them the elected scheduler), a bounded loopback load on both app processes while
sweeps with churn run. No errors, the same answers from both, and one rate limit shared
by both (issue #14)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest

from esi_sim.config import SimConfig
from esi_sim.testing import RunningSimulator, running_simulator_async
from hangar_bay.core.database import Database
from hangar_bay.settings import Settings
from tests.conftest import TEST_CACHE_URL, TEST_DATABASE_URL
from tests.ingest.truth import wait_complete

pytestmark = pytest.mark.skipif(
    not (TEST_DATABASE_URL.startswith("postgresql") and TEST_CACHE_URL.startswith("redis")),
    reason="a fleet needs PostgreSQL and Redis (HANGAR_TEST_DATABASE_URL/HANGAR_TEST_CACHE_URL)",
)

REGIONS = "10000002,10000043,10000030"
VIEWS = ["/api/v1/contracts", "/api/v1/contracts?sort=price", "/", "/?ships_only=false"]
LOAD_SECONDS = 8.0


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def churning_sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator_async(SimConfig(scale="tiny", clock="manual", seed=11)) as sim:
        yield sim


def fleet_env(settings: Settings, sim_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANGAR_")}
    env.update(
        HANGAR_DATABASE_URL=settings.database_url,
        HANGAR_CACHE_URL=settings.cache_url,
        HANGAR_CACHE_PREFIX=f"hbfleet:{uuid.uuid4().hex[:8]}:",
        HANGAR_ESI_BASE_URL=sim_url,
        HANGAR_ESI_USER_AGENT="hangar-bay fleet test",
        HANGAR_ESI_MAX_REQUESTS_PER_SECOND="2000",
        HANGAR_ESI_BACKOFF_BASE_SECONDS="0.01",
        HANGAR_ESI_HTTP_CLIENT="httptools",
        HANGAR_REGIONS=REGIONS,
        HANGAR_INGEST_IN_PROCESS="false",
        HANGAR_INGEST_LOCK_SECONDS="3",
        HANGAR_INGEST_REQUEUE_SECONDS="6",
        HANGAR_INGEST_RETRY_FAILED_SECONDS="1",
        HANGAR_LOG_LEVEL="WARNING",
        HANGAR_ENVIRONMENT="test",
        # Far above the load below, except the query budget's steady rate: each cache
        # miss (either process) takes one token for good, so sharing is observable.
        HANGAR_RATE_LIMIT_READ_BURST="100000",
        HANGAR_RATE_LIMIT_READ_PER_SECOND="100000",
        HANGAR_RATE_LIMIT_QUERY_BURST="5000",
        HANGAR_RATE_LIMIT_QUERY_PER_SECOND="0.001",
    )
    return env


@contextmanager
def processes(
    commands: list[list[str]], env: dict[str, str]
) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for cmd in commands
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()


async def _wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


async def _load(apps: list[str], seconds: float) -> dict[int, int]:
    """Bounded loopback load: 8 clients round-robin over both apps and a few views."""
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + seconds

    async def client(n: int) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            i = n
            while time.monotonic() < deadline:
                url = apps[i % len(apps)] + VIEWS[i % len(VIEWS)]
                status = (await http.get(url)).status_code
                statuses[status] = statuses.get(status, 0) + 1
                i += 1

    await asyncio.gather(*(client(n) for n in range(8)))
    return statuses


async def test_fleet_under_load_while_sweeps_churn(
    database: Database, settings: Settings, churning_sim: RunningSimulator
) -> None:
    env = fleet_env(settings, churning_sim.base_url)
    ports = [_port(), _port()]
    apps = [f"http://127.0.0.1:{port}" for port in ports]
    cli = [sys.executable, "-m", "hangar_bay.cli"]
    commands = [[*cli, "serve", "--no-ingest", "--port", str(port)] for port in ports]
    commands += [[*cli, "worker", "--concurrency", "2"] for _ in range(2)]
    with processes(commands, env) as procs:
        for app in apps:
            await _wait_up(app + "/health")
        await wait_complete(database, len(REGIONS.split(",")), 120)

        # Churn: time moves on, contracts come and go, the scheduler sends new sweeps
        # while both app processes are under load.
        churning_sim.sim.clock.advance(4 * 3600)
        statuses = await _load(apps, LOAD_SECONDS)
        assert set(statuses) <= {200}, statuses
        assert sum(statuses.values()) > 50

        # Quiet again: both processes give the same answers.
        await asyncio.sleep(2)
        async with httpx.AsyncClient(timeout=30) as http:
            for view in VIEWS:
                first, second = [await http.get(app + view) for app in apps]
                assert first.status_code == second.status_code == 200
                if view.startswith("/api/"):
                    assert first.json() == second.json(), view

            # One query budget for the whole fleet: misses on either process draw on
            # the same bucket, so what is left only ever goes down across them.
            remaining = []
            for n in range(6):
                response = await http.get(f"{apps[n % 2]}/api/v1/contracts?min_price={n + 1}")
                assert response.status_code == 200
                remaining.append(int(response.headers["ratelimit-remaining"]))
            assert remaining == sorted(remaining, reverse=True)
            assert len(set(remaining)) == len(remaining)
        assert all(proc.poll() is None for proc in procs), "a fleet process died"
