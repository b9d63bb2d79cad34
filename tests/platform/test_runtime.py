"""Process-level settings of a server: the read session and the garbage collector."""

from __future__ import annotations

import gc
from typing import Any

from sqlalchemy import select

from hangar_bay.core.database import Database
from hangar_bay.models import Region
from hangar_bay.runtime import GC_YOUNG_THRESHOLD, background_hooks, server_gc
from hangar_bay.settings import Settings


def _holds_transaction(driver: Any) -> bool:
    """Whether the driver connection runs its statements inside a transaction."""
    if hasattr(driver, "is_in_transaction"):  # asyncpg: a BEGIN was sent
        return bool(driver.is_in_transaction())
    # aiosqlite: pysqlite begins no transaction for a SELECT in either mode, so tell the
    # two apart by the mode itself (None: autocommit).
    return driver.isolation_level is not None


async def _after_a_read(database: Database, *, read: bool) -> bool:
    opened = database.read() if read else database.session()
    async with opened as session:
        await session.execute(select(Region.region_id).limit(1))
        raw = await (await session.connection()).get_raw_connection()
        return _holds_transaction(raw.driver_connection)


async def test_a_read_session_opens_no_transaction(database: Database) -> None:
    # The browse miss path relies on it: no BEGIN and COMMIT round trips around its reads.
    assert not await _after_a_read(database, read=True)
    # The unit of work, on the pool's connection the read just gave back, holds one: the
    # read's mode did not stay with the connection, and the check tells the two apart.
    assert await _after_a_read(database, read=False)


async def test_server_gc_freezes_start_up_and_undoes_it_at_shutdown() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    async with server_gc({}):  # type: ignore[arg-type]
        assert gc.get_freeze_count() > frozen_before
        assert gc.get_threshold()[0] == max(before[0], GC_YOUNG_THRESHOLD)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_serve_starts_the_gc_hook_last() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    for ingest in (False, True):
        assert background_hooks(settings, ingest=ingest)[-1] is server_gc
