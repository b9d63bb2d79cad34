"""ESI down or unreachable while the region list is fetched: ``ingest --once`` says so in
one line and exits 4; the embedded scheduler and the worker's leader wait and retry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

import pytest
from structlog.testing import capture_logs

from esi_sim.config import FaultConfig
from esi_sim.testing import RunningSimulator
from hangar_bay.app import build_esi_client
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.ingest import scheduler, worker
from hangar_bay.ingest.service import Ingestor
from hangar_bay.settings import Settings
from tests.ingest.test_cli import cli_env, run_cli

TINY_REGIONS = 3  # at least this many regions in the tiny universe


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


async def test_once_with_esi_down_is_one_line_and_exit_4(
    database: Database, settings: Settings, sim: RunningSimulator
) -> None:
    sim.sim.set_faults(FaultConfig(down="503"))
    done = await run_cli(cli_env(settings, sim.base_url))
    assert done.returncode == 4, done.stderr[-2000:]
    line = _one_line(done.stderr)
    assert "ESI" in line, line
    assert "/universe/regions/" in line, line
    assert "503" in line, line


async def test_once_with_esi_unreachable_is_one_line_and_exit_4(
    database: Database, settings: Settings
) -> None:
    done = await run_cli(cli_env(settings, "http://127.0.0.1:1"), "--region", "10000002")
    assert done.returncode == 4, done.stderr[-2000:]
    line = _one_line(done.stderr)
    assert "http://127.0.0.1:1" in line, line
    assert "ESI" in line, line
    assert "/universe/regions/" in line, line


async def test_once_unknown_region_is_a_configuration_error(
    database: Database, settings: Settings, sim: RunningSimulator
) -> None:
    done = await run_cli(cli_env(settings, sim.base_url), "--region", "10000002", "--region", "99")
    assert done.returncode == 2, done.stderr[-2000:]
    line = _one_line(done.stderr)
    assert "region 99 " in line, line
    assert done.stdout == ""


def _ingestor(
    database: Database, cache: ResilientCache, settings: Settings
) -> tuple[Ingestor, Any]:
    http = build_esi_client(settings)
    ingestor = Ingestor.build(database=database, cache=cache, http=http, settings=settings)
    return ingestor, http


async def _until(predicate: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def _stop(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    stop.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _start(work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    return asyncio.create_task(work)


async def test_scheduler_survives_esi_down_for_the_region_list(
    database: Database,
    cache: ResilientCache,
    ingest_settings: Settings,
    sim: RunningSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scheduler, "REGIONS_RETRY_SECONDS", 0.05)
    ingestor, http = _ingestor(database, cache, ingest_settings.model_copy(update={"regions": []}))
    # Sweeps are not the point here: the scheduler's first sweep round is stubbed out.
    swept: list[list[int]] = []

    async def sweep_many(region_ids: list[int], *_: Any, **__: Any) -> list[Any]:
        swept.append(list(region_ids))
        await asyncio.sleep(3600)
        return []

    monkeypatch.setattr(ingestor, "sweep_many", sweep_many)
    sim.sim.set_faults(FaultConfig(down="503"))
    stop = asyncio.Event()
    with capture_logs() as logs:
        task = _start(scheduler.schedule(ingestor, stop))
        try:
            await _until(
                lambda: sum(e["event"] == "regions_unavailable" for e in logs) >= 2 or task.done()
            )
            assert not task.done(), task
            sim.sim.clear_faults()
            await _until(lambda: bool(swept) or task.done())
            assert not task.done(), task
        finally:
            await _stop(task, stop)
            await http.aclose()
    assert len(swept[0]) >= TINY_REGIONS


class _Task:
    def __init__(self) -> None:
        self.sent: list[int] = []

    async def kiq(self, region_id: int) -> None:
        self.sent.append(region_id)


class _Queues:
    def __init__(self) -> None:
        self.sweep_region = _Task()
        self.market_pass = None


async def test_worker_leader_survives_esi_down_for_the_region_list(
    database: Database,
    cache: ResilientCache,
    ingest_settings: Settings,
    sim: RunningSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker, "SCHEDULER_TICK_SECONDS", 0.05)
    ingestor, http = _ingestor(database, cache, ingest_settings.model_copy(update={"regions": []}))
    queues = _Queues()
    sim.sim.set_faults(FaultConfig(down="connection"))
    stop = asyncio.Event()
    with capture_logs() as logs:
        task = _start(worker.lead(ingestor, queues, stop))  # type: ignore[arg-type]
        try:
            await _until(
                lambda: sum(e["event"] == "regions_unavailable" for e in logs) >= 2 or task.done()
            )
            assert not task.done(), task
            assert queues.sweep_region.sent == []
            sim.sim.clear_faults()
            await _until(lambda: bool(queues.sweep_region.sent) or task.done())
            assert not task.done(), task
        finally:
            await _stop(task, stop)
            await http.aclose()
    assert len(set(queues.sweep_region.sent)) >= TINY_REGIONS
