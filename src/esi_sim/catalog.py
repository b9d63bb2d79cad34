"""The item catalogue: categories, groups and types the simulated contracts trade.

Ids, names and groups are EVE facts written out by hand (kept small rather than risk a
wrong id). Volumes and prices are rough 2026 figures: good enough for value estimates and
sorting, not for trading. SKIN type ids are the one invented part (see docs/simulator.md):
no SKIN id was known with confidence, so they use a private range and follow the real
naming pattern "<Hull> <Line> SKIN".
"""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES: dict[int, str] = {
    3: "Station",
    4: "Material",
    6: "Ship",
    7: "Module",
    8: "Charge",
    9: "Blueprint",
    18: "Drone",
    91: "SKINs",
}

# group_id -> (name, category_id)
GROUPS: dict[int, tuple[str, int]] = {
    15: ("Station", 3),
    18: ("Mineral", 4),
    25: ("Frigate", 6),
    26: ("Cruiser", 6),
    27: ("Battleship", 6),
    28: ("Hauler", 6),
    29: ("Capsule", 6),
    358: ("Heavy Assault Cruiser", 6),
    419: ("Combat Battlecruiser", 6),
    420: ("Destroyer", 6),
    463: ("Mining Barge", 6),
    485: ("Dreadnought", 6),
    513: ("Freighter", 6),
    541: ("Interdictor", 6),
    543: ("Exhumer", 6),
    547: ("Carrier", 6),
    941: ("Industrial Command Ship", 6),
    963: ("Strategic Cruiser", 6),
    38: ("Shield Extender", 7),
    40: ("Shield Booster", 7),
    46: ("Propulsion Module", 7),
    52: ("Warp Scrambler", 7),
    54: ("Mining Laser", 7),
    55: ("Projectile Weapon", 7),
    59: ("Gyrostabilizer", 7),
    60: ("Damage Control", 7),
    62: ("Armor Repair Unit", 7),
    77: ("Shield Hardener", 7),
    205: ("Heat Sink", 7),
    285: ("CPU Enhancer", 7),
    302: ("Magnetic Field Stabilizer", 7),
    367: ("Ballistic Control system", 7),
    464: ("Strip Miner", 7),
    510: ("Missile Launcher Heavy", 7),
    645: ("Drone Damage Modules", 7),
    83: ("Projectile Ammo", 8),
    85: ("Hybrid Charge", 8),
    100: ("Combat Drone", 18),
    105: ("Frigate Blueprint", 9),
    107: ("Battleship Blueprint", 9),
    487: ("Destroyer Blueprint", 9),
    489: ("Battlecruiser Blueprint", 9),
    1950: ("Permanent SKIN", 91),
}

# Volumes by ship group: (assembled m3, packaged m3). Approximate, per class.
_SHIP_VOLUMES: dict[int, tuple[float, float]] = {
    25: (27_000.0, 2_500.0),
    26: (110_000.0, 10_000.0),
    27: (480_000.0, 50_000.0),
    28: (250_000.0, 20_000.0),
    29: (1_000.0, 500.0),
    358: (110_000.0, 10_000.0),
    419: (230_000.0, 15_000.0),
    420: (50_000.0, 5_000.0),
    463: (150_000.0, 3_750.0),
    485: (15_000_000.0, 1_300_000.0),
    513: (17_550_000.0, 1_000_000.0),
    541: (50_000.0, 5_000.0),
    543: (150_000.0, 3_750.0),
    547: (11_250_000.0, 1_300_000.0),
    941: (10_250_000.0, 500_000.0),
    963: (92_000.0, 5_000.0),
}

# (type_id, name, group_id, price in ISK)
_SHIPS: tuple[tuple[int, str, int, float], ...] = (
    (587, "Rifter", 25, 600_000),
    (603, "Merlin", 25, 500_000),
    (597, "Punisher", 25, 500_000),
    (593, "Tristan", 25, 600_000),
    (594, "Incursus", 25, 500_000),
    (608, "Atron", 25, 400_000),
    (605, "Heron", 25, 500_000),
    (29248, "Magnate", 25, 500_000),
    (607, "Imicus", 25, 450_000),
    (586, "Probe", 25, 450_000),
    (32880, "Venture", 25, 300_000),
    (33468, "Astero", 25, 80_000_000),
    (16240, "Catalyst", 420, 1_200_000),
    (16242, "Thrasher", 420, 1_300_000),
    (16238, "Cormorant", 420, 1_200_000),
    (626, "Vexor", 26, 12_000_000),
    (621, "Caracal", 26, 12_000_000),
    (627, "Thorax", 26, 11_000_000),
    (622, "Stabber", 26, 11_000_000),
    (629, "Rupture", 26, 11_000_000),
    (17715, "Gila", 26, 300_000_000),
    (33470, "Stratios", 26, 280_000_000),
    (24698, "Drake", 419, 55_000_000),
    (24702, "Hurricane", 419, 55_000_000),
    (24700, "Myrmidon", 419, 55_000_000),
    (24696, "Harbinger", 419, 55_000_000),
    (638, "Raven", 27, 230_000_000),
    (645, "Dominix", 27, 220_000_000),
    (641, "Megathron", 27, 220_000_000),
    (639, "Tempest", 27, 220_000_000),
    (642, "Apocalypse", 27, 220_000_000),
    (643, "Armageddon", 27, 220_000_000),
    (644, "Typhoon", 27, 220_000_000),
    (640, "Scorpion", 27, 200_000_000),
    (24688, "Rokh", 27, 230_000_000),
    (24692, "Abaddon", 27, 250_000_000),
    (24690, "Hyperion", 27, 240_000_000),
    (24694, "Maelstrom", 27, 240_000_000),
    (33472, "Nestor", 27, 800_000_000),
    (12005, "Ishtar", 358, 230_000_000),
    (11999, "Vagabond", 358, 220_000_000),
    (11993, "Cerberus", 358, 230_000_000),
    (12003, "Zealot", 358, 210_000_000),
    (22456, "Sabre", 541, 60_000_000),
    (17478, "Retriever", 463, 28_000_000),
    (17480, "Procurer", 463, 28_000_000),
    (17476, "Covetor", 463, 30_000_000),
    (22544, "Hulk", 543, 300_000_000),
    (648, "Badger", 28, 800_000),
    (649, "Tayra", 28, 1_500_000),
    (650, "Nereus", 28, 1_000_000),
    (657, "Iteron Mark V", 28, 3_000_000),
    (1944, "Bestower", 28, 1_500_000),
    (28606, "Orca", 941, 800_000_000),
    (20185, "Charon", 513, 1_500_000_000),
    (20187, "Obelisk", 513, 1_500_000_000),
    (20189, "Fenrir", 513, 1_400_000_000),
    (20183, "Providence", 513, 1_500_000_000),
    (23757, "Archon", 547, 1_500_000_000),
    (23911, "Thanatos", 547, 1_500_000_000),
    (23915, "Chimera", 547, 1_500_000_000),
    (24483, "Nidhoggur", 547, 1_500_000_000),
    (19722, "Naglfar", 485, 2_000_000_000),
    (19720, "Revelation", 485, 2_100_000_000),
    (19724, "Moros", 485, 2_000_000_000),
    (19726, "Phoenix", 485, 1_900_000_000),
    (29990, "Loki", 963, 400_000_000),
    (29984, "Tengu", 963, 400_000_000),
    (29986, "Legion", 963, 380_000_000),
    (29988, "Proteus", 963, 400_000_000),
)

# Ships that are never sold on their own (a capsule cannot be put into a contract).
UNTRADEABLE: frozenset[int] = frozenset({670})

# (type_id, name, group_id, volume m3, price)
_MODULES: tuple[tuple[int, str, int, float, float], ...] = (
    (2048, "Damage Control II", 60, 5.0, 1_000_000),
    (519, "Gyrostabilizer II", 59, 5.0, 1_000_000),
    (438, "1MN Afterburner II", 46, 5.0, 500_000),
    (12058, "10MN Afterburner II", 46, 10.0, 1_500_000),
    (448, "Warp Scrambler II", 52, 5.0, 1_000_000),
    (3244, "Warp Disruptor II", 52, 5.0, 1_500_000),
    (2889, "200mm AutoCannon II", 55, 5.0, 1_200_000),
    (2913, "425mm AutoCannon II", 55, 10.0, 2_500_000),
    (22291, "Ballistic Control System II", 367, 5.0, 1_000_000),
    (10190, "Magnetic Field Stabilizer II", 302, 5.0, 1_200_000),
    (4405, "Drone Damage Amplifier II", 645, 5.0, 1_500_000),
    (3530, "Medium Armor Repairer II", 62, 10.0, 1_200_000),
    (2364, "Heat Sink II", 205, 5.0, 1_000_000),
    (3841, "Large Shield Extender II", 38, 15.0, 3_000_000),
    (3831, "Medium Shield Extender II", 38, 10.0, 1_000_000),
    (2281, "Multispectrum Shield Hardener II", 77, 5.0, 1_500_000),
    (2410, "Heavy Missile Launcher II", 510, 10.0, 2_000_000),
    (10850, "Medium Shield Booster II", 40, 10.0, 1_200_000),
    (10858, "Large Shield Booster II", 40, 25.0, 3_000_000),
    (3888, "Co-Processor II", 285, 5.0, 2_500_000),
    (482, "Miner II", 54, 5.0, 600_000),
    (17482, "Strip Miner I", 464, 25.0, 500_000),
)

_CHARGES: tuple[tuple[int, str, int, float, float], ...] = (
    (238, "Antimatter Charge L", 85, 0.05, 200),
    (23025, "Caldari Navy Antimatter Charge M", 85, 0.0125, 300),
    (21894, "Republic Fleet EMP L", 83, 0.05, 700),
)

_DRONES: tuple[tuple[int, str, int, float, float], ...] = (
    (2454, "Hobgoblin I", 100, 5.0, 15_000),
    (2456, "Hobgoblin II", 100, 5.0, 700_000),
    (2185, "Hammerhead II", 100, 10.0, 1_300_000),
    (2488, "Warrior II", 100, 5.0, 500_000),
    (2446, "Ogre II", 100, 25.0, 3_000_000),
)

_MINERALS: tuple[tuple[int, str, int, float, float], ...] = (
    (34, "Tritanium", 18, 0.01, 4),
    (35, "Pyerite", 18, 0.01, 10),
    (36, "Mexallon", 18, 0.01, 60),
    (37, "Isogen", 18, 0.01, 120),
    (38, "Nocxium", 18, 0.01, 700),
    (39, "Zydrine", 18, 0.01, 900),
    (40, "Megacyte", 18, 0.01, 2_500),
    (11399, "Morphite", 18, 0.01, 9_000),
)

# (blueprint type_id, product type_id, blueprint group_id)
_BLUEPRINTS: tuple[tuple[int, int, int], ...] = (
    (691, 587, 105),
    (32881, 32880, 105),
    (16241, 16240, 487),
    (16243, 16242, 487),
    (16239, 16238, 487),
    (24699, 24698, 489),
    (24703, 24702, 489),
    (24701, 24700, 489),
    (24697, 24696, 489),
    (24689, 24688, 107),
    (24693, 24692, 107),
    (24691, 24690, 107),
    (24695, 24694, 107),
)

STATION_TYPE_ID = 1529

_SKIN_LINES = ("Blue Tiger", "Wiyrkomi", "Valklear Glory", "Inner Zone Shipping", "Sarum")
_SKIN_HULLS = (587, 24698, 638, 641, 29984, 11999, 17715, 20185, 24702, 626)
# Invented ids (no SKIN id is known here with confidence); see module docstring.
_SKIN_BASE_ID = 77_000


@dataclass(frozen=True, slots=True)
class ItemType:
    type_id: int
    name: str
    group_id: int
    category_id: int
    volume: float
    packaged_volume: float
    price: float
    # For blueprints: the type it builds. For SKINs: the hull it paints.
    product_id: int | None = None


def _build() -> dict[int, ItemType]:
    types: dict[int, ItemType] = {}

    def add(t: ItemType) -> None:
        if t.type_id in types:
            raise ValueError(f"duplicate type id {t.type_id}")
        types[t.type_id] = t

    for tid, name, gid, price in _SHIPS:
        vol, pkg = _SHIP_VOLUMES[gid]
        add(ItemType(tid, name, gid, 6, vol, pkg, float(price)))
    add(ItemType(670, "Capsule", 29, 6, *_SHIP_VOLUMES[29], 10_000.0))
    for rows in (_MODULES, _CHARGES, _DRONES, _MINERALS):
        for tid, name, gid, vol, price in rows:
            add(ItemType(tid, name, gid, GROUPS[gid][1], vol, vol, float(price)))
    for bp_id, product, gid in _BLUEPRINTS:
        prod = types[product]
        # A blueprint original costs a few times less than its hull on the market.
        add(
            ItemType(bp_id, f"{prod.name} Blueprint", gid, 9, 0.01, 0.01, prod.price * 0.4, product)
        )
    n = 0
    for hull in _SKIN_HULLS:
        for line in _SKIN_LINES:
            prod = types[hull]
            add(
                ItemType(
                    _SKIN_BASE_ID + n,
                    f"{prod.name} {line} SKIN",
                    1950,
                    91,
                    0.01,
                    0.01,
                    5_000_000.0 + (n % 7) * 4_000_000.0,
                    hull,
                )
            )
            n += 1
    add(ItemType(STATION_TYPE_ID, "Caldari Administrative Station", 15, 3, 0.0, 0.0, 0.0))
    return types


TYPES: dict[int, ItemType] = _build()

SHIPS: tuple[ItemType, ...] = tuple(
    t for t in TYPES.values() if t.category_id == 6 and t.type_id not in UNTRADEABLE
)
MODULES: tuple[ItemType, ...] = tuple(t for t in TYPES.values() if t.category_id == 7)
CHARGES: tuple[ItemType, ...] = tuple(t for t in TYPES.values() if t.category_id == 8)
DRONES: tuple[ItemType, ...] = tuple(t for t in TYPES.values() if t.category_id == 18)
MINERALS: tuple[ItemType, ...] = tuple(t for t in TYPES.values() if t.category_id == 4)
BLUEPRINTS: tuple[ItemType, ...] = tuple(t for t in TYPES.values() if t.category_id == 9)
SKINS: tuple[ItemType, ...] = tuple(t for t in TYPES.values() if t.category_id == 91)

# Cheap hulls dominate what players sell; capitals are rare. Weights per ship group.
_GROUP_WEIGHT: dict[int, float] = {
    25: 6.0,
    420: 4.0,
    26: 5.0,
    419: 4.0,
    27: 3.0,
    358: 1.5,
    541: 1.0,
    963: 1.0,
    463: 1.5,
    543: 0.8,
    28: 2.0,
    941: 0.3,
    513: 0.4,
    547: 0.3,
    485: 0.3,
}


def _ship_weights() -> list[float]:
    per_group: dict[int, int] = {}
    for t in SHIPS:
        per_group[t.group_id] = per_group.get(t.group_id, 0) + 1
    return [_GROUP_WEIGHT.get(t.group_id, 1.0) / per_group[t.group_id] for t in SHIPS]


SHIP_WEIGHTS: list[float] = _ship_weights()


def group_types(group_id: int) -> list[int]:
    return sorted(t.type_id for t in TYPES.values() if t.group_id == group_id)


def category_groups(category_id: int) -> list[int]:
    return sorted(gid for gid, (_, cat) in GROUPS.items() if cat == category_id)
