"""Both cache backends behave alike; an outage degrades to misses and is counted."""

import asyncio

import pytest

from hangar_bay.core.cache import CacheError, RedisCache, ResilientCache
from hangar_bay.core.metrics import Metrics

SHORT_TTL = 0.2


async def test_set_get_delete(cache: ResilientCache) -> None:
    assert await cache.get("missing") is None
    await cache.set("k", b"value")
    assert await cache.get("k") == b"value"
    await cache.delete("k")
    assert await cache.get("k") is None


async def test_values_expire(cache: ResilientCache) -> None:
    await cache.set("short", b"1", ttl=SHORT_TTL)
    await cache.set("long", b"2", ttl=60)
    assert await cache.get("short") == b"1"
    await asyncio.sleep(SHORT_TTL * 2)
    assert await cache.get("short") is None
    assert await cache.get("long") == b"2"


async def test_incr_is_atomic_under_concurrency(cache: ResilientCache) -> None:
    results = await asyncio.gather(*(cache.incr("counter") for _ in range(50)))
    assert sorted(results) == list(range(1, 51))
    assert await cache.incr("counter", 10) == 60


async def test_incr_ttl_applies_when_the_key_is_created(cache: ResilientCache) -> None:
    assert await cache.incr("window", ttl=SHORT_TTL) == 1
    assert await cache.incr("window", ttl=SHORT_TTL) == 2
    await asyncio.sleep(SHORT_TTL * 2)
    # The window expired: counting starts again rather than carrying on from 2.
    assert await cache.incr("window", ttl=SHORT_TTL) == 1


async def test_lock_is_exclusive(cache: ResilientCache) -> None:
    first = await cache.acquire_lock("lock:leader", ttl=10)
    assert first is not None
    contenders = await asyncio.gather(*(cache.acquire_lock("lock:leader", 10) for _ in range(10)))
    assert contenders == [None] * 10
    assert await cache.release_lock(first) is True
    second = await cache.acquire_lock("lock:leader", ttl=10)
    assert second is not None
    assert second.token != first.token


async def test_expired_lock_can_be_taken_and_old_holder_cannot_release_it(
    cache: ResilientCache,
) -> None:
    stale = await cache.acquire_lock("lock:job", ttl=SHORT_TTL)
    assert stale is not None
    await asyncio.sleep(SHORT_TTL * 2)
    fresh = await cache.acquire_lock("lock:job", ttl=10)
    assert fresh is not None
    assert await cache.release_lock(stale) is False
    assert await cache.extend_lock(stale, 10) is False
    # The new holder's lock survived the stale release attempt.
    assert await cache.acquire_lock("lock:job", ttl=10) is None
    assert await cache.release_lock(fresh) is True


async def test_extend_keeps_a_lock_alive(cache: ResilientCache) -> None:
    lock = await cache.acquire_lock("lock:long", ttl=SHORT_TTL)
    assert lock is not None
    assert await cache.extend_lock(lock, 10) is True
    await asyncio.sleep(SHORT_TTL * 2)
    assert await cache.acquire_lock("lock:long", ttl=10) is None


async def test_ping(cache: ResilientCache) -> None:
    await cache.ping()


@pytest.fixture
async def unreachable() -> ResilientCache:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    return ResilientCache(RedisCache("redis://127.0.0.1:1/0", timeout=0.5), Metrics())


async def test_outage_reads_fall_through_and_are_counted(unreachable: ResilientCache) -> None:
    assert await unreachable.get("anything") is None
    await unreachable.set("anything", b"x")
    await unreachable.delete("anything")
    metrics = unreachable.metrics
    assert metrics is not None
    for operation in ("get", "set", "delete"):
        assert metrics.cache_errors.labels(operation)._value.get() == 1


async def test_outage_never_grants_a_lock(unreachable: ResilientCache) -> None:
    assert await unreachable.acquire_lock("lock:x", 10) is None


async def test_outage_makes_counters_fail_loudly(unreachable: ResilientCache) -> None:
    with pytest.raises(CacheError):
        await unreachable.incr("counter")
    with pytest.raises(CacheError):
        await unreachable.ping()
