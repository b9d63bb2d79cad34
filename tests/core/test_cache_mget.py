"""The multi-get: several values in one round trip, alike on every backend."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from hangar_bay.core.cache import MemoryCache, RedisCache, ResilientCache
from hangar_bay.core.metrics import Metrics
from tests.conftest import TEST_CACHE_URL

SHORT_TTL = 0.2


async def test_mget_answers_in_the_order_asked(cache: ResilientCache) -> None:
    await cache.set("a", b"1")
    await cache.set("c", b"3")
    assert await cache.mget(["c", "missing", "a", "a"]) == [b"3", None, b"1", b"1"]
    assert await cache.mget(["missing"]) == [None]
    assert await cache.mget([]) == []


async def test_mget_sees_expiry_and_counters(cache: ResilientCache) -> None:
    await cache.set("short", b"x", ttl=SHORT_TTL)
    await cache.incr("counter", 5)
    assert await cache.mget(["counter", "short"]) == [b"5", b"x"]
    await asyncio.sleep(SHORT_TTL * 2)
    assert await cache.mget(["counter", "short"]) == [b"5", None]


async def test_memory_mget_without_the_wrapper() -> None:
    memory = MemoryCache()
    await memory.set("k", b"v")
    assert await memory.mget(["k", "nope"]) == [b"v", None]


@pytest.mark.skipif(not TEST_CACHE_URL, reason="needs Redis (HANGAR_TEST_CACHE_URL=redis://…)")
async def test_redis_mget_is_one_command() -> None:
    prefix = f"hbtest:{uuid.uuid4().hex[:8]}:"
    redis_cache = RedisCache(TEST_CACHE_URL, prefix=prefix)
    try:
        await redis_cache.set("one", b"1")
        await redis_cache.set("two", b"2")
        sent: list[tuple[Any, ...]] = []
        execute = redis_cache.client.execute_command

        async def spy(*args: Any, **kwargs: Any) -> Any:
            sent.append(args)
            return await execute(*args, **kwargs)

        redis_cache.client.execute_command = spy  # type: ignore[method-assign]
        assert await redis_cache.mget(["two", "none", "one"]) == [b"2", None, b"1"]
        assert [args[0] for args in sent] == ["MGET"]
        # The prefix applies to every key, as for get.
        assert sent[0][1:] == (f"{prefix}two", f"{prefix}none", f"{prefix}one")
        assert await redis_cache.mget([]) == []
        assert len(sent) == 1
    finally:
        await redis_cache.client.delete(f"{prefix}one", f"{prefix}two")
        await redis_cache.close()


async def test_an_outage_makes_mget_miss_and_is_counted() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    unreachable = ResilientCache(RedisCache("redis://127.0.0.1:1/0", timeout=0.5), Metrics())
    assert await unreachable.mget(["a", "b"]) == [None, None]
    assert unreachable.metrics is not None
    assert unreachable.metrics.cache_errors.labels("mget")._value.get() == 1
