"""Sweeping regions as they fall due, in this process (the embedded default).

``serve`` on the embedded default runs :func:`ingestion_hook` beside the web app;
``hangar-bay ingest`` without ``--once`` runs :func:`run_forever` alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from hangar_bay.app import build_esi_client
from hangar_bay.core.cache import create_cache
from hangar_bay.core.database import Database
from hangar_bay.core.errors import log_failure
from hangar_bay.core.logging import get_logger
from hangar_bay.core.metrics import Metrics
from hangar_bay.core.state import AppState
from hangar_bay.esi.errors import EsiError
from hangar_bay.ingest.service import Ingestor
from hangar_bay.market.service import run_market_pass
from hangar_bay.models import utcnow
from hangar_bay.settings import Settings

log = get_logger(__name__)

# Upper bound on one idle wait, so new configuration or a clock jump is noticed.
MAX_IDLE_SECONDS = 60.0
REGIONS_RETRY_SECONDS = 30.0


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(seconds, 0.05))


async def schedule(ingestor: Ingestor, stop: asyncio.Event) -> None:
    """Sweep every due region, sleep until the next one is due, repeat until ``stop``."""
    regions: list[int] = []
    while not stop.is_set() and not regions:
        try:
            regions = await ingestor.regions()
            await ingestor.name_regions(regions)
        except EsiError as exc:
            log.warning("regions_unavailable", error=str(exc))
        if not regions:
            # ESI down, unreachable or listing nothing: ask again later, never spin.
            await _sleep_or_stop(stop, REGIONS_RETRY_SECONDS)
    log.info("ingest_scheduler_started", regions=len(regions))
    while not stop.is_set():
        try:
            # Market prices, values and price history, between sweeps (market/service.py).
            await run_market_pass(ingestor)
            due, next_at = await ingestor.due_regions(regions)
            if due:
                await ingestor.sweep_many(due)
                continue
            wait = MAX_IDLE_SECONDS
            if next_at is not None:
                wait = min(wait, (next_at - utcnow()).total_seconds())
            await _sleep_or_stop(stop, wait)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The scheduler outlives any one failure (database blip, bug in one sweep).
            log_failure(log, "ingest_scheduler_error", exc)
            await _sleep_or_stop(stop, REGIONS_RETRY_SECONDS)


@contextlib.asynccontextmanager
async def _running(ingestor: Ingestor) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(schedule(ingestor, stop), name="ingest-scheduler")
    try:
        yield
    finally:
        stop.set()
        # A sweep in progress is abandoned safely: every batch is its own transaction.
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await ingestor.esi.close()


def ingestion_hook(
    state: AppState, after_sweeps: Callable[[], Awaitable[None]] | None = None
) -> contextlib.AbstractAsyncContextManager[object]:
    """The background hook ``serve`` registers on the embedded default."""
    ingestor = Ingestor.build(
        database=state["database"],
        cache=state["cache"],
        http=state["esi_http"],
        settings=state["settings"],
        metrics=state["metrics"],
    )
    ingestor.after_sweeps = after_sweeps
    return _running(ingestor)


async def run_forever(settings: Settings) -> None:
    metrics = Metrics()
    database = Database.from_url(settings.database_url, pool_size=settings.database_pool_size)
    cache = create_cache(settings.cache_url, prefix=settings.cache_prefix, metrics=metrics)
    http = build_esi_client(settings)
    try:
        ingestor = Ingestor.build(
            database=database, cache=cache, http=http, settings=settings, metrics=metrics
        )
        async with _running(ingestor):
            await asyncio.Event().wait()
    finally:
        await http.aclose()
        await cache.close()
        await database.dispose()
