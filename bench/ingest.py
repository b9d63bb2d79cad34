"""Ingestion benchmark (not a test): a `universe` ingest from a local simulator.

    .venv/bin/python bench/ingest.py [--scale universe] [--backends postgresql sqlite]
                                     [--pg postgresql+asyncpg://postgres@127.0.0.1/postgres]

For each backend, on a fresh database:

1. initial: one complete pass over every region (contracts, items, bids, types, names);
2. no-change resweep: every stored validator marked expired while ESI's data stayed the
   same, so every listing page is asked for again conditionally (all 304s);
3. churn resweep: the simulator's clock moves on by one ESI cache window (30 min; about
   2 % of the contracts change: new, accepted, expired), then one pass; the churn
   actually seen (new + delisted over live) is reported.

Each phase runs in a fresh process, so its peak memory (max RSS) is its own. Reported:
wall time, CPU time of the ingesting process (the pipeline's own cost: the simulator runs
in another process), contracts/s and items/s against both, ESI requests, 304 share.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def _settings(db: str, esi: str) -> Any:
    from hangar_bay.settings import Settings

    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db,
        esi_base_url=esi,
        esi_user_agent="hangar-bay benchmark",
        esi_http_client=os.environ.get("BENCH_HTTP_CLIENT", "httptools"),
        esi_max_concurrency=int(os.environ.get("BENCH_CONCURRENCY", "32")),
        esi_max_requests_per_second=100_000,
        esi_backoff_base_seconds=0.05,
        ingest_region_concurrency=4,
        ingest_items_batch=500,
        cache_prefix=f"bench:{uuid.uuid4().hex[:6]}:",
        log_level="WARNING",
    )


async def _phase(name: str, db: str, esi: str) -> dict[str, Any]:
    from sqlalchemy import func, select, update

    from hangar_bay.core.database import Database
    from hangar_bay.core.logging import configure_logging
    from hangar_bay.ingest.once import run_once
    from hangar_bay.models import Contract, ContractItem, EsiPage

    configure_logging(level="WARNING")
    settings = _settings(db, esi)
    database = Database.from_url(db)
    try:
        if name == "nochange":
            async with database.session() as session:
                await session.execute(update(EsiPage).values(expires=None))
        async with database.sessionmaker() as session:
            items_before = await session.scalar(select(func.count()).select_from(ContractItem))
            known_before = await session.scalar(select(func.count()).select_from(Contract))
        wall0, cpu0 = time.perf_counter(), time.process_time()
        summary = await run_once(settings, show_progress=False)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        async with database.sessionmaker() as session:
            items_after = await session.scalar(select(func.count()).select_from(ContractItem))
            known_after = await session.scalar(select(func.count()).select_from(Contract))
    finally:
        await database.dispose()
    live = sum(r.contracts_live for r in summary.results)
    return {
        "phase": name,
        "ok": summary.ok,
        "regions": len(summary.results),
        "live_contracts": live,
        "new_contracts": (known_after or 0) - (known_before or 0),
        "delisted": sum(r.delisted for r in summary.results),
        "items_written": (items_after or 0) - (items_before or 0),
        "requests": summary.requests,
        "not_modified": summary.not_modified,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "summary": summary.line(),
    }


def run_phase(name: str, db: str, esi: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--db", db, "--esi", esi],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_sim(scale: str, seed: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "esi_sim", "--port", str(port), "--scale", scale]
    command += ["--seed", str(seed), "--clock", "manual", "--log-level", "warning"]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/_sim/info", timeout=2).raise_for_status()
            return proc, base
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise SystemExit("the simulator exited") from None
            time.sleep(0.3)
    raise SystemExit("the simulator did not start")


def fresh_database(kind: str, pg_admin: str) -> str:
    if kind == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="hb-bench-")) / "bench.db"
        return f"sqlite+aiosqlite:///{path}"
    from sqlalchemy import make_url, text
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"hangar_bench_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        engine = create_async_engine(make_url(pg_admin), isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await engine.dispose()

    asyncio.run(create())
    return make_url(pg_admin).set(database=name).render_as_string(hide_password=False)


def advance(base: str, seconds: float) -> None:
    httpx.post(f"{base}/_sim/clock/advance", json={"seconds": seconds}, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase")
    parser.add_argument("--db")
    parser.add_argument("--esi")
    parser.add_argument("--scale", default="universe")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends", nargs="+", default=["postgresql", "sqlite"])
    parser.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1/postgres")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument(
        "--churn-seconds",
        type=float,
        default=1800.0,
        help="simulated time between the no-change and the churn pass (ESI's cache window)",
    )
    args = parser.parse_args()
    if args.phase:
        from hangar_bay.ingest.commands import run_async

        print(json.dumps(run_async(_phase(args.phase, args.db, args.esi))))
        return

    from hangar_bay import migrate

    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "http_client": os.environ.get("BENCH_HTTP_CLIENT", "httptools"),
        },
        "scale": args.scale,
        "runs": [],
    }
    for backend in args.backends:
        # A fresh simulator per backend: both start from the same universe and clock.
        sim, base = start_sim(args.scale, args.seed)
        try:
            db = fresh_database(backend, args.pg)
            asyncio.run(migrate.upgrade(db))
            run: dict[str, Any] = {"backend": backend, "phases": []}
            for phase in ("initial", "nochange"):
                run["phases"].append(run_phase(phase, db, base))
                print(json.dumps({backend: run["phases"][-1]}), flush=True)
            advance(base, args.churn_seconds)
            churn = run_phase("churn", db, base)
            churn["sim_seconds_advanced"] = args.churn_seconds
            churn["churn_share"] = round(
                (churn["new_contracts"] + churn["delisted"]) / max(churn["live_contracts"], 1), 4
            )
            run["phases"].append(churn)
            print(json.dumps({backend: churn}), flush=True)
            results["runs"].append(run)
        finally:
            sim.terminate()
            sim.wait(timeout=30)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
