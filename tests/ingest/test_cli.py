"""``hangar-bay ingest --once`` as an operator runs it, including a kill -9 mid-sweep."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import func, select, update

from esi_sim.config import FaultConfig, Latency
from esi_sim.testing import RunningSimulator
from hangar_bay.core.database import Database
from hangar_bay.models import Contract, ContractItem, EsiPage
from hangar_bay.settings import Settings
from tests.ingest.truth import database_state, ground_truth, mismatches


def cli_env(settings: Settings, base_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANGAR_")}
    env.update(
        HANGAR_DATABASE_URL=settings.database_url,
        HANGAR_CACHE_URL=settings.cache_url,
        HANGAR_CACHE_PREFIX=f"hbcli:{uuid.uuid4().hex[:8]}:",
        HANGAR_ESI_BASE_URL=base_url,
        HANGAR_ESI_USER_AGENT="hangar-bay tests",
        HANGAR_ESI_MAX_REQUESTS_PER_SECOND="2000",
        HANGAR_ESI_MAX_CONCURRENCY="8",
        HANGAR_ESI_BACKOFF_BASE_SECONDS="0.01",
        HANGAR_INGEST_LOCK_SECONDS="3",
        HANGAR_LOG_LEVEL="WARNING",
        HANGAR_ENVIRONMENT="test",
    )
    env.update(extra)
    return env


def ingest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "hangar_bay.cli", "ingest", "--once", *args]


async def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, ingest_cmd(*args), env=env, capture_output=True, text=True, timeout=240
    )


async def test_once_exit_codes_and_summary(
    database: Database, settings: Settings, sim: RunningSimulator
) -> None:
    env = cli_env(settings, sim.base_url)
    done = await run_cli(env, "--region", "10000002", "--region", "10000043")
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("ingest: 2/2 regions complete"), last
    assert (
        mismatches(
            await database_state(database),
            ground_truth(sim.sim, [10000002, 10000043]),
            [10000002, 10000043],
        )
        == []
    )
    # Failed: a region without a usable listing (its stored listing has expired).
    async with database.session() as session:
        await session.execute(update(EsiPage).values(expires=None))
    sim.sim.set_faults(FaultConfig(error_rate={"contracts": 1.0}))
    bad = await run_cli(env, "--region", "10000002")
    sim.sim.clear_faults()
    assert bad.returncode == 4, bad.stdout[-2000:]
    assert "0/1 regions complete" in bad.stdout
    assert "incomplete: 10000002" in bad.stdout
    # Partial: one contract's items still failing after the in-pass retries.
    live = sim.sim.ground_truth(live_only=True, region_ids=[10000043])["contracts"]
    stuck = next(c["contract_id"] for c in live if c["type"] == "item_exchange")
    sim.sim.set_faults(FaultConfig(contract_504_streaks={stuck: -1}))
    async with database.session() as session:
        await session.execute(update(EsiPage).values(expires=None))
        await session.execute(
            update(Contract).where(Contract.contract_id == stuck).values(items_status="pending")
        )
    partial = await run_cli(
        dict(env, HANGAR_INGEST_ITEMS_RETRY_SECONDS="0.01"), "--region", "10000043"
    )
    sim.sim.clear_faults()
    assert partial.returncode == 3, partial.stdout[-2000:]


async def test_refuses_real_esi_without_contact(settings: Settings) -> None:
    env = cli_env(
        settings,
        "https://esi.evetech.net",
        HANGAR_ESI_USER_AGENT="",
    )
    done = await run_cli(env)
    assert done.returncode == 2
    assert "HANGAR_ESI_USER_AGENT" in done.stderr


async def _count(database: Database, stmt: object) -> int:
    async with database.sessionmaker() as session:
        return int(await session.scalar(stmt) or 0)  # type: ignore[call-overload]


async def test_kill_9_mid_sweep_then_rerun_converges(
    database: Database, settings: Settings, sim: RunningSimulator
) -> None:
    # Slow item answers keep the first run busy long enough to be killed in the middle.
    sim.sim.set_faults(FaultConfig(latency={"items": Latency(min_ms=40, max_ms=60)}))
    env = cli_env(
        settings, sim.base_url, HANGAR_ESI_MAX_CONCURRENCY="2", HANGAR_INGEST_ITEMS_BATCH="5"
    )
    process = await asyncio.to_thread(
        subprocess.Popen, ingest_cmd(), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        fetched = 0
        for _ in range(600):
            await asyncio.sleep(0.1)
            fetched = await _count(
                database,
                select(func.count())
                .select_from(Contract)
                .where(Contract.items_status == "fetched"),
            )
            if fetched >= 5 or process.poll() is not None:
                break
        assert process.poll() is None, "the first run ended before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        if process.stderr is not None:
            process.stderr.close()
    pending = await _count(
        database,
        select(func.count()).select_from(Contract).where(Contract.items_status == "pending"),
    )
    assert fetched >= 5, "the kill should land mid-sweep"
    assert pending > 0, "the kill should land mid-sweep"

    sim.sim.clear_faults()
    rerun = await run_cli(env)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    state = await database_state(database)
    assert mismatches(state, ground_truth(sim.sim)) == []
    items = await _count(database, select(func.count()).select_from(ContractItem))
    assert items == sum(len(v) for v in state["items"].values())


def test_serve_links_to_its_own_port_unless_a_public_url_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hangar_bay import cli

    seen: list[str] = []
    monkeypatch.setattr(cli, "_run_server", lambda settings, **_: seen.append(settings.public_url))
    monkeypatch.setenv("HANGAR_DATABASE_URL", "postgresql+asyncpg://u@127.0.0.1:1/x")
    monkeypatch.delenv("HANGAR_PUBLIC_URL", raising=False)
    cli.serve(host=None, port=8124, workers=1, ingest=False)
    monkeypatch.setenv("HANGAR_PUBLIC_URL", "https://hangar.example.org")
    cli.serve(host=None, port=8124, workers=1, ingest=False)
    assert seen == ["http://127.0.0.1:8124", "https://hangar.example.org"]
