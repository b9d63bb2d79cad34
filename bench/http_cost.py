"""HTTP request cost: cached browse views against a bare FastAPI hello world, same run.

(Not ``bench/http.py``: run as a script, that name would shadow the standard library's
``http`` package.)

Usage::

    .venv/bin/python bench/http_cost.py                       # 3 rounds of 8 s each, wrk -c32
    .venv/bin/python bench/http_cost.py --rounds 5 --duration 10
    .venv/bin/python bench/http_cost.py --database ./bench-http.db   # keep/reuse the data
    .venv/bin/python bench/http_cost.py --compare-src /tmp/old/src    # an older tree too

It ingests the ESI simulator's tiny universe into a SQLite file (once; reused when the
file exists), then serves two apps, one uvicorn process each, on loopback:

* a bare FastAPI app answering ``GET /`` with ``{"hello": "world"}``;
* Hangar Bay (``serve --no-ingest``, production mode: JSON access log at INFO to
  /dev/null, rate limits off, in-process cache).

Each round runs ``wrk`` (``apt-get install wrk``) against the hello world, the cached
default ``GET /api/v1/contracts`` and the cached ``GET /``, one after the other, so all
three share the machine's state of the moment; the ratio is taken per round. Without
wrk it falls back to a bounded Python load generator (httpx, keep-alive), which is
slower than the server and so understates both rates. ``--compare-src`` serves a third
app from another source tree (``git archive <commit> src | tar -x``), measured in the
same rounds, to show what a change did. Results go to stdout as Markdown (min / median /
max over the rounds).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


@contextmanager
def process(
    args: list[str], env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        args,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tempfile.gettempdir(),
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def hello_app() -> object:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app


def base_env(database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANGAR_")}
    env.update(
        HANGAR_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        HANGAR_CACHE_URL="",
        HANGAR_LOG_LEVEL="INFO",
        HANGAR_ESI_USER_AGENT="hangar-bay bench",
    )
    return env


def prepare(database: Path) -> None:
    """The simulator's tiny universe ingested into ``database`` (skipped when it exists)."""
    if database.exists():
        return
    port = free_port()
    sim = [str(VENV_BIN / "hangar-bay"), "esi-sim", "--port", str(port), "--scale", "tiny"]
    with process(sim):
        wait_for(f"http://127.0.0.1:{port}/_sim/info")
        env = base_env(database)
        env.update(HANGAR_ESI_BASE_URL=f"http://127.0.0.1:{port}", HANGAR_LOG_LEVEL="WARNING")
        subprocess.run(
            [str(VENV_BIN / "hangar-bay"), "ingest", "--once"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=600,
        )


def run_wrk(url: str, seconds: float, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    return float(match.group(1))


def run_python(url: str, seconds: float, connections: int) -> float:
    import asyncio

    async def main() -> float:
        done = 0
        deadline = time.monotonic() + seconds
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(limits=limits) as client:

            async def worker() -> None:
                nonlocal done
                while time.monotonic() < deadline:
                    (await client.get(url)).raise_for_status()
                    done += 1

            started = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(connections)))
            return done / (time.monotonic() - started)

    return asyncio.run(main())


def spread(values: list[float]) -> str:
    return f"{min(values):,.0f} / {statistics.median(values):,.0f} / {max(values):,.0f}"


def ratio_spread(values: list[float]) -> str:
    return f"{min(values):.0%} / {statistics.median(values):.0%} / {max(values):.0%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database", type=Path, default=None, help="SQLite file to reuse")
    parser.add_argument("--compare-src", type=Path, default=None, help="another src/ tree")
    parser.add_argument("--serve-hello", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve_hello is not None:
        import uvicorn

        uvicorn.run(hello_app(), host="127.0.0.1", port=args.serve_hello, log_level="warning")  # type: ignore[arg-type]
        return

    scratch = Path(tempfile.mkdtemp(prefix="hangar-http-bench-"))
    database = args.database or scratch / "bench.db"
    prepare(database.resolve())
    load = run_wrk if shutil.which("wrk") else run_python
    hello_port, app_port, old_port = free_port(), free_port(), free_port()
    env = base_env(database.resolve())
    env.update(
        HANGAR_ENVIRONMENT="production",
        HANGAR_SECRET_KEY="bench-" + "x" * 40,
        HANGAR_RATE_LIMIT_ENABLED="false",
        HANGAR_INGEST_IN_PROCESS="false",
    )
    hello_cmd = [sys.executable, __file__, "--serve-hello", str(hello_port)]
    app_cmd = [str(VENV_BIN / "hangar-bay"), "serve", "--no-ingest", "--port", str(app_port)]
    targets = {
        "hello world": f"http://127.0.0.1:{hello_port}/",
        "GET /api/v1/contracts (cached)": f"http://127.0.0.1:{app_port}/api/v1/contracts",
        "GET / (cached)": f"http://127.0.0.1:{app_port}/",
    }
    old_cmd = [str(VENV_BIN / "hangar-bay"), "serve", "--no-ingest", "--port", str(old_port)]
    old_env = {**env, "PYTHONPATH": str(args.compare_src.resolve())} if args.compare_src else {}
    if args.compare_src:
        targets["compared tree: GET /api/v1/contracts"] = (
            f"http://127.0.0.1:{old_port}/api/v1/contracts"
        )
        targets["compared tree: GET /"] = f"http://127.0.0.1:{old_port}/"
    rates: dict[str, list[float]] = {name: [] for name in targets}
    with (
        process(hello_cmd),
        process(app_cmd, env),
        process(old_cmd if args.compare_src else ["true"], old_env or None),
    ):
        for url in targets.values():
            wait_for(url)
            httpx.get(url)  # fill the cache
        for _ in range(args.rounds):
            for name, url in targets.items():
                rates[name].append(load(url, args.duration, args.connections))
    hello = rates["hello world"]
    print(
        f"HTTP request cost: {args.rounds} rounds x {args.duration:g} s, "
        f"{load.__name__.removeprefix('run_')} with {args.connections} connections, one "
        f"uvicorn process per app; {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}\n"
    )
    print("| target | req/s min / median / max | share of hello world min / median / max |")
    print("|---|---|---|")
    for name, values in rates.items():
        shares = [value / base for value, base in zip(values, hello, strict=True)]
        print(f"| {name} | {spread(values)} | {ratio_spread(shares)} |")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
