"""The edge: security headers, /metrics access, rate limits, the cache circuit breaker and
plain development tracebacks (issue #14, faults 2, 5, 10 and the defences it asks for)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from hangar_bay.app import create_app
from hangar_bay.core.cache import (
    CacheError,
    CircuitBreaker,
    MemoryCache,
    RedisCache,
    ResilientCache,
)
from hangar_bay.core.database import Database
from hangar_bay.core.logging import configure_logging, get_logger
from hangar_bay.core.metrics import Metrics
from hangar_bay.core.ratelimit import RateLimiter, client_address, client_key, parse_networks
from hangar_bay.settings import Environment, Settings
from tests.contracts.factories import RIFTER, Item, add, build_contract, seed_universe
from tests.fakes import DownCache


async def _client(
    settings: Settings,
    database: Database,
    cache: ResilientCache,
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database, cache=cache)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture
async def seeded(database: Database) -> Database:
    await seed_universe(database)
    await add(database, build_contract(title="A Rifter", items=[Item(RIFTER)], price=5e6))
    return database


# --- security headers ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/api/v1/contracts", "/health", "/no/such/page"])
async def test_every_answer_carries_the_security_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    headers = (await client.get(path)).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "style-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in headers["permissions-policy"]
    # HSTS only where HTTPS is promised: production.
    assert "strict-transport-security" not in headers


async def test_production_adds_hsts(
    settings: Settings, database: Database, cache: ResilientCache
) -> None:
    production = settings.model_copy(update={"environment": Environment.PRODUCTION})
    async for http in _client(production, database, cache):
        headers = (await http.get("/health")).headers
        assert headers["strict-transport-security"].startswith("max-age=")


async def test_pages_have_no_inline_script(client: httpx.AsyncClient, seeded: Database) -> None:
    import re

    html = (await client.get("/")).text
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    assert " on" + "click=" not in html


# --- /metrics ------------------------------------------------------------------------


async def test_metrics_from_an_outside_address_is_refused(
    settings: Settings, database: Database, cache: ResilientCache
) -> None:
    async for http in _client(settings, database, cache, client=("203.0.113.9", 4000)):
        response = await http.get("/metrics")
        assert response.status_code == 403
        assert response.json()["error"] == "forbidden"


async def test_metrics_with_the_bearer_token_from_anywhere(
    settings: Settings, database: Database, cache: ResilientCache
) -> None:
    tokened = settings.model_copy(
        update={"metrics_token": SecretStr("s3cret-token"), "metrics_allowed_networks": []}
    )
    async for http in _client(tokened, database, cache, client=("203.0.113.9", 4000)):
        assert (await http.get("/metrics")).status_code == 403
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        right = await http.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
        assert right.status_code == 200
        assert "hangar_http_requests_total" in right.text
        # The scheme is case-insensitive; the token is not, and another scheme is no token.
        lower = await http.get("/metrics", headers={"Authorization": "bearer s3cret-token"})
        assert lower.status_code == 200
        for value in ("Bearer S3CRET-TOKEN", "Basic s3cret-token", "s3cret-token", "Bearer"):
            refused = await http.get("/metrics", headers={"Authorization": value})
            assert refused.status_code == 403, value


async def test_metrics_from_the_local_network(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 200


# --- client address -------------------------------------------------------------------


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    trusted = parse_networks(["10.0.0.0/8"])
    forwarded = [(b"x-forwarded-for", b"198.51.100.7, 10.1.1.1")]
    behind_proxy = {"client": ("10.0.0.2", 1), "headers": forwarded}
    assert client_address(behind_proxy, trusted) == "198.51.100.7"
    # A client forging the header directly is still itself.
    direct = {"client": ("203.0.113.5", 1), "headers": forwarded}
    assert client_address(direct, trusted) == "203.0.113.5"
    assert client_address(behind_proxy, ()) == "10.0.0.2"


def test_ipv6_clients_share_their_64() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::2")
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.1") == "192.0.2.1"


# --- rate limits (fault 10) ---------------------------------------------------------------


def _limited(settings: Settings, **limits: float) -> Settings:
    return settings.model_copy(update={f"rate_limit_{k}": v for k, v in limits.items()})


async def test_uncached_queries_are_capped_per_client_but_cached_reads_are_not(
    settings: Settings, seeded: Database, cache: ResilientCache
) -> None:
    tight = _limited(settings, query_burst=5, query_per_second=0.01)
    async for http in _client(tight, seeded, cache):
        statuses = [
            (await http.get(f"/api/v1/contracts?min_price={n}")).status_code for n in range(8)
        ]
        assert statuses == [200] * 5 + [429] * 3
        refused = await http.get("/api/v1/contracts?min_price=99")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["ratelimit-limit"] == "5"
        assert refused.headers["ratelimit-remaining"] == "0"
        assert "ratelimit-reset" in refused.headers
        assert refused.json()["error"] == "too_many_requests"
        # A view already computed is a cheap read: still served.
        again = await http.get("/api/v1/contracts?min_price=0")
        assert again.status_code == 200
        # Pages get the friendly page.
        page = await http.get("/?min_price=12345")
        assert page.status_code == 429
        assert page.headers["content-type"].startswith("text/html")
    # Another client has a budget of its own.
    async for other in _client(tight, seeded, cache, client=("127.0.0.2", 50000)):
        assert (await other.get("/api/v1/contracts?min_price=7")).status_code == 200


async def test_every_request_counts_against_the_read_budget(
    settings: Settings, database: Database, cache: ResilientCache
) -> None:
    tight = _limited(settings, read_burst=3, read_per_second=0.01)
    async for http in _client(tight, database, cache):
        statuses = [(await http.get("/health")).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]


async def test_auth_and_account_writes_have_budgets_of_their_own(
    settings: Settings, database: Database, cache: ResilientCache
) -> None:
    # The routes belong to the accounts package; the budgets exist before they do.
    tight = _limited(settings, auth_burst=2, auth_per_second=0.01, write_burst=1)
    async for http in _client(tight, database, cache):
        auth = [(await http.get("/auth/login")).status_code for _ in range(3)]
        assert auth[:2] != [429, 429]
        assert auth[2] == 429
        writes = [(await http.post("/api/v1/me/watchlist")).status_code for _ in range(2)]
        assert writes[1] == 429
        # Reading one's own data is not a write.
        assert (await http.get("/api/v1/me/watchlist")).status_code != 429


async def test_page_form_writes_are_charged_to_the_write_budget(
    settings: Settings, database: Database, cache: ResilientCache
) -> None:
    # The forms change the same rows as /api/v1/me: they must not be a way around it.
    limiter = RateLimiter(settings, None, None)
    for path in (
        "/me/searches",
        "/me/searches/1/delete",
        "/me/watchlist",
        "/me/watchlist/1/edit",
        "/notifications/settings",
        "/notifications/read-all",
        "/api/v1/me/searches",
    ):
        assert limiter.request_budget("POST", path) is limiter.write, path
    assert limiter.request_budget("GET", "/me") is limiter.read
    assert limiter.request_budget("GET", "/notifications") is limiter.read
    assert limiter.request_budget("POST", "/auth/logout") is limiter.auth  # stricter still
    tight = _limited(settings, write_burst=1, write_per_second=0.01)
    async for http in _client(tight, database, cache):
        statuses = [(await http.post("/me/searches", data={})).status_code for _ in range(2)]
        assert statuses[1] == 429
        assert (await http.get("/me")).status_code != 429


async def test_limits_can_be_switched_off(
    settings: Settings, database: Database, cache: ResilientCache
) -> None:
    off = _limited(settings, read_burst=1, read_per_second=0.01).model_copy(
        update={"rate_limit_enabled": False}
    )
    async for http in _client(off, database, cache):
        assert {(await http.get("/health")).status_code for _ in range(4)} == {200}


async def test_shared_budgets_hold_across_processes(
    settings: Settings, seeded: Database, cache: ResilientCache
) -> None:
    # Two apps on one cache stand in for two processes: the query budget is shared.
    tight = _limited(settings, query_burst=4, query_per_second=0.01)
    async for first in _client(tight, seeded, cache):
        async for second in _client(tight, seeded, cache):
            statuses = []
            for n in range(6):
                http = first if n % 2 else second
                statuses.append((await http.get(f"/api/v1/contracts?min_price={n}")).status_code)
            assert statuses.count(429) == 2


async def test_limits_fall_back_to_the_process_when_the_cache_is_down(
    settings: Settings, seeded: Database
) -> None:
    tight = _limited(settings, query_burst=2, query_per_second=0.01)
    down = ResilientCache(DownCache(), Metrics())
    async for http in _client(tight, seeded, down):
        statuses = [
            (await http.get(f"/api/v1/contracts?min_price={n}")).status_code for n in range(3)
        ]
        assert statuses == [200, 200, 429]


async def test_token_bucket_refills(cache: ResilientCache) -> None:
    first = await cache.take_tokens("t:bucket", rate=1000.0, burst=2)
    second = await cache.take_tokens("t:bucket", rate=1000.0, burst=2)
    assert first.allowed
    assert second.allowed
    await asyncio.sleep(0.01)  # 10 tokens' worth at 1000/s, capped at the burst
    assert (await cache.take_tokens("t:bucket", rate=1000.0, burst=2)).allowed


async def test_token_bucket_refuses_when_empty(cache: ResilientCache) -> None:
    for _ in range(3):
        await cache.take_tokens("t:empty", rate=0.001, burst=3)
    refused = await cache.take_tokens("t:empty", rate=0.001, burst=3)
    assert not refused.allowed
    assert refused.retry_after > 100


# --- the cache circuit breaker (fault 5) ---------------------------------------------------


class CountingDownCache(DownCache):
    def __init__(self) -> None:
        self.calls = 0
        self.up = False
        self.memory = MemoryCache()

    async def get(self, key: str) -> bytes | None:
        self.calls += 1
        if self.up:
            return await self.memory.get(key)
        raise CacheError("down")

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        self.calls += 1
        if self.up:
            return await self.memory.mget(keys)
        raise CacheError("down")


def test_breaker_opens_after_failures_and_probes_after_the_cooldown() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=3, cooldown=5.0, clock=lambda: now[0])
    assert breaker.allow()
    assert not breaker.failure()
    assert not breaker.failure()
    assert breaker.failure()  # the third opens it
    assert not breaker.allow()
    now[0] = 5.1
    assert breaker.allow()  # one probe
    assert not breaker.allow()  # and only one
    assert not breaker.failure()  # the probe failed: open again, no new "opened" event
    assert not breaker.allow()
    now[0] = 10.3
    assert breaker.allow()
    assert breaker.success()  # closed
    assert breaker.allow()
    assert breaker.allow()


async def test_a_failing_cache_is_skipped_then_probed() -> None:
    now = [0.0]
    backend = CountingDownCache()
    metrics = Metrics()
    cache = ResilientCache(
        backend, metrics, CircuitBreaker(threshold=3, cooldown=5.0, clock=lambda: now[0])
    )
    for _ in range(10):
        assert await cache.get("k") is None
    assert backend.calls == 3  # the rest were skipped without waiting on the backend
    assert cache.degraded
    assert metrics.cache_circuit_open._value.get() == 1
    backend.up = True
    now[0] = 6.0
    assert await cache.mget(["a", "b"]) == [None, None]  # the probe, answered
    assert not cache.degraded
    assert metrics.cache_circuit_open._value.get() == 0
    await cache.get("k")
    assert backend.calls == 5


async def test_a_cache_that_never_answers_does_not_slow_every_request(
    settings: Settings, seeded: Database
) -> None:
    # Accepts connections, never answers: each call would wait for its timeout.
    async def black_hole(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    server = await asyncio.start_server(black_hole, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    metrics = Metrics()
    hanging = ResilientCache(RedisCache(f"redis://127.0.0.1:{port}/0", timeout=0.2), metrics)
    try:
        async for http in _client(settings, seeded, hanging):
            for _ in range(8):
                assert (await http.get("/api/v1/contracts")).status_code == 200
            skipped = sum(
                sample.value
                for family in metrics.cache_skipped.collect()
                for sample in family.samples
                if sample.name.endswith("_total")
            )
            assert skipped > 0
            ready = (await http.get("/ready")).json()
            assert ready["checks"]["cache"]["circuit_open"] is True
    finally:
        server.close()
        await hanging.close()


# --- plain tracebacks in development (fault 2) --------------------------------------------


def test_development_console_prints_plain_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", json=False)
    try:
        secret_local = "hunter2"  # noqa: F841 - a local the rich formatter would print
        raise RuntimeError("boom")
    except RuntimeError:
        get_logger("tests.edge").exception("failed")
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: boom" in err
    assert "hunter2" not in err  # no locals
    assert "╭" not in err  # no rich panels
    logging.getLogger().handlers.clear()


# --- /docs and /redoc from packaged assets ---------------------------------------------------


async def test_docs_are_served_offline_without_inline_script(client: httpx.AsyncClient) -> None:
    import re

    for path in ("/docs", "/redoc"):
        page = await client.get(path)
        assert page.status_code == 200
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page.text, re.S)
        assert scripts
        assert all(body.strip() == "" for body in scripts), "no inline script"
        assert "http" not in "".join(re.findall(r'(?:src|href)="([^"]*)"', page.text))
        csp = page.headers["content-security-policy"]
        assert "script-src 'self';" in csp
        for asset in re.findall(r'(?:src|href)="(/docs/[^"]*)"', page.text):
            assert (await client.get(asset)).status_code == 200, asset
    assert (await client.get("/openapi.json")).status_code == 200


async def test_docs_can_be_turned_off(
    settings: Settings, database: Database, cache: ResilientCache
) -> None:
    off = Settings(**{**settings.model_dump(), "docs_enabled": False})
    async for http in _client(off, database, cache):
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/assets/swagger-ui.css"):
            assert (await http.get(path)).status_code == 404, path


def test_the_example_env_file_loads_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    # Blank values in .env.example (HANGAR_DOCS_ENABLED=, HANGAR_LOG_JSON=) mean "default".
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / ".env.example"
    for name in list(os.environ):
        if name.startswith("HANGAR_"):
            monkeypatch.delenv(name)
    settings = Settings(_env_file=example)  # type: ignore[call-arg]
    assert settings.docs_enabled is None
    assert settings.log_json is None
    assert settings.rate_limit_enabled is True
    assert "127.0.0.0/8" in settings.metrics_allowed_networks


async def test_method_not_allowed_names_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    # GET and POST of /api/v1/me/searches are two routes; Allow must name both.
    response = await client.request("OPTIONS", "/api/v1/me/searches")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    put = await client.put("/api/v1/contracts")
    assert put.status_code == 405
    assert put.headers["allow"] == "GET"


async def test_a_write_answers_with_its_own_budgets_headers(
    settings: Settings, seeded: Database, cache: ResilientCache
) -> None:
    # A write opens a session too (charging `query`), but what it is told about is the
    # budget it spends: `write`.
    from hangar_bay.accounts.sessions import SESSION_COOKIE
    from hangar_bay.accounts.testing import log_in

    tight = _limited(settings, write_burst=4, query_burst=9)
    pilot = await log_in(seeded, character_id=91000001, character_name="Pilot One")
    async for http in _client(tight, seeded, cache):
        http.cookies.set(SESSION_COOKIE, pilot.cookie)
        saved = await http.post(
            "/api/v1/me/watchlist", json={"type_id": 587}, headers=pilot.headers
        )
        assert saved.status_code == 201, saved.text
        assert saved.headers["ratelimit-limit"] == "4"
        # A read that has to query names the query budget.
        listed = await http.get("/api/v1/contracts?min_price=3")
        assert listed.headers["ratelimit-limit"] == "9"


async def test_a_body_past_the_limit_is_a_413_whether_or_not_it_says_its_length(
    client: httpx.AsyncClient,
) -> None:
    from hangar_bay.core.middleware import MAX_BODY

    big = b'{"name": "x", "query": ""}' + b" " * MAX_BODY
    said = await client.post(
        "/api/v1/me/searches", content=big, headers={"Content-Type": "application/json"}
    )
    assert said.status_code == 413
    assert said.json()["error"] == "content_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b" " * (MAX_BODY // 2)

    unsaid = await client.post(
        "/api/v1/me/searches", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in unsaid.request.headers
    assert unsaid.status_code == 413
    assert unsaid.json()["error"] == "content_too_large"
    # A body of an ordinary size still reaches the route (which wants a login).
    small = await client.post("/api/v1/me/searches", json={"name": "x", "query": ""})
    assert small.status_code == 401
