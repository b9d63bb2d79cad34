"""The cache: one small typed interface, two backends.

* :class:`MemoryCache` — in-process, the embedded default.
* :class:`RedisCache` — Valkey/Redis through ``redis.asyncio``.

:class:`ResilientCache` wraps either so a cache outage is not an app outage: reads
return a miss, writes are dropped, and each failure is logged and counted. Locks are
the exception: a lock that cannot be taken is reported as not acquired, never as
granted, because callers use them for mutual exclusion.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol, cast

import redis.asyncio as redis
from redis.exceptions import RedisError

from hangar_bay.core.logging import get_logger
from hangar_bay.core.metrics import Metrics

log = get_logger(__name__)


class CacheError(Exception):
    """The cache backend failed (connection, timeout, protocol)."""


@dataclass(frozen=True)
class Lock:
    """A held lock. ``token`` proves ownership; only its holder can release or extend it."""

    name: str
    token: str


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values of ``keys``, in order, ``None`` for a missing one; one round trip."""
        ...

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...

    async def set_many(self, entries: Sequence[tuple[str, bytes, float | None]]) -> None:
        """Store each ``(key, value, ttl)``; one round trip, not atomic."""
        ...

    async def delete(self, key: str) -> None: ...

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Atomically add ``amount``; ``ttl`` applies only when the key is created."""
        ...

    async def acquire_lock(self, name: str, ttl: float) -> Lock | None: ...

    async def release_lock(self, lock: Lock) -> bool: ...

    async def extend_lock(self, lock: Lock, ttl: float) -> bool: ...

    async def take_tokens(self, key: str, rate: float, burst: float, cost: float = 1.0) -> Tokens:
        """Token bucket ``key`` (``burst`` tokens, refilled at ``rate`` a second): take
        ``cost`` tokens if it holds that many. Atomic, so it holds across processes."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Tokens:
    """The outcome of :meth:`Cache.take_tokens`."""

    allowed: bool
    # Tokens left after this take (fractional while refilling).
    remaining: float
    # Seconds until ``cost`` tokens are available again (0 when allowed).
    retry_after: float


def refill(
    tokens: float, stamp: float, now: float, rate: float, burst: float, cost: float
) -> tuple[float, Tokens]:
    """One token-bucket step: the bucket's new level and the answer (shared by backends)."""
    level = min(burst, tokens + max(0.0, now - stamp) * rate)
    if level >= cost:
        return level - cost, Tokens(True, level - cost, 0.0)
    return level, Tokens(False, level, (cost - level) / rate)


@dataclass
class _Entry:
    value: bytes
    expires_at: float | None


@dataclass
class MemoryCache:
    """Process-local cache. Single event loop, so each operation is atomic by construction."""

    _data: dict[str, _Entry] = field(default_factory=dict)
    clock: Clock = field(default_factory=lambda: time.monotonic)
    max_entries: int = 100_000

    def _live(self, key: str) -> _Entry | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= self.clock():
            del self._data[key]
            return None
        return entry

    def _expiry(self, ttl: float | None) -> float | None:
        return None if ttl is None else self.clock() + ttl

    def _evict_if_full(self) -> None:
        if len(self._data) < self.max_entries:
            return
        now = self.clock()
        for key in [k for k, e in self._data.items() if e.expires_at and e.expires_at <= now]:
            del self._data[key]
        while len(self._data) >= self.max_entries:
            # Dicts keep insertion order: drop the oldest entry.
            del self._data[next(iter(self._data))]

    async def get(self, key: str) -> bytes | None:
        entry = self._live(key)
        return None if entry is None else entry.value

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        return [await self.get(key) for key in keys]

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._evict_if_full()
        self._data[key] = _Entry(value, self._expiry(ttl))

    async def set_many(self, entries: Sequence[tuple[str, bytes, float | None]]) -> None:
        for key, value, ttl in entries:
            await self.set(key, value, ttl)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        entry = self._live(key)
        if entry is None:
            value = amount
            self._evict_if_full()
            self._data[key] = _Entry(str(value).encode(), self._expiry(ttl))
        else:
            value = int(entry.value) + amount
            entry.value = str(value).encode()
        return value

    async def acquire_lock(self, name: str, ttl: float) -> Lock | None:
        if self._live(name) is not None:
            return None
        token = secrets.token_hex(16)
        self._data[name] = _Entry(token.encode(), self._expiry(ttl))
        return Lock(name, token)

    async def release_lock(self, lock: Lock) -> bool:
        entry = self._live(lock.name)
        if entry is None or entry.value != lock.token.encode():
            return False
        del self._data[lock.name]
        return True

    async def extend_lock(self, lock: Lock, ttl: float) -> bool:
        entry = self._live(lock.name)
        if entry is None or entry.value != lock.token.encode():
            return False
        entry.expires_at = self._expiry(ttl)
        return True

    async def take_tokens(self, key: str, rate: float, burst: float, cost: float = 1.0) -> Tokens:
        now = self.clock()
        entry = self._live(key)
        if entry is None:
            tokens, stamp = burst, now
        else:
            stored, _, when = entry.value.partition(b" ")
            tokens, stamp = float(stored), float(when)
        level, answer = refill(tokens, stamp, now, rate, burst, cost)
        if entry is None:
            self._evict_if_full()
        # The record expires once the bucket would have refilled anyway.
        self._data[key] = _Entry(f"{level} {now}".encode(), self._expiry(burst / rate + 1))
        return answer

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()


class Clock(Protocol):
    def __call__(self) -> float: ...


# Compare-and-delete / compare-and-extend: only the token holder may touch the lock,
# so a holder whose lock expired cannot release the next holder's lock.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_INCR_WITH_TTL = """
local value = redis.call('incrby', KEYS[1], ARGV[1])
if value == tonumber(ARGV[1]) and tonumber(ARGV[2]) > 0 then
  redis.call('pexpire', KEYS[1], ARGV[2])
end
return value
"""
# The token bucket of take_tokens, on the server's clock so every process agrees.
_TAKE_TOKENS = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('time')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local stored = redis.call('hmget', KEYS[1], 'level', 'stamp')
local level = tonumber(stored[1])
local stamp = tonumber(stored[2])
if level == nil or stamp == nil then level = burst; stamp = now end
level = math.min(burst, level + math.max(0, now - stamp) * rate)
local allowed = 0
local wait = 0
if level >= cost then
  level = level - cost
  allowed = 1
else
  wait = (cost - level) / rate
end
redis.call('hset', KEYS[1], 'level', tostring(level), 'stamp', tostring(now))
redis.call('pexpire', KEYS[1], math.ceil((burst / rate + 1) * 1000))
return {allowed, tostring(level), tostring(wait)}
"""


class RedisCache:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "hb:",
        timeout: float = 1.0,
        client: redis.Redis | None = None,
    ) -> None:
        self.prefix = prefix
        self.client: redis.Redis = client or redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=15,
            retry_on_timeout=False,
        )
        self._release = self.client.register_script(_RELEASE)
        self._extend = self.client.register_script(_EXTEND)
        self._incr = self.client.register_script(_INCR_WITH_TTL)
        self._take = self.client.register_script(_TAKE_TOKENS)

    def _k(self, key: str) -> str:
        return self.prefix + key

    @asynccontextmanager
    async def _errors(self) -> AsyncIterator[None]:
        try:
            yield
        except (TimeoutError, RedisError, OSError) as exc:
            raise CacheError(f"{type(exc).__name__}: {exc}") from exc

    async def get(self, key: str) -> bytes | None:
        async with self._errors():
            value = await self.client.get(self._k(key))
        return cast(bytes | None, value)

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            # MGET without keys is a Redis error, not an empty answer.
            return []
        async with self._errors():
            values = await self.client.mget([self._k(key) for key in keys])
        return cast(list[bytes | None], values)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        async with self._errors():
            px = None if ttl is None else max(1, int(ttl * 1000))
            await self.client.set(self._k(key), value, px=px)

    async def set_many(self, entries: Sequence[tuple[str, bytes, float | None]]) -> None:
        # A pipeline without MULTI: the SETs go out together and answer together.
        async with self._errors():
            pipe = self.client.pipeline(transaction=False)
            for key, value, ttl in entries:
                pipe.set(self._k(key), value, px=None if ttl is None else max(1, int(ttl * 1000)))
            await pipe.execute()

    async def delete(self, key: str) -> None:
        async with self._errors():
            await self.client.delete(self._k(key))

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        px = 0 if ttl is None else max(1, int(ttl * 1000))
        async with self._errors():
            value = await self._incr(keys=[self._k(key)], args=[amount, px])
        return int(value)

    async def acquire_lock(self, name: str, ttl: float) -> Lock | None:
        token = secrets.token_hex(16)
        async with self._errors():
            ok = await self.client.set(self._k(name), token, nx=True, px=max(1, int(ttl * 1000)))
        return Lock(name, token) if ok else None

    async def release_lock(self, lock: Lock) -> bool:
        async with self._errors():
            result = await self._release(keys=[self._k(lock.name)], args=[lock.token])
        return bool(result)

    async def extend_lock(self, lock: Lock, ttl: float) -> bool:
        async with self._errors():
            result = await self._extend(
                keys=[self._k(lock.name)], args=[lock.token, max(1, int(ttl * 1000))]
            )
        return bool(result)

    async def take_tokens(self, key: str, rate: float, burst: float, cost: float = 1.0) -> Tokens:
        async with self._errors():
            allowed, level, wait = await self._take(keys=[self._k(key)], args=[rate, burst, cost])
        return Tokens(bool(allowed), float(level), float(wait))

    async def ping(self) -> None:
        async with self._errors():
            await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()


class CircuitBreaker:
    """Stops calling a backend that keeps failing, then lets one probe through.

    Closed: every call goes through. After ``threshold`` failures in a row it opens:
    calls are skipped at once (a miss, a dropped write) for ``cooldown`` seconds, so a
    cache that accepts connections but never answers costs requests nothing instead of
    a timeout each. Then one call probes (half-open): success closes the circuit,
    failure opens it for another cooldown.
    """

    def __init__(
        self, *, threshold: int = 3, cooldown: float = 5.0, clock: Clock = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.probe_started: float | None = None

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        now = self.clock()
        if now - self.opened_at < self.cooldown:
            return False
        # One probe at a time; a probe that never reported back (cancelled) is replaced.
        if self.probe_started is not None and now - self.probe_started < self.cooldown:
            return False
        self.probe_started = now
        return True

    def success(self) -> bool:
        """Record a success; True when it closed an open circuit."""
        was_open = self.opened_at is not None
        self.failures = 0
        self.opened_at = None
        self.probe_started = None
        return was_open

    def failure(self) -> bool:
        """Record a failure; True when it opened a closed circuit."""
        self.failures += 1
        self.probe_started = None
        if self.failures < self.threshold:
            return False
        was_open = self.opened_at is not None
        self.opened_at = self.clock()
        return not was_open


_SKIPPED = CacheError("circuit open: cache skipped after repeated failures")


class ResilientCache:
    """Degrades a failing backend to a miss instead of an error, and counts each failure.

    A :class:`CircuitBreaker` stops calling a backend that keeps failing, so a slow or
    hung cache does not make every request wait for its timeout.
    """

    def __init__(
        self, backend: Cache, metrics: Metrics | None = None, breaker: CircuitBreaker | None = None
    ) -> None:
        self.backend = backend
        self.metrics = metrics
        self.breaker = breaker or CircuitBreaker()

    @property
    def degraded(self) -> bool:
        """True while the circuit is open (the cache is being skipped)."""
        return self.breaker.is_open

    def _admit(self, operation: str) -> bool:
        if self.breaker.allow():
            return True
        if self.metrics is not None:
            self.metrics.cache_skipped.labels(operation).inc()
        return False

    def _ok(self) -> None:
        if not self.breaker.failures:
            return  # the usual case, kept cheap
        if self.breaker.success():
            log.warning("cache_circuit_closed")
            if self.metrics is not None:
                self.metrics.cache_circuit_open.set(0)

    def _failed(self, operation: str, exc: CacheError) -> None:
        log.warning("cache_unavailable", operation=operation, error=str(exc))
        if self.metrics is not None:
            self.metrics.cache_errors.labels(operation).inc()
        if self.breaker.failure():
            log.warning(
                "cache_circuit_open",
                failures=self.breaker.failures,
                cooldown_seconds=self.breaker.cooldown,
            )
            if self.metrics is not None:
                self.metrics.cache_circuit_open.set(1)

    async def get(self, key: str) -> bytes | None:
        if not self._admit("get"):
            return None
        try:
            value = await self.backend.get(key)
        except CacheError as exc:
            self._failed("get", exc)
            return None
        self._ok()
        return value

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        if not self._admit("mget"):
            return [None] * len(keys)
        try:
            values = await self.backend.mget(keys)
        except CacheError as exc:
            self._failed("mget", exc)
            return [None] * len(keys)
        self._ok()
        return values

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        if not self._admit("set"):
            return
        try:
            await self.backend.set(key, value, ttl)
        except CacheError as exc:
            self._failed("set", exc)
            return
        self._ok()

    async def set_many(self, entries: Sequence[tuple[str, bytes, float | None]]) -> None:
        if not entries or not self._admit("set_many"):
            return
        try:
            await self.backend.set_many(entries)
        except CacheError as exc:
            self._failed("set_many", exc)
            return
        self._ok()

    async def delete(self, key: str) -> None:
        if not self._admit("delete"):
            return
        try:
            await self.backend.delete(key)
        except CacheError as exc:
            self._failed("delete", exc)
            return
        self._ok()

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        # Counters are not optional data: callers must know the count is unknown.
        if not self._admit("incr"):
            raise _SKIPPED
        try:
            value = await self.backend.incr(key, amount, ttl)
        except CacheError as exc:
            self._failed("incr", exc)
            raise
        self._ok()
        return value

    async def take_tokens(self, key: str, rate: float, burst: float, cost: float = 1.0) -> Tokens:
        # Raises, like incr: the caller decides what an unknown bucket means.
        if not self._admit("take_tokens"):
            raise _SKIPPED
        try:
            tokens = await self.backend.take_tokens(key, rate, burst, cost)
        except CacheError as exc:
            self._failed("take_tokens", exc)
            raise
        self._ok()
        return tokens

    async def acquire_lock(self, name: str, ttl: float) -> Lock | None:
        if not self._admit("acquire_lock"):
            return None
        try:
            lock = await self.backend.acquire_lock(name, ttl)
        except CacheError as exc:
            self._failed("acquire_lock", exc)
            return None
        self._ok()
        return lock

    async def release_lock(self, lock: Lock) -> bool:
        if not self._admit("release_lock"):
            return False
        try:
            released = await self.backend.release_lock(lock)
        except CacheError as exc:
            self._failed("release_lock", exc)
            return False
        self._ok()
        return released

    async def extend_lock(self, lock: Lock, ttl: float) -> bool:
        if not self._admit("extend_lock"):
            return False
        try:
            extended = await self.backend.extend_lock(lock, ttl)
        except CacheError as exc:
            self._failed("extend_lock", exc)
            return False
        self._ok()
        return extended

    async def ping(self) -> None:
        """Ask the backend directly (readiness wants the truth, not the breaker's view)."""
        await self.backend.ping()

    async def close(self) -> None:
        await self.backend.close()


def create_cache(
    url: str, *, prefix: str, metrics: Metrics | None, timeout: float = 1.0
) -> ResilientCache:
    backend: Cache = RedisCache(url, prefix=prefix, timeout=timeout) if url else MemoryCache()
    return ResilientCache(backend, metrics)
