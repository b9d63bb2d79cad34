"""Test doubles shared across suites."""

from __future__ import annotations

from collections.abc import Sequence

from hangar_bay.core.cache import CacheError, Lock, Tokens


class DownCache:
    """A bare cache backend that fails every call, like Redis gone away."""

    async def get(self, key: str) -> bytes | None:
        raise CacheError("down")

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        raise CacheError("down")

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        raise CacheError("down")

    async def set_many(self, entries: Sequence[tuple[str, bytes, float | None]]) -> None:
        raise CacheError("down")

    async def delete(self, key: str) -> None:
        raise CacheError("down")

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        raise CacheError("down")

    async def acquire_lock(self, name: str, ttl: float) -> Lock | None:
        raise CacheError("down")

    async def release_lock(self, lock: Lock) -> bool:
        raise CacheError("down")

    async def extend_lock(self, lock: Lock, ttl: float) -> bool:
        raise CacheError("down")

    async def ping(self) -> None:
        raise CacheError("down")

    async def close(self) -> None:
        return None

    async def take_tokens(self, key: str, rate: float, burst: float, cost: float = 1.0) -> Tokens:
        raise CacheError("down")
