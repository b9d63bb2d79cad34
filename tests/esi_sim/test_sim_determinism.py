"""Same seed, same universe; and the ground-truth command."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from esi_sim.cli import build_config, dump_ground_truth
from esi_sim.config import SimConfig
from esi_sim.esi import EsiApp
from esi_sim.market import is_ship_contract
from esi_sim.sim import Simulator
from esi_sim.testing import running_simulator


def sweep(base_url: str, items: bool = True) -> bytes:
    """Every page of every listing plus every item page, as one digest input."""
    out = hashlib.sha256()
    with httpx.Client(base_url=base_url + "/latest") as http:
        for region_id in http.get("/universe/regions/").json():
            first = http.get(f"/contracts/public/{region_id}/")
            out.update(first.content)
            for row in first.json() if items else []:
                out.update(http.get(f"/contracts/public/items/{row['contract_id']}/").content)
        out.update(http.get("/markets/prices/").content)
    return out.digest()


def test_two_runs_with_one_seed_serve_identical_data() -> None:
    digests = []
    truths = []
    for _ in range(2):
        with running_simulator(SimConfig(clock="manual", seed=7)) as running:
            digests.append(sweep(running.base_url))
            running.sim.clock.advance(3 * 3600)
            digests.append(sweep(running.base_url, items=False))
            truths.append(orjson.dumps(running.sim.ground_truth()))
    assert digests[0] == digests[2]
    assert digests[1] == digests[3]
    assert digests[0] != digests[1], "time moved the market"
    assert truths[0] == truths[1]


def test_another_seed_serves_another_market() -> None:
    a = Simulator(SimConfig(clock="manual", seed=1)).ground_truth()
    b = Simulator(SimConfig(clock="manual", seed=2)).ground_truth()
    assert a["contracts"] != b["contracts"]


def test_advancing_in_steps_or_at_once_gives_the_same_listing() -> None:
    stepwise = Simulator(SimConfig(clock="manual"))
    for _ in range(10):
        stepwise.clock.advance(1800)
        stepwise.now()
    at_once = Simulator(SimConfig(clock="manual"))
    at_once.clock.advance(18000)
    assert stepwise.ground_truth() == at_once.ground_truth()


def test_dump_ground_truth(tmp_path: Path, capsys: pytest.CaptureFixture[bytes]) -> None:
    at = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    out = tmp_path / "truth.json"
    assert dump_ground_truth("tiny", 3, at, out) == out
    truth = orjson.loads(out.read_bytes())
    assert truth["time"] == "2026-11-02T00:00:00Z"
    sim = Simulator(SimConfig(clock="manual", seed=3))
    assert truth == sim.ground_truth(at)
    assert orjson.loads(sim.ground_truth_json()) == truth
    later = tmp_path / "later.json"
    dump_ground_truth("tiny", 3, at + timedelta(hours=6), later, live_only=True)
    live = orjson.loads(later.read_bytes())
    assert live["time"] == "2026-11-02T06:00:00Z"
    assert all(c["items"] or c["type"] in ("courier", "loan") for c in live["contracts"])


def test_python_m_esi_sim_dumps_ground_truth(tmp_path: Path) -> None:
    out = tmp_path / "gt.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "esi_sim",
            "--scale",
            "tiny",
            "--seed",
            "5",
            "--dump-ground-truth",
            str(out),
            "--at",
            "2026-11-01T18:00:00Z",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = orjson.loads(out.read_bytes())
    assert data["time"] == "2026-11-01T18:00:00Z"
    assert data["contracts"]


def test_build_config_from_flags() -> None:
    cfg = build_config(scale="tiny", seed=4, error_rate=0.1, latency_ms=(5, 10), down="503")
    assert cfg.faults.error_rate == {"*": 0.1}
    assert cfg.faults.latency["*"].max_ms == 10
    assert cfg.faults.down == "503"


@pytest.mark.slow
def test_forge_scale_is_deterministic_and_paged() -> None:
    digests = []
    for _ in range(2):
        sim = Simulator(SimConfig(scale="forge", clock="manual", seed=11))
        forge = sim.market.regions[10000002]
        assert 33_000 <= len(forge.live) <= 37_000
        pages = [forge.page(p)[0] for p in range(1, forge.page_count + 1)]
        rows = [r for body in pages for r in orjson.loads(body)]
        assert all(len(orjson.loads(body)) == 1000 for body in pages[:-1])
        assert len({r["contract_id"] for r in rows}) == len(rows) == len(forge.live)
        digests.append(hashlib.sha256(b"".join(pages)).hexdigest())
        assert EsiApp(sim)._contracts(10000002, 1).pages == forge.page_count
    assert digests[0] == digests[1]
    ships = sum(1 for c in forge.live if is_ship_contract(sim.seed, c))
    # The live Forge shows roughly 400-600 ship contracts among ~34,000.
    assert 250 <= ships <= 900, ships


def test_start_time_now_starts_the_clock_at_this_machine_s_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `esi-sim --start-time now` beside `serve`: the app judges expiry by its own clock,
    # so the simulated one must start from it, not from the fixed default day.
    import esi_sim.cli as sim_cli

    started: dict[str, object] = {}
    monkeypatch.setattr(sim_cli, "run", lambda *args, **kwargs: started.update(kwargs))
    before = datetime.now(UTC)
    assert sim_cli.main(["--start-time", "now"]) == 0
    after = datetime.now(UTC)
    start = started["start_time"]
    assert isinstance(start, datetime)
    assert before <= start <= after
    sim_cli.main(["--start-time", "2026-12-01T00:00:00Z"])
    assert started["start_time"] == datetime(2026, 12, 1, tzinfo=UTC)
