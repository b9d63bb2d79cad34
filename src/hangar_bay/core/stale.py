"""The last good answer of a view, kept to serve while the database is unreachable.

Browse entries are trusted only briefly (they are stamped with the ingestion
generation and expire within a minute), so during a database outage they would
vanish. Whenever one is written, a copy is also kept here for a day under its own key
(:func:`keep`); the request notes which entry it looked up first (:func:`note_lookup`),
and when the database fails the middleware answers with that copy (:func:`recall`),
marked stale (``Warning: 110``, ``Age``, and a banner on pages).
"""

from __future__ import annotations

import time
from typing import Protocol

from hangar_bay.core.request_state import current_request

STALE_PREFIX = "stale:"
# How long a last good answer is kept: a day covers an outage that waits for a person.
STALE_TTL = 86_400.0


class _KeyValue(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...


def note_lookup(key: str) -> None:
    """Record ``key`` as the view the current request answers (the first lookup wins)."""
    request = current_request.get()
    if request is not None and request.cache_key is None:
        request.cache_key = key


async def keep(cache: _KeyValue, key: str, etag: str, body: bytes) -> None:
    """Keep ``body`` (with its ETag) as the last good answer for ``key``."""
    stamp = str(int(time.time())).encode()
    await cache.set(STALE_PREFIX + key, stamp + b"\n" + etag.encode() + b"\n" + body, STALE_TTL)


async def recall(cache: _KeyValue, key: str) -> tuple[str, bytes, int] | None:
    """The last good (ETag, body, age in seconds) for ``key``, if one is kept."""
    raw = await cache.get(STALE_PREFIX + key)
    if raw is None:
        return None
    stamp, sep, rest = raw.partition(b"\n")
    etag, sep2, body = rest.partition(b"\n")
    if not sep or not sep2 or not stamp.isdigit():
        return None
    age = max(0, int(time.time()) - int(stamp))
    return etag.decode("ascii", "replace"), body, age
