"""Entry points: serve the simulator, or dump its ground truth.

`hangar-bay esi-sim` (owned by the main CLI) calls `run`; `python -m esi_sim` calls `main`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import uvicorn

from esi_sim.app import create_app
from esi_sim.config import FaultConfig, Latency, SimConfig
from esi_sim.sim import Simulator
from esi_sim.testing import bind_socket, uvicorn_config


def build_config(
    *,
    scale: str = "tiny",
    seed: int = 1,
    speed: float = 1.0,
    clock: str = "real",
    start_time: datetime | None = None,
    faults: FaultConfig | dict[str, Any] | None = None,
    error_rate: float = 0.0,
    latency_ms: tuple[float, float] | None = None,
    down: str | None = None,
    flapping_pages: bool = False,
) -> SimConfig:
    """A SimConfig from flat CLI-style options; `faults` (if given) wins over the flags."""
    if faults is None:
        f: dict[str, Any] = {}
        if error_rate:
            f["error_rate"] = {"*": error_rate}
        if latency_ms:
            f["latency"] = {"*": Latency(min_ms=latency_ms[0], max_ms=latency_ms[1])}
        if down:
            f["down"] = down
        if flapping_pages:
            f["flapping_pages"] = True
        faults = FaultConfig.model_validate(f)
    elif not isinstance(faults, FaultConfig):
        faults = FaultConfig.model_validate(faults)
    data: dict[str, Any] = {
        "scale": scale,
        "seed": seed,
        "speed": speed,
        "clock": clock,
        "faults": faults,
    }
    if start_time is not None:
        data["start_time"] = start_time
    return SimConfig.model_validate(data)


def run(
    host: str = "127.0.0.1",
    port: int = 8088,
    scale: str = "tiny",
    seed: int = 1,
    speed: float = 1.0,
    faults: FaultConfig | dict[str, Any] | None = None,
    *,
    clock: str = "real",
    start_time: datetime | None = None,
    error_rate: float = 0.0,
    latency_ms: tuple[float, float] | None = None,
    down: str | None = None,
    flapping_pages: bool = False,
    log_level: str = "info",
) -> None:
    """Build the universe and serve ESI + SSO until interrupted."""
    config = build_config(
        scale=scale, seed=seed, speed=speed, clock=clock, start_time=start_time, faults=faults,
        error_rate=error_rate, latency_ms=latency_ms, down=down, flapping_pages=flapping_pages,
    )  # fmt: skip
    t0 = time.perf_counter()
    sim = Simulator(config)
    took = time.perf_counter() - t0
    print(
        f"esi-sim: scale={scale} seed={seed}: {sim.market.live_count()} live contracts "
        f"built in {took:.1f}s; serving http://{host}:{port}/latest/ (SSO on the same base)",
        file=sys.stderr,
    )
    app = create_app(sim=sim)
    server = uvicorn.Server(uvicorn_config(app, host=host, port=port, log_level=log_level))
    sock = bind_socket(host, port)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        sock.close()


def dump_ground_truth(
    scale: str = "tiny",
    seed: int = 1,
    at: datetime | None = None,
    out_path: str | Path | None = None,
    *,
    live_only: bool = False,
) -> Path | None:
    """Write the ground truth at `at` (default: the configured start time) as JSON, one
    contract per line, to `out_path` (None or "-": stdout). Same document as
    `GET /_sim/ground-truth`. Returns the path written, or None for stdout."""
    sim = Simulator(SimConfig.model_validate({"scale": scale, "seed": seed, "clock": "manual"}))
    chunks = sim.iter_ground_truth_json(at, live_only=live_only)
    if out_path is None or str(out_path) == "-":
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return None
    path = Path(out_path)
    with path.open("wb") as fh:
        for chunk in chunks:
            fh.write(chunk)
    return path


def _parse_at(raw: str | None) -> datetime | None:
    """An instant given on the command line: ISO 8601 (``2026-11-01T12:00:00Z``; no
    zone means UTC) or ``now``, this machine's clock. ``None`` when not given."""
    if raw is None:
        return None
    if raw.strip().lower() == "now":
        # So an app beside the simulator sees its contracts as live: the app judges
        # expiry by its own clock, and the default start is a fixed day.
        return datetime.now(UTC)
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="esi_sim", description="ESI + EVE SSO simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--scale", choices=["tiny", "forge", "universe"], default="tiny")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument("--clock", choices=["real", "manual"], default="real")
    parser.add_argument(
        "--start-time",
        help="start of simulated time: ISO 8601 or 'now' (default 2026-11-01T12:00:00Z)",
    )
    parser.add_argument("--error-rate", type=float, default=0.0, help="5xx share on every route")
    parser.add_argument("--latency-ms", type=float, nargs=2, metavar=("MIN", "MAX"))
    parser.add_argument("--down", choices=["503", "502", "connection"])
    parser.add_argument("--flapping-pages", action="store_true")
    parser.add_argument("--faults-json", help="a JSON file with the full fault settings")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--dump-ground-truth", metavar="PATH", help="write ground truth, exit")
    parser.add_argument("--at", help="ISO 8601 instant (or 'now') for --dump-ground-truth")
    args = parser.parse_args(argv)
    if args.dump_ground_truth:
        dump_ground_truth(args.scale, args.seed, _parse_at(args.at), args.dump_ground_truth)
        return 0
    faults = orjson.loads(Path(args.faults_json).read_bytes()) if args.faults_json else None
    run(
        args.host, args.port, args.scale, args.seed, args.speed, faults,
        clock=args.clock, start_time=_parse_at(args.start_time), error_rate=args.error_rate,
        latency_ms=tuple(args.latency_ms) if args.latency_ms else None, down=args.down,
        flapping_pages=args.flapping_pages, log_level=args.log_level,
    )  # fmt: skip
    return 0
