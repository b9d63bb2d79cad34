"""The ingestion service: which regions exist, which are due, and sweeping them."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from hangar_bay.core.cache import Cache
from hangar_bay.core.database import Database
from hangar_bay.core.errors import error_line, is_database_unavailable, log_failure
from hangar_bay.core.logging import get_logger
from hangar_bay.core.metrics import Metrics
from hangar_bay.esi.client import EsiClient, build_client
from hangar_bay.esi.errors import EsiError
from hangar_bay.esi.governor import Governor
from hangar_bay.ingest.sweep import ProgressFn, RegionSweeper, SweepResult
from hangar_bay.ingest.universe import Incomplete, Universe
from hangar_bay.models import RegionStatus, as_utc, utcnow
from hangar_bay.settings import Settings

log = get_logger(__name__)


def _noop(_: int, __: str, ___: int) -> None:
    return None


@dataclass
class Ingestor:
    """Everything a sweep needs, built once per process."""

    database: Database
    cache: Cache
    esi: EsiClient
    settings: Settings
    metrics: Metrics | None = None
    clock: Callable[[], dt.datetime] = utcnow
    # Called after each round of sweeps (alerts: match the contracts they brought).
    after_sweeps: Callable[[], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        self.universe = Universe(
            self.database,
            self.esi,
            recheck_seconds=self.settings.ingest_recheck_seconds,
            recheck_max_seconds=self.settings.ingest_recheck_max_seconds,
            clock=self.clock,
        )
        self.sweeper = RegionSweeper(
            self.database,
            self.cache,
            self.esi,
            self.universe,
            self.settings,
            self.metrics,
            self.clock,
        )

    @classmethod
    def build(
        cls,
        *,
        database: Database,
        cache: Cache,
        http: httpx.AsyncClient,
        settings: Settings,
        metrics: Metrics | None = None,
    ) -> Ingestor:
        settings.check_for_real_esi()
        governor = Governor(cache, floor=settings.esi_error_budget_floor, metrics=metrics)
        return cls(
            database, cache, build_client(http, governor, settings, metrics), settings, metrics
        )

    async def regions(self) -> list[int]:
        """The configured regions, or every region ESI lists.

        Raises :class:`EsiError` when ESI cannot give its region list."""
        if self.settings.regions:
            return list(self.settings.regions)
        return await self.esi_regions()

    async def esi_regions(self) -> list[int]:
        """Every region id ESI lists (``/universe/regions/``), ascending; may be empty.

        Raises :class:`EsiError` when ESI is down, unreachable or refuses."""
        response = await self.esi.get("/universe/regions/", route="regions")
        data = response.data if isinstance(response.data, list) else []
        return sorted({r for r in data if isinstance(r, int) and not isinstance(r, bool)})

    async def name_regions(self, region_ids: Sequence[int]) -> None:
        try:
            await self.universe.ensure_names(region_ids)
        except (Incomplete, EsiError) as exc:
            log.warning("region_names_unresolved", error=str(exc))

    async def due_regions(self, region_ids: Sequence[int]) -> tuple[list[int], dt.datetime | None]:
        """Regions due now (never swept, or past ``next_due_at``) and the next due time."""
        async with self.database.sessionmaker() as session:
            result = await session.execute(
                select(RegionStatus.region_id, RegionStatus.next_due_at).where(
                    RegionStatus.region_id.in_(region_ids)
                )
            )
            rows = {row.region_id: row.next_due_at for row in result}
        now = self.clock()
        due: list[int] = []
        upcoming: list[dt.datetime] = []
        for region_id in region_ids:
            at = as_utc(rows.get(region_id))
            if at is None or at <= now:
                due.append(region_id)
            else:
                upcoming.append(at)
        return due, min(upcoming) if upcoming else None

    async def sweep_region(
        self, region_id: int, progress: ProgressFn = _noop, *, wait: bool = False
    ) -> SweepResult:
        """Sweep one region; never two sweeps of one region at once across the deployment.
        When another process holds the region, skip it (``locked``) or, with ``wait``,
        wait for it (an operator's ``ingest --once`` wants the sweep done)."""
        name = f"ingest:region:{region_id}"
        ttl = self.settings.ingest_lock_seconds
        lock = await self.cache.acquire_lock(name, ttl)
        if lock is None and wait:
            # Say why nothing happens: another run holds the region, or a killed one
            # left its lock behind, which expires by itself within ingest_lock_seconds.
            log.warning(
                "sweep_waiting_for_lock",
                region_id=region_id,
                lock=name,
                expires_within_seconds=ttl,
                hint="another ingest holds this region, or a killed run left its lock",
            )
            waited = time.monotonic()
            while lock is None:
                await asyncio.sleep(1.0)
                lock = await self.cache.acquire_lock(name, ttl)
            log.warning(
                "sweep_lock_acquired",
                region_id=region_id,
                waited_seconds=round(time.monotonic() - waited, 1),
            )
        if lock is None:
            log.info("sweep_skipped_locked", region_id=region_id)
            return SweepResult(region_id, outcome="locked")
        stop = asyncio.Event()

        async def keep_lock() -> None:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), ttl / 3)
                except TimeoutError:
                    await self.cache.extend_lock(lock, ttl)

        keeper = asyncio.create_task(keep_lock())
        try:
            await self.esi.learn_clock()
            return await self.sweeper.sweep(region_id, progress)
        finally:
            stop.set()
            await keeper
            await self.cache.release_lock(lock)

    async def sweep_many(
        self,
        region_ids: Sequence[int],
        progress: ProgressFn = _noop,
        on_result: Callable[[SweepResult], None] | None = None,
        *,
        wait: bool = False,
        stop_on_database_loss: bool = False,
    ) -> list[SweepResult]:
        """Sweep ``region_ids`` (``ingest_region_concurrency`` at a time); one result
        per region, in their order. A sweep that crashes is a ``failed`` result: logged
        ``sweep_crashed`` with its traceback, or, when the database cannot be reached,
        ``sweep_database_unavailable`` in one warning line (a condition, not a bug).
        ``stop_on_database_loss`` (``ingest --once``): that error is raised instead
        and the other sweeps are cancelled, since every one of them would meet it."""
        semaphore = asyncio.Semaphore(self.settings.ingest_region_concurrency)

        async def one(region_id: int) -> SweepResult:
            async with semaphore:
                try:
                    result = await self.sweep_region(region_id, progress, wait=wait)
                except Exception as exc:
                    if not is_database_unavailable(exc):
                        # One region's bug must not stop the others; it is reported failed.
                        log.exception("sweep_crashed", region_id=region_id)
                    elif stop_on_database_loss:
                        raise
                    else:
                        log.warning(
                            "sweep_database_unavailable",
                            region_id=region_id,
                            error=error_line(exc),
                        )
                    result = SweepResult(region_id, outcome="failed", error=repr(exc)[:500])
            if on_result is not None:
                on_result(result)
            return result

        tasks = [asyncio.ensure_future(one(r)) for r in region_ids]
        try:
            results = list(await asyncio.gather(*tasks))
        finally:
            # Only a lost database (with stop_on_database_loss) or a cancellation gets
            # here with sweeps still running: end them rather than leave them behind.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.after_sweeps is not None and any(r.outcome != "locked" for r in results):
            try:
                await self.after_sweeps()
            except Exception as exc:
                log_failure(log, "after_sweeps_failed", exc)
        return results
