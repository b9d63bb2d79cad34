"""Running Alembic from the app: ``hangar-bay migrate`` and the embedded default's start-up."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

from hangar_bay.core.database import create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def _run(engine: AsyncEngine, operation: str, revision: str) -> None:
    def run(connection: object) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, operation)(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


# How long to wait for each of aiosqlite's worker threads the migration started.
SQLITE_THREAD_WAIT = 2.0


async def _threads_stopped(threads: set[threading.Thread]) -> None:
    """Wait for these aiosqlite worker threads to finish.

    When a file cannot be opened, aiosqlite stops the failed connection's thread without
    waiting; the thread then reports back to the event loop. A command that ends right
    after (``asyncio.run`` closing the loop) made that thread print a traceback after the
    command's one error line, some of the time.
    """
    for thread in threads:
        if "_connection_worker_thread" in thread.name:
            await asyncio.to_thread(thread.join, SQLITE_THREAD_WAIT)


async def _migrate(url: str, operation: str, revision: str) -> None:
    engine = create_engine(url)
    before = set(threading.enumerate())
    try:
        await _run(engine, operation, revision)
    finally:
        await engine.dispose()
        if engine.dialect.name == "sqlite":
            # Only the threads this migration started: others belong to live engines.
            await _threads_stopped(set(threading.enumerate()) - before)


async def upgrade(url: str, revision: str = "head") -> None:
    await _migrate(url, "upgrade", revision)


async def downgrade(url: str, revision: str) -> None:
    await _migrate(url, "downgrade", revision)


class _Hold(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def alembic_logs_held(discard_on: Callable[[BaseException], bool]) -> Iterator[None]:
    """Hold back Alembic's log lines ("Context impl SQLiteImpl.", "Running upgrade ...")
    until the block ends: they are logged as usual when it succeeds, or fails with an
    exception ``discard_on`` does not accept, and dropped when it does (a command whose
    one-line answer says everything, such as "cannot open the database")."""
    logger = logging.getLogger("alembic")
    hold = _Hold()
    propagate = logger.propagate
    logger.addHandler(hold)
    logger.propagate = False
    try:
        yield
    except BaseException as exc:
        if discard_on(exc):
            hold.records.clear()
        raise
    finally:
        logger.removeHandler(hold)
        logger.propagate = propagate
        for record in hold.records:
            logging.getLogger(record.name).handle(record)
