"""Saved searches (F005): a named browse URL per row, at most
:data:`~hangar_bay.accounts.schemas.MAX_SEARCHES` per user.

Every function takes the owner's ``user_id`` and only ever touches that user's rows:
another user's id is indistinguishable from a missing one (``None``, a 404 upstream).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.accounts.errors import Invalid
from hangar_bay.accounts.matching import totals
from hangar_bay.accounts.schemas import (
    MAX_SEARCHES,
    SearchIn,
    SearchOut,
    SearchPatch,
)
from hangar_bay.contracts.schemas import ContractFilters
from hangar_bay.core.cache import ResilientCache
from hangar_bay.models import SavedSearch, as_utc, utcnow


def parse_query(raw: str) -> ContractFilters:
    """A browse query string (``a=1&b=2``, ``?a=1`` or ``/?a=1``) as filters; 422 naming
    the bad parameter. The page number is not part of a search."""
    text = raw.strip()
    for prefix in ("/?", "?"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=200)
    except ValueError as exc:
        raise Invalid("query", f"not a query string: {exc}") from None
    try:
        filters = ContractFilters.from_multi(pairs)
    except ValidationError as exc:
        raise Invalid.from_query(exc) from None
    return filters.model_copy(update={"page": 1})


def normalise_query(raw: str) -> str:
    return parse_query(raw).query_string()


def browse_url(query: str) -> str:
    return "/?" + query if query else "/"


async def list_searches(
    session: AsyncSession, cache: ResilientCache, user_id: int
) -> list[SearchOut]:
    rows = list(
        await session.scalars(
            select(SavedSearch)
            .where(SavedSearch.user_id == user_id)
            .order_by(SavedSearch.created_at, SavedSearch.id)
        )
    )
    return await _out(session, cache, rows)


async def _out(
    session: AsyncSession, cache: ResilientCache, rows: list[SavedSearch]
) -> list[SearchOut]:
    counts = await totals(session, cache, [parse_query(row.query) for row in rows])
    return [
        SearchOut(
            id=row.id,
            name=row.name,
            query=row.query,
            url=browse_url(row.query),
            alerts=row.alerts,
            created_at=as_utc(row.created_at),
            updated_at=as_utc(row.updated_at),
            total=total,
        )
        for row, total in zip(rows, counts, strict=True)
    ]


async def one(session: AsyncSession, cache: ResilientCache, row: SavedSearch) -> SearchOut:
    return (await _out(session, cache, [row]))[0]


async def get_search(session: AsyncSession, user_id: int, search_id: int) -> SavedSearch | None:
    """The user's saved search, or ``None`` (missing, or someone else's)."""
    return await session.scalar(
        select(SavedSearch).where(SavedSearch.id == search_id, SavedSearch.user_id == user_id)
    )


async def create_search(session: AsyncSession, user_id: int, body: SearchIn) -> SavedSearch:
    """Save a search; 422 beyond the limit or for a bad query. Only flushes."""
    query = normalise_query(body.query)
    count = await session.scalar(
        select(func.count()).select_from(SavedSearch).where(SavedSearch.user_id == user_id)
    )
    if (count or 0) >= MAX_SEARCHES:
        raise Invalid([], f"at most {MAX_SEARCHES} saved searches; delete one first", "limit")
    row = SavedSearch(user_id=user_id, name=body.name, query=query, alerts=body.alerts)
    row.created_at = row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row


async def update_search(session: AsyncSession, row: SavedSearch, body: SearchPatch) -> None:
    if body.name is not None:
        row.name = body.name
    if body.query is not None:
        row.query = normalise_query(body.query)
    if body.alerts is not None:
        row.alerts = body.alerts
    row.updated_at = utcnow()
    await session.flush()


async def delete_search(session: AsyncSession, row: SavedSearch) -> None:
    await session.delete(row)
    await session.flush()
