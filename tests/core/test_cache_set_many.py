"""Writing several entries in one round trip, alike on every backend."""

from __future__ import annotations

import asyncio

from hangar_bay.core.cache import MemoryCache, ResilientCache
from hangar_bay.core.metrics import Metrics
from tests.fakes import DownCache

SHORT_TTL = 0.2


async def test_set_many_stores_each_entry_with_its_own_ttl(cache: ResilientCache) -> None:
    await cache.set_many([("kept", b"1", None), ("short", b"2", SHORT_TTL), ("day", b"3", 86_400)])
    assert await cache.mget(["kept", "short", "day"]) == [b"1", b"2", b"3"]
    await asyncio.sleep(SHORT_TTL * 2)
    assert await cache.mget(["kept", "short", "day"]) == [b"1", None, b"3"]


async def test_set_many_overwrites_and_takes_nothing(cache: ResilientCache) -> None:
    await cache.set("k", b"old")
    await cache.set_many([("k", b"new", None)])
    assert await cache.get("k") == b"new"
    await cache.set_many([])
    assert await cache.get("k") == b"new"


async def test_a_failing_set_many_is_counted_not_raised() -> None:
    metrics = Metrics()
    cache = ResilientCache(DownCache(), metrics)  # type: ignore[arg-type]
    await cache.set_many([("k", b"v", None)])
    assert metrics.cache_errors.labels("set_many")._value.get() == 1


async def test_memory_set_many_without_the_wrapper() -> None:
    memory = MemoryCache()
    await memory.set_many([("a", b"1", None), ("b", b"2", 60.0)])
    assert await memory.mget(["a", "b"]) == [b"1", b"2"]
