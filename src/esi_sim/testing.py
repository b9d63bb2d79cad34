"""Run the simulator on a local port for the duration of a test."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import uvicorn

from esi_sim.app import create_app
from esi_sim.config import SimConfig
from esi_sim.sim import Simulator


@dataclass(frozen=True, slots=True)
class RunningSimulator:
    base_url: str
    sim: Simulator
    port: int


def uvicorn_config(app: object, *, host: str, port: int, log_level: str) -> uvicorn.Config:
    # The simulator writes its own Date header (simulated time), so uvicorn's is off.
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        server_header=False,
        date_header=False,
        lifespan="off",
        timeout_keep_alive=30,
    )


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this; without it, small answers written in two parts
    # (head, body) meet Nagle + delayed ACK and take ~40 ms each.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


@contextlib.contextmanager
def running_simulator(
    config: SimConfig | None = None, *, sim: Simulator | None = None, startup_timeout: float = 30.0
) -> Iterator[RunningSimulator]:
    """Serve a simulator on 127.0.0.1 (a free port) in a background thread."""
    sim = sim or Simulator(config or SimConfig())
    app = create_app(sim=sim)
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, host="127.0.0.1", port=port, log_level="warning"))
    # uvicorn installs signal handlers only on the main thread; ours is not.
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="esi-sim", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the ESI simulator did not start")
        time.sleep(0.01)
    try:
        yield RunningSimulator(f"http://127.0.0.1:{port}", sim, port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.asynccontextmanager
async def running_simulator_async(
    config: SimConfig | None = None, *, sim: Simulator | None = None
) -> AsyncIterator[RunningSimulator]:
    """The same, for async tests: the server still runs on its own thread and loop, so a
    test's event loop blocking briefly never stalls the simulator."""
    cm = running_simulator(config, sim=sim)
    running = await asyncio.to_thread(cm.__enter__)
    try:
        yield running
    finally:
        await asyncio.to_thread(cm.__exit__, None, None, None)
