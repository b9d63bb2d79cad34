"""`make serve` and `make demo` take the port from PORT (dry run: nothing starts)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("target", ["serve", "demo"])
def test_make_passes_the_port(target: str) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # -o install: do not consider the install step (it may be out of date in a checkout).
    run = subprocess.run(
        ["make", "-n", "-o", "install", target, "PORT=8123"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"hangar-bay {target} --port 8123" in run.stdout
    default = subprocess.run(
        ["make", "-n", "-o", "install", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--port" not in default.stdout
