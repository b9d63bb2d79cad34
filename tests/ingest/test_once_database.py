"""``ingest --once`` when the database is gone, and when a killed run left region locks
(issue #14, fault 7)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from esi_sim.testing import RunningSimulator
from hangar_bay import migrate
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.ingest import once
from hangar_bay.settings import Settings
from tests.ingest.test_cli import cli_env, ingest_cmd

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
