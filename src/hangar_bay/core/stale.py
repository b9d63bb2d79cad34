"""The last good answer of a view, kept to serve while the database is unreachable.

Browse entries are trusted only briefly (they are stamped with the ingestion
generation and expire within a minute), so during a database outage they would
vanish. Whenever one is written, a copy is also kept here for a day (:func:`keep`);
each route names the view it answers with (:func:`answer_as`), and when the database
fails the middleware answers with that view's copy (:func:`recall`), marked stale
(``Warning: 110``, ``Age``, and a banner on pages). A route that names no view (an
export, a form) gets a 503 instead: it never falls back on a copy of some entry it
happened to read, such as the list behind a feed.

The copies live in a fixed number of slots (the view's key hashed), not one key per
view: however many distinct views clients ask for, the copies take at most
``STALE_SLOTS`` entries. Popular views are written again at every miss, so they are
the ones found in their slot when the database goes away.
"""

from __future__ import annotations

import hashlib
import time
from typing import NamedTuple, Protocol

from hangar_bay.core.request_state import current_request

# v2: the copy's media type is kept with it (an Atom feed is not an HTML page).
STALE_PREFIX = "stale:v2:"
# How long a last good answer is kept: a day covers an outage that waits for a person.
STALE_TTL = 86_400.0
STALE_SLOTS = 1024


class _KeyValue(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...


def answer_as(key: str) -> None:
    """Name ``key`` as the view the current request answers: the one whose last good
    copy the middleware serves if the database fails. Called by each cached view's
    route, with the key its entry is written under."""
    request = current_request.get()
    if request is not None:
        request.cache_key = key


def _slot(key: str) -> str:
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return f"{STALE_PREFIX}{int.from_bytes(digest) % STALE_SLOTS}"


class Kept(NamedTuple):
    """A last good answer: its ETag, body, age in seconds and media type (``None``: the
    answer is JSON or an HTML page, told apart by its first byte)."""

    etag: str
    body: bytes
    age: int
    media_type: str | None


def copy_of(
    key: str, etag: str, body: bytes, media_type: str | None = None
) -> tuple[str, bytes, float]:
    """The cache entry, as ``(slot, value, ttl)``, that keeps ``body`` (with its ETag
    and, unless JSON or HTML, its media type) as the last good answer for ``key``: for
    writing in one round trip with the entry it copies (``Cache.set_many``)."""
    head = f"{int(time.time())}\n{key}\n{etag}\n{media_type or ''}\n".encode()
    return _slot(key), head + body, STALE_TTL


async def keep(
    cache: _KeyValue, key: str, etag: str, body: bytes, media_type: str | None = None
) -> None:
    """Keep ``body`` as the last good answer for ``key`` (see :func:`copy_of`)."""
    await cache.set(*copy_of(key, etag, body, media_type))


async def recall(cache: _KeyValue, key: str) -> Kept | None:
    """The last good answer for ``key``, if its slot holds it."""
    raw = await cache.get(_slot(key))
    if raw is None:
        return None
    parts = raw.split(b"\n", 4)
    if len(parts) != 5 or not parts[0].isdigit() or parts[1] != key.encode():
        return None  # empty, foreign, or another view's copy in the same slot
    stamp, _, etag, media, body = parts
    age = max(0, int(time.time()) - int(stamp))
    return Kept(
        etag.decode("ascii", "replace"), body, age, media.decode("ascii", "replace") or None
    )
