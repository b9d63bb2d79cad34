"""Per-client rate limits: token buckets by budget, shared through the cache.

Budgets (each a rate in requests per second and a burst), chosen by what a request costs:

* ``read``: every request, charged by the middleware. Kept in process memory: a cache
  round trip would cost as much as the cached read it protects, so this budget is per
  process (a fleet of N app processes lets a client read N times as fast).
* ``query``: a request that has to ask the database (a cache miss, an uncached page),
  charged when it opens a database session; shared through the cache, so it caps what
  one client can make the whole fleet compute and store (cache flooding).
* ``auth``: requests under ``/auth/`` (login, callback, logout); shared.
* ``write``: unsafe methods (POST, PUT, PATCH, DELETE) under ``/api/v1/me/`` and on
  the pilot's page forms (``/me/``, ``/notifications/``); shared. A form write costs what
  its API twin costs, so the forms are no way around the budget.

A refused request is a 429 with ``Retry-After`` and ``RateLimit-Limit`` /
``RateLimit-Remaining`` / ``RateLimit-Reset``. The client is the peer address, or the
address ``X-Forwarded-For`` names when the peer is a trusted proxy. IPv6 clients are
grouped by /64, the block one subscriber normally gets.

Why not a library: the limiter must share the app's cache connection, its circuit
breaker and its in-process backend, and hold a token bucket (burst plus steady rate);
the maintained Python limiters bring their own storage clients and window algorithms.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from hangar_bay.core.cache import CacheError, MemoryCache, Tokens
from hangar_bay.core.errors import TooManyRequests
from hangar_bay.core.logging import get_logger
from hangar_bay.core.request_state import current_request

if TYPE_CHECKING:
    from starlette.types import Scope

    from hangar_bay.core.cache import ResilientCache
    from hangar_bay.core.metrics import Metrics
    from hangar_bay.settings import Settings

log = get_logger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Where an unsafe request changes a pilot's own rows: the API and the pages' forms.
WRITE_PREFIXES = ("/api/v1/me/", "/me/", "/notifications/")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Budget:
    name: str
    rate: float  # tokens per second
    burst: float  # bucket size
    shared: bool = True  # in the cache (True) or in this process only

    def headers(self, tokens: Tokens) -> list[tuple[bytes, bytes]]:
        remaining = max(0, math.floor(tokens.remaining))
        # Seconds until the bucket is full again: when the client is back to `burst`.
        reset = math.ceil((self.burst - tokens.remaining) / self.rate)
        return [
            (b"ratelimit-limit", str(int(self.burst)).encode()),
            (b"ratelimit-remaining", str(remaining).encode()),
            (b"ratelimit-reset", str(max(0, reset)).encode()),
            (
                b"ratelimit-policy",
                f"{int(self.burst)};w={math.ceil(self.burst / self.rate)}".encode(),
            ),
        ]


def parse_networks(values: list[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def _in(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(scope: Scope, trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer, or behind trusted proxies the first address in
    ``X-Forwarded-For`` (read from the right) that is not one of them."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if not trusted or not _in(peer, trusted):
        return peer
    forwarded = ""
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            # Several headers are one comma-separated list, in order.
            text = value.decode("latin-1")
            forwarded = f"{forwarded},{text}" if forwarded else text
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop
    return hops[0] if hops else peer


@lru_cache(maxsize=65_536)
def client_key(address: str) -> str:
    """The bucket a client address counts against (IPv6 by /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address) + "/64"
    return str(ip)


class RateLimiter:
    def __init__(
        self, settings: Settings, cache: ResilientCache | None, metrics: Metrics | None
    ) -> None:
        self.enabled = settings.rate_limit_enabled
        self.cache = cache
        self.metrics = metrics
        self.trusted = parse_networks(settings.trusted_proxies)
        self.read = Budget(
            "read", settings.rate_limit_read_per_second, settings.rate_limit_read_burst, False
        )
        self.query = Budget(
            "query", settings.rate_limit_query_per_second, settings.rate_limit_query_burst
        )
        self.auth = Budget(
            "auth", settings.rate_limit_auth_per_second, settings.rate_limit_auth_burst
        )
        self.write = Budget(
            "write", settings.rate_limit_write_per_second, settings.rate_limit_write_burst
        )
        # Process-local buckets: the read budget, and any budget while the cache is down.
        self.local = MemoryCache(max_entries=50_000)

    def request_budget(self, method: str, path: str) -> Budget:
        """The budget the middleware charges for a request, by path and method."""
        if path.startswith("/auth/"):
            return self.auth
        if method in UNSAFE_METHODS and path.startswith(WRITE_PREFIXES):
            return self.write
        return self.read

    async def take(self, budget: Budget, client: str) -> Tokens:
        key = f"ratelimit:{budget.name}:{client}"
        if budget.shared and self.cache is not None:
            try:
                return await self.cache.take_tokens(key, budget.rate, budget.burst)
            except CacheError:
                pass  # the cache is down: limit per process rather than not at all
        return await self.local.take_tokens(key, budget.rate, budget.burst)

    def refused(self, budget: Budget, tokens: Tokens) -> TooManyRequests:
        if self.metrics is not None:
            self.metrics.rate_limited.labels(budget.name).inc()
        headers = {k.decode(): v.decode() for k, v in budget.headers(tokens)}
        headers["Retry-After"] = str(max(1, math.ceil(tokens.retry_after)))
        return TooManyRequests(
            f"rate limit '{budget.name}' exceeded: at most {budget.burst:g} requests at once "
            f"and {budget.rate:g} a second after that",
            headers=headers,
        )


async def charge_query() -> None:
    """Charge the current request's ``query`` budget, once per request.

    Called when a request opens a database session; a no-op outside requests
    (ingestion, commands) and when limits are off. Raises :class:`TooManyRequests`.
    """
    request = current_request.get()
    if request is None or request.queried or request.limiter is None:
        return
    request.queried = True
    limiter = request.limiter
    if not limiter.enabled:
        return
    tokens = await limiter.take(limiter.query, request.client)
    if not tokens.allowed:
        raise limiter.refused(limiter.query, tokens)
    # A write (or sign-in) already carries its own budget's headers: that is the budget
    # the client spends on such requests, so it is the one the answer describes.
    if not request.headers:
        request.headers = limiter.query.headers(tokens)
