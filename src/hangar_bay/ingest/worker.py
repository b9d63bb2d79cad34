"""Distributed ingestion: taskiq workers on Valkey/Redis streams.

Every ``hangar-bay worker`` process

* consumes two queues (Redis streams with a consumer group, so a task is acknowledged
  only once it has finished, and a task a killed worker held is handed to another after
  ``ingest_requeue_seconds``):
  - ``regions``: sweep one region (listing, delisting, names, freshness);
  - ``items``: fetch and write the items of one batch of contracts, and type resolution.
  Separate queues keep a region sweep, which waits for its item batches, from ever
  occupying the slots those batches need;
* competes for the scheduler's leader lock; the one holder enqueues regions as they
  fall due (one queued marker per region, so a region is never queued twice).

Every task is idempotent and guarded: a region sweep takes the region's lock, an item
batch only touches contracts still pending, and both write with upserts.

A task that fails because the database is unreachable is reported in one warning line
(``task_failed`` with ``reason: database_unavailable``, like every other background loop;
:class:`DatabaseLossLog`) instead of taskiq's traceback; it still fails as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from taskiq import (
    AsyncBroker,
    AsyncTaskiqDecoratedTask,
    TaskiqMessage,
    TaskiqMiddleware,
    TaskiqResult,
)
from taskiq.acks import AcknowledgeType
from taskiq.api import run_receiver_task
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from hangar_bay.alerts.runner import CONTEXT as ALERTS_CONTEXT
from hangar_bay.alerts.runner import AlertsRunner, AlertTasks
from hangar_bay.alerts.runner import register_tasks as register_alert_tasks
from hangar_bay.app import build_esi_client
from hangar_bay.core.cache import ResilientCache, create_cache
from hangar_bay.core.database import Database
from hangar_bay.core.errors import is_database_unavailable, log_failure
from hangar_bay.core.logging import get_logger
from hangar_bay.core.metrics import Metrics
from hangar_bay.esi.errors import EsiError
from hangar_bay.ingest.scheduler import _sleep_or_stop
from hangar_bay.ingest.service import Ingestor
from hangar_bay.ingest.universe import Incomplete
from hangar_bay.market.service import run_market_pass
from hangar_bay.settings import Settings

log = get_logger(__name__)

SCHEDULER_LOCK = "ingest:scheduler"
SCHEDULER_LOCK_SECONDS = 15.0
SCHEDULER_TICK_SECONDS = 2.0


MARKET_QUEUED = "market:queued"


def queued_key(region_id: int) -> str:
    return f"ingest:queued:{region_id}"


@dataclass
class Queues:
    regions: AsyncBroker
    items: AsyncBroker
    sweep_region: AsyncTaskiqDecoratedTask[[int], Coroutine[Any, Any, str]]
    items_batch: AsyncTaskiqDecoratedTask[[list[int]], Coroutine[Any, Any, list[int]]]
    resolve_types: AsyncTaskiqDecoratedTask[[list[int]], Coroutine[Any, Any, int]]
    region_queue: str
    items_queue: str
    alerts: AlertTasks | None = None
    # Prices, values, price history (market/service.py), queued by the leader.
    market_pass: AsyncTaskiqDecoratedTask[[], Coroutine[Any, Any, int]] | None = None


class _Context:
    """What tasks need, filled in when the worker starts (tasks run in that process)."""

    ingestor: Ingestor | None = None


CONTEXT = _Context()


def _ingestor() -> Ingestor:
    if CONTEXT.ingestor is None:
        raise RuntimeError("the ingestion worker has not started")
    return CONTEXT.ingestor


# taskiq's receiver logs every failed task with its traceback on this logger.
TASKIQ_RECEIVER_LOGGER = "taskiq.receiver.receiver"


class _DatabaseLossReported(logging.Filter):
    """Drops the receiver's traceback for a task failed by a lost database:
    :class:`DatabaseLossLog` reports it in one line (an outage repeats on every task,
    and a lost connection's traceback says nothing an operator can act on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        failure = record.exc_info[1] if record.exc_info else None
        return failure is None or not is_database_unavailable(failure)


class DatabaseLossLog(TaskiqMiddleware):
    """Logs a task failed by an unreachable database as one warning line
    (``task_failed``: ``task``, ``task_id``, ``args`` cut to 100 characters, ``error``)
    through :func:`core.errors.log_failure`; the task still fails (its result is an
    error and the message is acknowledged, as for any failure). Other failures keep
    taskiq's traceback. Adding it to a broker also installs the filter that drops
    taskiq's own line for those failures."""

    def set_broker(self, broker: AsyncBroker) -> None:
        super().set_broker(broker)
        receiver_log = logging.getLogger(TASKIQ_RECEIVER_LOGGER)
        if not any(isinstance(f, _DatabaseLossReported) for f in receiver_log.filters):
            receiver_log.addFilter(_DatabaseLossReported())

    def on_error(
        self, message: TaskiqMessage, result: TaskiqResult[Any], exception: BaseException
    ) -> None:
        if is_database_unavailable(exception):
            log_failure(
                log,
                "task_failed",
                exception,
                task=message.task_name,
                task_id=message.task_id,
                args=repr(message.args)[:100],
            )


def build_queues(settings: Settings) -> Queues:
    url = settings.cache_url
    prefix = settings.cache_prefix
    idle_ms = int(settings.ingest_requeue_seconds * 1000)
    results = RedisAsyncResultBackend[Any](
        url, result_ex_time=3600, keep_results=False, prefix_str=f"{prefix}taskiq-results"
    )
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    region_queue = f"{prefix}ingest:regions"
    items_queue = f"{prefix}ingest:items"

    def stream(queue_name: str) -> AsyncBroker:
        return (
            RedisStreamBroker(
                url,
                queue_name=queue_name,
                consumer_group_name="hangar-bay",
                consumer_name=consumer,
                consumer_id="0",
                idle_timeout=idle_ms,
                xread_count=1,
            )
            .with_result_backend(results)
            .with_middlewares(DatabaseLossLog())
        )

    regions = stream(region_queue)
    items = stream(items_queue)
    alerts = register_alert_tasks(regions)

    @regions.task(task_name="hangar_bay.ingest.sweep_region")
    async def sweep_region(region_id: int) -> str:
        ingestor = _ingestor()
        result = await ingestor.sweep_region(region_id)
        if result.outcome != "locked":
            # Due again only once its next_due_at passes; the scheduler may queue it then.
            await ingestor.cache.delete(queued_key(region_id))
            # Alerts: match what the sweep brought, as a task of its own.
            await alerts.match.kiq()
        return result.outcome

    @items.task(task_name="hangar_bay.ingest.items_batch")
    async def items_batch(contract_ids: list[int]) -> list[int]:
        ingestor = _ingestor()
        digest = hashlib.sha1(repr(sorted(contract_ids)).encode(), usedforsecurity=False)
        lock = await ingestor.cache.acquire_lock(
            f"ingest:items:{digest.hexdigest()}", settings.ingest_requeue_seconds
        )
        if lock is None:
            # The same batch is running elsewhere (a redelivery): report it as left.
            return [0, len(contract_ids)]
        try:
            written, left = await ingestor.sweeper.items_batch(contract_ids)
        finally:
            await ingestor.cache.release_lock(lock)
        return [written, left]

    @items.task(task_name="hangar_bay.ingest.resolve_types")
    async def resolve_types(type_ids: list[int]) -> int:
        try:
            return len(await _ingestor().universe.ensure_types(type_ids))
        except Incomplete:
            return -1

    @regions.task(task_name="hangar_bay.market.market_pass")
    async def market_pass() -> int:
        ingestor = _ingestor()
        try:
            return (await run_market_pass(ingestor)).valued
        finally:
            await ingestor.cache.delete(MARKET_QUEUED)

    return Queues(
        regions,
        items,
        sweep_region,
        items_batch,
        resolve_types,
        region_queue,
        items_queue,
        alerts=alerts,
        market_pass=market_pass,
    )


def _dispatcher(queues: Queues, settings: Settings) -> Any:
    async def dispatch(contract_ids: list[int]) -> tuple[int, int]:
        task = await queues.items_batch.kiq(contract_ids)
        try:
            result = await task.wait_result(
                check_interval=0.1, timeout=settings.ingest_requeue_seconds * 2
            )
        except Exception as exc:
            log.warning("items_batch_unfinished", error=str(exc)[:200])
            return 0, len(contract_ids)
        if result.is_err or not isinstance(result.return_value, list):
            return 0, len(contract_ids)
        written, left = result.return_value
        return int(written), int(left)

    return dispatch


async def lead(ingestor: Ingestor, queues: Queues, stop: asyncio.Event) -> None:
    """Compete for the leader lock; while held, queue every due region once."""
    cache = ingestor.cache
    regions: list[int] = []
    while not stop.is_set():
        lock = await cache.acquire_lock(SCHEDULER_LOCK, SCHEDULER_LOCK_SECONDS)
        if lock is None:
            await _sleep_or_stop(stop, SCHEDULER_LOCK_SECONDS / 3)
            continue
        log.info("ingest_scheduler_leading")
        try:
            while not stop.is_set():
                if not regions:
                    try:
                        regions = await ingestor.regions()
                        await ingestor.name_regions(regions)
                    except EsiError as exc:
                        log.warning("regions_unavailable", error=str(exc))
                due, _ = await ingestor.due_regions(regions)
                for region_id in due:
                    marker = await cache.acquire_lock(
                        queued_key(region_id), ingestor.settings.ingest_requeue_seconds
                    )
                    if marker is not None:
                        await queues.sweep_region.kiq(region_id)
                await _queue_market_pass(ingestor, queues)
                await _observe_depth(ingestor, queues)
                await _sleep_or_stop(stop, SCHEDULER_TICK_SECONDS)
                if not await cache.extend_lock(lock, SCHEDULER_LOCK_SECONDS):
                    log.warning("ingest_scheduler_lost_lead")
                    break
        except Exception as exc:
            log_failure(log, "ingest_scheduler_error", exc)
            await _sleep_or_stop(stop, SCHEDULER_TICK_SECONDS)
        finally:
            await cache.release_lock(lock)


async def _queue_market_pass(ingestor: Ingestor, queues: Queues) -> None:
    # One queued at a time (a marker the task deletes when done); each pass is cheap
    # when nothing changed.
    if queues.market_pass is None:
        return
    marker = await ingestor.cache.acquire_lock(
        MARKET_QUEUED, ingestor.settings.ingest_requeue_seconds
    )
    if marker is not None:
        await queues.market_pass.kiq()


async def _observe_depth(ingestor: Ingestor, queues: Queues) -> None:
    if ingestor.metrics is None:
        return
    backend = getattr(ingestor.cache, "backend", None)
    client = getattr(backend, "client", None)
    if client is None:
        return
    try:
        depth = 0
        for name in (queues.region_queue, queues.items_queue):
            depth += int(await client.xlen(name))
    except Exception as exc:  # metrics must never stop the scheduler
        log.debug("queue_depth_unknown", error=str(exc))
        return
    ingestor.metrics.queue_depth.set(depth)


async def run_worker(settings: Settings, *, scheduler: bool = True, concurrency: int = 4) -> None:
    metrics = Metrics()
    database = Database.from_url(settings.database_url, pool_size=settings.database_pool_size)
    cache: ResilientCache = create_cache(
        settings.cache_url, prefix=settings.cache_prefix, metrics=metrics
    )
    http = build_esi_client(settings)
    queues = build_queues(settings)
    ingestor = Ingestor.build(
        database=database, cache=cache, http=http, settings=settings, metrics=metrics
    )
    ingestor.sweeper.items_dispatch = _dispatcher(queues, settings)
    ingestor.sweeper.types_missing = queues.resolve_types.kiq
    CONTEXT.ingestor = ingestor
    alerts = AlertsRunner(database, cache, settings, metrics)
    ALERTS_CONTEXT.runner = alerts
    stop = asyncio.Event()
    await queues.regions.startup()
    await queues.items.startup()
    tasks = [
        asyncio.create_task(
            run_receiver_task(
                queues.regions,
                max_async_tasks=settings.ingest_region_concurrency,
                ack_time=AcknowledgeType.WHEN_SAVED,
            ),
            name="ingest-regions",
        ),
        asyncio.create_task(
            run_receiver_task(
                queues.items, max_async_tasks=concurrency, ack_time=AcknowledgeType.WHEN_SAVED
            ),
            name="ingest-items",
        ),
    ]
    if scheduler:
        tasks.append(asyncio.create_task(lead(ingestor, queues, stop), name="ingest-lead"))
    # Alerts on a timer too: rows a crash left unsent go out after a restart.
    tasks.append(asyncio.create_task(alerts.run(stop), name="alerts"))
    log.info("ingest_worker_started", scheduler=scheduler, concurrency=concurrency)
    try:
        await asyncio.gather(*tasks)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await queues.regions.shutdown()
        await queues.items.shutdown()
        await ingestor.esi.close()
        await alerts.close()
        await http.aclose()
        await cache.close()
        await database.dispose()
