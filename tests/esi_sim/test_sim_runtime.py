"""Clock modes, the async runner and small protocol details."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from esi_sim.clock import SimClock
from esi_sim.config import SimConfig
from esi_sim.testing import running_simulator_async


class Wall:
    def __init__(self) -> None:
        self.t = 500.0

    def __call__(self) -> float:
        return self.t


def test_accelerated_real_clock() -> None:
    wall = Wall()
    start = datetime(2026, 11, 1, 12, tzinfo=UTC)
    clock = SimClock(start, "real", speed=60.0, wall=wall)
    assert clock.now() == start.timestamp()
    wall.t += 10
    assert clock.now() == start.timestamp() + 600
    clock.advance(30)
    assert clock.now() == start.timestamp() + 630
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_manual_clock_only_moves_when_told() -> None:
    wall = Wall()
    clock = SimClock(datetime(2026, 11, 1, 12, tzinfo=UTC), "manual", wall=wall)
    before = clock.now()
    wall.t += 1000
    assert clock.now() == before
    clock.set(datetime(2026, 11, 2, tzinfo=UTC))
    assert clock.now_dt() == datetime(2026, 11, 2, tzinfo=UTC)


async def test_async_runner_and_head() -> None:
    async with (
        running_simulator_async(SimConfig(clock="manual")) as running,
        httpx.AsyncClient(base_url=running.base_url) as http,
    ):
        get = await http.get("/latest/contracts/public/10000002/")
        head = await http.head("/latest/contracts/public/10000002/")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["etag"] == get.headers["etag"]
        assert get.headers["date"] == "Sun, 01 Nov 2026 12:00:00 GMT", "Date is simulated time"
        info = (await http.get("/_sim/info")).json()
        assert info["live_contracts"] == running.sim.market.live_count()
