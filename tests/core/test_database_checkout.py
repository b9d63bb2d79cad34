"""Pooled PostgreSQL connections are checked on checkout without a round trip per request,
and one the server dropped is replaced before a statement fails on it."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import exc, make_url, text
from sqlalchemy.util import greenlet_spawn

from hangar_bay.core import database as database_module
from hangar_bay.core.database import Database
from tests.conftest import TEST_DATABASE_URL
from tests.tcp_proxy import TcpProxy

requires_postgres = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"),
    reason="a pool checkout is checked on PostgreSQL only (HANGAR_TEST_DATABASE_URL)",
)


class _Driver:
    def __init__(self, *, closed: bool = False, answers: bool = True) -> None:
        self.closed, self.answers, self.pings = closed, answers, 0

    def is_closed(self) -> bool:
        return self.closed

    async def fetchrow(self, query: str) -> None:
        self.pings += 1
        if not self.answers:
            raise ConnectionResetError("connection reset by peer")


def _checkout(driver: _Driver, idle: float | None) -> Any:
    record = SimpleNamespace(info={})
    if idle is not None:
        record.info["checked_in_at"] = time.monotonic() - idle
    connection = SimpleNamespace(driver_connection=driver)
    # The pool calls the listener in SQLAlchemy's greenlet, where a ping can be awaited.
    return greenlet_spawn(database_module._check_on_checkout, connection, record, None)


async def test_a_connection_in_use_is_handed_out_without_a_round_trip() -> None:
    driver = _Driver()
    await _checkout(driver, idle=0.01)
    await _checkout(driver, idle=None)  # fresh from connect
    assert driver.pings == 0


async def test_a_connection_the_server_closed_is_refused_without_a_round_trip() -> None:
    driver = _Driver(closed=True)
    with pytest.raises(exc.DisconnectionError):
        await _checkout(driver, idle=0.01)
    assert driver.pings == 0


async def test_an_idle_connection_is_pinged_once_and_refused_if_dead() -> None:
    alive = _Driver()
    await _checkout(alive, idle=database_module.IDLE_PING_AFTER + 1)
    assert alive.pings == 1
    dead = _Driver(answers=False)
    with pytest.raises(exc.DisconnectionError):
        await _checkout(dead, idle=database_module.IDLE_PING_AFTER + 1)


@requires_postgres
async def test_a_restarted_server_costs_no_request() -> None:
    """The server goes away and comes back between two requests: the second one gets a
    new connection instead of failing on the pooled one (no pre-ping any more)."""
    target = make_url(TEST_DATABASE_URL)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    database = Database.from_url(target.set(port=proxy.port).render_as_string(False))
    try:
        async with database.read() as session:
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
        await proxy.stop()  # every open connection is cut, as by a restart
        await proxy.start()
        await asyncio.sleep(0.05)  # the driver hears of the closed socket
        for _ in range(3):
            async with database.read() as session:
                assert (await session.execute(text("SELECT 2"))).scalar() == 2
            async with database.session() as session:
                assert (await session.execute(text("SELECT 3"))).scalar() == 3
    finally:
        await proxy.stop()
        await database.dispose()
