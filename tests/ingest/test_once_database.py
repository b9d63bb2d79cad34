"""``ingest --once`` when the database is gone, and when a killed run left region locks
(issue #14, fault 7)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import event, make_url
from structlog.testing import capture_logs

from esi_sim.config import FaultConfig, Latency
from esi_sim.testing import RunningSimulator
from hangar_bay import migrate
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.database import Database, create_engine
from hangar_bay.ingest import once
from hangar_bay.ingest.common import SweepResult
from hangar_bay.settings import Settings
from tests.ingest.test_cli import cli_env, ingest_cmd
from tests.platform.test_readiness import requires_real_backends
from tests.tcp_proxy import TcpProxy

DEAD_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/none"


async def test_database_down_from_the_start_is_one_line_naming_it(
    settings: Settings, sim: RunningSimulator
) -> None:
    env = cli_env(settings, sim.base_url, HANGAR_DATABASE_URL=DEAD_POSTGRES)
    done = await asyncio.to_thread(
        subprocess.run, ingest_cmd(), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "database" in lines[0]
    assert "unreachable" in lines[0]
    assert "127.0.0.1:1" in lines[0]
    assert "Traceback" not in done.stderr + done.stdout


async def test_an_embedded_database_that_cannot_be_opened_is_one_line(
    settings: Settings, sim: RunningSimulator, tmp_path: Path
) -> None:
    # The embedded default migrates its SQLite file first: Alembic's INFO lines (at the
    # default log level) must not come before the one error line.
    missing = tmp_path / "no such directory" / "hangar.db"
    env = cli_env(
        settings,
        sim.base_url,
        HANGAR_DATABASE_URL=f"sqlite+aiosqlite:///{missing}",
        HANGAR_LOG_LEVEL="INFO",
    )
    done = await asyncio.to_thread(
        subprocess.run, ingest_cmd(), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("hangar-bay: cannot open the database")
    assert "alembic" not in done.stderr


def test_alembic_lines_are_kept_unless_the_error_says_it_all(
    caplog: pytest.LogCaptureFixture,
) -> None:
    alembic_log = logging.getLogger("alembic.runtime.migration")

    def unreachable(exc: BaseException) -> bool:
        return isinstance(exc, ConnectionRefusedError)

    def migrating(message: str, failure: Exception | None = None) -> None:
        with migrate.alembic_logs_held(discard_on=unreachable):
            alembic_log.info(message)
            assert caplog.messages == []  # held until the block ends
            if failure is not None:
                raise failure

    with caplog.at_level(logging.INFO):
        migrating("Running upgrade a -> b")
        assert caplog.messages == ["Running upgrade a -> b"]
        caplog.clear()
        with pytest.raises(ConnectionRefusedError):
            migrating("Context impl SQLiteImpl.", ConnectionRefusedError(111, "refused"))
        assert caplog.messages == []
        with pytest.raises(ValueError, match="other"):
            migrating("Running upgrade b -> c", ValueError("other"))
        # Any other failure keeps them: they tell where it stopped.
        assert caplog.messages == ["Running upgrade b -> c"]
    assert logging.getLogger("alembic").propagate


class _Vanishing:
    """A database whose ping starts failing after ``answers`` answers."""

    def __init__(self, answers: int) -> None:
        self.answers = answers
        self.engine = Database.from_url(DEAD_POSTGRES).engine

    async def ping(self) -> None:
        if self.answers <= 0:
            raise ConnectionRefusedError(111, "Connection refused")
        self.answers -= 1


async def test_a_pass_stops_soon_after_the_database_goes_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(once, "DATABASE_CHECK_SECONDS", 0.01)
    database = _Vanishing(answers=2)
    cancelled = asyncio.Event()

    async def endless_sweeps() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cancelled.set()

    try:
        with pytest.raises(once.DatabaseUnreachable) as caught:
            await asyncio.wait_for(
                once.while_database_answers(database, endless_sweeps()),  # type: ignore[arg-type]
                30,
            )
        assert "unreachable" in str(caught.value)
        assert "ConnectionRefusedError" in str(caught.value)
        assert cancelled.is_set()
    finally:
        await database.engine.dispose()


async def test_a_pass_that_finishes_returns_its_result() -> None:
    database = _Vanishing(answers=0)  # never asked: the work ends first

    async def quick() -> str:
        return "done"

    try:
        assert await once.while_database_answers(database, quick()) == "done"  # type: ignore[arg-type]
    finally:
        await database.engine.dispose()


async def test_waiting_on_a_leftover_region_lock_is_said(
    database: Database, ingest_settings: Settings, cache: ResilientCache
) -> None:
    from hangar_bay.app import build_esi_client
    from hangar_bay.ingest.service import Ingestor

    region = 10000002
    # What a run killed with -9 leaves behind: its lock, until the lock expires.
    assert await cache.acquire_lock(f"ingest:region:{region}", 1.5) is not None
    http = build_esi_client(ingest_settings)
    ingestor = Ingestor.build(database=database, cache=cache, http=http, settings=ingest_settings)
    try:
        with capture_logs() as logs:
            result = await ingestor.sweep_region(region, wait=True)
        assert result.complete
        events = [entry["event"] for entry in logs]
        assert "sweep_waiting_for_lock" in events
        assert "sweep_lock_acquired" in events
        waiting = next(e for e in logs if e["event"] == "sweep_waiting_for_lock")
        assert waiting["log_level"] == "warning"
        assert waiting["region_id"] == region
    finally:
        await ingestor.esi.close()
        await http.aclose()


# --- the database lost in the middle of a pass ---------------------------------------


class _Cut:
    """Makes every statement on a database fail as a dropped connection does, once set.

    The same on both backends (SQLite has no connection to drop): asyncpg raises a bare
    ``ConnectionError`` when the server goes away under a query."""

    def __init__(self) -> None:
        self.on = False

    def attach(self, database: Database) -> None:
        event.listen(database.engine.sync_engine, "before_cursor_execute", self._statement)

    def _statement(self, *_: object) -> None:
        if self.on:
            raise ConnectionError("unexpected connection_lost()")


async def test_a_database_lost_mid_pass_stops_it_without_tracebacks(
    monkeypatch: pytest.MonkeyPatch, ingest_settings: Settings, database: Database
) -> None:
    # Sweeps that meet the lost database crash within seconds, well before the watch's
    # checks add up: the pass must still stop with the database named, not go on to
    # the market pass and a summary of failed regions (exit 4).
    from hangar_bay.ingest.sweep import RegionSweeper

    cut = _Cut()
    opened: list[Database] = []

    def from_url(url: str, **kwargs: object) -> Database:
        opened.append(Database(create_engine(url)))
        cut.attach(opened[-1])
        return opened[-1]

    listing = RegionSweeper._listing

    async def listing_then_cut(self: RegionSweeper, region_id: int) -> object:
        got = await listing(self, region_id)
        cut.on = True  # the sweep has begun: its writes come next
        return got

    monkeypatch.setattr(once.Database, "from_url", from_url)
    monkeypatch.setattr(RegionSweeper, "_listing", listing_then_cut)
    with capture_logs() as logs, pytest.raises(once.DatabaseUnreachable) as caught:
        await asyncio.wait_for(once.run_once(ingest_settings, show_progress=False), 120)
    assert "unreachable" in str(caught.value)
    assert "unexpected connection_lost()" in str(caught.value)
    events = [entry["event"] for entry in logs]
    assert "sweep_crashed" not in events
    assert "market_pass_failed" not in events
    assert not [entry for entry in logs if entry.get("exc_info")], logs
    assert opened
    assert cut.on


async def test_sweeps_report_a_lost_database_in_one_line_other_crashes_in_full(
    ingest_settings: Settings, database: Database, cache: ResilientCache
) -> None:
    # The scheduler and the worker go on after a crashed sweep: a database that is
    # gone is one warning line per region, any other crash keeps its traceback.
    from hangar_bay.app import build_esi_client
    from hangar_bay.ingest.service import Ingestor

    http = build_esi_client(ingest_settings)
    ingestor = Ingestor.build(database=database, cache=cache, http=http, settings=ingest_settings)
    failures = {1: ConnectionError("unexpected connection_lost()"), 2: ValueError("a bug")}

    async def sweep_region(region_id: int, *_: object, **__: object) -> SweepResult:
        raise failures[region_id]

    ingestor.sweep_region = sweep_region  # type: ignore[method-assign]
    try:
        with capture_logs() as logs:
            results = await ingestor.sweep_many([1, 2])
        assert [r.outcome for r in results] == ["failed", "failed"]
        lost = [e for e in logs if e.get("region_id") == 1]
        crashed = [e for e in logs if e.get("region_id") == 2]
        assert [(e["event"], e["log_level"]) for e in lost] == [
            ("sweep_database_unavailable", "warning")
        ]
        assert "connection_lost" in lost[0]["error"]
        assert not lost[0].get("exc_info")
        assert [(e["event"], e.get("exc_info")) for e in crashed] == [("sweep_crashed", True)]
        # ``ingest --once`` stops at the first region that lost the database instead.
        with pytest.raises(ConnectionError):
            await ingestor.sweep_many([2, 1], stop_on_database_loss=True)
    finally:
        await ingestor.esi.close()
        await http.aclose()


async def test_the_market_pass_reports_a_lost_database_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
    ingest_settings: Settings,
    database: Database,
    cache: ResilientCache,
) -> None:
    from hangar_bay.app import build_esi_client
    from hangar_bay.ingest.service import Ingestor
    from hangar_bay.market import service as market

    http = build_esi_client(ingest_settings)
    ingestor = Ingestor.build(database=database, cache=cache, http=http, settings=ingest_settings)
    failure: Exception = ConnectionError("unexpected connection_lost()")

    async def market_pass(*_: object, **__: object) -> market.MarketPassResult:
        raise failure

    monkeypatch.setattr(market, "market_pass", market_pass)
    try:
        with capture_logs() as logs:
            assert (await market.run_market_pass(ingestor)).skipped
        assert [(e["event"], e["log_level"], e.get("exc_info")) for e in logs] == [
            ("market_pass_database_unavailable", "warning", None)
        ]
        with pytest.raises(ConnectionError):
            await market.run_market_pass(ingestor, stop_on_database_loss=True)
        failure = ValueError("a bug")
        with capture_logs() as logs:
            assert (await market.run_market_pass(ingestor)).skipped
        assert [(e["event"], e.get("exc_info")) for e in logs] == [("market_pass_failed", True)]
    finally:
        await ingestor.esi.close()
        await http.aclose()


@requires_real_backends
async def test_postgres_lost_mid_pass_is_the_same_one_line_and_exit_1(
    database: Database, settings: Settings, sim: RunningSimulator, database_url: str
) -> None:
    # The tester's run: production settings (JSON logs), ESI slow, PostgreSQL cut
    # while the sweeps wait for their listings.
    target = make_url(database_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    proxied = target.set(port=proxy.port).render_as_string(hide_password=False)
    env = cli_env(
        settings,
        sim.base_url,
        HANGAR_DATABASE_URL=proxied,
        HANGAR_ENVIRONMENT="production",
        HANGAR_SECRET_KEY="x" * 40,
    )
    sim.sim.set_faults(FaultConfig(latency={"contracts": Latency(min_ms=3000, max_ms=3000)}))
    try:
        run = asyncio.ensure_future(
            asyncio.to_thread(
                subprocess.run, ingest_cmd(), env=env, capture_output=True, text=True, timeout=120
            )
        )
        # Cut as soon as a sweep has asked for its listing (it waits 3 s for it).
        for _ in range(6000):
            if sim.sim.route_requests("contracts") or run.done():
                break
            await asyncio.sleep(0.01)
        await proxy.stop()
        done = await run
    finally:
        sim.sim.clear_faults()
        await proxy.stop()
    assert done.returncode == 1, done.stderr[-3000:]
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("hangar-bay: ingest stopped: the database "), lines[-1]
    assert "unreachable" in lines[-1]
    assert f":{proxy.port}/" in lines[-1]
    # Before it, at most the documented warnings of the watch.
    assert all("database_check_failed" in line for line in lines[:-1]), done.stderr
