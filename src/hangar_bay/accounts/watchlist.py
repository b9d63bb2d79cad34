"""Watch entries (F006): a ship type, optionally under a price (ISK) and in a region,
with a note; at most :data:`~hangar_bay.accounts.schemas.MAX_WATCH_ENTRIES` per user.

As with saved searches, every function is scoped to the owner's ``user_id``.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.accounts.errors import Invalid
from hangar_bay.accounts.matching import totals
from hangar_bay.accounts.schemas import MAX_WATCH_ENTRIES, WatchIn, WatchOut, WatchPatch
from hangar_bay.contracts.query import SHIP_CATEGORY
from hangar_bay.contracts.schemas import ContractFilters
from hangar_bay.core.cache import ResilientCache
from hangar_bay.models import ItemType, Region, WatchEntry, as_utc, utcnow


def view_of(row: WatchEntry) -> ContractFilters:
    """The browse view of an entry's matches: its type, at or under its price, in its
    region, cheapest first."""
    return ContractFilters(
        type_id=[row.type_id],
        max_price=row.max_price,
        region_id=[row.region_id] if row.region_id else [],
        sort="price",
    )


async def ship_type_name(session: AsyncSession, type_id: int) -> str | None:
    """The name of a known ship type, else ``None``."""
    return await session.scalar(
        select(ItemType.name).where(
            ItemType.type_id == type_id, ItemType.category_id == SHIP_CATEGORY
        )
    )


async def _check(session: AsyncSession, type_id: int | None, region_id: int | None) -> None:
    if type_id is not None and await ship_type_name(session, type_id) is None:
        # Types are learnt from the contracts ingested, not from a static list, so a
        # real hull nobody has put on contract here yet is "unknown": say so.
        raise Invalid(
            "type_id",
            f"{type_id} is not a known ship type (a ship type is known once a contract "
            "offering it has been ingested)",
        )
    if region_id is not None and await session.get(Region, region_id) is None:
        raise Invalid("region_id", f"{region_id} is not a known region")


async def list_entries(
    session: AsyncSession, cache: ResilientCache, user_id: int
) -> list[WatchOut]:
    rows = list(
        await session.scalars(
            select(WatchEntry)
            .where(WatchEntry.user_id == user_id)
            .order_by(WatchEntry.created_at, WatchEntry.id)
        )
    )
    return await _out(session, cache, rows)


async def _out(
    session: AsyncSession, cache: ResilientCache, rows: list[WatchEntry]
) -> list[WatchOut]:
    if not rows:
        return []
    type_rows = await session.execute(
        select(ItemType.type_id, ItemType.name).where(
            ItemType.type_id.in_({row.type_id for row in rows})
        )
    )
    type_names: dict[int, str] = {r.type_id: r.name for r in type_rows}
    region_names: dict[int, str] = {}
    region_ids = {row.region_id for row in rows if row.region_id}
    if region_ids:
        region_rows = await session.execute(
            select(Region.region_id, Region.name).where(Region.region_id.in_(region_ids))
        )
        region_names = {r.region_id: r.name for r in region_rows}
    views = [view_of(row) for row in rows]
    counts = await totals(session, cache, views)
    return [
        WatchOut(
            id=row.id,
            type_id=row.type_id,
            type_name=type_names.get(row.type_id) or f"Type {row.type_id}",
            max_price=row.max_price,
            region_id=row.region_id,
            region_name=region_names.get(row.region_id) if row.region_id else None,
            note=row.note,
            url="/?" + view.query_string(),
            matches=count,
            created_at=as_utc(row.created_at),
            updated_at=as_utc(row.updated_at),
        )
        for row, view, count in zip(rows, views, counts, strict=True)
    ]


async def one(session: AsyncSession, cache: ResilientCache, row: WatchEntry) -> WatchOut:
    return (await _out(session, cache, [row]))[0]


async def get_entry(session: AsyncSession, user_id: int, entry_id: int) -> WatchEntry | None:
    """The user's watch entry, or ``None`` (missing, or someone else's)."""
    return await session.scalar(
        select(WatchEntry).where(WatchEntry.id == entry_id, WatchEntry.user_id == user_id)
    )


async def create_entry(session: AsyncSession, user_id: int, body: WatchIn) -> WatchEntry:
    """Watch a ship type; 422 for an unknown ship type or region, or beyond the limit."""
    await _check(session, body.type_id, body.region_id)
    count = await session.scalar(
        select(func.count()).select_from(WatchEntry).where(WatchEntry.user_id == user_id)
    )
    if (count or 0) >= MAX_WATCH_ENTRIES:
        raise Invalid([], f"at most {MAX_WATCH_ENTRIES} watch entries; delete one first", "limit")
    row = WatchEntry(
        user_id=user_id,
        type_id=body.type_id,
        max_price=body.max_price,
        region_id=body.region_id,
        note=body.note or None,
    )
    row.created_at = row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row


async def update_entry(session: AsyncSession, row: WatchEntry, body: WatchPatch) -> None:
    """Change the fields present in the body (``null`` clears the optional ones)."""
    given = body.model_fields_set
    if "type_id" in given and body.type_id is None:
        raise Invalid("type_id", "a watch entry needs a ship type")
    await _check(
        session,
        body.type_id if "type_id" in given else None,
        body.region_id if "region_id" in given else None,
    )
    if body.type_id is not None:
        row.type_id = body.type_id
    if "max_price" in given:
        row.max_price = body.max_price
    if "region_id" in given:
        row.region_id = body.region_id
    if "note" in given:
        row.note = body.note or None
    row.updated_at = utcnow()
    await session.flush()


async def delete_entry(session: AsyncSession, row: WatchEntry) -> None:
    await session.delete(row)
    await session.flush()
