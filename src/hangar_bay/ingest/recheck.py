"""The re-check rule: how long to wait before asking ESI again about something it left
unresolved (a contract's items "not available" or failing pass after pass, an id
``/universe/names/`` refused)."""

from __future__ import annotations

import datetime as dt


def recheck_delay(attempts: int, first: float, ceiling: float) -> dt.timedelta:
    """How long to wait before asking ESI again after ``attempts`` (≥ 1) answers that
    left something unresolved: ``first`` seconds, doubling per attempt, at most
    ``ceiling`` seconds."""
    exponent = min(max(attempts, 1) - 1, 30)
    return dt.timedelta(seconds=min(ceiling, first * 2**exponent))
