"""Benchmark the ESI simulator at `universe` scale: start time, memory, page latency.

Starts `python -m esi_sim --scale universe` as a child process several times and reports
min / median / max of:
- start: launch until the first answer on /latest/status/ (build + import + bind);
- RSS: resident memory once serving, after every Forge page was read (and the peak);
- page: wall time of GET /latest/contracts/public/10000002/?page=N (1,000 rows),
  first read (cold: joins the page) and re-reads (warm), over a keep-alive connection.

Usage: .venv/bin/python bench/sim_universe.py [--runs 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_mib(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def summary(name: str, values: list[float], unit: str) -> str:
    return (
        f"{name:<28} min {min(values):8.2f}  median {statistics.median(values):8.2f}  "
        f"max {max(values):8.2f} {unit}  (n={len(values)})"
    )


def one_run(seed: int) -> dict[str, list[float]]:
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "esi_sim", "--scale", "universe", "--seed", str(seed),
           "--port", str(port), "--clock", "manual", "--log-level", "warning"]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    out: dict[str, list[float]] = {"cold": [], "warm": []}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            while True:
                try:
                    if http.get("/latest/status/").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None:
                    raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "died")
                time.sleep(0.05)
            out["start"] = [time.perf_counter() - t0]
            first = http.get("/latest/contracts/public/10000002/")
            pages = int(first.headers["x-pages"])
            for page in range(2, pages + 1):
                t = time.perf_counter()
                r = http.get(f"/latest/contracts/public/10000002/?page={page}")
                out["cold"].append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
                if page < pages:
                    assert len(r.json()) == 1000
            for _ in range(5):
                for page in range(1, pages):
                    t = time.perf_counter()
                    r = http.get(f"/latest/contracts/public/10000002/?page={page}")
                    out["warm"].append((time.perf_counter() - t) * 1000)
            info = http.get("/_sim/info").json()
            rss, peak = rss_mib(proc.pid)
            out["rss"] = [rss]
            out["peak"] = [peak]
            out["live"] = [float(info["live_contracts"])]
            out["pages"] = [float(pages)]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    total: dict[str, list[float]] = {}
    for i in range(args.runs):
        res = one_run(args.seed)
        for k, v in res.items():
            total.setdefault(k, []).extend(v)
        print(
            f"run {i + 1}: start {res['start'][0]:.2f} s, RSS {res['rss'][0]:.0f} MiB", flush=True
        )
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    print(f"live contracts: {int(total['live'][0])}, Forge pages: {int(total['pages'][0])}")
    print(summary("start (s)", total["start"], "s"))
    print(summary("RSS serving (MiB)", total["rss"], "MiB"))
    print(summary("RSS peak (MiB)", total["peak"], "MiB"))
    print(summary("page, first read (ms)", total["cold"], "ms"))
    print(summary("page, re-read (ms)", total["warm"], "ms"))


if __name__ == "__main__":
    main()
