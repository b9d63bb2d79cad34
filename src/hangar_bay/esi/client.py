"""The ESI client: every call goes through the governor, the rate ceiling and a
concurrency limit, and is retried with backoff and jitter when the failure is transient.

Bodies are parsed here (an empty or torn 200 is a transient failure, seen in the wild);
validating the rows is the caller's business.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import importlib.util
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from hangar_bay.core.logging import get_logger
from hangar_bay.core.metrics import Metrics
from hangar_bay.esi.errors import EsiError, PermanentEsiError, TransientEsiError
from hangar_bay.esi.governor import Governor, RateLimiter
from hangar_bay.esi.transport import (
    AiohttpTransport,
    HttptoolsTransport,
    HttpxTransport,
    Transport,
    TransportFailure,
)
from hangar_bay.settings import Settings

log = get_logger(__name__)

# ESI's versioned base path (the swagger's basePath).
PREFIX = "/latest"
MAX_BACKOFF_SECONDS = 30.0


def parse_http_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return _parse_http_date(value)


# Every response carries Date and most carry Expires; within a second they are the same
# few strings, and parsing each one again was a visible share of ingestion's CPU.
@functools.lru_cache(maxsize=256)
def _parse_http_date(value: str) -> dt.datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


@dataclass
class EsiResponse:
    status: int
    data: Any
    headers: Mapping[str, str]
    url: str

    @property
    def etag(self) -> str | None:
        value: str | None = self.headers.get("etag")
        return value

    @property
    def expires(self) -> dt.datetime | None:
        return parse_http_date(self.headers.get("expires"))

    @property
    def last_modified(self) -> dt.datetime | None:
        return parse_http_date(self.headers.get("last-modified"))

    @property
    def pages(self) -> int | None:
        """``X-Pages``, or None when the header is missing or unreadable."""
        raw = self.headers.get("x-pages")
        if raw is None:
            return None
        try:
            return max(1, int(raw))
        except ValueError:
            return None


@dataclass
class RequestStats:
    sent: int = 0
    not_modified: int = 0
    errors: int = 0
    retries: int = 0


class EsiClient:
    def __init__(
        self,
        transport: Transport | httpx.AsyncClient,
        governor: Governor,
        *,
        max_concurrency: int = 8,
        max_requests_per_second: float = 40.0,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        metrics: Metrics | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.transport: Transport = (
            HttpxTransport(transport) if isinstance(transport, httpx.AsyncClient) else transport
        )
        self.governor = governor
        self.max_concurrency = max_concurrency
        self.semaphore = asyncio.Semaphore(max_concurrency)
        self.limiter = RateLimiter(max_requests_per_second)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.metrics = metrics
        self.sleep = sleep
        self.stats = RequestStats()
        # prometheus' labels() lookup per request, done once per (route, status).
        self._counters: dict[tuple[str, str], Any] = {}
        # ESI's clock minus ours, from the last Date header. Expires and Last-Modified are
        # in ESI's time; comparing them with ours would misjudge freshness by the skew.
        self.clock_offset: float | None = None

    def _count(self, route: str, status: str) -> None:
        self.stats.sent += 1
        if status == "304":
            self.stats.not_modified += 1
        if self.metrics is not None:
            counter = self._counters.get((route, status))
            if counter is None:
                counter = self._counters[route, status] = self.metrics.esi_requests.labels(
                    route, status
                )
            counter.inc()

    def _backoff(self, attempt: int) -> float:
        delay = min(MAX_BACKOFF_SECONDS, self.backoff_base * 2**attempt)
        jittered: float = delay * random.uniform(0.5, 1.5)
        return jittered

    async def request(
        self,
        method: str,
        path: str,
        *,
        route: str,
        params: dict[str, Any] | None = None,
        json: Any = None,
        etag: str | None = None,
    ) -> EsiResponse:
        """One logical call. Returns 200/204/304 answers; raises :class:`PermanentEsiError`
        at once for 4xx, :class:`TransientEsiError` when the retries are spent."""
        url = PREFIX + path
        headers = {"If-None-Match": etag} if etag else None
        last: EsiError | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats.retries += 1
                await self.sleep(self._backoff(attempt - 1))
            await self.governor.wait()
            await self.limiter.acquire()
            try:
                async with self.semaphore:
                    response = await self.transport.send(
                        method, url, params=params, json=json, headers=headers
                    )
            except TransportFailure as exc:
                # Timeouts and broken connections: ESI probably counted it as an error.
                self._count(route, "timeout" if exc.timeout else "io")
                self.stats.errors += 1
                await self.governor.observe_unreported_error()
                last = TransientEsiError(f"{exc} on {url}", url=url)
                continue
            status = response.status
            self._count(route, str(status))
            self._note_date(response.headers.get("date"))
            await self.governor.observe(status, response.headers)
            if status == 304:
                return EsiResponse(304, None, response.headers, url)
            if status == 204:
                return EsiResponse(204, None, response.headers, url)
            if 200 <= status < 300:
                try:
                    data = orjson.loads(response.content)
                except orjson.JSONDecodeError:
                    # An empty or torn 200 happens; asking again usually mends it.
                    last = TransientEsiError(f"unreadable 200 body from {url}", url=url)
                    log.info("esi_bad_body", url=url, size=len(response.content))
                    continue
                return EsiResponse(status, data, response.headers, url)
            self.stats.errors += 1
            if status in (420, 429) or status >= 500:
                last = TransientEsiError(f"{status} from {url}", status=status, url=url)
                continue
            raise PermanentEsiError(f"{status} from {url}", status=status, url=url)
        assert last is not None
        raise last

    def _note_date(self, raw: str | None) -> None:
        server = parse_http_date(raw)
        if server is not None:
            self.clock_offset = server.timestamp() - time.time()

    def server_now(self) -> dt.datetime:
        """The current time on ESI's clock (ours when it has not been seen yet)."""
        now = dt.datetime.now(dt.UTC)
        return now + dt.timedelta(seconds=self.clock_offset or 0.0)

    def to_local(self, server_time: dt.datetime) -> dt.datetime:
        return server_time - dt.timedelta(seconds=self.clock_offset or 0.0)

    def to_server(self, local_time: dt.datetime) -> dt.datetime:
        """One of our times on ESI's clock (the inverse of :meth:`to_local`)."""
        return local_time + dt.timedelta(seconds=self.clock_offset or 0.0)

    async def learn_clock(self) -> None:
        """Read ESI's clock once (from ``/status/``) before judging stored expiry times."""
        if self.clock_offset is not None:
            return
        try:
            await self.get("/status/", route="status")
        except EsiError as exc:
            log.info("esi_clock_unknown", error=str(exc))

    async def close(self) -> None:
        await self.transport.close()

    async def get(
        self, path: str, *, route: str, page: int | None = None, etag: str | None = None
    ) -> EsiResponse:
        params = {"page": page} if page is not None else None
        return await self.request("GET", path, route=route, params=params, etag=etag)

    async def post(self, path: str, *, route: str, json: Any) -> EsiResponse:
        return await self.request("POST", path, route=route, json=json)


def build_client(
    http: httpx.AsyncClient,
    governor: Governor,
    settings: Settings,
    metrics: Metrics | None = None,
) -> EsiClient:
    """The configured client; ``http`` is the app's shared httpx client (used unless
    settings choose aiohttp or httptools)."""
    transport: Transport = HttpxTransport(http)
    choice = settings.esi_http_client
    if choice != "httpx" and importlib.util.find_spec(choice) is None:
        log.warning("http_client_missing", wanted=choice, fallback="httpx")
    elif choice != "httpx":
        kind = AiohttpTransport if choice == "aiohttp" else HttptoolsTransport
        transport = kind(
            settings.esi_base_url,
            headers={
                "User-Agent": settings.user_agent,
                "X-Compatibility-Date": settings.esi_compatibility_date,
                "Accept": "application/json",
            },
            timeout=settings.esi_timeout_seconds,
            max_connections=settings.esi_max_concurrency * 2,
        )
    return EsiClient(
        transport,
        governor,
        max_concurrency=settings.esi_max_concurrency,
        max_requests_per_second=settings.esi_max_requests_per_second,
        max_retries=settings.esi_max_retries,
        backoff_base=settings.esi_backoff_base_seconds,
        metrics=metrics,
    )
