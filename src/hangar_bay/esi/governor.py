"""One error-budget governor for the whole deployment.

ESI allows a fixed number of error responses per window (``X-ESI-Error-Limit-Remain`` /
``-Reset``); once the budget is gone every route answers 420 until the window resets, for
every process behind the same IP. So the pause lives in the shared cache (Valkey on a
fleet, memory on the embedded default): when any process sees the budget fall to the
floor, or meets a 420/429, it writes "pause until T" and every process waits for T
before its next call.

Timeouts count against ESI's budget but come back without headers, so each process
also keeps an estimate: the last reported remainder minus the errors it has seen since.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping

from hangar_bay.core.cache import Cache
from hangar_bay.core.logging import get_logger
from hangar_bay.core.metrics import Metrics

log = get_logger(__name__)

PAUSE_KEY = "esi:pause_until"
# A little past the advertised reset: clocks differ and ESI's window is coarse.
RESET_MARGIN_SECONDS = 1.0
# How often a process re-reads the shared pause while it believes it is not paused.
REFRESH_SECONDS = 0.2
# A 420/429 without usable headers pauses this long.
DEFAULT_PAUSE_SECONDS = 60.0


def _number(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return float(raw.split("/")[0].strip())
    except ValueError:
        return None


class Governor:
    def __init__(
        self,
        cache: Cache,
        *,
        floor: int = 20,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.cache = cache
        self.floor = floor
        self.metrics = metrics
        self.clock = clock
        self.sleep = sleep
        self._pause_until = 0.0
        self._checked_at = float("-inf")
        # Estimate of the errors left: last reported value minus unreported errors since.
        self.remaining: float | None = None
        self._reset_at: float | None = None
        self.pauses = 0
        self.lowest_remaining: float | None = None

    async def _shared_pause(self) -> float:
        now = self.clock()
        if now - self._checked_at >= REFRESH_SECONDS or self._pause_until > now:
            # Marked before the read, so a burst of concurrent calls reads the cache once.
            self._checked_at = now
            raw = await self.cache.get(PAUSE_KEY)
            if raw is not None:
                with contextlib.suppress(ValueError):
                    self._pause_until = max(self._pause_until, float(raw))
        return self._pause_until

    async def wait(self) -> None:
        """Return once ESI may be called again."""
        while True:
            until = await self._shared_pause()
            delay = until - self.clock()
            if delay <= 0:
                return
            await self.sleep(min(delay, 5.0))

    async def pause(self, seconds: float, reason: str) -> None:
        until = self.clock() + max(seconds, 0.0)
        if until <= self._pause_until:
            return
        self._pause_until = until
        self.pauses += 1
        log.warning("esi_paused", seconds=round(seconds, 2), reason=reason)
        current = await self.cache.get(PAUSE_KEY)
        try:
            shared = float(current) if current is not None else 0.0
        except ValueError:
            shared = 0.0
        if until > shared:
            await self.cache.set(PAUSE_KEY, repr(until).encode(), ttl=seconds + 5)

    def _note_remaining(self, remain: float) -> None:
        self.remaining = remain
        if self.lowest_remaining is None or remain < self.lowest_remaining:
            self.lowest_remaining = remain
        if self.metrics is not None:
            self.metrics.esi_error_budget.set(remain)

    async def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Read one response's budget headers; pause everyone before the budget runs out."""
        remain = _number(headers, "x-esi-error-limit-remain")
        reset = _number(headers, "x-esi-error-limit-reset")
        if reset is not None:
            self._reset_at = self.clock() + reset
        if remain is not None:
            self._note_remaining(remain)
            if remain <= self.floor:
                await self.pause(
                    (reset if reset is not None else DEFAULT_PAUSE_SECONDS) + RESET_MARGIN_SECONDS,
                    f"error budget at {remain:g}",
                )
        retry_after = _number(headers, "retry-after")
        if status == 420:
            await self.pause(
                (retry_after or reset or DEFAULT_PAUSE_SECONDS) + RESET_MARGIN_SECONDS,
                "420 error limited",
            )
        elif status == 429:
            await self.pause(retry_after if retry_after is not None else 5.0, "429 rate limited")
        elif retry_after is not None and status == 503:
            await self.pause(retry_after, "503 with Retry-After")
        # ESI's newer token bucket: stop at the last token rather than be refused.
        tokens = _number(headers, "x-ratelimit-remaining")
        if tokens is not None and tokens <= 1 and status != 429:
            await self.pause(retry_after if retry_after is not None else 1.0, "rate tokens spent")

    async def observe_unreported_error(self) -> None:
        """A timeout or broken connection: ESI likely counted it, but said nothing."""
        if self.remaining is None:
            return
        self._note_remaining(self.remaining - 1)
        if self.remaining <= self.floor:
            reset_in = (self._reset_at - self.clock()) if self._reset_at else DEFAULT_PAUSE_SECONDS
            await self.pause(
                max(reset_in, 0.0) + RESET_MARGIN_SECONDS,
                f"estimated error budget at {self.remaining:g}",
            )


class RateLimiter:
    """A per-process ceiling on requests per second (a token bucket, burst of one second)."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()
        self._lock = asyncio.Lock()

    def _take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    async def acquire(self) -> None:
        # Nobody queued and a token there: no lock (nothing awaits between check and take).
        if not self._lock.locked() and self._take():
            return
        async with self._lock:
            while not self._take():
                await self.sleep((1 - self.tokens) / self.rate)
