"""One contract's detail, cached like a browse list: JSON bytes stamped with the ingestion
generation, shared by ``/api/v1/contracts/{id}`` and the contract page.

The JSON API answers straight from the stored bytes. The page reads the same entry to
render itself on a miss of its own cache, and for a pilot's "Watch this ship" forms,
so a page miss after an API read (or the other way round) costs no query at all.
Writing an entry also keeps it as the view's last good answer (``core.stale``).
"""

from __future__ import annotations

import orjson
from pydantic import ValidationError

from hangar_bay.contracts import caching, service
from hangar_bay.contracts.http import etag_for, unpack
from hangar_bay.contracts.schemas import ContractDetail
from hangar_bay.core import stale
from hangar_bay.core.cache import Cache
from hangar_bay.core.database import Database
from hangar_bay.core.logging import get_logger

log = get_logger(__name__)

# As long as a list entry: an entry's status and "time left" follow the clock.
DETAIL_TTL = caching.LIST_TTL


def detail_ttl(detail: ContractDetail, cap: float) -> float:
    """How long (seconds) ``detail`` may be served from the cache: ``cap`` at most, and an
    outstanding contract's copy not past its expiry, when its status changes."""
    if detail.status != "outstanding":
        return cap
    return caching.ttl_until_expiry([detail.date_expired], cap)


def detail_cache_key(contract_id: int) -> str:
    # v4: the type-aware fields (current_bid for every auction, the destination, jumps)
    # and the value fields.
    return f"browse:detail:v4:{contract_id}"


async def _load(
    database: Database, cache: Cache, contract_id: int, gen: int
) -> tuple[ContractDetail, tuple[str, bytes]] | None:
    """The contract from the database, stored for generation ``gen``: the model and its
    (ETag, JSON bytes). ``None``, and nothing stored, when no such contract exists: it
    would only be right until the sweep that brings the contract in."""
    async with database.session() as session:
        detail = await service.get_contract(session, contract_id)
    if detail is None:
        return None
    # orjson, like the list, so both endpoints write timestamps the same way.
    body = orjson.dumps(detail.model_dump())
    etag = etag_for(body)
    await caching.write_entry(
        cache, detail_cache_key(contract_id), gen, etag, body, ttl=detail_ttl(detail, DETAIL_TTL)
    )
    return detail, (etag, body)


async def detail_entry(
    database: Database, cache: Cache, contract_id: int
) -> tuple[str, bytes] | None:
    """The contract as (ETag, JSON bytes), cached; ``None`` when no such contract exists.

    A hit is one cache read and no database session. An unknown contract is not cached.
    """
    key = detail_cache_key(contract_id)
    stale.answer_as(key)
    gen, entry = await caching.read_entry(cache, key)
    if entry is not None:
        return entry
    loaded = await _load(database, cache, contract_id, gen)
    return None if loaded is None else loaded[1]


async def detail_model(
    database: Database, cache: Cache, contract_id: int, gen: int, raw: bytes | None
) -> ContractDetail | None:
    """The contract as a model from ``raw`` (its stamped entry's payload for generation
    ``gen``, as :func:`caching.read_stamped` returns it, or ``None``), else from the
    database, storing the entry for ``gen``. ``None`` when no such contract exists."""
    entry = None if raw is None else unpack(raw)
    if entry is not None:
        try:
            return ContractDetail.model_validate_json(entry[1])
        except ValidationError:
            log.warning("cache_entry_invalid", key="browse:detail")
    loaded = await _load(database, cache, contract_id, gen)
    return None if loaded is None else loaded[0]
