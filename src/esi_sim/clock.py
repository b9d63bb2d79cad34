"""Simulated time: real (optionally accelerated) or manual (moves only when told)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime


class SimClock:
    def __init__(
        self,
        start: datetime,
        mode: str = "real",
        speed: float = 1.0,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self._start = start.timestamp()
        self._mode = mode
        self._speed = speed
        self._wall = wall
        self._wall0 = wall()
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        """Simulated POSIX time in seconds."""
        with self._lock:
            elapsed = 0.0 if self._mode == "manual" else (self._wall() - self._wall0) * self._speed
            return self._start + elapsed + self._offset

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def advance(self, seconds: float) -> float:
        """Move simulated time forward (both modes). Time never goes backwards."""
        if seconds < 0:
            raise ValueError("the clock cannot go backwards")
        with self._lock:
            self._offset += seconds
        return self.now()

    def set(self, when: datetime) -> float:
        """Jump forward to `when`; earlier instants are refused."""
        target = when.timestamp()
        current = self.now()
        if target < current:
            raise ValueError("the clock cannot go backwards")
        return self.advance(target - current)
