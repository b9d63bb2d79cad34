"""``/ready`` names what is down, and recovers by itself when it comes back."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import make_url

from hangar_bay.app import create_app
from hangar_bay.core.cache import RedisCache, ResilientCache, create_cache
from hangar_bay.core.database import Database
from hangar_bay.core.metrics import Metrics
from hangar_bay.settings import Settings
from tests.conftest import TEST_CACHE_URL, TEST_DATABASE_URL
from tests.tcp_proxy import TcpProxy

# Nothing listens on port 1: connections are refused at once.
DEAD_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/none"
DEAD_REDIS = "redis://127.0.0.1:1/0"

requires_real_backends = pytest.mark.skipif(
    not (TEST_DATABASE_URL.startswith("postgresql") and TEST_CACHE_URL),
    reason="stopping a dependency needs the real PostgreSQL and Redis run "
    "(HANGAR_TEST_DATABASE_URL/HANGAR_TEST_CACHE_URL); .ci/run sets them",
)


async def _client_for(
    settings: Settings, database: Database, cache: ResilientCache
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database, cache=cache)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_database_down_is_named(settings: Settings, cache: ResilientCache) -> None:
    dead = Database.from_url(DEAD_POSTGRES)
    try:
        async for client in _client_for(settings, dead, cache):
            response = await client.get("/ready")
            assert response.status_code == 503
            body = response.json()
            assert body["failed"] == ["database"]
            # Failed, so not also degraded: that word is kept for what the process
            # serves on without (docs/operations.md).
            assert "degraded" not in body
            assert body["checks"]["cache"]["ok"] is True
            assert body["checks"]["database"]["error"]
    finally:
        await dead.dispose()


async def test_cache_down_is_reported_but_the_process_stays_ready(
    settings: Settings, database: Database
) -> None:
    # Pages serve without the cache, so a cache outage must not take the process out of
    # the load balancer: it is reported in the body and in metrics instead.
    dead = ResilientCache(RedisCache(DEAD_REDIS, timeout=0.5), Metrics())
    async for client in _client_for(settings, database, dead):
        response = await client.get("/ready")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "degraded"
        assert body["degraded"] == ["cache"]
        assert body["checks"]["cache"]["ok"] is False
        assert "failed" not in body
        assert (await client.get("/")).status_code == 200
        metrics = (await client.get("/metrics")).text
        assert "hangar_cache_up 0.0" in metrics
        assert "hangar_database_up 1.0" in metrics
        # Liveness is about the process, not its dependencies.
        assert (await client.get("/health")).status_code == 200


async def test_both_down(settings: Settings) -> None:
    dead_db = Database.from_url(DEAD_POSTGRES)
    dead_cache = ResilientCache(RedisCache(DEAD_REDIS, timeout=0.5), Metrics())
    try:
        async for client in _client_for(settings, dead_db, dead_cache):
            response = await client.get("/ready")
            assert response.status_code == 503
            assert response.json()["failed"] == ["database"]
            assert response.json()["degraded"] == ["cache"]
    finally:
        await dead_db.dispose()


async def test_a_dependency_that_hangs_is_cut_off_by_the_ready_timeout(
    settings: Settings, database: Database
) -> None:
    # A server that accepts connections and never answers: the worst kind of outage.
    async def black_hole(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    server = await asyncio.start_server(black_hole, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hanging = ResilientCache(RedisCache(f"redis://127.0.0.1:{port}/0", timeout=30), Metrics())
    quick = settings.model_copy(update={"ready_timeout_seconds": 0.3})
    try:
        async for client in _client_for(quick, database, hanging):
            response = await client.get("/ready")
            assert response.status_code == 200
            assert response.json()["checks"]["cache"]["error"] == "no answer within 0.3s"
    finally:
        server.close()
        await hanging.close()


@requires_real_backends
async def test_ready_follows_postgres_and_redis_going_away_and_coming_back(
    settings: Settings, database_url: str
) -> None:
    db_target = make_url(database_url)
    cache_target = make_url(TEST_CACHE_URL.replace("redis://", "postgresql://"))
    db_proxy = TcpProxy(db_target.host or "127.0.0.1", db_target.port or 5432)
    cache_proxy = TcpProxy(cache_target.host or "127.0.0.1", cache_target.port or 6379)
    await db_proxy.start()
    await cache_proxy.start()
    proxied_db = Database.from_url(db_target.set(port=db_proxy.port).render_as_string(False))
    proxied_cache = create_cache(
        f"redis://127.0.0.1:{cache_proxy.port}/0", prefix="hbtest:ready:", metrics=None
    )
    try:
        async for client in _client_for(settings, proxied_db, proxied_cache):
            assert (await client.get("/ready")).status_code == 200

            for proxy, name, down_status in (
                (db_proxy, "database", 503),
                (cache_proxy, "cache", 200),
            ):
                await proxy.stop()
                response = await client.get("/ready")
                assert response.status_code == down_status
                body = response.json()
                if name == "database":
                    assert body["failed"] == ["database"]
                    assert "degraded" not in body
                else:
                    assert body["degraded"] == ["cache"]
                    assert "failed" not in body

                await proxy.start()
                recovered = await client.get("/ready")
                assert recovered.status_code == 200, recovered.text
    finally:
        await db_proxy.stop()
        await cache_proxy.stop()
        await proxied_db.dispose()
        await proxied_cache.close()
