"""Faults on demand, the error budget and 420s, and the admin endpoints that drive them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from esi_sim.config import SimConfig
from esi_sim.sim import Simulator
from esi_sim.testing import RunningSimulator, running_simulator

FORGE_URL = "/latest/contracts/public/10000002/"


class FakeWall:
    """A wall clock the test moves by hand (drives the error-limit window)."""

    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def http(fresh: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fresh.base_url, timeout=10) as c:
        yield c


def statuses(http: httpx.Client, url: str, n: int) -> list[int]:
    return [http.get(url).status_code for _ in range(n)]


def test_error_rate_per_route(fresh: RunningSimulator, http: httpx.Client) -> None:
    set_ = http.post("/_sim/faults", json={"error_rate": {"status": 1.0}, "error_statuses": [503]})
    assert set_.status_code == 200
    assert statuses(http, "/latest/status/", 3) == [503, 503, 503]
    assert http.get("/latest/status/").json() == {
        "error": "The datasource tranquility is temporarily unavailable"
    }
    assert http.get(FORGE_URL).status_code == 200, "other routes are unaffected"
    stats = http.get("/_sim/stats").json()
    assert stats["by_route"]["status"] == {"503": 4}
    assert stats["errors_counted"] == 4
    assert http.delete("/_sim/faults").status_code == 200
    assert http.get("/latest/status/").status_code == 200


def test_bad_fault_settings_are_refused(http: httpx.Client) -> None:
    assert http.post("/_sim/faults", json={"error_rate": {"nope": 1.0}}).status_code == 422
    assert http.post("/_sim/faults", json={"error_rate": {"*": 2}}).status_code == 422
    assert http.post("/_sim/faults", json={"surprise": True}).status_code == 422


def test_faults_are_deterministic_under_the_seed() -> None:
    faults: dict[str, Any] = {"error_rate": {"*": 0.4}, "empty_200_rate": {"*": 0.1}}
    runs = []
    for _ in range(2):
        cfg = SimConfig.model_validate({"clock": "manual", "faults": faults})
        with running_simulator(cfg) as running, httpx.Client(base_url=running.base_url) as http:
            runs.append(
                [(r.status_code, len(r.content)) for r in (http.get(FORGE_URL) for _ in range(30))]
            )
    assert runs[0] == runs[1]
    assert {s for s, _ in runs[0]} - {200}, "some requests failed"
    assert 200 in {s for s, _ in runs[0]}


def test_empty_200_and_truncated_json(fresh: RunningSimulator, http: httpx.Client) -> None:
    fresh.sim.set_faults({"empty_200_rate": {"contracts": 1.0}})
    resp = http.get(FORGE_URL)
    assert resp.status_code == 200
    assert resp.content == b""
    fresh.sim.set_faults({"truncated_json_rate": {"contracts": 1.0}})
    resp = http.get(FORGE_URL)
    assert resp.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(resp.content)


def test_latency_can_trip_a_client_timeout(fresh: RunningSimulator) -> None:
    fresh.sim.set_faults({"latency": {"status": {"slow_rate": 1.0, "slow_ms": 1000}}})
    with (
        httpx.Client(base_url=fresh.base_url, timeout=0.2) as http,
        pytest.raises(httpx.ReadTimeout),
    ):
        http.get("/latest/status/")
    fresh.sim.set_faults({"latency": {"*": {"min_ms": 1, "max_ms": 5}}})
    with httpx.Client(base_url=fresh.base_url, timeout=10) as http:
        assert http.get("/latest/status/").status_code == 200


def test_x_pages_changes_between_pages_of_a_sweep(
    fresh: RunningSimulator, http: httpx.Client
) -> None:
    fresh.sim.set_faults({"flapping_pages": True})
    seen = {http.get(FORGE_URL).headers["x-pages"] for _ in range(4)}
    assert seen == {"1", "2"}


def test_504_streak_for_a_contract(fresh: RunningSimulator, http: httpx.Client) -> None:
    cid = fresh.sim.market.regions[10000002].live[0].contract_id
    other = fresh.sim.market.regions[10000002].live[1].contract_id
    http.post("/_sim/faults", json={"contract_504_streaks": {str(cid): 3}})
    url = f"/latest/contracts/public/items/{cid}/"
    assert statuses(http, url, 4) == [504, 504, 504, 200]
    assert http.get(f"/latest/contracts/public/items/{other}/").status_code == 200
    body = http.post("/_sim/faults", json={"contract_504_streaks": {str(cid): -1}}).json()
    assert body["contract_504_streaks"] == {str(cid): -1}
    assert statuses(http, url, 5) == [504] * 5
    http.delete("/_sim/faults")
    assert http.get(url).status_code == 200


@pytest.mark.parametrize("mode", ["503", "502"])
def test_esi_down(fresh: RunningSimulator, http: httpx.Client, mode: str) -> None:
    fresh.sim.set_faults({"down": mode})
    for url in (FORGE_URL, "/latest/status/", "/latest/universe/types/587/"):
        resp = http.get(url)
        assert resp.status_code == int(mode)
        assert "error" in resp.json()
    assert http.post("/latest/universe/names/", json=[587]).status_code == int(mode)
    assert http.get("/_sim/clock").status_code == 200, "admin stays up"
    assert http.get("/.well-known/oauth-authorization-server").status_code == 200, "SSO stays up"


def test_esi_down_at_connection_level(fresh: RunningSimulator) -> None:
    fresh.sim.set_faults({"down": "connection"})
    with httpx.Client(base_url=fresh.base_url, timeout=5) as http:
        with pytest.raises(httpx.TransportError):
            http.get(FORGE_URL)
        fresh.sim.clear_faults()
        assert http.get(FORGE_URL).status_code == 200


def test_error_budget_420_and_reset() -> None:
    wall = FakeWall()
    sim = Simulator(SimConfig(clock="manual", error_limit=5, error_window_seconds=60), wall=wall)
    with running_simulator(sim=sim) as running, httpx.Client(base_url=running.base_url) as http:
        ok = http.get(FORGE_URL)
        assert ok.headers["x-esi-error-limit-remain"] == "5"
        assert 0 < int(ok.headers["x-esi-error-limit-reset"]) <= 60
        remains = [
            http.get("/latest/contracts/public/1/").headers["x-esi-error-limit-remain"]
            for _ in range(5)
        ]
        assert remains == ["4", "3", "2", "1", "0"]
        for url in (FORGE_URL, "/latest/status/", "/latest/universe/regions/"):
            resp = http.get(url)
            assert resp.status_code == 420
            assert resp.headers["x-esi-error-limit-remain"] == "0"
            assert "error" in resp.json()
        stats = http.get("/_sim/stats").json()
        assert stats["error_limited_420"] == 3
        assert stats["by_route"]["contracts"]["404"] == 5
        wall.t += 60
        assert http.get(FORGE_URL).status_code == 200
        assert http.get("/_sim/stats").json()["error_limit_remain"] == 5
        # 304s and 204s do not count.
        tag = ok.headers["etag"]
        assert http.get(FORGE_URL, headers={"If-None-Match": tag}).status_code == 304
        assert http.get(FORGE_URL).headers["x-esi-error-limit-remain"] == "5"
        # The admin reset restores the budget at once.
        for _ in range(5):
            http.get("/latest/contracts/public/1/")
        assert http.get(FORGE_URL).status_code == 420
        assert http.post("/_sim/error-budget/reset").json()["error_limit_remain"] == 5
        assert http.get(FORGE_URL).status_code == 200
        assert http.delete("/_sim/stats").json()["error_limited_420"] == 0


def test_token_bucket_rate_limit() -> None:
    wall = FakeWall()
    sim = Simulator(SimConfig(clock="manual"), wall=wall)
    sim.set_faults({"rate_limit": {"limit": 6, "window_seconds": 900, "routes": ["contracts"]}})
    with running_simulator(sim=sim) as running, httpx.Client(base_url=running.base_url) as http:
        first = http.get(FORGE_URL)
        assert first.headers["x-ratelimit-limit"] == "6/15m"
        assert first.headers["x-ratelimit-used"] == "2"
        assert first.headers["x-ratelimit-remaining"] == "4"
        assert first.headers["x-ratelimit-group"] == "contracts"
        # A 304 costs one token, a 404 five.
        tag = first.headers["etag"]
        assert (
            http.get(FORGE_URL, headers={"If-None-Match": tag}).headers["x-ratelimit-used"] == "3"
        )
        assert http.get("/latest/contracts/public/1/").headers["x-ratelimit-used"] == "8"
        limited = http.get(FORGE_URL)
        assert limited.status_code == 429
        assert 0 < int(limited.headers["retry-after"]) <= 900
        assert "x-ratelimit-limit" not in http.get("/latest/status/").headers, "other routes"
        assert http.get("/latest/status/").status_code == 200
        assert sim.stats.as_dict()["rate_limited_429"] == 1
        wall.t += 900
        assert http.get(FORGE_URL).status_code == 200
