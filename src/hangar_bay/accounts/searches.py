"""Saved searches (F005): a named browse URL per row, at most
:data:`~hangar_bay.accounts.schemas.MAX_SEARCHES` per user.

Every function takes the owner's ``user_id`` and only ever touches that user's rows:
another user's id is indistinguishable from a missing one (``None``, a 404 upstream).
"""

from __future__ import annotations

import re
from typing import get_args
from urllib.parse import parse_qsl, unquote_plus

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
from hangar_bay.contracts.schemas import ContractFilters, ContractType, SecurityBand
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.text import CONTROL_MESSAGE, has_control_characters
from hangar_bay.models import SavedSearch, as_utc, utcnow

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_MAX_PARAMETERS = 200


def _printable(name: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in name)[:64] or "?"


def _strict_pairs(text: str) -> list[tuple[str, str]]:
    """The pairs of a query string a pilot asks to keep, refusing anything the browse
    page would silently ignore: a saved search that quietly lost a filter would match
    (and alert on) far more than the pilot meant. 422 naming the parameter."""
    if not text:
        return []
    if has_control_characters(text):
        raise Invalid("query", CONTROL_MESSAGE)
    if _BAD_ESCAPE.search(text):
        raise Invalid("query", "a '%' must start a two-digit escape such as %20")
    parts = text.split("&")
    if len(parts) > _MAX_PARAMETERS:
        raise Invalid("query", f"at most {_MAX_PARAMETERS} parameters")
    pairs: list[tuple[str, str]] = []
    for part in parts:
        if not part:
            raise Invalid("query", "an empty parameter (a stray '&')")
        raw_name, eq, raw_value = part.partition("=")
        try:
            name = unquote_plus(raw_name, errors="strict")
            value = unquote_plus(raw_value, errors="strict")
        except UnicodeDecodeError:
            raise Invalid("query", "not valid UTF-8") from None
        if not name:
            raise Invalid("query", "a parameter without a name")
        if has_control_characters(name) or has_control_characters(value):
            raise Invalid(["query", _printable(name)], CONTROL_MESSAGE)
        if "\ufffd" in name or "\ufffd" in value:
            # What a form's invalid UTF-8 decodes to.
            raise Invalid(["query", _printable(name)], "not valid UTF-8")
        if name not in ContractFilters.model_fields:
            raise Invalid(["query", _printable(name)], "not a browse parameter")
        if not eq:
            raise Invalid(["query", name], "has no value (write name=value)")
        pairs.append((name, value))
    return pairs


def parse_query(raw: str, *, strict: bool = False) -> ContractFilters:
    """A browse query string (``a=1&b=2``, ``?a=1`` or ``/?a=1``) as filters; 422 naming
    the bad parameter. The page number is not part of a search.

    ``strict`` (a search being saved): unknown parameters, malformed pairs, bad escapes
    and control characters are errors too, where the browse page ignores them.
    """
    text = raw.strip()
    for prefix in ("/?", "?"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if strict:
        pairs = _strict_pairs(text)
    else:
        try:
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_PARAMETERS)
        except ValueError as exc:
            raise Invalid("query", f"not a query string: {exc}") from None
    try:
        filters = ContractFilters.from_multi(pairs)
    except ValidationError as exc:
        raise Invalid.from_query(exc) from None
    return filters.model_copy(update={"page": 1})


def normalise_query(raw: str) -> str:
    """The query string to store for a search being saved (strict: see :func:`parse_query`)."""
    return parse_query(raw, strict=True).query_string()


# What a view shows rather than what it narrows to. The ships-only switch counts as no
# filter either: every ship contract in New Eden is as much a flood as every contract.
_NOT_NARROWING = frozenset({"sort", "page", "size", "ships_only"})
# Lists that, holding every value they can hold, let every contract through: every
# contract has exactly one type and one security band (the browse SQL's bands cover
# every start location, an unknown one included), so naming them all excludes nothing.
_COMPLETE_LISTS: dict[str, frozenset[str]] = {
    "contract_type": frozenset(get_args(ContractType)),
    "security": frozenset(get_args(SecurityBand)),
}
ALERTS_NEED_A_FILTER = (
    "alerts need a search that filters something (a ship type or class, a region, a "
    "price, words...): alerts on every contract would never stop"
)


def _excludes_nothing(name: str, value: object) -> bool:
    """Whether filter ``name`` set to ``value`` lets every contract through, although it
    is not the default: every contract type or every security band listed, a minimum
    price of 0 (prices are never negative). Only what holds whatever the data: a
    maximum price above every price on the market cannot be told apart from a real
    ceiling, so it counts as a filter."""
    if name in _COMPLETE_LISTS:
        return isinstance(value, list) and _COMPLETE_LISTS[name] <= set(value)
    if name == "min_price":
        return isinstance(value, int | float) and value <= 0
    return False


def filters_nothing(filters: ContractFilters) -> bool:
    """True when ``filters`` narrows nothing: every filter at its default or set to a
    value that cannot exclude a contract (:func:`_excludes_nothing`), whatever the sort,
    page size or ships-only switch. Such a search may be saved, but not with alerts on."""
    return all(
        _excludes_nothing(name, value) for name, value in filters.changed(_NOT_NARROWING).items()
    )


def _check_alerts(query: str, alerts: bool, field: str) -> None:
    """422 naming ``field`` when a search with alerts on would filter nothing."""
    if alerts and filters_nothing(parse_query(query)):
        raise Invalid(field, ALERTS_NEED_A_FILTER)


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
    """Save a search; 422 beyond the limit, for a bad query, or for alerts on a query that
    filters nothing (naming ``alerts``). Only flushes."""
    query = normalise_query(body.query)
    _check_alerts(query, body.alerts, "alerts")
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
    """Apply the fields given; 422 (nothing changed) for a bad query, or when the result
    would be alerts on a query that filters nothing: naming ``alerts`` when this patch
    switches them on, else ``query``. Only flushes."""
    query = row.query if body.query is None else normalise_query(body.query)
    alerts = row.alerts if body.alerts is None else body.alerts
    if body.query is not None or body.alerts is not None:
        # A rename alone never fails on what the row already holds.
        _check_alerts(query, alerts, "alerts" if body.alerts else "query")
    if body.name is not None:
        row.name = body.name
    row.query = query
    row.alerts = alerts
    row.updated_at = utcnow()
    await session.flush()


async def delete_search(session: AsyncSession, row: SavedSearch) -> None:
    await session.delete(row)
    await session.flush()
