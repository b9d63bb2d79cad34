"""Reads behind the type pages and the value breakdown: prices and price history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.models import ItemType, MarketPrice, PriceDaily, utcnow


async def type_info(session: AsyncSession, type_id: int) -> dict[str, Any] | None:
    """A type's name, category and market prices (ISK), or None when unknown."""
    row = (
        await session.execute(
            select(
                ItemType.type_id,
                ItemType.name,
                ItemType.category_id,
                MarketPrice.average_price,
                MarketPrice.adjusted_price,
            )
            .outerjoin(MarketPrice, MarketPrice.type_id == ItemType.type_id)
            .where(ItemType.type_id == type_id)
        )
    ).first()
    return dict(row._mapping) if row is not None else None


async def price_history(
    session: AsyncSession, type_id: int, days: int, *, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """Daily aggregates of the last ``days`` days (today included), oldest first."""
    today = today or utcnow().date()
    since = today - dt.timedelta(days=days - 1)
    rows = await session.execute(
        select(PriceDaily)
        .where(PriceDaily.type_id == type_id, PriceDaily.day >= since)
        .order_by(PriceDaily.day)
    )
    return [
        {
            "date": r.day,
            "count": r.count,
            "min": r.min,
            "p25": r.p25,
            "median": r.median,
            "p75": r.p75,
        }
        for r in rows.scalars()
    ]


async def prices_for(session: AsyncSession, type_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Market prices of these types: ``{type_id: {"average_price", "adjusted_price"}}``."""
    if not type_ids:
        return {}
    rows = await session.execute(
        select(MarketPrice.type_id, MarketPrice.average_price, MarketPrice.adjusted_price).where(
            MarketPrice.type_id.in_(type_ids)
        )
    )
    return {r[0]: {"average_price": r[1], "adjusted_price": r[2]} for r in rows}
