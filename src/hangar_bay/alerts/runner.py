"""Running alerts beside ingestion: after sweeps, on a timer, and as worker tasks.

* Embedded (``serve``): :func:`alerts_hook` runs a loop in the app's process that matches,
  delivers and prunes every ``POLL_SECONDS`` and right after each round of sweeps
  (the ingestion scheduler calls :func:`AlertsRunner.after_sweeps`).
* Worker mode: :func:`register_tasks` adds ``hangar_bay.alerts.match`` and
  ``hangar_bay.alerts.deliver`` to the region queue; a finished ``sweep_region`` queues
  ``match``, which queues ``deliver`` when it wrote outbox rows; every worker also runs
  the loop, so rows left by a crash are sent after a restart.

Matching takes a deployment-wide lock (``alerts:matcher``), only to spare duplicate
work: correctness comes from the unique constraint and the claims.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from hangar_bay.alerts import service
from hangar_bay.alerts.discord import DeliveryResult, build_client, deliver_pending
from hangar_bay.alerts.matcher import MatchResult, match_new_contracts
from hangar_bay.core.cache import Cache, CacheError
from hangar_bay.core.database import Database
from hangar_bay.core.errors import log_failure
from hangar_bay.core.logging import get_logger
from hangar_bay.core.metrics import Metrics
from hangar_bay.core.state import AppState
from hangar_bay.settings import Settings

log = get_logger(__name__)

MATCHER_LOCK = "alerts:matcher"
MATCHER_LOCK_SECONDS = 300.0
POLL_SECONDS = 15.0
PRUNE_EVERY = dt.timedelta(hours=1)


@dataclass
class AlertsRunner:
    """Matching, delivery and pruning for one process."""

    database: Database
    cache: Cache
    settings: Settings
    metrics: Metrics | None = None
    http: httpx.AsyncClient | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    _pruned_at: dt.datetime | None = None

    def client(self) -> httpx.AsyncClient:
        if self.http is None:
            self.http = build_client(self.settings)
        return self.http

    async def match(self) -> MatchResult | None:
        """Run the matcher unless another process is running it (then ``None``)."""
        try:
            lock = await self.cache.acquire_lock(MATCHER_LOCK, MATCHER_LOCK_SECONDS)
        except CacheError:
            lock = None
        if lock is None:
            return None
        try:
            return await match_new_contracts(self.database, metrics=self.metrics)
        finally:
            with contextlib.suppress(CacheError):
                await self.cache.release_lock(lock)

    async def deliver(self) -> DeliveryResult:
        return await deliver_pending(self.database, self.client(), self.settings, self.metrics)

    async def prune(self) -> None:
        now = dt.datetime.now(dt.UTC)
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        async with self.database.session() as session:
            removed = await service.prune(
                session, dt.timedelta(days=self.settings.alerts_retention_days)
            )
        if removed:
            log.info("notifications_pruned", removed=removed)

    async def cycle(self) -> None:
        """Match, then deliver, then prune (hourly); never raises."""
        try:
            await self.match()
            await self.deliver()
            await self.prune()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log_failure(log, "alerts_cycle_failed", exc)

    async def after_sweeps(self) -> None:
        """For the ingestion scheduler: wake the loop now instead of at its next tick."""
        self.wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.wake.clear()
            await self.cycle()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(stop, self.wake), POLL_SECONDS)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


@contextlib.asynccontextmanager
async def running(runner: AlertsRunner) -> AsyncIterator[AlertsRunner]:
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop), name="alerts")
    try:
        yield runner
    finally:
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await runner.close()


def runner_for(state: AppState) -> AlertsRunner:
    return AlertsRunner(state["database"], state["cache"], state["settings"], state["metrics"])


@contextlib.asynccontextmanager
async def _embedded(state: AppState) -> AsyncIterator[object]:
    from hangar_bay.ingest.scheduler import ingestion_hook

    runner = runner_for(state)
    async with running(runner), ingestion_hook(state, after_sweeps=runner.after_sweeps):
        yield runner


def embedded_hook(state: AppState) -> contextlib.AbstractAsyncContextManager[object]:
    """The background hook ``serve`` registers when it ingests: the ingestion scheduler,
    and the alerts loop it wakes after every round of sweeps."""
    return _embedded(state)


@dataclass
class AlertTasks:
    match: AsyncTaskiqDecoratedTask[[], Coroutine[Any, Any, int]]
    deliver: AsyncTaskiqDecoratedTask[[], Coroutine[Any, Any, int]]


class _Context:
    runner: AlertsRunner | None = None


CONTEXT = _Context()


def _runner() -> AlertsRunner:
    if CONTEXT.runner is None:
        raise RuntimeError("the alerts runner has not started in this worker")
    return CONTEXT.runner


def register_tasks(broker: AsyncBroker) -> AlertTasks:
    """The worker's alert tasks, on ``broker`` (the region queue)."""

    @broker.task(task_name="hangar_bay.alerts.deliver")
    async def deliver() -> int:
        return (await _runner().deliver()).messages

    @broker.task(task_name="hangar_bay.alerts.match")
    async def match() -> int:
        result = await _runner().match()
        if result is not None and result.outbox:
            await deliver.kiq()
        return 0 if result is None else result.notifications

    return AlertTasks(match, deliver)
