"""Price history (F011): one observation per ship contract, daily aggregates per type.

Observations are taken after sweeps from what sweeps stored (``contracts`` with their
items, ``first_seen_at``/``last_seen_at``/``ended_at``) and kept when the contracts are
delisted. Daily aggregates cover single-hull item exchanges, by the UTC day the contract
was issued, and are recomputed for the (type, day) pairs that new observations touch.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.ingest.writes import Writer, upsert
from hangar_bay.market.value import SHIP_CATEGORY
from hangar_bay.models import (
    Contract,
    ContractItem,
    ItemType,
    PriceDaily,
    PriceObservation,
    as_utc,
)

BATCH = 1000


def main_ship(items: Iterable[tuple[int, int, bool, int | None]]) -> tuple[int, bool] | None:
    """The offered ship type with the greatest quantity (lowest id on a tie), and whether
    the contract is a single hull: exactly one ship, nothing else offered or asked.
    ``items``: (type_id, quantity, is_included, category_id)."""
    ships: dict[int, int] = defaultdict(int)
    others = 0
    for type_id, quantity, included, category in items:
        if included and category == SHIP_CATEGORY:
            ships[type_id] += quantity
        else:
            others += 1
    if not ships:
        return None
    type_id = min(ships, key=lambda t: (-ships[t], t))
    single = others == 0 and len(ships) == 1 and ships[type_id] == 1
    return type_id, single


def aggregate(prices: Sequence[float]) -> dict[str, float | int]:
    """count, min, p25, median, p75 of ISK prices (at least one)."""
    ordered = sorted(prices)
    if len(ordered) == 1:
        only = ordered[0]
        return {"count": 1, "min": only, "p25": only, "median": only, "p75": only}
    # "inclusive": the sample is the whole day's population, min and max included.
    p25, median, p75 = statistics.quantiles(ordered, n=4, method="inclusive")
    return {"count": len(ordered), "min": ordered[0], "p25": p25, "median": median, "p75": p75}


async def _new_ship_contracts(session: AsyncSession, after: int) -> list[Any]:
    rows = await session.execute(
        select(
            Contract.contract_id,
            Contract.type,
            Contract.region_id,
            Contract.price,
            Contract.ship_count,
            Contract.date_issued,
            Contract.first_seen_at,
            Contract.last_seen_at,
            Contract.ended_at,
        )
        .outerjoin(PriceObservation, PriceObservation.contract_id == Contract.contract_id)
        .where(
            Contract.is_ship_contract.is_(True),
            Contract.items_status == "fetched",
            PriceObservation.contract_id.is_(None),
            Contract.contract_id > after,
        )
        .order_by(Contract.contract_id)
        .limit(BATCH)
    )
    return list(rows)


async def observe(writer: Writer) -> tuple[int, set[tuple[int, dt.date]]]:
    """Store observations of ship contracts not yet observed and the end of those that
    ended since. Returns the number stored and the (type_id, day) pairs they touch."""
    database = writer.database
    stored = 0
    touched: set[tuple[int, dt.date]] = set()
    after = 0
    while True:
        async with database.sessionmaker() as session:
            contracts = await _new_ship_contracts(session, after)
            if not contracts:
                break
            ids = [c.contract_id for c in contracts]
            item_rows = await session.execute(
                select(
                    ContractItem.contract_id,
                    ContractItem.type_id,
                    ContractItem.quantity,
                    ContractItem.is_included,
                    ItemType.category_id,
                )
                .outerjoin(ItemType, ItemType.type_id == ContractItem.type_id)
                .where(ContractItem.contract_id.in_(ids))
            )
            items: dict[int, list[tuple[int, int, bool, int | None]]] = defaultdict(list)
            for cid, type_id, quantity, included, category in item_rows:
                items[cid].append((type_id, quantity, bool(included), category))
        rows = []
        for c in contracts:
            main = main_ship(items.get(c.contract_id, []))
            if main is None:
                continue
            type_id, single = main
            single = single and c.type == "item_exchange" and bool(c.price)
            issued = as_utc(c.date_issued)
            rows.append(
                {
                    "contract_id": c.contract_id,
                    "type_id": type_id,
                    "region_id": c.region_id,
                    "ship_count": c.ship_count,
                    "price_per_ship": (c.price / c.ship_count) if c.ship_count else None,
                    "single_hull": single,
                    "date_issued": issued,
                    "first_seen_at": c.first_seen_at,
                    "last_seen_at": c.last_seen_at,
                    "ended_at": c.ended_at,
                }
            )
            if single:
                touched.add((type_id, issued.date()))
        async with writer.session() as session:
            await upsert(
                session,
                PriceObservation.__table__,  # type: ignore[arg-type]
                rows,
                key=["contract_id"],
            )
        stored += len(rows)
        after = contracts[-1].contract_id
    async with writer.session() as session:
        # Ended contracts: their end and last sighting, once.
        await session.execute(
            update(PriceObservation)
            .where(
                PriceObservation.contract_id == Contract.contract_id,
                PriceObservation.ended_at.is_(None),
                Contract.ended_at.is_not(None),
            )
            .values(ended_at=Contract.ended_at, last_seen_at=Contract.last_seen_at)
            .execution_options(synchronize_session=False)
        )
    return stored, touched


async def refresh_daily(writer: Writer, touched: set[tuple[int, dt.date]]) -> int:
    """Recompute the daily aggregates of these (type_id, day) pairs; returns how many."""
    by_type: dict[int, set[dt.date]] = defaultdict(set)
    for type_id, day in touched:
        by_type[type_id].add(day)
    written = 0
    for type_id, days in sorted(by_type.items()):
        start = dt.datetime.combine(min(days), dt.time(), dt.UTC)
        end = dt.datetime.combine(max(days), dt.time(), dt.UTC) + dt.timedelta(days=1)
        async with writer.database.sessionmaker() as session:
            rows = await session.execute(
                select(PriceObservation.date_issued, PriceObservation.price_per_ship).where(
                    and_(
                        PriceObservation.type_id == type_id,
                        PriceObservation.single_hull.is_(True),
                        PriceObservation.date_issued >= start,
                        PriceObservation.date_issued < end,
                        PriceObservation.price_per_ship.is_not(None),
                    )
                )
            )
            prices: dict[dt.date, list[float]] = defaultdict(list)
            for issued, price in rows:
                day = as_utc(issued).date()
                if day in days and price is not None:
                    prices[day].append(price)
        values = [
            {"type_id": type_id, "day": day, **aggregate(found)}
            for day, found in sorted(prices.items())
        ]
        async with writer.session() as session:
            await upsert(
                session,
                PriceDaily.__table__,  # type: ignore[arg-type]
                values,
                key=["type_id", "day"],
                update=["count", "min", "p25", "median", "p75"],
            )
        written += len(values)
    return written
