"""Bulk, idempotent writes: ``INSERT … ON CONFLICT`` in batches on both backends.

Each helper only executes statements on the session it is given; the caller's unit of
work (one batch, one transaction) commits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import orjson
from sqlalchemy import Table, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.core.database import Database
from hangar_bay.models import ContractItem, EsiPage, as_utc

T = TypeVar("T")

# Rows per statement. asyncpg caps a statement at 32,767 parameters; SQLite's default
# limit is the same, and the widest table here has about 30 columns.
BATCH_ROWS = 1000


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(session: AsyncSession, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    update: Iterable[str] = (),
    extra_set: Mapping[str, Any] | None = None,
) -> None:
    """Insert rows; on a key conflict update ``update`` columns (or do nothing)."""
    if not rows:
        return
    columns = list(update)
    stmt = _insert(session, table)
    if columns or extra_set:
        set_: dict[str, Any] = {c: stmt.excluded[c] for c in columns}
        set_.update(extra_set or {})
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=set_)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    # A parameter list makes this an executemany: SQLAlchemy compiles the statement once
    # (cached) and sends multi-row VALUES batches ("insertmanyvalues") on both drivers.
    for batch in chunks(rows, BATCH_ROWS):
        await session.execute(stmt, list(batch))


ITEM_FIELDS = (
    "contract_id",
    "record_id",
    "type_id",
    "quantity",
    "is_included",
    "is_singleton",
    "item_id",
    "is_blueprint_copy",
    "material_efficiency",
    "time_efficiency",
    "runs",
)
_ITEM_LIST = ", ".join(ITEM_FIELDS)


async def insert_items(session: AsyncSession, rows: Sequence[tuple[Any, ...]]) -> None:
    """Contract items (tuples in ``ITEM_FIELDS`` order); existing rows are kept (a
    contract's items never change).

    PostgreSQL: COPY into a per-connection staging table, then one
    ``INSERT … SELECT … ON CONFLICT DO NOTHING`` — items are most of ingestion's rows, and
    COPY skips building hundreds of thousands of bind parameters.
    """
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        table = ContractItem.__table__
        await upsert(
            session,
            table,  # type: ignore[arg-type]
            [dict(zip(ITEM_FIELDS, row, strict=True)) for row in rows],
            key=["contract_id", "record_id"],
        )
        return
    connection = await session.connection()
    # Starts the transaction the raw driver calls below then join.
    await connection.execute(text("SELECT 1"))
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.execute(
        "CREATE TEMP TABLE IF NOT EXISTS contract_items_stage "
        "(LIKE contract_items INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    await driver.copy_records_to_table(
        "contract_items_stage", records=rows, columns=list(ITEM_FIELDS)
    )
    await driver.execute(
        f"INSERT INTO contract_items ({_ITEM_LIST}) "  # noqa: S608 - fixed column names
        f"SELECT {_ITEM_LIST} FROM contract_items_stage "
        "ON CONFLICT (contract_id, record_id) DO NOTHING"
    )
    await driver.execute("TRUNCATE contract_items_stage")


class Writer:
    """Write transactions for ingestion. SQLite has one writer at a time and makes the
    others sleep in its busy handler; queueing them here in the process instead keeps
    concurrent sweeps from wasting that time."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._lock = asyncio.Lock() if database.is_sqlite else None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        if self._lock is None:
            async with self.database.session() as session:
                yield session
            return
        async with self._lock, self.database.session() as session:
            yield session


class PageState:
    """What is known about one ESI page: its validators and what it held."""

    __slots__ = ("etag", "expires", "fetched_at", "last_modified", "payload", "url")

    def __init__(
        self,
        url: str,
        etag: str | None,
        last_modified: dt.datetime | None,
        expires: dt.datetime | None,
        payload: Any,
        fetched_at: dt.datetime | None = None,
    ) -> None:
        self.url = url
        self.etag = etag
        self.last_modified = last_modified
        self.expires = expires
        self.payload = payload
        # When it was last stored (our clock); None for a page not yet stored.
        self.fetched_at = fetched_at

    def fresh(self, now: dt.datetime) -> bool:
        return self.expires is not None and self.expires > now


async def load_pages(session: AsyncSession, urls: Sequence[str]) -> dict[str, PageState]:
    found: dict[str, PageState] = {}
    for batch in chunks(list(urls), 500):
        rows = (await session.execute(select(EsiPage).where(EsiPage.url.in_(batch)))).scalars()
        for row in rows:
            try:
                payload = orjson.loads(row.payload) if row.payload else None
            except orjson.JSONDecodeError:
                payload = None
            found[row.url] = PageState(
                row.url,
                row.etag,
                as_utc(row.last_modified),
                as_utc(row.expires),
                payload,
                as_utc(row.fetched_at),
            )
    return found


async def save_pages(session: AsyncSession, pages: Sequence[PageState], now: dt.datetime) -> None:
    rows = [
        {
            "url": p.url,
            "etag": p.etag,
            "last_modified": p.last_modified,
            "expires": p.expires,
            "payload": orjson.dumps(p.payload).decode() if p.payload is not None else None,
            "fetched_at": now,
        }
        for p in pages
    ]
    await upsert(
        session,
        EsiPage.__table__,  # type: ignore[arg-type]
        rows,
        key=["url"],
        update=["etag", "last_modified", "expires", "payload", "fetched_at"],
    )
