"""Public contracts: generation, churn over time, items and bids.

Design, driven by the universe-scale budget (100k live contracts, start < 15 s, < 1 GiB):
- A contract is generated once and kept as a slotted object holding its ESI JSON
  already serialised, so a 1,000-row page is a join of precomputed bytes, and its item
  lines as small tuples.
- Bids, and the lines of junk sales (hundreds each), are not stored: they are replayed
  on demand from (seed, contract_id), identical on every run and free in memory.
- Everything else is drawn from one random stream per batch, in a fixed order (the
  initial population by contract id, then each region's arrivals window by window), so
  a seed always yields the same contracts.
- Each region's listing is a pure function of its current 1,800 s window: on a window
  boundary, ended contracts leave and that window's arrivals join. A listing therefore
  changes at most once per cache window, as ESI's does. Windows are phase-shifted per
  region, as ESI's caches expire at different times per region.
"""

from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect_right
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import accumulate
from typing import Any, TypeVar

import orjson

from esi_sim import catalog
from esi_sim.catalog import TYPES, ItemType
from esi_sim.geography import HUBS, PERIMETER_STRUCTURE_ID, Geography
from esi_sim.people import People, courier_title, item_title, ship_title

T = TypeVar("T")
WINDOW = 1800
PAGE_SIZE = 1000
DAY = 86_400
BASE_CONTRACT_ID = 220_000_000
RECORD_BASE = 1_000_000_000
ITEM_ID_BASE = 1_000_000_000_000
MAX_LINES = 1500
# Contracts may be set to last up to 30 days; nothing older can still be listed.
MAX_LIFE = 30 * DAY
MAX_LIFE_WINDOWS = MAX_LIFE // WINDOW + 1
# How long an ended contract still answers 204 (rather than 404) on its items route.
HISTORY_SECONDS = 7 * DAY

# Expiry chosen by the issuer, with how often players pick it.
_DURATIONS = ((1 * DAY, 0.10), (3 * DAY, 0.15), (7 * DAY, 0.25), (14 * DAY, 0.30), (30 * DAY, 0.20))
_DURATION_CUM = list(accumulate(p for _, p in _DURATIONS))
# Mean time until someone accepts a contract; those not accepted in time expire.
_ACCEPT_MEAN = 12 * DAY


def _mean_life() -> float:
    m = _ACCEPT_MEAN
    return sum(p * m * (1 - math.exp(-d / m)) for d, p in _DURATIONS)


MEAN_LIFE = _mean_life()
# Durations weighted by their length: the live population over-represents long contracts
# (a contract listed for 30 days is seen 30 times as often as a 1-day one).
_BIASED_CUM = list(accumulate(p * d for d, p in _DURATIONS))
SHIP_CUM = list(accumulate(catalog.SHIP_WEIGHTS))
_JUNK_POOL = catalog.MODULES + catalog.CHARGES + catalog.DRONES + catalog.MINERALS
_JUNK_LINE_VALUE = sum(t.price for t in _JUNK_POOL) / len(_JUNK_POOL) * 100.5
_JUNK_LINE_VOLUME = sum(t.packaged_volume for t in _JUNK_POOL) / len(_JUNK_POOL) * 100.5

SCALES: dict[str, dict[int, int]] = {
    "tiny": {10000002: 200, 10000043: 70, 10000060: 40},
    "forge": {10000002: 35000, 10000043: 1500, 10000032: 900, 10000030: 600, 10000042: 500},
}
# Trade hubs are heavy; many regions are nearly empty.
_UNIVERSE_NAMED: dict[int, int] = {
    10000002: 35000, 10000043: 9000, 10000032: 7500, 10000030: 4500, 10000042: 4000,
    10000016: 2500, 10000033: 2000, 10000060: 3000, 10000064: 1500, 10000037: 1200,
    10000020: 1000, 10000052: 800, 10000068: 900, 10000048: 600, 10000069: 700,
    10000058: 800, 10000050: 700, 10000023: 600, 10000035: 500, 10000003: 600,
    10000014: 500, 10000047: 700, 10000041: 400, 10000067: 600, 10000065: 500,
    10000036: 300, 10000001: 400, 10000038: 300, 10000028: 300, 10000049: 400,
    10000044: 150, 10000054: 200, 10000070: 120,
}  # fmt: skip
UNIVERSE_TARGET = 100_000

# Contract types, as ESI spells them.
T_EXCHANGE, T_AUCTION, T_COURIER, T_LOAN = "item_exchange", "auction", "courier", "loan"

# Item recipes.
R_NONE, R_HULL, R_FITTED, R_BUNDLE, R_SHIP_ASK = 0, 1, 2, 3, 4
R_BPC, R_BPO, R_MODULES, R_CHARGES, R_MINERALS, R_SKIN, R_DRONES, R_JUNK, R_WTB = range(5, 14)
SHIP_RECIPES = (R_HULL, R_FITTED, R_BUNDLE, R_SHIP_ASK)
_SHIP_RECIPE_CUM = list(accumulate((0.55, 0.2, 0.15, 0.1)))
_OTHER_RECIPES = (R_BPC, R_MODULES, R_CHARGES, R_MINERALS, R_SKIN, R_DRONES, R_BPO, R_JUNK, R_WTB)
_OTHER_RECIPE_CUM = list(accumulate((0.30, 0.20, 0.10, 0.08, 0.08, 0.08, 0.05, 0.03, 0.08)))

# In `tiny`, the first contracts of The Forge are pinned to these (type, recipe) pairs so
# unit tests always find every kind; they also live long enough to outlast a test run.
_FORCED: tuple[tuple[str, int], ...] = (
    (T_EXCHANGE, R_JUNK),
    (T_AUCTION, R_HULL),
    (T_AUCTION, R_FITTED),
    (T_COURIER, R_NONE),
    (T_LOAN, R_NONE),
    (T_EXCHANGE, R_HULL),
    (T_EXCHANGE, R_FITTED),
    (T_EXCHANGE, R_BUNDLE),
    (T_EXCHANGE, R_SHIP_ASK),
    (T_EXCHANGE, R_BPC),
    (T_EXCHANGE, R_BPO),
    (T_EXCHANGE, R_SKIN),
    (T_EXCHANGE, R_WTB),
    (T_EXCHANGE, R_MODULES),
)
FORCED_JUNK_LINES = 1200


_M64 = (1 << 64) - 1


def mix(*parts: int) -> int:
    """A stable 64-bit seed from integers (hash() is salted for str; this never is).

    SplitMix64 finalisers chained over the parts: cheap, and well spread for seeding.
    """
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (p & _M64)) * 0xBF58476D1CE4E5B9 & _M64
        h = (h ^ (h >> 31)) * 0x94D049BB133111EB & _M64
        h ^= h >> 29
    return h


@lru_cache(maxsize=4096)
def _day_prefix(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")


def iso(ts: float) -> str:
    """ESI's timestamp format, e.g. 2026-11-01T12:00:00Z."""
    day, sec = divmod(int(ts), 86400)
    h, rem = divmod(sec, 3600)
    return f"{_day_prefix(day)}T{h:02d}:{rem // 60:02d}:{rem % 60:02d}Z"


# One item line: (type_id, quantity, is_included, blueprint info or None).
# Blueprint info: (is_copy, material_efficiency, time_efficiency, runs).
Line = tuple[int, int, bool, tuple[bool, int, int, int] | None]


@dataclass(slots=True, eq=False)
class Contract:
    contract_id: int
    region_id: int
    type: str
    issued: int
    expires: int
    # When it leaves ESI: accepted (before expiry) or expired.
    ends: int
    start_location_id: int
    issuer_id: int
    recipe: int
    main_type: int
    price: float
    # Line count of junk sales (drawn from the id's hash), 0 otherwise.
    n_lines: int
    # The item lines; None for junk sales (replayed from (seed, contract_id) on demand).
    lines: tuple[Line, ...] | None
    body: bytes

    def header(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self.body)
        return data


def _ri(rng: random.Random, a: int, b: int) -> int:
    """randint(a, b) at a fraction of the cost; generation draws millions of these."""
    return a + int(rng.random() * (b - a + 1))


def _ch(rng: random.Random, seq: Sequence[T]) -> T:
    return seq[int(rng.random() * len(seq))]


def _ship(rng: random.Random) -> ItemType:
    return catalog.SHIPS[
        min(bisect_right(SHIP_CUM, rng.random() * SHIP_CUM[-1]), len(SHIP_CUM) - 1)
    ]


def _pick_u(u: float, cum: list[float]) -> int:
    return min(bisect_right(cum, u * cum[-1]), len(cum) - 1)


def _pick_cum(rng: random.Random, cum: list[float]) -> int:
    return min(bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


def sample_life(rng: random.Random) -> tuple[int, int]:
    duration = _DURATIONS[_pick_cum(rng, _DURATION_CUM)][0]
    accepted = int(-math.log(1.0 - rng.random()) * _ACCEPT_MEAN) + 60
    return duration, min(duration, accepted)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean < 30:
        limit, k, p = math.exp(-mean), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


def generate_lines(rng: random.Random, recipe: int, main: int, n_lines: int) -> list[Line]:
    """The item lines of a contract; the same rng state always yields the same lines."""
    lines: list[Line] = []
    if recipe == R_HULL:
        lines.append((main, 1, True, None))
    elif recipe == R_FITTED:
        lines.append((main, 1, True, None))
        for mod in rng.sample(catalog.MODULES, _ri(rng, 3, 9)):
            lines.append((mod.type_id, _ch(rng, (1, 1, 1, 2, 3)), True, None))
        if rng.random() < 0.5:
            lines.append((_ch(rng, catalog.CHARGES).type_id, _ri(rng, 200, 5000), True, None))
        if rng.random() < 0.4:
            lines.append((_ch(rng, catalog.DRONES).type_id, _ri(rng, 1, 5), True, None))
    elif recipe == R_BUNDLE:
        if rng.random() < 0.5:
            lines.append((main, _ri(rng, 2, 10), True, None))
        else:
            lines.append((main, 1, True, None))
            for _ in range(_ri(rng, 1, 6)):
                ship = _ship(rng)
                lines.append((ship.type_id, _ri(rng, 1, 3), True, None))
    elif recipe == R_SHIP_ASK:
        lines.append((main, 1, True, None))
        if rng.random() < 0.6:
            mineral = _ch(rng, catalog.MINERALS)
            lines.append((mineral.type_id, _ri(rng, 1_000, 2_000_000), False, None))
        else:
            ship = _ship(rng)
            lines.append((ship.type_id, 1, False, None))
    elif recipe == R_BPC:
        for _ in range(_ri(rng, 1, 6)):
            bp = _ch(rng, catalog.BLUEPRINTS)
            info = (True, _ri(rng, 0, 10), 2 * _ri(rng, 0, 10), _ri(rng, 1, 300))
            lines.append((bp.type_id, 1, True, info))
    elif recipe == R_BPO:
        bp = TYPES[main]
        lines.append((bp.type_id, 1, True, (False, _ri(rng, 0, 10), 2 * _ri(rng, 0, 10), -1)))
    elif recipe == R_MODULES:
        for mod in rng.sample(catalog.MODULES, _ri(rng, 1, 8)):
            lines.append((mod.type_id, _ri(rng, 1, 50), True, None))
    elif recipe == R_CHARGES:
        for ch in rng.sample(catalog.CHARGES, _ri(rng, 1, len(catalog.CHARGES))):
            lines.append((ch.type_id, _ri(rng, 1_000, 100_000), True, None))
    elif recipe == R_MINERALS:
        for mn in rng.sample(catalog.MINERALS, _ri(rng, 1, 5)):
            lines.append((mn.type_id, _ri(rng, 10_000, 10_000_000), True, None))
    elif recipe == R_SKIN:
        lines.append((main, 1, True, None))
    elif recipe == R_DRONES:
        for dr in rng.sample(catalog.DRONES, _ri(rng, 1, 3)):
            lines.append((dr.type_id, _ri(rng, 1, 20), True, None))
    elif recipe == R_JUNK:
        for _ in range(n_lines):
            lines.append((_ch(rng, _JUNK_POOL).type_id, _ri(rng, 1, 200), True, None))
    elif recipe == R_WTB:
        if rng.random() < 0.3:
            ship = _ship(rng)
            lines.append((ship.type_id, 1, False, None))
        else:
            for mod in rng.sample(catalog.MODULES, _ri(rng, 1, 3)):
                lines.append((mod.type_id, _ri(rng, 1, 20), False, None))
    return lines


def _line_value(line: Line) -> float:
    t = TYPES[line[0]]
    if line[3] is not None and line[3][0]:
        # A copy is worth a sliver of its product per run.
        product = TYPES[t.product_id] if t.product_id else t
        return product.price * 0.002 * line[3][3]
    return t.price * line[1]


def _line_volume(line: Line, assembled: bool) -> float:
    t = TYPES[line[0]]
    per = t.volume if (assembled and t.category_id == 6) else t.packaged_volume
    return per * line[1]


def _round_price(v: float) -> float:
    if v <= 0:
        return 0.0
    digits = max(0, int(math.log10(v)) - 2)
    step = 10**digits
    return float(max(step, round(v / step) * step))


@dataclass(frozen=True, slots=True)
class Env:
    """What contract generation needs to know about the world."""

    seed: int
    geo: Geography
    people: People
    ship_share: float
    # region_id -> (location ids, cumulative weights)
    locations: dict[int, tuple[list[int], list[float]]]
    all_stations: tuple[int, ...]


def build_locations(geo: Geography) -> dict[int, tuple[list[int], list[float]]]:
    hubs = {h.region_id: h.station_id for h in HUBS}
    out: dict[int, tuple[list[int], list[float]]] = {}
    for region in geo.regions.values():
        stations: list[int] = []
        structures: list[int] = []
        for cid in region.constellations:
            for sid in geo.constellations[cid].systems:
                system = geo.systems[sid]
                stations.extend(system.stations)
                structures.extend(system.structures)
        locs: list[int] = []
        weights: list[float] = []
        hub = hubs.get(region.region_id)
        null_like = region.kind in ("null", "wormhole", "pochven")
        for st in stations:
            locs.append(st)
            weights.append(0.3 / len(stations) if st != hub else 0.0)
        for s in structures:
            locs.append(s)
            weights.append((0.65 if null_like else 0.1) / len(structures))
        if hub is not None:
            weights[locs.index(hub)] = 0.55
        if PERIMETER_STRUCTURE_ID in locs:
            weights[locs.index(PERIMETER_STRUCTURE_ID)] = 0.12
        if locs:
            out[region.region_id] = (locs, list(accumulate(weights)))
    return out


def build_contract(
    env: Env,
    rng: random.Random,
    contract_id: int,
    region_id: int,
    issued: int,
    duration: int,
    life: int,
    forced: tuple[str, int] | None = None,
) -> Contract:
    """One contract, drawn from `rng`: a stream shared by a batch generated in a fixed
    order (seeding a Mersenne Twister per contract would cost more than the rest of
    the contract). The item lines are kept, except for junk sales, whose hundreds of
    lines are replayed on demand from a per-contract seed."""
    rnd = rng.random
    u = (rnd(), rnd(), rnd(), rnd())
    if forced is not None:
        ctype, recipe = forced
    else:
        r = u[0]
        ctype = (
            T_COURIER
            if r < 0.08
            else T_AUCTION
            if r < 0.12
            else T_LOAN
            if r < 0.124
            else T_EXCHANGE
        )
        recipe = R_NONE
        if ctype in (T_EXCHANGE, T_AUCTION):
            if u[1] < env.ship_share:
                recipe = SHIP_RECIPES[_pick_u(u[2], _SHIP_RECIPE_CUM)]
            else:
                recipe = _OTHER_RECIPES[_pick_u(u[2], _OTHER_RECIPE_CUM)]
            if ctype == T_AUCTION and recipe == R_WTB:
                recipe = R_MODULES
    main = 0
    if recipe in SHIP_RECIPES:
        main = catalog.SHIPS[_pick_u(u[3], SHIP_CUM)].type_id
    elif recipe == R_BPO:
        main = catalog.BLUEPRINTS[int(u[3] * len(catalog.BLUEPRINTS))].type_id
    elif recipe == R_SKIN:
        main = catalog.SKINS[int(u[3] * len(catalog.SKINS))].type_id
    n_lines = 0
    if recipe == R_JUNK:
        h2 = mix(env.seed, contract_id, 3)
        n_lines = 20 + h2 % 281 if (h2 >> 32) % 100 < 97 else MAX_LINES
        if forced is not None:
            n_lines = FORCED_JUNK_LINES
    lines: list[Line] = []
    if ctype in (T_EXCHANGE, T_AUCTION) and recipe != R_JUNK:
        lines = generate_lines(rng, recipe, main, n_lines)
    locs, cum = env.locations[region_id]
    start = locs[_pick_cum(rng, cum)]
    issuer = _ch(rng, env.people.character_ids)
    corp = env.people.membership[issuer]
    for_corp = rng.random() < 0.08

    price = reward = collateral = buyout = 0.0
    volume = 0.0
    days = 0
    end_loc = start
    title = ""
    if ctype in (T_EXCHANGE, T_AUCTION):
        if recipe == R_JUNK:
            # Junk sales run to hundreds of lines; their value and volume are estimated
            # from the line count instead of generating the lines at start-up.
            offered, asked = n_lines * _JUNK_LINE_VALUE, 0.0
            volume = round(n_lines * _JUNK_LINE_VOLUME, 2)
        else:
            assembled = recipe == R_FITTED
            offered = sum(_line_value(ln) for ln in lines if ln[2])
            asked = sum(_line_value(ln) for ln in lines if not ln[2])
            volume = round(sum(_line_volume(ln, assembled) for ln in lines if ln[2]), 2)
        roll = rng.random()
        # Most prices sit near value; a few are bait (far below) or hopeful (far above).
        factor = 0.05 if roll < 0.03 else 3.0 if roll < 0.06 else rng.lognormvariate(0.0, 0.15)
        value = max(offered * factor - asked * 0.5, 0.0)
        if recipe == R_WTB:
            price, reward = 0.0, _round_price(asked * rng.uniform(0.7, 1.0))
        elif ctype == T_AUCTION:
            price = _round_price(max(value * rng.uniform(0.3, 0.8), 10_000.0))
            buyout = _round_price(value * 1.15) if rng.random() < 0.8 else 0.0
        else:
            price = _round_price(max(value, 10_000.0))
        first = TYPES[lines[0][0]] if lines else None
        if recipe in SHIP_RECIPES and first is not None:
            title = ship_title(rng, first.name)
        elif recipe == R_SKIN and first is not None and first.product_id and rng.random() < 0.3:
            # The classic scam: a SKIN titled as if it were the hull.
            title = TYPES[first.product_id].name
        elif recipe == R_JUNK:
            title = _ch(rng, ("", "", "Loot", "Moving out sale", "stuff", "Hangar clear-out"))
        elif first is not None:
            title = item_title(rng, first.name, lines[0][1])
    elif ctype == T_COURIER:
        end_loc = _ch(rng, env.all_stations)
        reward = _round_price(rng.uniform(1e6, 60e6))
        collateral = _round_price(_ch(rng, (0.0, rng.uniform(1e7, 3e9))))
        days = _ch(rng, (1, 3, 3, 7, 7, 14))
        # Couriers cluster by hauler class: frigate, industrial, DST/blockade, freighter.
        lo, hi = _ch(
            rng, ((100, 12_000), (12_000, 62_500), (62_500, 360_000), (360_000, 1_100_000))
        )
        volume = round(rng.uniform(lo, hi), 2)
        dest_system = env.geo.systems[env.geo.stations[end_loc].system_id].name
        title = courier_title(rng, dest_system)
    else:  # loan
        price = _round_price(rng.uniform(1e6, 50e6))
        collateral = _round_price(rng.uniform(5e7, 1e9))
        volume = round(rng.uniform(10, 50_000), 2)
        title = _ch(rng, ("", "loan", "Loaner ship"))
    expires = issued + duration
    # orjson's buffer is over-allocated (~8 KiB); copying to an exact-size bytes
    # object keeps 100k bodies at their real size.
    body = bytes(
        memoryview(
            orjson.dumps(
                {
                    "buyout": buyout,
                    "collateral": collateral,
                    "contract_id": contract_id,
                    "date_expired": iso(expires),
                    "date_issued": iso(issued),
                    "days_to_complete": days,
                    "end_location_id": end_loc,
                    "for_corporation": for_corp,
                    "issuer_corporation_id": corp,
                    "issuer_id": issuer,
                    "price": price,
                    "reward": reward,
                    "start_location_id": start,
                    "title": title,
                    "type": ctype,
                    "volume": volume,
                }
            )
        )
    )
    return Contract(
        contract_id, region_id, ctype, issued, expires, issued + life, start, issuer,
        recipe, main, price, n_lines, tuple(lines) if recipe != R_JUNK else None, body,
    )  # fmt: skip


def contract_lines(seed: int, c: Contract) -> list[Line]:
    if c.type not in (T_EXCHANGE, T_AUCTION):
        return []
    if c.lines is not None:
        return list(c.lines)
    return generate_lines(random.Random(mix(seed, c.contract_id)), c.recipe, c.main_type,
                          c.n_lines)  # fmt: skip


def item_dicts(seed: int, c: Contract) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    base = c.contract_id * 2048
    for i, (type_id, qty, included, bp) in enumerate(contract_lines(seed, c)):
        item: dict[str, Any] = {
            "is_included": included,
            "quantity": qty,
            "record_id": RECORD_BASE + base + i,
            "type_id": type_id,
        }
        t = TYPES[type_id]
        if bp is not None:
            item["is_blueprint_copy"] = bp[0]
            item["material_efficiency"] = bp[1]
            item["runs"] = bp[3]
            item["time_efficiency"] = bp[2]
        if included and qty == 1 and t.category_id in (6, 9):
            # Singletons (assembled ships, blueprints) carry their own item id.
            item["item_id"] = ITEM_ID_BASE + base + i
        out.append(item)
    return out


@lru_cache(maxsize=4096)
def _items_pages_cached(seed: int, c: Contract) -> tuple[bytes, ...]:
    items = item_dicts(seed, c)
    if not items:
        return (b"[]",)
    return tuple(orjson.dumps(items[i : i + PAGE_SIZE]) for i in range(0, len(items), PAGE_SIZE))


def items_pages(seed: int, c: Contract) -> tuple[bytes, ...]:
    return _items_pages_cached(seed, c)


def bid_dicts(seed: int, c: Contract, now: float) -> list[dict[str, Any]]:
    if c.type != T_AUCTION:
        return []
    rng = random.Random(mix(seed, c.contract_id, 2))
    n = rng.choice((0, 0, 1, 1, 2, 3, 5, 8))
    span = max(c.ends - c.issued, 60)
    times = sorted(c.issued + rng.randint(30, span) for _ in range(n))
    amount = c.price
    out: list[dict[str, Any]] = []
    for k, t in enumerate(times):
        amount = round(amount * rng.uniform(1.01, 1.2), 2)
        if t > now:
            break
        out.append(
            {
                "amount": amount,
                "bid_id": 1_000_000 + ((c.contract_id - BASE_CONTRACT_ID) * 16 + k) % 2_000_000_000,
                "date_bid": iso(t),
            }
        )
    out.reverse()
    return out


def is_ship_contract(seed: int, c: Contract) -> bool:
    return any(ln[2] and TYPES[ln[0]].category_id == 6 for ln in contract_lines(seed, c))


class RegionState:
    __slots__ = (
        "cap", "id_offset", "live", "pages", "phase", "rate", "region_id", "target", "window",
    )  # fmt: skip

    def __init__(self, region_id: int, phase: int, target: int) -> None:
        self.region_id = region_id
        self.phase = phase
        self.target = target
        self.rate = target / (MEAN_LIFE / WINDOW)
        self.cap = int(self.rate * 1.5 + 4 * math.sqrt(self.rate) + 5) if target else 0
        self.id_offset = 0
        self.window = 0
        self.live: list[Contract] = []
        self.pages: dict[int, tuple[bytes, str]] = {}

    def snapshot_time(self, t0: int, window: int) -> int:
        return t0 - self.phase + window * WINDOW

    def window_at(self, t0: int, now: float) -> int:
        return math.floor((now - t0 + self.phase) / WINDOW)

    @property
    def page_count(self) -> int:
        return max(1, -(-len(self.live) // PAGE_SIZE))

    def page(self, number: int) -> tuple[bytes, str]:
        cached = self.pages.get(number)
        if cached is None:
            rows = self.live[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
            body = b"[" + b",".join(c.body for c in rows) + b"]"
            cached = (body, etag(body))
            self.pages[number] = cached
        return cached


def etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def region_targets(scale: str, seed: int, kinds: Mapping[int, str]) -> dict[int, int]:
    if scale in SCALES:
        return dict(SCALES[scale])
    rng = random.Random(mix(seed, 77))
    raw: dict[int, float] = {}
    for region_id, kind in kinds.items():
        if kind == "jove":
            continue
        if region_id in _UNIVERSE_NAMED:
            raw[region_id] = _UNIVERSE_NAMED[region_id]
        elif kind == "wormhole":
            raw[region_id] = rng.randint(5, 40)
        else:
            raw[region_id] = rng.choice((5, 12, 30, 80, 150, 300, 600, 900))
    # The Forge stays at its observed ~35,000; the rest share what is left of the target.
    forge = raw.pop(10000002)
    factor = (UNIVERSE_TARGET - forge) / sum(raw.values())
    out = {r: max(1, round(v * factor)) for r, v in raw.items()}
    out[10000002] = int(forge)
    return out


class Market:
    """Every region's listing over time, and the index of contracts by id."""

    def __init__(self, env: Env, scale: str, t0: int) -> None:
        self.env = env
        self.seed = env.seed
        self.t0 = t0
        kinds = {r.region_id: r.kind for r in env.geo.regions.values()}
        targets = region_targets(scale, env.seed, kinds)
        self.regions: dict[int, RegionState] = {}
        for region_id in sorted(env.geo.regions):
            phase = mix(env.seed, region_id, 3) % WINDOW
            target = targets.get(region_id, 0) if region_id in env.locations else 0
            self.regions[region_id] = RegionState(region_id, phase, target)
        offset = 0
        for rs in self.regions.values():
            rs.id_offset = offset
            offset += rs.cap
        self.block = max(offset, 1)
        self.index: dict[int, Contract] = {}
        self._ended: deque[tuple[int, int]] = deque()
        self.new_base = self._initial_population(scale)
        self._next_boundary = min(
            (rs.snapshot_time(t0, 1) for rs in self.regions.values()), default=t0 + WINDOW
        )

    def _initial_population(self, scale: str) -> int:
        pending: list[tuple[int, int, int, int, int]] = []  # issued, region, dur, life, order
        forced_slots: dict[tuple[int, int], tuple[str, int]] = {}
        for rs in self.regions.values():
            if not rs.target:
                continue
            rng = random.Random(mix(self.seed, rs.region_id, -1))
            snap = rs.snapshot_time(self.t0, 0)
            n = 0
            while n < rs.target:
                if scale == "tiny" and rs.region_id == 10000002 and n < len(_FORCED):
                    forced_slots[(rs.region_id, n)] = _FORCED[n]
                    pending.append((snap - 3600 * (n + 1), rs.region_id, 30 * DAY, 30 * DAY, n))
                    n += 1
                    continue
                # Length-biased sampling of the stationary population: duration drawn in
                # proportion to p*D, age uniform in [0, D), kept if it is still listed.
                duration = _DURATIONS[_pick_cum(rng, _BIASED_CUM)][0]
                life = min(duration, int(-math.log(1.0 - rng.random()) * _ACCEPT_MEAN) + 60)
                age = int(rng.random() * duration)
                if age < life:
                    pending.append((snap - age, rs.region_id, duration, life, n))
                    n += 1
        pending.sort()
        rng = random.Random(mix(self.seed, -2))
        for rank, (issued, region_id, duration, life, order) in enumerate(pending):
            # Gaps between ids stand for private contracts nobody can see.
            cid = BASE_CONTRACT_ID + rank * 3 + mix(self.seed, rank) % 3
            c = build_contract(
                self.env, rng, cid, region_id, issued, duration, life,
                forced_slots.get((region_id, order)),
            )  # fmt: skip
            self.regions[region_id].live.append(c)
            self.index[cid] = c
        for rs in self.regions.values():
            rs.live.sort(key=lambda c: c.contract_id)
        return BASE_CONTRACT_ID + 3 * len(pending) + 1000

    def _arrivals(self, rs: RegionState, window: int) -> list[Contract]:
        if not rs.target or window < 1:
            return []
        rng = random.Random(mix(self.seed, rs.region_id, window))
        n = min(_poisson(rng, rs.rate), rs.cap)
        start = rs.snapshot_time(self.t0, window - 1)
        base = self.new_base + (window - 1) * self.block + rs.id_offset
        lives = [(rng.randint(1, WINDOW), *sample_life(rng)) for _ in range(n)]
        return [
            build_contract(self.env, rng, base + k, rs.region_id, start + off, dur, life)
            for k, (off, dur, life) in enumerate(lives)
        ]

    def sync(self, now: float) -> None:
        """Bring every region to the window `now` falls in (time only moves forward)."""
        if now < self._next_boundary:
            return
        nxt = math.inf
        for rs in self.regions.values():
            w = rs.window_at(self.t0, now)
            if w > rs.window:
                self._advance(rs, w)
            nxt = min(nxt, rs.snapshot_time(self.t0, rs.window + 1))
        self._next_boundary = int(nxt)
        horizon = now - HISTORY_SECONDS
        while self._ended and self._ended[0][0] < horizon:
            _, cid = self._ended.popleft()
            c = self.index.get(cid)
            if c is not None and c.ends < horizon:
                del self.index[cid]

    def _advance(self, rs: RegionState, window: int) -> None:
        cutoff = rs.snapshot_time(self.t0, window)
        first = max(rs.window + 1, window - MAX_LIFE_WINDOWS)
        fresh: list[Contract] = []
        for w in range(first, window + 1):
            fresh.extend(self._arrivals(rs, w))
        keep: list[Contract] = []
        ended: list[Contract] = []
        for c in rs.live:
            (keep if c.ends > cutoff else ended).append(c)
        for c in fresh:
            self.index[c.contract_id] = c
            (keep if c.ends > cutoff else ended).append(c)
        ended.sort(key=lambda c: c.ends)
        for c in ended:
            self._ended.append((c.ends, c.contract_id))
        keep.sort(key=lambda c: c.contract_id)
        rs.live = keep
        rs.window = window
        rs.pages = {}

    def live_count(self) -> int:
        return sum(len(rs.live) for rs in self.regions.values())
