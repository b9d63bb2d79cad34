"""``hangar-bay ingest --once``: one complete pass over the requested regions."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hangar_bay.app import build_esi_client
from hangar_bay.core.cache import create_cache
from hangar_bay.core.database import Database
from hangar_bay.core.logging import get_logger
from hangar_bay.core.metrics import Metrics
from hangar_bay.ingest.service import Ingestor
from hangar_bay.ingest.sweep import SweepResult
from hangar_bay.settings import Settings

log = get_logger(__name__)


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
        contracts, names or locations still pending after the in-pass retries; a later
        pass picks them up); 4 failed (some region had no usable listing, or there was
        nothing to sweep). 2 is left for configuration errors."""
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
    metrics = Metrics()
    started = time.monotonic()
    async with AsyncExitStack() as stack:
        database = Database.from_url(settings.database_url, pool_size=settings.database_pool_size)
        stack.push_async_callback(database.dispose)
        cache = create_cache(settings.cache_url, prefix=settings.cache_prefix, metrics=metrics)
        stack.push_async_callback(cache.close)
        http = build_esi_client(settings)
        stack.push_async_callback(http.aclose)
        ingestor = Ingestor.build(
            database=database, cache=cache, http=http, settings=settings, metrics=metrics
        )
        stack.push_async_callback(ingestor.esi.close)
        region_ids = list(regions) or await ingestor.regions()
        await ingestor.name_regions(region_ids)
        interactive = sys.stderr.isatty() if show_progress is None else show_progress
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

                results = await ingestor.sweep_many(region_ids, progress, done, wait=True)
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

            results = await ingestor.sweep_many(region_ids, on_result=report, wait=True)
        return PassSummary(
            results,
            time.monotonic() - started,
            ingestor.esi.stats.sent,
            ingestor.esi.stats.not_modified,
            ingestor.esi.governor.lowest_remaining,
        )
