"""The in-process simulator state: universe, clock, faults, error budget and statistics.

HTTP handlers run on uvicorn's event-loop thread while tests poke the same object from
their own thread (advance the clock, set faults), so every mutation goes through `lock`.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from esi_sim.clock import SimClock
from esi_sim.config import ROUTE_NAMES, FaultConfig, SimConfig
from esi_sim.geography import build_geography
from esi_sim.market import (
    Contract,
    Env,
    Market,
    bid_dicts,
    build_locations,
    is_ship_contract,
    iso,
    item_dicts,
    mix,
)
from esi_sim.people import build_people

_CHARACTERS = {"tiny": 60, "forge": 4000, "universe": 12000}


@dataclass(frozen=True, slots=True)
class FaultDecision:
    latency_s: float = 0.0
    error_status: int | None = None
    empty: bool = False
    truncated: bool = False


class Stats:
    def __init__(self) -> None:
        self.by_route: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.not_modified = 0
        self.errors_counted = 0
        self.error_limited = 0
        self.rate_limited = 0
        self.requests = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_route": {
                r: {str(s): n for s, n in sorted(c.items())} for r, c in self.by_route.items()
            },
            "not_modified_304": self.not_modified,
            "errors_counted": self.errors_counted,
            "error_limited_420": self.error_limited,
            "rate_limited_429": self.rate_limited,
        }


class Simulator:
    def __init__(self, config: SimConfig, wall: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.seed = config.seed
        self.lock = threading.RLock()
        self._wall = wall
        self.clock = SimClock(config.start_time, config.clock, config.speed, wall)
        self.geo = build_geography(config.seed)
        char = config.sso.character
        self.people = build_people(
            config.seed, _CHARACTERS[config.scale], {char.character_id: char.name}
        )
        locations = build_locations(self.geo)
        env = Env(
            config.seed,
            self.geo,
            self.people,
            config.effective_ship_share(),
            locations,
            tuple(sorted(self.geo.stations)),
        )
        self.market = Market(env, config.scale, int(config.start_time.timestamp()))
        self.faults = config.faults
        self.stats = Stats()
        self._route_requests: dict[str, int] = defaultdict(int)
        self._streaks: dict[int, int] = dict(self.faults.contract_504_streaks)
        self._items_204: dict[int, int] = dict(self.faults.items_204)
        self._err_window = -1
        self._err_count = 0
        self._rl_window = -1
        self._rl_used = 0
        self._region_requests: dict[int, int] = defaultdict(int)
        self.sso: Any = None  # set by the app (esi_sim.sso.SsoState)

    # --- time -------------------------------------------------------------------------
    def now(self) -> float:
        now = self.clock.now()
        with self.lock:
            self.market.sync(now)
        return now

    # --- faults -----------------------------------------------------------------------
    def set_faults(self, faults: FaultConfig | dict[str, Any] | None) -> FaultConfig:
        parsed = (
            FaultConfig()
            if faults is None
            else faults
            if isinstance(faults, FaultConfig)
            else FaultConfig.model_validate(faults)
        )
        with self.lock:
            self.faults = parsed
            self._streaks = dict(parsed.contract_504_streaks)
            self._items_204 = dict(parsed.items_204)
            self._route_requests.clear()
            self._rl_window, self._rl_used = -1, 0
        return parsed

    def clear_faults(self) -> None:
        self.set_faults(None)

    def route_requests(self, route: str) -> int:
        """Requests on ``route`` (a ROUTE_NAMES entry) since the faults were last set,
        counted as they arrive, before any latency: tests wait on it to act while a
        request is still held."""
        with self.lock:
            return self._route_requests.get(route, 0)

    @staticmethod
    def _rate(table: dict[str, float], route: str) -> float:
        return table.get(route, table.get("*", 0.0))

    def decide(self, route: str) -> FaultDecision:
        """Draw this request's faults from (seed, route, request number on the route)."""
        with self.lock:
            f = self.faults
            n = self._route_requests[route]
            self._route_requests[route] = n + 1
        burst = f.error_burst
        if (
            burst is not None
            and burst.route == route
            and burst.after <= n < burst.after + burst.length
        ):
            return FaultDecision(error_status=burst.status)
        if not (f.error_rate or f.latency or f.empty_200_rate or f.truncated_json_rate):
            return FaultDecision()
        rng = random.Random(mix(self.seed, ROUTE_NAMES.index(route), n))
        latency = 0.0
        spec = f.latency.get(route) or f.latency.get("*")
        if spec is not None:
            if spec.slow_rate and rng.random() < spec.slow_rate:
                latency = spec.slow_ms / 1000
            else:
                latency = rng.uniform(spec.min_ms, max(spec.min_ms, spec.max_ms)) / 1000
        status = None
        if rng.random() < self._rate(f.error_rate, route):
            status = rng.choice(f.error_statuses)
        empty = rng.random() < self._rate(f.empty_200_rate, route)
        truncated = rng.random() < self._rate(f.truncated_json_rate, route)
        return FaultDecision(latency, status, empty, truncated)

    def streak_504(self, contract_id: int) -> bool:
        with self.lock:
            left = self._streaks.get(contract_id)
            if left is None or left == 0:
                return False
            if left > 0:
                self._streaks[contract_id] = left - 1
            return True

    def items_204(self, contract_id: int) -> bool:
        """Whether this items request answers 204 although the contract is listed."""
        with self.lock:
            left = self._items_204.get(contract_id)
            if left is None or left == 0:
                return False
            if left > 0:
                self._items_204[contract_id] = left - 1
            return True

    def region_request_number(self, region_id: int) -> int:
        with self.lock:
            n = self._region_requests[region_id]
            self._region_requests[region_id] = n + 1
            return n

    # --- error budget -----------------------------------------------------------------
    def _budget_window(self) -> int:
        return math.floor(self._wall() / self.config.error_window_seconds)

    def budget(self) -> tuple[int, int]:
        """(remaining errors, seconds until the window resets), on the wall clock."""
        with self.lock:
            w = self._budget_window()
            if w != self._err_window:
                self._err_window, self._err_count = w, 0
            size = self.config.error_window_seconds
            reset = max(0, math.ceil((w + 1) * size - self._wall()))
            return max(0, self.config.error_limit - self._err_count), reset

    # --- token bucket (optional) -----------------------------------------------------------
    def rate_state(self, route: str) -> tuple[int, int, int] | None:
        """(used, limit, seconds to reset) if the rate limit covers `route`, else None."""
        rl = self.faults.rate_limit
        if rl is None or route not in rl.routes:
            return None
        with self.lock:
            w = math.floor(self._wall() / rl.window_seconds)
            if w != self._rl_window:
                self._rl_window, self._rl_used = w, 0
            reset = max(1, math.ceil((w + 1) * rl.window_seconds - self._wall()))
            return self._rl_used, rl.limit, reset

    def rate_charge(self, route: str, status: int) -> None:
        rl = self.faults.rate_limit
        if rl is None or route not in rl.routes or status == 429:
            return
        cost = 2 if status < 300 else 1 if status < 400 else 5 if status < 500 else 0
        with self.lock:
            self._rl_used += cost

    def reset_error_budget(self) -> None:
        with self.lock:
            self._err_window, self._err_count = self._budget_window(), 0

    def record(self, route: str, status: int) -> None:
        with self.lock:
            self.stats.requests += 1
            self.stats.by_route[route][status] += 1
            if status == 304:
                self.stats.not_modified += 1
            if status == 420:
                self.stats.error_limited += 1
            if status == 429:
                self.stats.rate_limited += 1
            if status >= 400:
                w = self._budget_window()
                if w != self._err_window:
                    self._err_window, self._err_count = w, 0
                self._err_count += 1
                self.stats.errors_counted += 1

    def reset_stats(self) -> None:
        with self.lock:
            self.stats = Stats()

    # --- ground truth -----------------------------------------------------------------
    def location_facts(self, location_id: int) -> tuple[int | None, float | None, str | None]:
        station = self.geo.stations.get(location_id)
        if station is not None:
            sec = self.geo.systems[station.system_id].security
            return station.system_id, sec, station.name
        system_id = self.geo.structures.get(location_id)
        if system_id is not None:
            return system_id, self.geo.systems[system_id].security, None
        return None, None, None

    def contract_truth(self, c: Contract, now: float) -> dict[str, Any]:
        row = c.header()
        system_id, sec, loc_name = self.location_facts(c.start_location_id)
        row["region_id"] = c.region_id
        row["items"] = item_dicts(self.seed, c)
        row["bids"] = bid_dicts(self.seed, c, now)
        row["is_ship_contract"] = is_ship_contract(self.seed, c)
        row["start_system_id"] = system_id
        row["start_security_status"] = sec
        row["start_location_name"] = loc_name
        end_id = row.get("end_location_id")
        end_system, end_sec, end_name = (
            self.location_facts(end_id) if end_id else (None, None, None)
        )
        row["end_system_id"] = end_system
        row["end_security_status"] = end_sec
        row["end_location_name"] = end_name
        row["issuer_name"] = self.people.characters.get(c.issuer_id, "")
        return row

    def ground_truth(
        self,
        at: datetime | None = None,
        *,
        live_only: bool = False,
        region_ids: list[int] | None = None,
    ) -> dict[str, Any]:
        """The contracts ESI lists right now, each with its items and bids.

        By default this is exactly what a complete sweep of every listing would see now
        (a contract accepted since its region's last window still shows until the next).
        `live_only=True` keeps only contracts that have not ended at this instant.
        """
        if at is not None:
            self.clock.set(at)
        now = self.now()
        out: list[dict[str, Any]] = []
        with self.lock:
            for region_id, rs in self.market.regions.items():
                if region_ids is not None and region_id not in region_ids:
                    continue
                for c in rs.live:
                    if live_only and c.ends <= now:
                        continue
                    out.append(self.contract_truth(c, now))
        return {"time": iso(now), "contracts": out}

    def iter_ground_truth_json(
        self,
        at: datetime | None = None,
        *,
        live_only: bool = False,
        region_ids: list[int] | None = None,
    ) -> Iterator[bytes]:
        """The same document as `ground_truth`, serialised contract by contract.

        At universe scale the whole document is ~130 MB of JSON; building it as one
        object tree first would cost several hundred MB more than streaming it.
        """
        if at is not None:
            self.clock.set(at)
        now = self.now()
        with self.lock:
            chosen = [
                c
                for region_id, rs in self.market.regions.items()
                if region_ids is None or region_id in region_ids
                for c in rs.live
                if not (live_only and c.ends <= now)
            ]
        yield b'{"time":' + orjson.dumps(iso(now)) + b',"contracts":['
        for i, c in enumerate(chosen):
            sep = b"\n" if i == 0 else b",\n"
            yield sep + orjson.dumps(self.contract_truth(c, now))
        yield b"\n]}\n"

    def ground_truth_json(self, **kwargs: Any) -> bytes:
        return b"".join(self.iter_ground_truth_json(**kwargs))
