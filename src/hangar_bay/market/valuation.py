"""The valuation pass: value, discount and flags of every contract that needs them.

A contract needs valuing when it has never been valued since its items arrived
(``valued_at`` is null and its items are no longer pending) or when prices changed after
it was valued. The pass runs after sweeps, from the scheduler (see
:mod:`hangar_bay.market.service`), never inside one; it only reads what sweeps wrote.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.ingest.writes import Writer
from hangar_bay.market import flags as flag_rules
from hangar_bay.market.prices import prices_changed_at
from hangar_bay.market.titles import TypeNames
from hangar_bay.market.value import SHIP_CATEGORY, ValuedItem, cost, discount, estimate
from hangar_bay.models import Contract, ContractItem, ItemType, MarketPrice

BATCH = 500


async def load_items(
    session: AsyncSession, contract_ids: Sequence[int]
) -> dict[int, list[ValuedItem]]:
    """The items of these contracts with their types' categories, names and prices."""
    if not contract_ids:
        return {}
    rows = await session.execute(
        select(
            ContractItem.contract_id,
            ContractItem.type_id,
            ContractItem.quantity,
            ContractItem.is_included,
            ItemType.category_id,
            ItemType.name,
            ContractItem.is_blueprint_copy,
            ContractItem.runs,
            MarketPrice.average_price,
            MarketPrice.adjusted_price,
        )
        .outerjoin(ItemType, ItemType.type_id == ContractItem.type_id)
        .outerjoin(MarketPrice, MarketPrice.type_id == ContractItem.type_id)
        .where(ContractItem.contract_id.in_(contract_ids))
        .order_by(ContractItem.contract_id, ContractItem.record_id)
    )
    items: dict[int, list[ValuedItem]] = defaultdict(list)
    for cid, type_id, quantity, included, category, name, bpc, runs, average, adjusted in rows:
        items[cid].append(
            ValuedItem(
                type_id=type_id,
                quantity=quantity,
                is_included=included,
                category_id=category,
                name=name,
                is_blueprint_copy=bpc,
                runs=runs,
                average_price=average,
                adjusted_price=adjusted,
            )
        )
    return items


async def load_names(session: AsyncSession) -> TypeNames:
    """Every known type name, ships marked, for matching titles."""
    rows = await session.execute(select(ItemType.type_id, ItemType.name, ItemType.category_id))
    names: dict[int, str] = {}
    ships: list[int] = []
    for type_id, name, category_id in rows:
        names[type_id] = name
        if category_id == SHIP_CATEGORY:
            ships.append(type_id)
    return TypeNames(names, ships)


def assess(
    contract: Any, items: Sequence[ValuedItem], names: TypeNames | None, bid: float | None
) -> dict[str, Any]:
    """Value, completeness, discount and flags of one contract (a row with ``type``,
    ``title``, ``price``, ``reward`` and ``items_status``)."""
    known = contract.type in ("item_exchange", "auction") and contract.items_status == "fetched"
    valuation = estimate(items if known else [])
    paid = cost(contract.type, price=contract.price, reward=contract.reward, current_bid=bid)
    facts = flag_rules.ContractFacts(
        type=contract.type,
        title=contract.title or "",
        items=items,
        value=valuation.value,
        value_complete=valuation.complete,
        cost=paid,
        names=names,
    )
    return {
        "estimated_value": valuation.value,
        "value_complete": valuation.complete,
        "discount": discount(valuation, paid),
        "flags": flag_rules.encode(flag_rules.flags_for(facts)),
    }


_table: Table = Contract.__table__  # type: ignore[assignment]
# Core executemany; bind names differ from the column names, as Core requires.
_WRITE = (
    update(_table)
    .where(_table.c.contract_id == bindparam("b_id"))
    .values(
        estimated_value=bindparam("b_value"),
        value_complete=bindparam("b_complete"),
        discount=bindparam("b_discount"),
        flags=bindparam("b_flags"),
        valued_at=bindparam("b_at"),
    )
)


async def _stale_ids(
    session: AsyncSession, changed: dt.datetime | None, after: int, limit: int
) -> list[int]:
    stale: ColumnElement[bool] = Contract.valued_at.is_(None)
    if changed is not None:
        stale = or_(stale, Contract.valued_at < changed)
    rows = await session.scalars(
        select(Contract.contract_id)
        .where(
            stale,
            Contract.ended_at.is_(None),
            Contract.items_status != "pending",
            Contract.contract_id > after,
        )
        .order_by(Contract.contract_id)
        .limit(limit)
    )
    return list(rows)


async def revalue(writer: Writer, *, now: dt.datetime, batch: int = BATCH) -> int:
    """Value every live contract that needs it; returns how many were valued."""
    database = writer.database
    async with database.sessionmaker() as session:
        changed = await prices_changed_at(session)
        names: TypeNames | None = None
    done = 0
    after = 0
    while True:
        async with database.sessionmaker() as session:
            ids = await _stale_ids(session, changed, after, batch)
            if not ids:
                break
            if names is None:
                names = await load_names(session)
            contracts = (
                await session.execute(
                    select(
                        Contract.contract_id,
                        Contract.type,
                        Contract.title,
                        Contract.price,
                        Contract.reward,
                        Contract.items_status,
                        # Kept current with the bids by ingest.bids.save_bids.
                        Contract.highest_bid,
                    ).where(Contract.contract_id.in_(ids))
                )
            ).all()
            items = await load_items(session, ids)
        values = []
        for c in contracts:
            a = assess(c, items.get(c.contract_id, []), names, c.highest_bid)
            values.append(
                {
                    "b_id": c.contract_id,
                    "b_value": a["estimated_value"],
                    "b_complete": a["value_complete"],
                    "b_discount": a["discount"],
                    "b_flags": a["flags"],
                    "b_at": now,
                }
            )
        async with writer.session() as session:
            await (await session.connection()).execute(_WRITE, values)
        done += len(values)
        after = ids[-1]
    return done
