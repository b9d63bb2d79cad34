"""Query building for browse: each filter of ``ContractFilters`` as SQL, and the sort order.

Pure functions of the filters and the clock; the query service (:mod:`.service`) runs
them and the cache layer (:mod:`.caching`) stores what they produce.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    DateTime,
    Double,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from hangar_bay.contracts.schemas import (
    ContractFilters,
)
from hangar_bay.models import (
    Contract,
    ContractItem,
    ItemType,
    Route,
    SolarSystem,
)

S = TypeVar("S", bound=Select[*tuple[Any, ...]])

SHIP_CATEGORY = 6
HIGH_SEC = 0.45
# J-space system ids; their security status is -1.0 like some null-sec, so the id decides.
WORMHOLE_SYSTEMS = (31_000_000, 32_000_000)


# A courier's destination system (ingestion stores it on the contract; player structures
# stay unknown) and the route between the two systems.
EndSystem = aliased(SolarSystem, name="end_system")
ROUTE_SORTS = frozenset({"jumps", "reward_per_jump"})


def with_route(stmt: S) -> S:
    """``stmt`` joined to the route's jumps between the contract's two systems (outer)."""
    return stmt.outerjoin(
        Route,
        and_(
            Route.origin_system_id == Contract.start_system_id,
            Route.destination_system_id == Contract.end_system_id,
        ),
    )


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The clock as a parameter (``now``): a statement built with it in place of a moment
# holds none, so it can be kept and run again later (service._page_statement).
NOW: BindParameter[dt.datetime] = bindparam("now", type_=DateTime(timezone=True))
Clock = dt.datetime | BindParameter[dt.datetime]


def live_condition(now: Clock) -> ColumnElement[bool]:
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
        elif band == "unknown":
            # A player structure ESI gives no system for: its security is not known.
            parts.append(sec.is_(None))
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
    f: ContractFilters, now: Clock, *, group_types: Sequence[int] | None = None
) -> list[ColumnElement[bool]]:
    """Every filter except ``contract_type`` (which the per-type counts must ignore).

    ``now``: the moment a live contract must not have expired by, or :data:`NOW` to
    leave it a parameter. ``group_types`` are the type ids of ``f.group_id`` when the
    caller resolved them.
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
    # --- value filters (F010, issue 12) ---
    if f.min_discount is not None:
        conds.append(Contract.discount >= f.min_discount)
    if f.flag:
        conds.append(or_(*(Contract.flags.like(f"%,{code},%") for code in f.flag)))
    if f.no_flags:
        conds.append(Contract.flags == "")
    # --- end of value filters ---
    for word in f.words:
        conds.append(Contract.search_text.like(f"%{_escape_like(word)}%", escape="\\"))
    return conds


def sort_order(f: ContractFilters) -> list[Any]:
    """The ORDER BY of a view; :data:`ROUTE_SORTS` need :func:`with_route` joined in."""
    price: Any = Contract.price
    if f.contract_type == ["auction"]:
        # The auction tab: what a buyer would pay now, the highest bid, else the start.
        price = func.coalesce(Contract.highest_bid, Contract.price)
    columns: dict[str, Any] = {
        "date_issued": Contract.date_issued,
        "date_expired": Contract.date_expired,
        "price": price,
        "volume": Contract.volume,
        "reward": Contract.reward,
        "collateral": Contract.collateral,
        "days_to_complete": Contract.days_to_complete,
        # type_=Double: else SQLAlchemy casts the divisor to NUMERIC and PostgreSQL
        # divides in arbitrary precision, five times slower over the courier tab's rows.
        "reward_per_m3": Contract.reward / func.nullif(Contract.volume, 0, type_=Double),
        "jumps": Route.jumps,
        "reward_per_jump": Contract.reward / func.nullif(Route.jumps, 0, type_=Double),
        "price_per_ship": Contract.price / func.nullif(Contract.ship_count, 0, type_=Double),
        "contract_id": Contract.contract_id,
        "discount": Contract.discount,  # value (F010, issue 12)
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
