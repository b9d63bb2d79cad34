"""How many live contracts a saved search or a watch entry matches now.

The counts are the browse view's own per-type counts, read from and written to the
same cache entries the browse pages use (one round trip for a whole list), so a total
here always equals the total the browse page of that URL shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.contracts import caching
from hangar_bay.contracts.listing import view_counts
from hangar_bay.contracts.schemas import ContractFilters
from hangar_bay.core.cache import ResilientCache
from hangar_bay.models import utcnow


def _decode(raw: bytes | None) -> dict[str, int] | None:
    if raw is None:
        return None
    try:
        counts = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(counts, dict) or not all(type(v) is int for v in counts.values()):
        return None
    return counts


def _total(f: ContractFilters, counts: dict[str, int]) -> int:
    wanted: list[str] = list(f.contract_type) or list(counts)
    return sum(counts.get(t, 0) for t in wanted)


async def totals(
    session: AsyncSession, cache: ResilientCache, views: Sequence[ContractFilters]
) -> list[int]:
    """The browse total of each view, in order."""
    if not views:
        return []
    gen, raws = await caching.read_stamped(cache, [caching.counts_cache_key(f) for f in views])
    out: list[int] = []
    now = utcnow()
    conn = None
    for f, raw in zip(views, raws, strict=True):
        counts = _decode(raw)
        if counts is None:
            conn = conn or await session.connection()
            counts = await view_counts(conn, f, now)
            await caching.write_counts(cache, f, gen, counts)
        out.append(_total(f, counts))
    return out
