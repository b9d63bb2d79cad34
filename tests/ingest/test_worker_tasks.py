"""The worker's tasks run by taskiq's receiver in-process (no queue server needed)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from structlog.testing import capture_logs
from taskiq import TaskiqMessage
from taskiq.receiver import Receiver

from hangar_bay.app import build_esi_client
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.ingest import worker
from hangar_bay.ingest.service import Ingestor
from hangar_bay.ingest.sweep import SweepResult
from hangar_bay.settings import Settings
from tests.conftest import TEST_CACHE_URL

REGION = 10000002


@pytest.fixture
async def ingestor(
    settings: Settings, database: Database, cache: ResilientCache
) -> AsyncIterator[Ingestor]:
    http = build_esi_client(settings)
    built = Ingestor.build(database=database, cache=cache, http=http, settings=settings)
    worker.CONTEXT.ingestor = built
    try:
        yield built
    finally:
        worker.CONTEXT.ingestor = None
        await built.esi.close()
        await http.aclose()


def _queues(settings: Settings) -> worker.Queues:
    # Building the brokers connects to nothing; the tasks are run below by hand.
    return worker.build_queues(
        settings.model_copy(update={"cache_url": TEST_CACHE_URL or "redis://127.0.0.1:1/0"})
    )


async def _run_sweep_task(queues: worker.Queues) -> bool:
    """Run ``sweep_region`` as taskiq's receiver does; whether it failed."""
    message = TaskiqMessage(
        task_id="t-1",
        task_name=queues.sweep_region.task_name,
        labels={},
        args=[REGION],
        kwargs={},
    )
    receiver = Receiver(queues.regions, max_async_tasks=1, run_startup=False)
    result = await receiver.run_task(queues.sweep_region.original_func, message)
    return result.is_err


async def test_a_sweep_task_that_lost_the_database_is_one_warning_line(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    ingestor: Ingestor,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = Database.from_url("postgresql+asyncpg://postgres@127.0.0.1:1/none")

    async def learn_clock() -> None:
        return None

    async def sweep(region_id: int, *_: object) -> SweepResult:
        async with dead.session() as session:  # the database is gone mid-sweep
            await session.execute(text("SELECT 1"))
        raise AssertionError("unreachable")

    monkeypatch.setattr(ingestor.esi, "learn_clock", learn_clock)
    monkeypatch.setattr(ingestor.sweeper, "sweep", sweep)
    queues = _queues(settings)
    # The leader's marker: left in place by a failed sweep, so the region is queued
    # again once it expires (the retry).
    assert await ingestor.cache.acquire_lock(worker.queued_key(REGION), 60) is not None
    try:
        with caplog.at_level(logging.INFO, logger="taskiq"), capture_logs() as logs:
            failed = await _run_sweep_task(queues)
    finally:
        await dead.dispose()

    assert failed
    assert await ingestor.cache.acquire_lock(worker.queued_key(REGION), 60) is None
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    (line,) = [e for e in logs if e["log_level"] != "info"]
    assert line["event"] == "task_failed"
    assert line["log_level"] == "warning"
    assert line["reason"] == "database_unavailable"
    assert line["task"] == "hangar_bay.ingest.sweep_region"
    assert str(REGION) in line["args"]
    assert "exc_info" not in line


async def test_a_sweep_task_that_crashed_otherwise_keeps_its_traceback(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    ingestor: Ingestor,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def sweep_region(region_id: int, *_: object, **__: object) -> SweepResult:
        raise ValueError("a bug")

    monkeypatch.setattr(ingestor, "sweep_region", sweep_region)
    queues = _queues(settings)
    with caplog.at_level(logging.INFO, logger="taskiq"), capture_logs() as logs:
        assert await _run_sweep_task(queues)

    (record,) = [r for r in caplog.records if r.exc_info]
    assert record.levelno == logging.ERROR
    assert isinstance(record.exc_info[1], ValueError)  # type: ignore[index]
    assert [e for e in logs if e["event"] == "task_failed"] == []
