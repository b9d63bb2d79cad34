"""Contract reads besides the browse page (:mod:`.listing`): one contract's detail with
every item, bid and item value, the ship taxonomy, names and region options."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hangar_bay.contracts.listing import (
    DESTINATION_COLUMNS,
    ITEM_COLUMNS,
    ITEM_KEYS,
    with_destination,
    with_names,
)
from hangar_bay.contracts.query import SHIP_CATEGORY, live_condition
from hangar_bay.contracts.schemas import (
    ContractDetail,
    RegionFreshness,
    RegionOption,
    Taxonomy,
    TaxonomyGroup,
    TaxonomyType,
)
from hangar_bay.contracts.summary import summary_fields
from hangar_bay.market.reads import prices_for
from hangar_bay.market.value import ValuedItem, unit_price
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
    as_utc,
    utcnow,
)

# Every item of the contracts given, named, in contract and record order.
_ITEMS_SELECT = (
    select(ContractItem.contract_id, *ITEM_COLUMNS.values())
    .outerjoin(ItemType, ItemType.type_id == ContractItem.type_id)
    .outerjoin(ItemGroup, ItemGroup.group_id == ItemType.group_id)
    .where(ContractItem.contract_id.in_(bindparam("contract_ids", expanding=True)))
    .order_by(ContractItem.contract_id, ContractItem.record_id)
)


async def _items_of(
    session: AsyncSession, contract_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    """Every item of these contracts, named, in one query (no N+1)."""
    if not contract_ids:
        return {}
    # Core execution: these are plain column rows, the ORM layer would only add cost.
    conn = await session.connection()
    by_contract: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in await conn.execute(_ITEMS_SELECT, {"contract_ids": list(contract_ids)}):
        by_contract[row[0]].append(dict(zip(ITEM_KEYS, row[1:], strict=True)))
    return by_contract


async def get_contract(
    session: AsyncSession, contract_id: int, *, now: dt.datetime | None = None
) -> ContractDetail | None:
    """One contract, ended or not, with every item and bid; ``None`` when unknown."""
    now = now or utcnow()
    corporation = aliased(EntityName)
    row = (
        await session.execute(
            with_destination(
                with_names(
                    select(
                        Contract,
                        Region.name,
                        EntityName.name,
                        SolarSystem.name,
                        corporation.name,
                        *DESTINATION_COLUMNS,
                    ).where(Contract.contract_id == contract_id)
                )
            ).outerjoin(corporation, corporation.entity_id == Contract.issuer_corporation_id)
        )
    ).first()
    if row is None:
        return None
    contract, region_name, issuer_name, system_name, corporation_name = row[:5]
    items = (await _items_of(session, [contract_id])).get(contract_id, [])
    bids = [
        {"bid_id": b.bid_id, "date_bid": as_utc(b.date_bid), "amount": b.amount}
        for b in await session.scalars(
            select(ContractBid)
            .where(ContractBid.contract_id == contract_id)
            .order_by(ContractBid.amount.desc(), ContractBid.bid_id)
        )
    ]
    _price_items(items, await prices_for(session, sorted({i["type_id"] for i in items})))
    summary = summary_fields(
        contract,
        now=now,
        items=items,
        names={
            "region_name": region_name,
            "issuer_name": issuer_name,
            "start_system_name": system_name,
            "end_system_name": row.end_system_name,
            "jumps": row.jumps,
        },
    )
    buyout_discount = None
    value = summary["estimated_value"]
    if contract.type == "auction" and contract.buyout and summary["value_complete"] and value:
        buyout_discount = (value - contract.buyout) / value if value > 0 else None
    return ContractDetail.model_validate(
        {
            **summary,
            "buyout_discount": buyout_discount,
            "issuer_corporation_id": contract.issuer_corporation_id,
            "issuer_corporation_name": corporation_name,
            "for_corporation": contract.for_corporation,
            "items_status": contract.items_status,
            "items": items,
            "bids": bids,
        }
    )


def _price_items(items: list[dict[str, Any]], prices: Mapping[int, Mapping[str, Any]]) -> None:
    """Add each item's value breakdown (unit price, its source, line value) in place."""
    for item in items:
        price = prices.get(item["type_id"], {})
        unit, source = unit_price(
            ValuedItem(
                type_id=item["type_id"],
                quantity=item["quantity"],
                is_included=item["is_included"],
                is_blueprint_copy=item["is_blueprint_copy"],
                runs=item["runs"],
                average_price=price.get("average_price"),
                adjusted_price=price.get("adjusted_price"),
            )
        )
        item["unit_price"] = unit
        item["price_source"] = source
        item["line_value"] = unit * item["quantity"] if unit is not None else None


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


async def type_names(session: AsyncSession, type_ids: Sequence[int]) -> dict[int, str]:
    """Names of these types from the stored catalogue (unknown ids are left out)."""
    if not type_ids:
        return {}
    rows = await session.execute(
        select(ItemType.type_id, ItemType.name).where(ItemType.type_id.in_(type_ids))
    )
    return {int(type_id): str(name) for type_id, name in rows}


async def group_names(session: AsyncSession, group_ids: Sequence[int]) -> dict[int, str]:
    """Names of these groups from the stored catalogue (unknown ids are left out)."""
    if not group_ids:
        return {}
    rows = await session.execute(
        select(ItemGroup.group_id, ItemGroup.name).where(ItemGroup.group_id.in_(group_ids))
    )
    return {int(group_id): str(name) for group_id, name in rows}


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
