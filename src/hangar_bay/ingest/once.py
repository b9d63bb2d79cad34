"""``hangar-bay ingest --once``: one complete pass over the requested regions."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hangar_bay.app import build_esi_client
from hangar_bay.core.cache import create_cache
from hangar_bay.core.database import Database
from hangar_bay.core.errors import error_line, is_database_unavailable
from hangar_bay.core.logging import get_logger
from hangar_bay.core.metrics import Metrics
from hangar_bay.esi.errors import EsiError
from hangar_bay.ingest.service import Ingestor
from hangar_bay.ingest.sweep import SweepResult
from hangar_bay.market.service import run_market_pass
from hangar_bay.settings import Settings

log = get_logger(__name__)

T = TypeVar("T")

# How often the pass checks that the database still answers, how long one check may
# take, and how many failed checks in a row end the pass.
DATABASE_CHECK_SECONDS = 2.0
DATABASE_CHECK_TIMEOUT = 5.0
DATABASE_CHECKS_FAILED = 3


class DatabaseUnreachable(Exception):
    """The database cannot be reached; the message is one line for the operator."""


class EsiUnavailable(Exception):
    """ESI did not give its region list (down, unreachable, refusing); one line."""


class UnknownRegions(Exception):
    """``--region`` named regions ESI does not list (a configuration error); one line."""

    def __init__(self, region_ids: Sequence[int]) -> None:
        self.region_ids = list(region_ids)
        super().__init__(
            "ESI lists no region "
            + ", ".join(str(r) for r in self.region_ids)
            + " (see /universe/regions/)"
        )


async def regions_to_sweep(ingestor: Ingestor, requested: Sequence[int]) -> list[int]:
    """The requested regions (checked against ESI's list), or every region.

    Raises :class:`EsiUnavailable` when ESI's region list cannot be had and
    :class:`UnknownRegions` when a requested region is not on it."""
    try:
        if not requested:
            return await ingestor.regions()
        known = set(await ingestor.esi_regions())
    except EsiError as exc:
        raise EsiUnavailable(
            f"ESI ({ingestor.settings.esi_base_url}) did not give its region list "
            f"(/universe/regions/): {exc}"
        ) from None
    unknown = [r for r in requested if r not in known]
    # An empty list proves nothing about the regions asked for; their sweeps will tell.
    if known and unknown:
        raise UnknownRegions(unknown)
    return list(requested)


def _describe_database(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=True)


def _unreachable(database: Database, reason: str) -> DatabaseUnreachable:
    return DatabaseUnreachable(
        f"the database {_describe_database(database)} is unreachable: {reason}"
    )


async def require_database(database: Database) -> None:
    """Raise :class:`DatabaseUnreachable` unless the database answers within seconds."""
    try:
        await asyncio.wait_for(database.ping(), DATABASE_CHECK_TIMEOUT)
    except TimeoutError:
        raise _unreachable(database, f"no answer within {DATABASE_CHECK_TIMEOUT:g}s") from None
    except Exception as exc:
        if is_database_unavailable(exc):
            raise _unreachable(database, error_line(exc)) from None
        raise


async def while_database_answers(database: Database, work: Awaitable[T]) -> T:
    """Run ``work``, but give up on it once the database stops answering.

    Two ways to notice: ``work`` itself fails with an error that means "the database
    cannot be reached" (:func:`~hangar_bay.core.errors.is_database_unavailable`: a
    dropped connection, a refused one, a pool timeout), or work that waits on the
    database without failing (a server that hangs) leaves the checks, every few
    seconds, failing a few times in a row; then the work is cancelled. Either way
    :class:`DatabaseUnreachable` names the database and the cause, and nothing else
    of the work's is raised or logged.
    """
    task = asyncio.ensure_future(work)
    failures = 0
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=DATABASE_CHECK_SECONDS)
            if done:
                try:
                    return task.result()
                except Exception as exc:
                    if not is_database_unavailable(exc):
                        raise
                    raise _unreachable(database, error_line(exc)) from None
            try:
                await require_database(database)
                failures = 0
            except DatabaseUnreachable as exc:
                failures += 1
                log.warning("database_check_failed", failures=failures, error=str(exc))
                if failures >= DATABASE_CHECKS_FAILED:
                    raise
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


EXIT_COMPLETE = 0
EXIT_PARTIAL = 3
EXIT_FAILED = 4


@dataclass
class PassSummary:
    results: list[SweepResult]
    seconds: float
    requests: int
    not_modified: int
    # The lowest error budget ESI reported during the pass (None: never reported).
    lowest_error_budget: float | None = None

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.complete for r in self.results)

    @property
    def exit_code(self) -> int:
        """``ingest --once``'s exit status: 0 every region complete; 3 partial (some
        contracts' items or locations still pending after the in-pass retries, a names
        call that failed, an unproven listing; a later pass picks them up); 4 failed
        (some region had no usable listing, or there was nothing to sweep). A name ESI
        refuses is re-checked later and changes nothing here. 1 (database unreachable),
        2 (configuration, an unknown ``--region``) and 4 for ESI's region list are
        decided in ``commands.ingest_command``."""
        if self.ok:
            return EXIT_COMPLETE
        if not self.results or any(r.outcome in ("failed", "locked") for r in self.results):
            return EXIT_FAILED
        return EXIT_PARTIAL

    def line(self) -> str:
        done = sum(1 for r in self.results if r.complete)
        incomplete = [str(r.region_id) for r in self.results if not r.complete]
        text = (
            f"ingest: {done}/{len(self.results)} regions complete, "
            f"{sum(r.contracts_live for r in self.results)} live contracts, "
            f"{sum(r.contracts_written for r in self.results)} written, "
            f"{sum(r.delisted for r in self.results)} delisted, "
            f"{sum(r.items_written for r in self.results)} items, "
            f"{self.requests} ESI requests ({self.not_modified} not modified), "
            f"{self.seconds:.1f}s"
        )
        if incomplete:
            text += f"; incomplete: {' '.join(incomplete[:20])}"
        return text


async def run_once(
    settings: Settings, regions: Sequence[int] = (), *, show_progress: bool | None = None
) -> PassSummary:
    """One pass over ``regions`` (every region ESI lists when empty), then the market
    pass. Raises :class:`DatabaseUnreachable` when the database cannot be reached, at
    the start or at any point of the pass (the pass is then abandoned, no summary),
    :class:`EsiUnavailable` and :class:`UnknownRegions` as :func:`regions_to_sweep`."""
    metrics = Metrics()
    started = time.monotonic()
    async with AsyncExitStack() as stack:
        database = Database.from_url(settings.database_url, pool_size=settings.database_pool_size)
        stack.push_async_callback(database.dispose)
        cache = create_cache(settings.cache_url, prefix=settings.cache_prefix, metrics=metrics)
        stack.push_async_callback(cache.close)
        http = build_esi_client(settings)
        stack.push_async_callback(http.aclose)
        await require_database(database)
        ingestor = Ingestor.build(
            database=database, cache=cache, http=http, settings=settings, metrics=metrics
        )
        stack.push_async_callback(ingestor.esi.close)
        interactive = sys.stderr.isatty() if show_progress is None else show_progress
        # Watched as a whole: the database can go away at any step of the pass.
        results = await while_database_answers(
            database, _sweep_and_price(ingestor, regions, interactive)
        )
        return PassSummary(
            results,
            time.monotonic() - started,
            ingestor.esi.stats.sent,
            ingestor.esi.stats.not_modified,
            ingestor.esi.governor.lowest_remaining,
        )


async def _sweep_and_price(
    ingestor: Ingestor, regions: Sequence[int], interactive: bool
) -> list[SweepResult]:
    region_ids = await regions_to_sweep(ingestor, regions)
    await ingestor.name_regions(region_ids)
    if interactive:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=False,
        ) as bar:
            regions_task = bar.add_task("regions", total=len(region_ids))
            items_task = bar.add_task("contracts with items", total=None)

            def progress(_: int, stage: str, n: int) -> None:
                if stage == "items":
                    bar.advance(items_task, n)

            def done(result: SweepResult) -> None:
                bar.advance(regions_task)

            results = await ingestor.sweep_many(
                region_ids, progress, done, wait=True, stop_on_database_loss=True
            )
    else:
        total = len(region_ids)
        finished = 0

        def report(result: SweepResult) -> None:
            nonlocal finished
            finished += 1
            log.info(
                "ingest_progress",
                done=finished,
                total=total,
                region_id=result.region_id,
                outcome=result.outcome,
            )

        results = await ingestor.sweep_many(
            region_ids, on_result=report, wait=True, stop_on_database_loss=True
        )
    # Prices, values and price history of what the sweeps brought (market/service.py).
    await run_market_pass(ingestor, stop_on_database_loss=True)
    return results
