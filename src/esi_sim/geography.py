"""Regions, constellations, systems, NPC stations and player structures.

Region ids and names, the trade hubs and their stations are EVE facts. Everything else
(constellation and system names, most ids, positions) is generated from the seed with
realistic ranges: systems 30,000,001+, wormhole systems 31,000,001+, constellations
20,000,001+, NPC stations 60,000,000-69,999,999, structures 1,020,000,000,000+.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

SpaceKind = Literal["high", "low", "null", "jove", "pochven", "wormhole"]

# (region_id, name, kind). "high" regions are mostly high-sec with low-sec edges; "low"
# regions are mostly low-sec; "null" includes NPC and sovereignty null-sec alike.
REGIONS: tuple[tuple[int, str, SpaceKind], ...] = (
    (10000001, "Derelik", "high"),
    (10000002, "The Forge", "high"),
    (10000003, "Vale of the Silent", "null"),
    (10000004, "UUA-F4", "jove"),
    (10000005, "Detorid", "null"),
    (10000006, "Wicked Creek", "null"),
    (10000007, "Cache", "null"),
    (10000008, "Scalding Pass", "null"),
    (10000009, "Insmother", "null"),
    (10000010, "Tribute", "null"),
    (10000011, "Great Wildlands", "null"),
    (10000012, "Curse", "null"),
    (10000013, "Malpais", "null"),
    (10000014, "Catch", "null"),
    (10000015, "Venal", "null"),
    (10000016, "Lonetrek", "high"),
    (10000017, "J7HZ-F", "jove"),
    (10000018, "The Spire", "null"),
    (10000019, "A821-A", "jove"),
    (10000020, "Tash-Murkon", "high"),
    (10000021, "Outer Passage", "null"),
    (10000022, "Stain", "null"),
    (10000023, "Pure Blind", "null"),
    (10000025, "Immensea", "null"),
    (10000027, "Etherium Reach", "null"),
    (10000028, "Molden Heath", "low"),
    (10000029, "Geminate", "null"),
    (10000030, "Heimatar", "high"),
    (10000031, "Impass", "null"),
    (10000032, "Sinq Laison", "high"),
    (10000033, "The Citadel", "high"),
    (10000034, "The Kalevala Expanse", "null"),
    (10000035, "Deklein", "null"),
    (10000036, "Devoid", "high"),
    (10000037, "Everyshore", "high"),
    (10000038, "The Bleak Lands", "high"),
    (10000039, "Esoteria", "null"),
    (10000040, "Oasa", "null"),
    (10000041, "Syndicate", "null"),
    (10000042, "Metropolis", "high"),
    (10000043, "Domain", "high"),
    (10000044, "Solitude", "low"),
    (10000045, "Tenal", "null"),
    (10000046, "Fade", "null"),
    (10000047, "Providence", "null"),
    (10000048, "Placid", "low"),
    (10000049, "Khanid", "low"),
    (10000050, "Querious", "null"),
    (10000051, "Cloud Ring", "null"),
    (10000052, "Kador", "high"),
    (10000053, "Cobalt Edge", "null"),
    (10000054, "Aridia", "low"),
    (10000055, "Branch", "null"),
    (10000056, "Feythabolis", "null"),
    (10000057, "Outer Ring", "null"),
    (10000058, "Fountain", "null"),
    (10000059, "Paragon Soul", "null"),
    (10000060, "Delve", "null"),
    (10000061, "Tenerifis", "null"),
    (10000062, "Omist", "null"),
    (10000063, "Period Basis", "null"),
    (10000064, "Essence", "high"),
    (10000065, "Kor-Azor", "high"),
    (10000066, "Perrigen Falls", "null"),
    (10000067, "Genesis", "high"),
    (10000068, "Verge Vendor", "high"),
    (10000069, "Black Rise", "low"),
    (10000070, "Pochven", "pochven"),
    (11000001, "A-R00001", "wormhole"),
    (11000002, "A-R00002", "wormhole"),
    (11000003, "A-R00003", "wormhole"),
    (11000004, "B-R00004", "wormhole"),
    (11000031, "G-R00031", "wormhole"),
)

REGION_IDS: frozenset[int] = frozenset(r[0] for r in REGIONS)


@dataclass(frozen=True, slots=True)
class Hub:
    system_id: int
    system_name: str
    security: float
    region_id: int
    station_id: int
    station_name: str
    constellation_id: int | None = None
    constellation_name: str | None = None


HUBS: tuple[Hub, ...] = (
    Hub(
        30000142,
        "Jita",
        0.9459131360054016,
        10000002,
        60003760,
        "Jita IV - Moon 4 - Caldari Navy Assembly Plant",
        20000020,
        "Kimotoro",
    ),
    Hub(
        30002187,
        "Amarr",
        1.0,
        10000043,
        60008494,
        "Amarr VIII (Oris) - Emperor Family Academy",
    ),
    Hub(
        30002659,
        "Dodixie",
        0.8725,
        10000032,
        60011866,
        "Dodixie IX - Moon 20 - Federation Navy Assembly Plant",
    ),
    Hub(30002510, "Rens", 0.8999, 10000030, 60004588, "Rens VI - Moon 8 - Brutor Tribe Treasury"),
    Hub(
        30002053,
        "Hek",
        0.5,
        10000042,
        60005686,
        "Hek VIII - Moon 12 - Boundless Creation Factory",
    ),
)

# Perimeter, next to Jita, hosts the biggest player trade structure of The Forge.
PERIMETER_SYSTEM_ID = 30000144
PERIMETER_STRUCTURE_ID = 1022734985679

_SYLLABLES = (
    "ka", "ri", "to", "ne", "sa", "mo", "ju", "ven", "dor", "ath", "el", "is", "ur", "on",
    "tal", "mir", "zo", "qu", "han", "bel", "cor", "ast", "ir", "vi", "les", "gar", "om",
)  # fmt: skip
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI")
_STATION_OWNERS = (
    "Caldari Navy Assembly Plant",
    "Federation Navy Logistic Support",
    "Republic Fleet Testing Facilities",
    "Amarr Navy Assembly Plant",
    "Sisters of EVE Bureau",
    "Ishukone Corporation Factory",
    "Quafe Company Warehouse",
    "CONCORD Bureau",
    "Guristas Logistic Support",
    "Serpentis Corporation Chemical Refinery",
)


@dataclass(slots=True)
class System:
    system_id: int
    name: str
    security: float
    constellation_id: int
    region_id: int
    position: tuple[float, float, float]
    stations: list[int] = field(default_factory=list)
    structures: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Constellation:
    constellation_id: int
    name: str
    region_id: int
    position: tuple[float, float, float]
    systems: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Station:
    station_id: int
    name: str
    system_id: int
    position: tuple[float, float, float]


@dataclass(slots=True)
class Region:
    region_id: int
    name: str
    kind: SpaceKind
    constellations: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Geography:
    regions: dict[int, Region]
    constellations: dict[int, Constellation]
    systems: dict[int, System]
    stations: dict[int, Station]
    # structure_id -> system_id; structures have no public name or details.
    structures: dict[int, int]


def _name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


def _null_name(rng: random.Random) -> str:
    chars = "ABCDEFGHJKLMNOPQRSTUVWXYZ0123456789"
    left = "".join(rng.choice(chars) for _ in range(rng.choice((2, 3, 4))))
    right = "".join(rng.choice(chars) for _ in range(rng.choice((1, 2, 4))))
    return f"{left}-{right}"


def _position(rng: random.Random) -> tuple[float, float, float]:
    return (rng.uniform(-5e17, 5e17), rng.uniform(-1e17, 1e17), rng.uniform(-5e17, 5e17))


def _security(rng: random.Random, kind: SpaceKind) -> float:
    if kind == "high":
        return rng.uniform(0.45, 1.0) if rng.random() < 0.8 else rng.uniform(0.05, 0.44)
    if kind == "low":
        return rng.uniform(0.05, 0.44) if rng.random() < 0.75 else rng.uniform(0.45, 0.7)
    if kind == "null":
        return rng.uniform(-1.0, -0.01) if rng.random() < 0.9 else 0.0
    return -1.0


def build_geography(seed: int) -> Geography:
    # The map is the same for every seed: a seed changes the market, not the stars, which
    # keeps location-based fixtures stable across seeds.
    del seed
    rng = random.Random(0x6E0)
    regions: dict[int, Region] = {}
    constellations: dict[int, Constellation] = {}
    systems: dict[int, System] = {}
    stations: dict[int, Station] = {}
    structures: dict[int, int] = {}
    hubs_by_region = {h.region_id: h for h in HUBS}
    reserved_systems = {h.system_id for h in HUBS} | {PERIMETER_SYSTEM_ID}
    reserved_stations = {h.station_id for h in HUBS}
    reserved_consts = {h.constellation_id for h in HUBS if h.constellation_id}
    next_const, next_sys, next_wh, next_station = 20000001, 30000001, 31000001, 60000004
    next_structure = 1_020_000_000_000 + 5_000_000

    def alloc(counter: int, reserved: set[int]) -> tuple[int, int]:
        while counter in reserved:
            counter += 1
        return counter, counter + 1

    for region_id, rname, kind in REGIONS:
        region = Region(region_id, rname, kind)
        regions[region_id] = region
        hub = hubs_by_region.get(region_id)
        n_const = 2 if kind == "jove" else rng.randint(4, 9) if kind != "wormhole" else 3
        for ci in range(n_const):
            if hub and ci == 0 and hub.constellation_id:
                const_id, cname = hub.constellation_id, hub.constellation_name or ""
            else:
                const_id, next_const = alloc(next_const, reserved_consts)
                cname = (
                    _name(rng, 2)
                    if kind not in ("wormhole",)
                    else f"{rname[0]}-C{const_id % 100000:05d}"
                )
            const = Constellation(const_id, cname, region_id, _position(rng))
            constellations[const_id] = const
            region.constellations.append(const_id)
            n_sys = rng.randint(4, 9)
            for si in range(n_sys):
                if hub and ci == 0 and si == 0:
                    sys_id, sname, sec = hub.system_id, hub.system_name, hub.security
                elif region_id == 10000002 and ci == 0 and si == 1:
                    sys_id, sname, sec = PERIMETER_SYSTEM_ID, "Perimeter", 0.9539
                elif kind == "wormhole":
                    sys_id, next_wh = next_wh, next_wh + 1
                    sname, sec = f"J{rng.randint(100000, 999999)}", -1.0
                else:
                    sys_id, next_sys = alloc(next_sys, reserved_systems)
                    sec = _security(rng, kind)
                    sname = _null_name(rng) if sec <= 0.0 else _name(rng, rng.choice((2, 3)))
                system = System(sys_id, sname, sec, const_id, region_id, _position(rng))
                systems[sys_id] = system
                const.systems.append(sys_id)
                if hub and hub.system_id == sys_id:
                    system.stations.append(hub.station_id)
                    stations[hub.station_id] = Station(
                        hub.station_id, hub.station_name, sys_id, _position(rng)
                    )
                n_st = _station_count(rng, kind, sec)
                for _ in range(n_st):
                    st_id, next_station = alloc(next_station, reserved_stations)
                    planet = rng.choice(_ROMAN)
                    label = f"{sname} {planet} - Moon {rng.randint(1, 20)} - " + rng.choice(
                        _STATION_OWNERS
                    )
                    stations[st_id] = Station(st_id, label, sys_id, _position(rng))
                    system.stations.append(st_id)
                n_struct = _structure_count(rng, kind)
                if sys_id == PERIMETER_SYSTEM_ID:
                    structures[PERIMETER_STRUCTURE_ID] = sys_id
                    system.structures.append(PERIMETER_STRUCTURE_ID)
                for _ in range(n_struct):
                    next_structure += rng.randint(1, 40_000)
                    structures[next_structure] = sys_id
                    system.structures.append(next_structure)
    return Geography(regions, constellations, systems, stations, structures)


def _station_count(rng: random.Random, kind: SpaceKind, sec: float) -> int:
    if kind in ("jove", "wormhole"):
        return 0
    if sec >= 0.45:
        return rng.choice((0, 1, 1, 2, 3))
    if sec > 0.0:
        return rng.choice((0, 0, 1, 2))
    return 1 if rng.random() < 0.12 else 0


def _structure_count(rng: random.Random, kind: SpaceKind) -> int:
    if kind == "jove":
        return 0
    if kind in ("null", "wormhole"):
        return rng.choice((0, 1, 1, 2))
    return rng.choice((0, 0, 0, 1))
