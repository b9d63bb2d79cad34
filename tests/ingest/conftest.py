"""Fixtures for ingestion tests: a simulator on a local port and settings pointing at it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from esi_sim.config import SimConfig
from esi_sim.testing import RunningSimulator, running_simulator_async
from hangar_bay.settings import Settings


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    """A tiny universe on a manual clock: time moves only when a test says so."""
    async with running_simulator_async(SimConfig(scale="tiny", clock="manual", seed=7)) as running:
        yield running


def sim_settings(settings: Settings, base_url: str, **overrides: object) -> Settings:
    values = settings.model_dump()
    values.update(
        esi_base_url=base_url,
        esi_max_requests_per_second=5000.0,
        esi_max_concurrency=16,
        esi_backoff_base_seconds=0.01,
        ingest_items_retry_seconds=0.01,
        ingest_region_concurrency=4,
        # Each test gets cache keys of its own (locks, pause, generation).
        cache_prefix=f"hbtest:{uuid.uuid4().hex[:8]}:",
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def ingest_settings(settings: Settings, sim: RunningSimulator) -> Settings:
    return sim_settings(settings, sim.base_url)


class SimProcess:
    """A simulator in its own process (large scales: it must not share our GIL), with
    the ground truth read over its admin API."""

    def __init__(self, scale: str, seed: int) -> None:
        import socket
        import subprocess
        import sys

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "esi_sim",
                "--port",
                str(self.port),
                "--scale",
                scale,
                "--seed",
                str(seed),
                "--clock",
                "manual",
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout: float = 120.0) -> None:
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the simulator exited")
            try:
                httpx.get(f"{self.base_url}/_sim/info", timeout=2).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the simulator did not start")

    def ground_truth(
        self, *, live_only: bool = False, region_ids: list[int] | None = None
    ) -> dict[str, object]:
        import httpx

        params: dict[str, object] = {"live_only": str(live_only).lower()}
        if region_ids is not None:
            params["region_id"] = region_ids
        response = httpx.get(f"{self.base_url}/_sim/ground-truth", params=params, timeout=120)
        response.raise_for_status()
        body: dict[str, object] = response.json()
        return body

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()


@pytest.fixture(scope="module")
def forge_sim() -> Iterator[SimProcess]:
    sim = SimProcess("forge", seed=3)
    try:
        sim.wait_ready()
        yield sim
    finally:
        sim.stop()
