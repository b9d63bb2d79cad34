"""What the middleware knows about the request in flight, for code far below it.

One small mutable object per request in a context variable: the rate limiter charges
the ``query`` budget through it when a database session opens, and the browse cache
notes which entry the request looked up, so the middleware can serve that entry's last
good copy if the database turns out to be unreachable.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hangar_bay.core.ratelimit import RateLimiter


@dataclass(slots=True)
class RequestState:
    client: str
    limiter: RateLimiter | None = None
    # The query budget is charged at most once per request.
    queried: bool = False
    # RateLimit-* headers of the last budget charged, for the response.
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    # The first cache entry the request looked up: the view it is answering.
    cache_key: str | None = None


current_request: ContextVar[RequestState | None] = ContextVar("current_request", default=None)
