"""The database: one async engine and session factory per process.

Services only ``flush``; the unit of work (an HTTP request via :func:`get_session`,
a job via :meth:`Database.session`) commits or rolls back in exactly one place.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_

from hangar_bay.core.ratelimit import charge_query


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while ingestion writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# A pooled connection idle this long (seconds) is pinged before it is handed out: long
# enough that a busy process never pings, short enough to find a connection a firewall
# or a failover dropped without a word before a request does.
IDLE_PING_AFTER = 10.0


def _mark_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _check_on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """Refuse a pooled PostgreSQL connection that is gone, so the pool replaces it.

    In place of SQLAlchemy's ``pool_pre_ping``, which on asyncpg costs three round trips
    per checkout (``BEGIN``, ``;``, ``ROLLBACK``), a third of a cache miss's time on the
    database. A server that restarted or closed the socket has already told the driver
    (free to check); only a connection idle for :data:`IDLE_PING_AFTER` is pinged, once.
    Raising ``DisconnectionError`` makes the pool invalidate it and connect afresh.
    """
    driver = dbapi_connection.driver_connection
    if driver.is_closed():
        raise exc.DisconnectionError("the server closed the connection")
    checked_in_at = record.info.pop("checked_in_at", None)
    if checked_in_at is None or time.monotonic() - checked_in_at < IDLE_PING_AFTER:
        return
    try:
        await_(driver.fetchrow(";"))
    except Exception as error:
        raise exc.DisconnectionError(f"ping failed: {error!r}") from error


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    parsed = make_url(url)
    # No pre-ping: an SQLite file does not disconnect, and PostgreSQL's connections are
    # checked on checkout by _check_on_checkout, which rarely needs a round trip.
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "postgresql":
        # LIFO: the connection used last is used next, so a quiet process works on one or
        # two connections whose prepared statements (and PostgreSQL's cached plans for
        # them, which spare a ~1 ms planning of the browse page) are already made.
        kwargs.update(
            pool_size=pool_size, max_overflow=pool_size, pool_timeout=10, pool_use_lifo=True
        )
        kwargs["connect_args"] = {
            # Fail fast when the server is gone, so /ready answers within its budget.
            "timeout": 5,
            "command_timeout": 60,
            # Our statements take milliseconds: starting parallel workers costs more than
            # it saves (browse on 2 cores: 67 ms with a worker, 18 ms without, see
            # docs/benchmarks.md). Set once per connection rather than per transaction.
            "server_settings": {"max_parallel_workers_per_gather": "0"},
        }
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine.sync_engine.pool, "checkin", _mark_checkin)
        event.listen(engine.sync_engine.pool, "checkout", _check_on_checkout)
    return engine


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        self._reader = async_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False, pool_size: int = 10) -> Database:
        return cls(create_engine(url, echo=echo, pool_size=pool_size))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block succeeds, rolled back otherwise.

        Inside a request this is the moment it stops being a cheap cached read, so the
        request's ``query`` rate-limit budget is charged here (see core.ratelimit).
        """
        await charge_query()
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only, each statement on its own (autocommit).

        For browse views built from a few independent statements: no ``BEGIN`` and
        ``COMMIT`` round trips around them. Its statements do not share one snapshot,
        so use it only where a sweep committing in between cannot make the answer
        inconsistent beyond what the next generation corrects (cached views are
        recomputed after every sweep). Charged to the ``query`` budget like
        :meth:`session`. Writing through it is a mistake (each write commits at once).
        """
        await charge_query()
        async with self._reader() as session:
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
