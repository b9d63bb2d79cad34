"""Browse caching: entries stamped with the ingestion generation, counts per view, warm-up.

A finished sweep bumps ``ingest:generation``; every entry carries the generation it was
computed for, so one increment invalidates them all without finding keys. See
ARCHITECTURE.md, "From ESI to the page".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.contracts.http import etag_for, pack, unpack
from hangar_bay.contracts.listing import (
    group_type_ids,
    list_page,
    view_counts,
)
from hangar_bay.contracts.schemas import (
    ContractFilters,
)
from hangar_bay.core import stale
from hangar_bay.core.cache import Cache, CacheError, ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.core.logging import get_logger
from hangar_bay.models import (
    utcnow,
)

log = get_logger(__name__)

GENERATION_KEY = "ingest:generation"
# Results also depend on the clock (a contract past its expiry drops out), so even
# without a new sweep a cached list is only trusted briefly.
LIST_TTL = 60.0
# Counts outlive a page entry only as long: they too go stale as contracts expire, and a
# total may then be off by the contracts that expired since, for at most this long.
COUNTS_TTL = LIST_TTL
# The views a sweep counts ahead of the first visitor (warm_counts): the front page and
# "all contracts", whose counts cover every live contract (~25-30 ms at universe scale).
DEFAULT_VIEWS = (ContractFilters(), ContractFilters(ships_only=False))
# The ship taxonomy and the region list change slowly and cost a scan of every live
# ship item (~150 ms at universe scale): they outlive sweeps and refresh on a timer.
STATIC_TTL = 600.0
TAXONOMY_KEY = "browse:taxonomy:v1"
REGIONS_KEY = "browse:regions:v1"

M = TypeVar("M", bound=BaseModel)


def _parse_generation(raw: bytes | None) -> int:
    if raw is None:
        return 0
    try:
        return int(raw)
    except ValueError:
        return 0


def _stamped(gen: int, payload: bytes) -> bytes:
    """``payload`` stamped with generation ``gen`` (read back by :func:`_of_generation`)."""
    return str(gen).encode() + b"\n" + payload


def _of_generation(raw: bytes | None, gen: int) -> bytes | None:
    """The payload of a stamped entry if it was stamped with ``gen``, else ``None``."""
    if raw is None:
        return None
    stamp, sep, payload = raw.partition(b"\n")
    if not sep or stamp != str(gen).encode():
        return None
    return payload


async def generation(cache: Cache) -> int:
    return _parse_generation(await cache.get(GENERATION_KEY))


async def read_stamped(cache: Cache, keys: Sequence[str]) -> tuple[int, list[bytes | None]]:
    """The current generation, and for each key its payload if stamped with it.

    One round trip: the generation and the entries come in one multi-get, so a hit costs
    the same single cache read as an unstamped entry would. (Reading the generation
    first and the entry next cost two; sending both at once on two connections was
    measured slower still.) Entries are stamped with their generation instead of being
    keyed by it, so a sweep's new results overwrite the old ones rather than leaving
    them to expire, and an entry from before the last sweep is never served.
    """
    raw = await cache.mget([GENERATION_KEY, *keys])
    gen = _parse_generation(raw[0])
    return gen, [_of_generation(value, gen) for value in raw[1:]]


async def read_entry(cache: Cache, key: str) -> tuple[int, tuple[str, bytes] | None]:
    """The current generation, and the (ETag, body) stored under ``key`` if it is of it."""
    gen, (payload,) = await read_stamped(cache, [key])
    return gen, None if payload is None else unpack(payload)


async def write_entry(
    cache: Cache,
    key: str,
    gen: int,
    etag: str,
    body: bytes,
    *,
    ttl: float,
    also: Sequence[tuple[str, bytes, float | None]] = (),
) -> None:
    """Store ``body`` and its ETag under ``key`` for generation ``gen`` (see read_stamped),
    and keep it as the view's last good answer for a database outage (core.stale).

    One round trip, with any entries ``also`` to be written (``(key, value, ttl)``): on
    a cache miss every round trip is a share of the answer's time.
    """
    await cache.set_many(
        [(key, _stamped(gen, pack(body, etag)), ttl), stale.copy_of(key, etag, body), *also]
    )


def list_cache_key(f: ContractFilters) -> str:
    # v4: the type-aware summary fields (issue 13) and the value fields (issue 12); an
    # entry without them must not be served. Stamped and packed, see read_stamped.
    return f"browse:list:v4:{f.cache_key()}"


def counts_cache_key(f: ContractFilters) -> str:
    # Keyed by the counted filters only: the pages and sorts of a view share one entry,
    # and any other filter set has a key, and so a count, of its own.
    return f"browse:counts:v1:{f.counts_key()}"


def _decode_counts(payload: bytes | None) -> dict[str, int] | None:
    if payload is None:
        return None
    try:
        counts = orjson.loads(payload)
    except orjson.JSONDecodeError:
        counts = None
    if not isinstance(counts, dict) or not all(
        isinstance(k, str) and type(v) is int for k, v in counts.items()
    ):
        log.warning("cache_entry_invalid", key="browse:counts")
        return None
    return counts


def _counts_entry(
    f: ContractFilters, gen: int, counts: Mapping[str, int]
) -> tuple[str, bytes, float]:
    return counts_cache_key(f), _stamped(gen, orjson.dumps(dict(counts))), COUNTS_TTL


async def write_counts(
    cache: Cache, f: ContractFilters, gen: int, counts: Mapping[str, int]
) -> None:
    """Store the per-type counts of ``f``'s view for generation ``gen``."""
    await cache.set(*_counts_entry(f, gen, counts))


async def _lookup_list(
    cache: Cache, f: ContractFilters
) -> tuple[int, tuple[str, bytes] | None, dict[str, int] | None]:
    """The generation, the list entry of ``f`` and its view's counts, in one round trip."""
    gen, (entry, counts) = await read_stamped(cache, [list_cache_key(f), counts_cache_key(f)])
    return gen, None if entry is None else unpack(entry), _decode_counts(counts)


async def cached_counts(
    session: AsyncSession, cache: Cache, f: ContractFilters, gen: int
) -> dict[str, int]:
    """The per-type counts of ``f``'s view for generation ``gen``, cached like a list's."""
    _, (payload,) = await read_stamped(cache, [counts_cache_key(f)])
    counts = _decode_counts(payload)
    if counts is not None:
        return counts
    conn = await session.connection()
    group_types = None
    if f.group_id:
        group_types = await group_type_ids(session, f.group_id)
    counts = await view_counts(conn, f, utcnow(), group_types=group_types)
    await write_counts(cache, f, gen, counts)
    return counts


def ttl_until_expiry(expiries: Iterable[dt.datetime], cap: float) -> float:
    """How long (seconds) a cached list of contracts expiring at ``expiries`` (UTC) may
    be served: ``cap`` at most, and never past the first expiry, after which the list
    would show a contract that is no longer live (and a page after it would skip one).
    A contract expiring is no sweep, so no new generation would replace the entry."""
    first = min(expiries, default=None)
    if first is None:
        return cap
    return max(0.001, min(cap, (first - utcnow()).total_seconds()))


async def _store_list(
    cache: Cache, f: ContractFilters, gen: int, page: dict[str, Any], counted: bool
) -> tuple[str, bytes]:
    """Cache ``page`` (and, when this request ``counted`` them, its view's counts)."""
    body = orjson.dumps(page)
    etag = etag_for(body)
    counts = [_counts_entry(f, gen, page["counts"])] if counted else []
    ttl = ttl_until_expiry((item["date_expired"] for item in page["items"]), LIST_TTL)
    await write_entry(cache, list_cache_key(f), gen, etag, body, ttl=ttl, also=counts)
    return etag, body


async def cached_list_entry(
    database: Database, cache: ResilientCache, f: ContractFilters
) -> tuple[str, bytes, int]:
    """The list as (ETag, JSON bytes) and the generation it belongs to, cached.

    A hit is one cache round trip (see :func:`read_stamped`), no JSON or hashing work,
    and no database session: one is opened only on a miss, for reads only
    (:meth:`Database.read`), and given back before the cache is written. A miss reuses
    the view's counts when this generation already has them.
    """
    gen, entry, counts = await _lookup_list(cache, f)
    if entry is not None:
        return entry[0], entry[1], gen
    async with database.read() as session:
        page = await list_page(session, f, counts=counts)
    etag, body = await _store_list(cache, f, gen, page, counted=counts is None)
    return etag, body, gen


async def cached_list(
    session: AsyncSession, cache: ResilientCache, f: ContractFilters
) -> tuple[bytes, int]:
    """The list as JSON bytes (cached) and the generation it belongs to, in ``session``."""
    gen, entry, counts = await _lookup_list(cache, f)
    if entry is not None:
        return entry[1], gen
    page = await list_page(session, f, counts=counts)
    _, body = await _store_list(cache, f, gen, page, counted=counts is None)
    return body, gen


async def new_generation(database: Database, cache: Cache) -> None:
    """Start a new ingestion generation (every browse entry of the old one goes stale)
    and count the default views for it. Best effort: a cache outage is logged, never
    raised, so the sweep or pass that changed the data does not fail for it."""
    try:
        await cache.incr(GENERATION_KEY)
    except Exception as exc:
        log.warning("generation_not_bumped", error=str(exc))
    else:
        await warm_counts(database, cache)


async def warm_counts(database: Database, cache: Cache) -> None:
    """Count the default views (:data:`DEFAULT_VIEWS`) for the current generation.

    For the sweep to call right after it bumps the generation, so the first visitors of
    the front page and of "all contracts" (whatever its page or sort) find the counts
    ready instead of paying for a count of every live contract. Exact counts, shared
    like any other view's. Best effort: it never raises (a cache or database failure is
    logged and the requests then count for themselves); counts already stored for this
    generation (a request was faster) are kept.
    """
    keys = [counts_cache_key(f) for f in DEFAULT_VIEWS]
    try:
        gen, stored = await read_stamped(cache, keys)
    except CacheError as exc:
        log.warning("counts_not_warmed", reason="cache", error=str(exc))
        return
    missing = [f for f, payload in zip(DEFAULT_VIEWS, stored, strict=True) if payload is None]
    if not missing:
        return
    try:
        now = utcnow()
        async with database.session() as session:
            conn = await session.connection()
            computed = [(f, await view_counts(conn, f, now)) for f in missing]
    except Exception as exc:  # the sweep that calls this has finished its own work
        log.warning("counts_not_warmed", reason="database", error=str(exc))
        return
    try:
        for f, counts in computed:
            await write_counts(cache, f, gen, counts)
    except CacheError as exc:
        log.warning("counts_not_warmed", reason="cache", error=str(exc))


async def cached_model(
    cache: ResilientCache,
    key: str,
    model: type[M],
    build: Callable[[], Awaitable[M]],
    ttl: float = STATIC_TTL,
) -> M:
    """A model from the cache, or ``await build()`` stored under ``key``."""
    raw = await cache.get(key)
    if raw is not None:
        try:
            return model.model_validate_json(raw)
        except ValueError:
            log.warning("cache_entry_invalid", key=key)
    value = await build()
    await cache.set(key, value.model_dump_json().encode(), ttl=ttl)
    return value
