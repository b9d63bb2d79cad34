"""What the parts of a region sweep share: its result, the previous sweep's record, the
re-check rule, bounded concurrency and the attributes every part reads."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from hangar_bay.core.cache import Cache
from hangar_bay.core.database import Database
from hangar_bay.core.metrics import Metrics
from hangar_bay.esi.client import EsiClient
from hangar_bay.ingest.recheck import recheck_delay
from hangar_bay.ingest.universe import Universe
from hangar_bay.ingest.writes import Writer
from hangar_bay.settings import Settings

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["recheck_delay"]

# Items answers that say "not available" (204; 403/404): the contract is most likely
# accepted. While it is still listed it is hidden and asked about again later.
UNAVAILABLE = ("gone", "forbidden")

ProgressFn = Callable[[int, str, int], None]
# Runs one items batch somewhere (this process, or a worker): (written, left pending).
ItemsDispatch = Callable[[list[int]], Awaitable[tuple[int, int]]]


def noop_progress(_: int, __: str, ___: int) -> None:
    return None


def poll_floor(expires: dt.datetime | None, now: dt.datetime, floor: float) -> dt.datetime:
    """``Expires`` raised to at least ``now + floor`` (plus up to 10 % jitter): ESI has
    answered with Expires at or before Date, and taking that literally re-polls at once.
    Both times are on ESI's clock."""
    earliest = now + dt.timedelta(seconds=floor * random.uniform(1.0, 1.1))
    if expires is None or expires < earliest:
        return earliest
    return expires


async def map_bounded(fn: Callable[[T], Awaitable[R]], items: Sequence[T], width: int) -> list[R]:
    """``fn`` over ``items``, at most ``width`` at once, results in order.

    A few workers taking the next item, rather than a task per item queued on the ESI
    client's semaphore: each queued task cost a task, a future and one more wake-up of
    the event loop per request, a visible share of ingestion's CPU at one request per
    contract."""
    results: list[R] = []
    if not items:
        return results
    slots: list[R | None] = [None] * len(items)
    position = 0

    async def worker() -> None:
        nonlocal position
        while position < len(items):
            index = position
            position += 1
            slots[index] = await fn(items[index])

    await asyncio.gather(*(worker() for _ in range(min(max(width, 1), len(items)))))
    results.extend(slots)  # type: ignore[arg-type]  # every slot was filled
    return results


@dataclass
class SweepResult:
    region_id: int
    outcome: str = "failed"
    error: str | None = None
    pages: int = 0
    contracts_live: int = 0
    contracts_written: int = 0
    delisted: int = 0
    items_written: int = 0
    # Courier routes (jumps per system pair) newly stored after the listing and items.
    routes_written: int = 0
    items_pending: int = 0
    # Contracts hidden because ESI said their items are not available.
    items_unavailable: int = 0
    requests: int = 0
    duration: float = 0.0
    next_due_at: dt.datetime | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.outcome == "complete"


@dataclass(frozen=True)
class Previous:
    """The region's last recorded sweep, read once as the current one starts (a region
    is never swept twice at once, so it still holds when the sweep records its own)."""

    outcome: str | None = None
    last_complete_at: dt.datetime | None = None
    last_attempt_at: dt.datetime | None = None
    # Live contracts, live ship contracts, items: as that sweep counted them.
    counts: tuple[int, int, int] | None = None

    @property
    def complete(self) -> bool:
        return self.outcome == "complete"


class SweepParts:
    """The attributes every part of a sweep (listing, items, names) reads."""

    database: Database
    cache: Cache
    esi: EsiClient
    universe: Universe
    writer: Writer
    settings: Settings
    metrics: Metrics | None
    clock: Callable[[], dt.datetime]
    items_dispatch: ItemsDispatch | None
    types_missing: Callable[[list[int]], Awaitable[object]] | None

    def recheck_at(self, attempts: int, now: dt.datetime) -> dt.datetime:
        """When to ask again after ``attempts`` unresolved answers (the re-check rule)."""
        return now + recheck_delay(
            attempts,
            self.settings.ingest_recheck_seconds,
            self.settings.ingest_recheck_max_seconds,
        )

    def floor_expires(self, expires: dt.datetime | None) -> dt.datetime:
        return poll_floor(expires, self.esi.server_now(), self.settings.esi_min_poll_seconds)
