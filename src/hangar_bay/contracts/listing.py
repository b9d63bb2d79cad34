"""A browse view's page: one implementation behind ``/api/v1/contracts`` and ``/``.

A list costs two statements whatever the page size: counts per contract type (which
also give the total), and the page of contracts with their names, destination, item
counts and shown item lines (offered ships and blueprints) joined in (a third resolves
a ship class to its types); one when the view's counts are cached. A view's page
statement is built once and kept (:func:`_page_statement`). Results are cached by
:mod:`.caching`, stamped with the ingestion generation; the counts are cached apart,
so every page and sort of one view shares one count per generation.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Select, Text, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from hangar_bay.contracts.query import (
    NOW,
    ROUTE_SORTS,
    SHIP_CATEGORY,
    EndSystem,
    S,
    filter_conditions,
    sort_order,
    with_route,
)
from hangar_bay.contracts.schemas import CONTRACT_TYPES, ContractFilters, ContractPage
from hangar_bay.contracts.summary import SHOWN_LINES, SUMMARY_COLUMNS, summary_fields
from hangar_bay.models import (
    Contract,
    ContractItem,
    EntityName,
    ItemGroup,
    ItemType,
    Region,
    Route,
    SolarSystem,
    utcnow,
)

# The destination's station, system id and security are the contract's own columns.
DESTINATION_COLUMNS = (EndSystem.name.label("end_system_name"), Route.jumps.label("jumps"))


def with_destination(stmt: S) -> S:
    return with_route(stmt).outerjoin(EndSystem, EndSystem.system_id == Contract.end_system_id)


# Every item column the detail shows, under the key it has in an item's dict. A list
# summary reads all of them but ``record_id`` and ``is_singleton``.
ITEM_COLUMNS: dict[str, Any] = {
    "record_id": ContractItem.record_id,
    "type_id": ContractItem.type_id,
    "type_name": ItemType.name,
    "group_id": ItemType.group_id,
    "group_name": ItemGroup.name,
    "category_id": ItemType.category_id,
    "quantity": ContractItem.quantity,
    "is_included": ContractItem.is_included,
    "is_singleton": ContractItem.is_singleton,
    "is_blueprint_copy": ContractItem.is_blueprint_copy,
    "material_efficiency": ContractItem.material_efficiency,
    "time_efficiency": ContractItem.time_efficiency,
    "runs": ContractItem.runs,
}
ITEM_KEYS = tuple(ITEM_COLUMNS)
_SUMMARY_ITEM_KEYS = tuple(k for k in ITEM_KEYS if k not in ("record_id", "is_singleton"))


def with_names(stmt: S) -> S:
    return (
        stmt.outerjoin(Region, Region.region_id == Contract.region_id)
        .outerjoin(EntityName, EntityName.entity_id == Contract.issuer_id)
        .outerjoin(SolarSystem, SolarSystem.system_id == Contract.start_system_id)
    )


def _item_count(included: bool) -> Any:
    return (
        select(func.count())
        .where(ContractItem.contract_id == Contract.contract_id)
        .where(ContractItem.is_included.is_(included))
        .scalar_subquery()
    )


class _json_rows(FunctionElement[str]):
    """The rows aggregated as a JSON array (text) of JSON arrays of the arguments: one
    column carrying a contract's item lines, in no particular order."""

    type = Text()
    inherit_cache = True


@compiles(_json_rows, "postgresql")
def _json_rows_postgresql(element: _json_rows, compiler: Any, **kw: Any) -> str:
    # Text, not json: SQLAlchemy's asyncpg codec would decode json with the standard
    # library, and orjson reads the text faster.
    return f"CAST(json_agg(json_build_array({compiler.process(element.clauses, **kw)})) AS TEXT)"


@compiles(_json_rows, "sqlite")
def _json_rows_sqlite(element: _json_rows, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


# The item lines a summary shows: offered ships and offered blueprints, each as a list of
# these keys' values. A ship contract's fitted modules (most of its lines) only count.
_LINE_KEYS = ("record_id", *_SUMMARY_ITEM_KEYS)
_SHOWN_LINES = (
    select(_json_rows(*(ITEM_COLUMNS[key] for key in _LINE_KEYS)))
    .select_from(ContractItem)
    .outerjoin(ItemType, ItemType.type_id == ContractItem.type_id)
    .outerjoin(ItemGroup, ItemGroup.group_id == ItemType.group_id)
    .where(
        ContractItem.contract_id == Contract.contract_id,
        ContractItem.is_included.is_(True),
        or_(
            ItemType.category_id == SHIP_CATEGORY,
            ContractItem.is_blueprint_copy.is_not(None),
            ContractItem.runs.is_not(None),
        ),
    )
    .scalar_subquery()
)

# Every column a summary needs: the contract's own, its names, its destination, how many
# items it offers and asks for, and the lines it shows. One statement, so a page of
# summaries is one round trip. Built once: a statement is immutable, and building this
# one (forty columns, five joins) cost a cache miss more than running it.
_SUMMARY_SELECT: Select[Any] = with_destination(
    with_names(
        select(
            *(Contract.__table__.c[name] for name in SUMMARY_COLUMNS),
            Region.name.label("region_name"),
            EntityName.name.label("issuer_name"),
            SolarSystem.name.label("start_system_name"),
            *DESTINATION_COLUMNS,
            _item_count(True).label("offered_count"),
            _item_count(False).label("requested_count"),
            _SHOWN_LINES.label(SHOWN_LINES),
        )
    )
)


def _shown_lines(raw: str | None) -> list[dict[str, Any]]:
    """A row's :data:`SHOWN_LINES` as item dicts, in record order (``None``: no lines)."""
    if not raw:
        return []
    # record_id leads each line and is unique, so the sort never compares further.
    return [dict(zip(_LINE_KEYS, line, strict=True)) for line in sorted(orjson.loads(raw))]


def _summaries(rows: Sequence[Any], now: dt.datetime) -> list[dict[str, Any]]:
    """The summaries of ``rows`` (of :data:`_SUMMARY_SELECT`)."""
    return [summary_fields(row, now=now, items=_shown_lines(row.shown_lines)) for row in rows]


async def summaries_for(
    session: AsyncSession, contract_ids: Sequence[int], *, now: dt.datetime | None = None
) -> dict[int, dict[str, Any]]:
    """The list summaries (as in :func:`list_page`) of ``contract_ids``, by contract id.

    Ids not stored are left out. One statement whatever the number of ids.
    """
    if not contract_ids:
        return {}
    conn = await session.connection()
    rows = (
        await conn.execute(_SUMMARY_SELECT.where(Contract.contract_id.in_(list(contract_ids))))
    ).all()
    summaries = _summaries(rows, now or utcnow())
    return {summary["contract_id"]: summary for summary in summaries}


async def group_type_ids(session: AsyncSession, group_ids: Sequence[int]) -> list[int]:
    # Resolved up front so the item filter is a plain type_id IN (...), which the
    # (type_id, contract_id) index answers; a join to item_types scans every item.
    conn = await session.connection()
    rows = await conn.execute(select(ItemType.type_id).where(ItemType.group_id.in_(group_ids)))
    return [type_id for (type_id,) in rows]


AnySelect = Select[*tuple[Any, ...]]


class _KeptStatements:
    """Statements by view, built once and run again at every later miss.

    The first miss of a view builds its statement; every later one (one per sweep for
    a popular view) runs it again. Building one and deriving SQLAlchemy's cache key from
    it cost a miss ~0.3-0.6 ms; a kept statement has its key already (statements
    memoise it). The clock is a parameter (``now``), so a kept statement never goes
    stale. A page statement takes ~45 KiB with its key, so only the most recently used
    ``size`` are kept (~6 MiB a process for 128).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._by_view: OrderedDict[tuple[str, tuple[int, ...]], AnySelect] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_view)

    def get(
        self, view: str, group_types: Sequence[int] | None, build: Callable[[], AnySelect]
    ) -> AnySelect:
        """The statement kept for ``view`` (a filters key) and a ship class's type ids,
        or ``build()`` kept for them."""
        key = (view, tuple(group_types or ()))
        stmt = self._by_view.get(key)
        if stmt is not None:
            self._by_view.move_to_end(key)
            return stmt
        stmt = self._by_view[key] = build()
        while len(self._by_view) > self.size:
            self._by_view.popitem(last=False)
        return stmt


_PAGE_STATEMENTS = _KeptStatements(128)
_COUNT_STATEMENTS = _KeptStatements(128)


async def view_counts(
    conn: AsyncConnection,
    f: ContractFilters,
    now: dt.datetime,
    *,
    group_types: Sequence[int] | None = None,
) -> dict[str, int]:
    """The live contracts of ``f``'s view at ``now`` (UTC), per contract type: every
    filter but ``contract_type``, so one count serves the view's tabs (and its pages
    and sorts). ``group_types``: ``f.group_id``'s type ids when the caller resolved
    them. Every type of :data:`CONTRACT_TYPES` but ``unknown`` is present, 0 or more."""

    def build() -> AnySelect:
        conds = filter_conditions(f, NOW, group_types=group_types)
        return select(Contract.type, func.count()).where(*conds).group_by(Contract.type)

    stmt = _COUNT_STATEMENTS.get(f.counts_key(), group_types, build)
    counts: dict[str, int] = dict.fromkeys(CONTRACT_TYPES[:4], 0)
    for contract_type, count in await conn.execute(stmt, {"now": now}):
        counts[contract_type] = count
    return counts


def _page_statement(f: ContractFilters, group_types: Sequence[int] | None) -> AnySelect:
    """The statement of ``f``'s page: its summary rows in order, ``now`` a parameter."""

    def build() -> AnySelect:
        page_conds = filter_conditions(f, NOW, group_types=group_types)
        if f.contract_type:
            page_conds.append(Contract.type.in_(f.contract_type))
        # The sort runs over the narrow key only; the page's rows are then joined to
        # their columns and names. Sorting whole rows (search_text is wide) costs more
        # than the filters.
        order = sort_order(f)
        key_stmt = select(Contract.contract_id)
        if f.sort_field in ROUTE_SORTS:
            key_stmt = with_route(key_stmt)
        keys = (
            key_stmt.where(*page_conds)
            .order_by(*order)
            .offset((f.page - 1) * f.size)
            .limit(f.size)
            .subquery("page_keys")
        )
        return _SUMMARY_SELECT.join(keys, keys.c.contract_id == Contract.contract_id).order_by(
            *order
        )

    return _PAGE_STATEMENTS.get(f.cache_key(), group_types, build)


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
    conn = await session.connection()
    group_types = await group_type_ids(session, f.group_id) if f.group_id else None
    if counts is None:
        counts = await view_counts(conn, f, now, group_types=group_types)
    else:
        counts = dict(counts)
    wanted: list[str] = list(f.contract_type) or list(counts)
    total = sum(counts.get(t, 0) for t in wanted)
    pages = max(1, math.ceil(total / f.size))

    summaries: list[dict[str, Any]] = []
    if (f.page - 1) * f.size < total:
        rows = (await conn.execute(_page_statement(f, group_types), {"now": now})).all()
        summaries = _summaries(rows, now)
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
