"""The browse query service: one implementation behind ``/api/v1/contracts`` and ``/``.

A list costs three statements whatever the page size: counts per contract type (which
also give the total), the page of contracts with their names joined in, and every item
of that page in one ``IN`` query (a fourth resolves a ship class to its types); two
when the view's counts are cached. Results are cached stamped with the ingestion
generation, so a finished sweep, which bumps the generation, invalidates them all at
once without anyone having to find and delete keys. The counts are cached apart from
the pages, keyed by the filters that decide them, so every page and sort of one view
shares one count per generation; the sweep that bumps the generation counts the two
default views at once (:func:`warm_counts`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from hangar_bay.contracts.http import etag_for, pack, unpack
from hangar_bay.contracts.schemas import (
    CONTRACT_TYPES,
    ContractDetail,
    ContractFilters,
    ContractPage,
    RegionFreshness,
    RegionOption,
    Taxonomy,
    TaxonomyGroup,
    TaxonomyType,
)
from hangar_bay.core import stale
from hangar_bay.core.cache import Cache, CacheError, ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.core.logging import get_logger
from hangar_bay.models import (
    Contract,
    ContractBid,
    ContractItem,
    EntityName,
    ItemGroup,
    ItemType,
    Region,
    RegionStatus,
    SolarSystem,
    Station,
    as_utc,
    utcnow,
)

log = get_logger(__name__)

SHIP_CATEGORY = 6
HIGH_SEC = 0.45
# J-space system ids; their security status is -1.0 like some null-sec, so the id decides.
WORMHOLE_SYSTEMS = (31_000_000, 32_000_000)
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
S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def live_condition(now: dt.datetime) -> ColumnElement[bool]:
    return and_(Contract.ended_at.is_(None), Contract.date_expired > now)


def _security_condition(bands: Sequence[str]) -> ColumnElement[bool]:
    sec = Contract.start_security
    system = Contract.start_system_id
    in_wormhole = and_(system >= WORMHOLE_SYSTEMS[0], system < WORMHOLE_SYSTEMS[1])
    parts: list[ColumnElement[bool]] = []
    for band in bands:
        if band == "high":
            parts.append(sec >= HIGH_SEC)
        elif band == "low":
            parts.append(and_(sec > 0.0, sec < HIGH_SEC))
        elif band == "null":
            parts.append(and_(sec <= 0.0, or_(system.is_(None), ~in_wormhole)))
        elif band == "wormhole":
            parts.append(in_wormhole)
    return or_(*parts)


def _blueprint_condition(f: ContractFilters) -> ColumnElement[bool] | None:
    """One offered item must satisfy every blueprint criterion at once."""
    item = ContractItem
    parts: list[ColumnElement[bool]] = []
    if f.bpc == "copies":
        parts.append(item.is_blueprint_copy.is_(True))
    elif f.bpc == "originals":
        # ESI marks originals with runs = -1 and may leave is_blueprint_copy out.
        parts.append(
            or_(
                item.is_blueprint_copy.is_(False),
                and_(item.is_blueprint_copy.is_(None), item.runs == -1),
            )
        )
    if f.min_runs is not None:
        parts.append(item.runs >= f.min_runs)
    if f.max_runs is not None:
        parts.append(and_(item.runs <= f.max_runs, item.runs >= 1))
    if f.min_me is not None:
        parts.append(item.material_efficiency >= f.min_me)
    if f.min_te is not None:
        parts.append(item.time_efficiency >= f.min_te)
    if not parts:
        return None
    # runs IS NOT NULL marks a blueprint and lets ix_contract_items_blueprints answer.
    return Contract.contract_id.in_(
        select(item.contract_id).where(item.runs.is_not(None), item.is_included.is_(True), *parts)
    )


def filter_conditions(
    f: ContractFilters, now: dt.datetime, *, group_types: Sequence[int] | None = None
) -> list[ColumnElement[bool]]:
    """Every filter except ``contract_type`` (which the per-type counts must ignore).

    ``group_types`` are the type ids of ``f.group_id`` when the caller resolved them.
    """
    conds: list[ColumnElement[bool]] = [live_condition(now)]
    if f.ships_only:
        conds.append(Contract.is_ship_contract.is_(True))
    if f.type_id:
        conds.append(
            Contract.contract_id.in_(
                select(ContractItem.contract_id).where(
                    ContractItem.type_id.in_(f.type_id), ContractItem.is_included.is_(True)
                )
            )
        )
    if f.group_id and group_types is not None:
        conds.append(
            Contract.contract_id.in_(
                select(ContractItem.contract_id).where(
                    ContractItem.type_id.in_(group_types), ContractItem.is_included.is_(True)
                )
            )
        )
    elif f.group_id:
        conds.append(
            Contract.contract_id.in_(
                select(ContractItem.contract_id)
                .join(ItemType, ItemType.type_id == ContractItem.type_id)
                .where(ItemType.group_id.in_(f.group_id), ContractItem.is_included.is_(True))
            )
        )
    if f.region_id:
        conds.append(Contract.region_id.in_(f.region_id))
    if f.security:
        conds.append(_security_condition(f.security))
    if f.min_price is not None:
        conds.append(Contract.price >= f.min_price)
    if f.max_price is not None:
        conds.append(Contract.price <= f.max_price)
    blueprint = _blueprint_condition(f)
    if blueprint is not None:
        conds.append(blueprint)
    if f.hull_only is not None:
        # A correlated EXISTS, not NOT IN: PostgreSQL turns it into an anti-join probing
        # the contract's own items, where NOT IN hashed every non-ship item (600 ms).
        non_ship_offered = (
            select(ContractItem.record_id)
            .outerjoin(ItemType, ItemType.type_id == ContractItem.type_id)
            .where(
                ContractItem.contract_id == Contract.contract_id,
                ContractItem.is_included.is_(True),
                # An unresolved type is not known to be a ship, so it counts as "other".
                or_(ItemType.category_id.is_(None), ItemType.category_id != SHIP_CATEGORY),
            )
            .exists()
        )
        # Hull or hull-plus-extras describes a ship contract either way; keeping to
        # ship rows also keeps the probe to a small set.
        conds.append(Contract.is_ship_contract.is_(True))
        conds.append(~non_ship_offered if f.hull_only else non_ship_offered)
    if f.issuer_id:
        conds.append(Contract.issuer_id.in_(f.issuer_id))
    for word in f.words:
        conds.append(Contract.search_text.like(f"%{_escape_like(word)}%", escape="\\"))
    return conds


def sort_order(f: ContractFilters) -> list[Any]:
    columns: dict[str, Any] = {
        "date_issued": Contract.date_issued,
        "date_expired": Contract.date_expired,
        "price": Contract.price,
        "volume": Contract.volume,
        "reward": Contract.reward,
        "price_per_ship": Contract.price / func.nullif(Contract.ship_count, 0),
        "contract_id": Contract.contract_id,
    }
    column = columns[f.sort_field]
    primary = column.desc() if f.sort_descending else column.asc()
    if f.sort_field not in {"date_issued", "date_expired", "contract_id"}:
        # Missing values (no price, no volume) go last in either direction.
        primary = primary.nulls_last()
    if f.sort_field == "contract_id":
        return [primary]
    # contract_id makes the order total, so pages never overlap or skip a row.
    tie = Contract.contract_id.desc() if f.sort_descending else Contract.contract_id.asc()
    return [primary, tie]


def _status(contract: Contract, now: dt.datetime) -> str:
    if contract.ended_at is not None:
        return "ended"
    if as_utc(contract.date_expired) <= now:
        return "expired"
    return "outstanding"


def _summary_fields(
    contract: Any,
    *,
    now: dt.datetime,
    region_name: str | None,
    issuer_name: str | None,
    system_name: str | None,
    items: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """The list representation of a contract (an ORM object or a row with its columns).

    Plain dicts, not models: a page holds hundreds of item lines and building a model
    for each costs more than the SQL. The shapes are those of :mod:`schemas`, which
    validates them wherever a model is needed.
    """
    ships: dict[int, dict[str, Any]] = {}
    blueprints: list[dict[str, Any]] = []
    offered = requested = 0
    for item in items:
        if not item["is_included"]:
            requested += 1
            continue
        offered += 1
        if item["category_id"] == SHIP_CATEGORY:
            line = ships.get(item["type_id"])
            if line is None:
                ships[item["type_id"]] = {
                    "type_id": item["type_id"],
                    "name": item["type_name"],
                    "group_id": item["group_id"],
                    "group_name": item["group_name"],
                    "quantity": item["quantity"],
                }
            else:
                line["quantity"] += item["quantity"]
        if item["is_blueprint_copy"] is not None or item["runs"] is not None:
            blueprints.append(
                {
                    "type_id": item["type_id"],
                    "name": item["type_name"],
                    "is_copy": bool(item["is_blueprint_copy"]) or (item["runs"] or -1) > 0,
                    "runs": item["runs"],
                    "material_efficiency": item["material_efficiency"],
                    "time_efficiency": item["time_efficiency"],
                }
            )
    price_per_ship = (
        contract.price / contract.ship_count
        if contract.price is not None and contract.ship_count
        else None
    )
    return {
        "contract_id": contract.contract_id,
        "type": contract.type,
        "title": contract.title or "",
        "status": _status(contract, now),
        "region_id": contract.region_id,
        "region_name": region_name,
        "issuer_id": contract.issuer_id,
        "issuer_name": issuer_name,
        "date_issued": as_utc(contract.date_issued),
        "date_expired": as_utc(contract.date_expired),
        "ended_at": as_utc(contract.ended_at) if contract.ended_at else None,
        "price": contract.price,
        "buyout": contract.buyout,
        "collateral": contract.collateral,
        "reward": contract.reward,
        "volume": contract.volume,
        "days_to_complete": contract.days_to_complete,
        "start_location_id": contract.start_location_id,
        "start_location_name": contract.start_location_name,
        "start_system_id": contract.start_system_id,
        "start_system_name": system_name,
        "start_security": contract.start_security,
        "start_is_structure": contract.start_is_structure,
        "end_location_id": contract.end_location_id,
        "is_ship_contract": contract.is_ship_contract,
        "ship_count": contract.ship_count,
        "price_per_ship": price_per_ship,
        "ships": (
            sorted(ships.values(), key=lambda s: (-s["quantity"], s["name"] or ""))
            if len(ships) > 1
            else list(ships.values())
        ),
        "blueprints": blueprints,
        "offered_count": offered,
        "requested_count": requested,
    }


_ITEM_KEYS = (
    "record_id",
    "type_id",
    "type_name",
    "group_id",
    "group_name",
    "category_id",
    "quantity",
    "is_included",
    "is_singleton",
    "is_blueprint_copy",
    "material_efficiency",
    "time_efficiency",
    "runs",
)


async def _items_of(
    session: AsyncSession, contract_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    """Every item of these contracts, named, in one query (no N+1)."""
    if not contract_ids:
        return {}
    # Core execution: these are plain column rows, the ORM layer would only add cost.
    conn = await session.connection()
    rows = await conn.execute(
        select(
            ContractItem.contract_id,
            ContractItem.record_id,
            ContractItem.type_id,
            ItemType.name,
            ItemType.group_id,
            ItemGroup.name,
            ItemType.category_id,
            ContractItem.quantity,
            ContractItem.is_included,
            ContractItem.is_singleton,
            ContractItem.is_blueprint_copy,
            ContractItem.material_efficiency,
            ContractItem.time_efficiency,
            ContractItem.runs,
        )
        .outerjoin(ItemType, ItemType.type_id == ContractItem.type_id)
        .outerjoin(ItemGroup, ItemGroup.group_id == ItemType.group_id)
        .where(ContractItem.contract_id.in_(contract_ids))
        .order_by(ContractItem.contract_id, ContractItem.record_id)
    )
    by_contract: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_contract[row[0]].append(dict(zip(_ITEM_KEYS, row[1:], strict=True)))
    return by_contract


def _with_names(stmt: S) -> S:
    return (
        stmt.outerjoin(Region, Region.region_id == Contract.region_id)
        .outerjoin(EntityName, EntityName.entity_id == Contract.issuer_id)
        .outerjoin(SolarSystem, SolarSystem.system_id == Contract.start_system_id)
    )


async def _group_types(session: AsyncSession, group_ids: Sequence[int]) -> list[int]:
    # Resolved up front so the item filter is a plain type_id IN (...), which the
    # (type_id, contract_id) index answers; a join to item_types scans every item.
    conn = await session.connection()
    rows = await conn.execute(select(ItemType.type_id).where(ItemType.group_id.in_(group_ids)))
    return [type_id for (type_id,) in rows]


async def _browse_connection(session: AsyncSession) -> AsyncConnection:
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        # These queries take milliseconds: starting parallel workers costs more than it
        # saves (measured on 2 cores: 67 ms with a worker, 18 ms without, bench/query.py).
        await conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    return conn


async def _count_by_type(
    conn: AsyncConnection, conds: Sequence[ColumnElement[bool]]
) -> dict[str, int]:
    counted = await conn.execute(
        select(Contract.type, func.count()).where(*conds).group_by(Contract.type)
    )
    counts: dict[str, int] = dict.fromkeys(CONTRACT_TYPES[:4], 0)
    for contract_type, count in counted:
        counts[contract_type] = count
    return counts


async def list_page(
    session: AsyncSession,
    f: ContractFilters,
    *,
    now: dt.datetime | None = None,
    counts: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """One page of results in the :class:`ContractPage` shape, as plain data.

    ``counts``: the per-type counts of ``f``'s view when already known (cached), which
    spares the one statement whose cost grows with the number of matching contracts.
    """
    now = now or utcnow()
    conn = await _browse_connection(session)
    group_types = await _group_types(session, f.group_id) if f.group_id else None
    conds = filter_conditions(f, now, group_types=group_types)
    counts = dict(counts) if counts is not None else await _count_by_type(conn, conds)
    wanted: list[str] = list(f.contract_type) or list(counts)
    total = sum(counts.get(t, 0) for t in wanted)
    pages = max(1, math.ceil(total / f.size))

    summaries: list[dict[str, Any]] = []
    offset = (f.page - 1) * f.size
    if offset < total:
        page_conds = list(conds)
        if f.contract_type:
            page_conds.append(Contract.type.in_(f.contract_type))
        # The sort runs over the narrow key only; the page's 50 rows are then joined to
        # their columns and names. Sorting whole rows (search_text is wide) costs more
        # than the filters.
        order = sort_order(f)
        keys = (
            select(Contract.contract_id)
            .where(*page_conds)
            .order_by(*order)
            .offset(offset)
            .limit(f.size)
            .subquery("page_keys")
        )
        rows = (
            await conn.execute(
                _with_names(
                    select(
                        *(c for c in Contract.__table__.columns if c.key != "search_text"),
                        Region.name.label("region_name"),
                        EntityName.name.label("issuer_name"),
                        SolarSystem.name.label("system_name"),
                    )
                    .join(keys, keys.c.contract_id == Contract.contract_id)
                    .order_by(*order)
                )
            )
        ).all()
        items = await _items_of(session, [row.contract_id for row in rows])
        for row in rows:
            summaries.append(
                _summary_fields(
                    row,
                    now=now,
                    region_name=row.region_name,
                    issuer_name=row.issuer_name,
                    system_name=row.system_name,
                    items=items.get(row.contract_id, []),
                )
            )
    return {
        "total": total,
        "page": f.page,
        "size": f.size,
        "pages": pages,
        "counts": counts,
        "items": summaries,
    }


async def list_contracts(
    session: AsyncSession, f: ContractFilters, *, now: dt.datetime | None = None
) -> ContractPage:
    return ContractPage.model_validate(await list_page(session, f, now=now))


async def get_contract(
    session: AsyncSession, contract_id: int, *, now: dt.datetime | None = None
) -> ContractDetail | None:
    """One contract, ended or not, with every item and bid; ``None`` when unknown."""
    now = now or utcnow()
    corporation = aliased(EntityName)
    end_station = aliased(Station)
    row = (
        await session.execute(
            _with_names(
                select(
                    Contract,
                    Region.name,
                    EntityName.name,
                    SolarSystem.name,
                    corporation.name,
                    end_station.name,
                ).where(Contract.contract_id == contract_id)
            )
            .outerjoin(corporation, corporation.entity_id == Contract.issuer_corporation_id)
            .outerjoin(end_station, end_station.station_id == Contract.end_location_id)
        )
    ).first()
    if row is None:
        return None
    contract, region_name, issuer_name, system_name, corporation_name, end_name = row
    items = (await _items_of(session, [contract_id])).get(contract_id, [])
    bids = [
        {"bid_id": b.bid_id, "date_bid": as_utc(b.date_bid), "amount": b.amount}
        for b in await session.scalars(
            select(ContractBid)
            .where(ContractBid.contract_id == contract_id)
            .order_by(ContractBid.amount.desc(), ContractBid.bid_id)
        )
    ]
    return ContractDetail.model_validate(
        {
            **_summary_fields(
                contract,
                now=now,
                region_name=region_name,
                issuer_name=issuer_name,
                system_name=system_name,
                items=items,
            ),
            "issuer_corporation_id": contract.issuer_corporation_id,
            "issuer_corporation_name": corporation_name,
            "for_corporation": contract.for_corporation,
            "end_location_name": end_name,
            "items_status": contract.items_status,
            "current_bid": bids[0]["amount"] if bids else None,
            "items": items,
            "bids": bids,
        }
    )


async def taxonomy(session: AsyncSession, *, now: dt.datetime | None = None) -> Taxonomy:
    """Ship groups and types offered by at least one live contract, with counts."""
    now = now or utcnow()
    rows = await session.execute(
        select(
            ItemType.group_id,
            ItemGroup.name,
            ItemType.type_id,
            ItemType.name,
            func.count(func.distinct(ContractItem.contract_id)),
        )
        .join(ContractItem, ContractItem.type_id == ItemType.type_id)
        .join(Contract, Contract.contract_id == ContractItem.contract_id)
        .outerjoin(ItemGroup, ItemGroup.group_id == ItemType.group_id)
        .where(
            ItemType.category_id == SHIP_CATEGORY,
            ContractItem.is_included.is_(True),
            Contract.is_ship_contract.is_(True),
            live_condition(now),
        )
        .group_by(ItemType.group_id, ItemGroup.name, ItemType.type_id, ItemType.name)
    )
    groups: dict[int, TaxonomyGroup] = {}
    for group_id, group_name, type_id, type_name, count in rows:
        group = groups.get(group_id)
        if group is None:
            group = groups[group_id] = TaxonomyGroup(
                group_id=group_id, name=group_name or f"Group {group_id}", contracts=0, types=[]
            )
        group.types.append(TaxonomyType(type_id=type_id, name=type_name, contracts=count))
        group.contracts += count
    ordered = sorted(groups.values(), key=lambda g: g.name.lower())
    for group in ordered:
        group.types.sort(key=lambda t: t.name.lower())
    return Taxonomy(groups=ordered)


async def region_options(session: AsyncSession) -> list[RegionOption]:
    rows = await session.execute(select(Region.region_id, Region.name).order_by(Region.name))
    return [RegionOption(region_id=rid, name=name) for rid, name in rows]


async def region_freshness(session: AsyncSession) -> list[RegionFreshness]:
    rows = await session.execute(
        select(RegionStatus, Region.name)
        .outerjoin(Region, Region.region_id == RegionStatus.region_id)
        .order_by(Region.name, RegionStatus.region_id)
    )
    return [
        RegionFreshness(
            region_id=status.region_id,
            name=name,
            last_complete_at=as_utc(status.last_complete_at) if status.last_complete_at else None,
            last_outcome=status.last_outcome,
            contracts_live=status.contracts_live,
            ship_contracts_live=status.ship_contracts_live,
        )
        for status, name in rows
    ]


# --- caching --------------------------------------------------------------------------


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
    stale.note_lookup(keys[0])
    raw = await cache.mget([GENERATION_KEY, *keys])
    gen = _parse_generation(raw[0])
    return gen, [_of_generation(value, gen) for value in raw[1:]]


async def read_entry(cache: Cache, key: str) -> tuple[int, tuple[str, bytes] | None]:
    """The current generation, and the (ETag, body) stored under ``key`` if it is of it."""
    gen, (payload,) = await read_stamped(cache, [key])
    return gen, None if payload is None else unpack(payload)


async def write_entry(
    cache: Cache, key: str, gen: int, etag: str, body: bytes, *, ttl: float
) -> None:
    """Store ``body`` and its ETag under ``key`` for generation ``gen`` (see read_stamped),
    and keep it as the view's last good answer for a database outage (core.stale)."""
    # Both writes at once: the copy must not add a round trip to a cache miss.
    await asyncio.gather(
        cache.set(key, _stamped(gen, pack(body, etag)), ttl=ttl),
        stale.keep(cache, key, etag, body),
    )


def list_cache_key(f: ContractFilters) -> str:
    # v3: stamped with the generation and packed (ETag + body), see read_stamped.
    return f"browse:list:v3:{f.cache_key()}"


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


async def write_counts(
    cache: Cache, f: ContractFilters, gen: int, counts: Mapping[str, int]
) -> None:
    """Store the per-type counts of ``f``'s view for generation ``gen``."""
    await cache.set(counts_cache_key(f), _stamped(gen, orjson.dumps(dict(counts))), ttl=COUNTS_TTL)


async def _lookup_list(
    cache: Cache, f: ContractFilters
) -> tuple[int, tuple[str, bytes] | None, dict[str, int] | None]:
    """The generation, the list entry of ``f`` and its view's counts, in one round trip."""
    gen, (entry, counts) = await read_stamped(cache, [list_cache_key(f), counts_cache_key(f)])
    return gen, None if entry is None else unpack(entry), _decode_counts(counts)


async def _store_list(
    session: AsyncSession,
    cache: Cache,
    f: ContractFilters,
    gen: int,
    counts: dict[str, int] | None,
) -> tuple[str, bytes]:
    page = await list_page(session, f, counts=counts)
    if counts is None:
        await write_counts(cache, f, gen, page["counts"])
    body = orjson.dumps(page)
    etag = etag_for(body)
    await write_entry(cache, list_cache_key(f), gen, etag, body, ttl=LIST_TTL)
    return etag, body


async def cached_list_entry(
    database: Database, cache: ResilientCache, f: ContractFilters
) -> tuple[str, bytes, int]:
    """The list as (ETag, JSON bytes) and the generation it belongs to, cached.

    A hit is one cache round trip (see :func:`read_stamped`), no JSON or hashing work,
    and no database session: one is opened only on a miss. A miss reuses the view's
    counts when this generation already has them.
    """
    gen, entry, counts = await _lookup_list(cache, f)
    if entry is not None:
        return entry[0], entry[1], gen
    async with database.session() as session:
        etag, body = await _store_list(session, cache, f, gen, counts)
    return etag, body, gen


async def cached_list(
    session: AsyncSession, cache: ResilientCache, f: ContractFilters
) -> tuple[bytes, int]:
    """The list as JSON bytes (cached) and the generation it belongs to, in ``session``."""
    gen, entry, counts = await _lookup_list(cache, f)
    if entry is not None:
        return entry[1], gen
    _, body = await _store_list(session, cache, f, gen, counts)
    return body, gen


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
            conn = await _browse_connection(session)
            computed = [(f, await _count_by_type(conn, filter_conditions(f, now))) for f in missing]
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
