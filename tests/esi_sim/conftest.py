"""Shared fixtures for the simulator's tests: servers on 127.0.0.1 and the ESI spec."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from esi_sim.config import SimConfig
from esi_sim.testing import RunningSimulator, running_simulator

REPO_ROOT = Path(__file__).resolve().parents[2]
# HANGAR_ESI_SPEC points elsewhere (a worktree is not beside shared/).
SWAGGER_PATH = Path(
    os.environ.get(
        "HANGAR_ESI_SPEC", str(REPO_ROOT / ".." / "shared" / "reference" / "esi-swagger.json")
    )
)


@pytest.fixture(scope="session")
def swagger() -> dict[str, Any]:
    if not SWAGGER_PATH.is_file():
        pytest.skip(f"ESI spec not found at {SWAGGER_PATH.resolve()}: conformance not checked")
    data: dict[str, Any] = json.loads(SWAGGER_PATH.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def tiny() -> Iterator[RunningSimulator]:
    """A tiny universe with a manual clock, shared by one test module."""
    with running_simulator(SimConfig(clock="manual")) as running:
        yield running


@pytest.fixture
def fresh() -> Iterator[RunningSimulator]:
    """A private tiny universe for tests that move the clock or set faults."""
    with running_simulator(SimConfig(clock="manual")) as running:
        yield running


@pytest.fixture
def client(tiny: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=tiny.base_url, timeout=10) as c:
        yield c
