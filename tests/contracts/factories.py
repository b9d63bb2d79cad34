"""Explicit test data for browsing, written straight through the models.

The rows look exactly as ingestion leaves them, including the derived columns
(``is_ship_contract``, ``ship_count``, ``start_*``, ``search_text``, ``items_status``),
so the query service is tested against the shape it will meet in production. The ids,
names and security statuses are EVE's own.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.core.database import Database
from hangar_bay.models import (
    Contract,
    ContractBid,
    ContractItem,
    EntityName,
    ItemCategory,
    ItemGroup,
    ItemType,
    Region,
    RegionStatus,
    SolarSystem,
    Station,
)

# Regions
FORGE = 10000002
DOMAIN = 10000043
METROPOLIS = 10000042
CATCH = 10000014
WORMHOLE_REGION = 11000001

# Systems: (id, name, region, security)
JITA = 30000142
AMARR = 30002187
AMAMAKE = 30002537  # low-sec, Metropolis
HED_GP = 30001161  # null-sec, Catch
J_SPACE = 31000005  # a wormhole system

# Stations (NPC ids are 60,000,000-69,999,999) and one player structure.
JITA_4_4 = 60003760
AMARR_8 = 60008494
AMAMAKE_STATION = 60004588
HED_GP_STATION = 60013945
STRUCTURE = 1_035_466_617_946
# A structure whose system ingestion knows (J-space has no NPC stations).
J_SPACE_LOCATION = 1_035_000_000_001

# Categories, groups, types
SHIP, MODULE, BLUEPRINT = 6, 7, 9
FRIGATE, CRUISER, COMBAT_BC, BATTLESHIP = 25, 26, 419, 27
PROJECTILE, FRIGATE_BP, BC_BP = 55, 105, 489
RIFTER, VEXOR, DRAKE, RAVEN = 587, 626, 24698, 638
AUTOCANNON, RIFTER_BP, DRAKE_BP = 2873, 691, 24699

ISSUER = 2112625428
OTHER_ISSUER = 90000001
CORPORATION = 98000001

SYSTEMS = [
    (JITA, "Jita", FORGE, 0.9459),
    (AMARR, "Amarr", DOMAIN, 1.0),
    (AMAMAKE, "Amamake", METROPOLIS, 0.4),  # displays 0.4: low-sec
    (HED_GP, "HED-GP", CATCH, -0.38),
    (J_SPACE, "J100820", WORMHOLE_REGION, -1.0),
]
STATIONS = {
    JITA_4_4: ("Jita IV - Moon 4 - Caldari Navy Assembly Plant", JITA),
    AMARR_8: ("Amarr VIII (Oris) - Emperor Family Academy", AMARR),
    AMAMAKE_STATION: ("Amamake II - Boundless Creation Factory", AMAMAKE),
    HED_GP_STATION: ("HED-GP II - Serpentis Corporation Refinery", HED_GP),
}
TYPES = {
    RIFTER: ("Rifter", FRIGATE, SHIP),
    VEXOR: ("Vexor", CRUISER, SHIP),
    DRAKE: ("Drake", COMBAT_BC, SHIP),
    RAVEN: ("Raven", BATTLESHIP, SHIP),
    AUTOCANNON: ("200mm AutoCannon I", PROJECTILE, MODULE),
    RIFTER_BP: ("Rifter Blueprint", FRIGATE_BP, BLUEPRINT),
    DRAKE_BP: ("Drake Blueprint", BC_BP, BLUEPRINT),
}
GROUPS = {
    FRIGATE: ("Frigate", SHIP),
    CRUISER: ("Cruiser", SHIP),
    COMBAT_BC: ("Combat Battlecruiser", SHIP),
    BATTLESHIP: ("Battleship", SHIP),
    PROJECTILE: ("Projectile Weapon", MODULE),
    FRIGATE_BP: ("Frigate Blueprint", BLUEPRINT),
    BC_BP: ("Battlecruiser Blueprint", BLUEPRINT),
}
KNOWN_STRUCTURES = {J_SPACE_LOCATION: ("J100820 - Home Astrahus", J_SPACE)}
SYSTEM_BY_ID = {sid: (name, region, sec) for sid, name, region, sec in SYSTEMS}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


async def seed_universe(database: Database, *, freshness: bool = True) -> None:
    """Regions, systems, stations, the type hierarchy, names and freshness rows."""
    async with database.session() as session:
        session.add_all(
            [
                Region(region_id=FORGE, name="The Forge"),
                Region(region_id=DOMAIN, name="Domain"),
                Region(region_id=METROPOLIS, name="Metropolis"),
                Region(region_id=CATCH, name="Catch"),
                Region(region_id=WORMHOLE_REGION, name="A-R00001"),
            ]
        )
        session.add_all(
            SolarSystem(
                system_id=sid,
                name=name,
                region_id=region,
                security_status=sec,
                constellation_id=None,
            )
            for sid, name, region, sec in SYSTEMS
        )
        session.add_all(
            Station(station_id=sid, name=name, system_id=system)
            for sid, (name, system) in STATIONS.items()
        )
        session.add_all(
            [
                ItemCategory(category_id=SHIP, name="Ship"),
                ItemCategory(category_id=MODULE, name="Module"),
                ItemCategory(category_id=BLUEPRINT, name="Blueprint"),
            ]
        )
        session.add_all(
            ItemGroup(group_id=gid, name=name, category_id=cat)
            for gid, (name, cat) in GROUPS.items()
        )
        session.add_all(
            ItemType(type_id=tid, name=name, group_id=gid, category_id=cat)
            for tid, (name, gid, cat) in TYPES.items()
        )
        session.add_all(
            [
                EntityName(entity_id=ISSUER, name="Chribba", category="character"),
                EntityName(entity_id=OTHER_ISSUER, name="Other Pilot", category="character"),
                EntityName(
                    entity_id=CORPORATION, name="Otherworld Enterprises", category="corporation"
                ),
            ]
        )
        if freshness:
            session.add_all(
                RegionStatus(
                    region_id=region,
                    last_complete_at=now() - dt.timedelta(minutes=12),
                    last_outcome="complete",
                    contracts_live=3,
                    ship_contracts_live=2,
                )
                for region in (FORGE, DOMAIN)
            )


@dataclass(frozen=True)
class Item:
    type_id: int
    quantity: int = 1
    included: bool = True
    bpc: bool | None = None
    runs: int | None = None
    me: int | None = None
    te: int | None = None


_ids = itertools.count(190_000_001)


def next_id() -> int:
    return next(_ids)


def build_contract(
    *,
    contract_id: int | None = None,
    type: str = "item_exchange",  # ESI's name for it
    title: str = "",
    items: list[Item] | None = None,
    location: int = JITA_4_4,
    region_id: int | None = None,
    price: float | None = 10_000_000.0,
    volume: float | None = 1000.0,
    issued_ago: dt.timedelta = dt.timedelta(hours=1),
    expires_in: dt.timedelta = dt.timedelta(days=13),
    issuer_id: int = ISSUER,
    ended: bool = False,
    buyout: float | None = None,
    reward: float | None = None,
    collateral: float | None = None,
    end_location: int | None = None,
    bids: list[float] | None = None,
) -> Contract:
    """A contract with its items and every column ingestion derives."""
    items = items or []
    cid = contract_id or next_id()
    at = now()
    if location in STATIONS:
        location_name, system_id = STATIONS[location]
        _, system_region, security = SYSTEM_BY_ID[system_id]
        is_structure = False
    elif location in KNOWN_STRUCTURES:
        location_name, system_id = KNOWN_STRUCTURES[location]
        _, system_region, security = SYSTEM_BY_ID[system_id]
        is_structure = True
    else:
        # Player structures need auth to resolve: no name, system or security.
        location_name, system_id, security, system_region = None, None, None, FORGE
        is_structure = True
    # The destination as ingestion stores it: an NPC station with its system and security.
    end_name = end_system = end_security = None
    if end_location is not None and end_location in STATIONS:
        end_name, end_system = STATIONS[end_location]
        end_security = SYSTEM_BY_ID[end_system][2]
    offered_names = [TYPES[i.type_id][0] for i in items if i.included and i.type_id in TYPES]
    ships = [i for i in items if i.included and TYPES.get(i.type_id, ("", 0, 0))[2] == SHIP]
    haystack = " ".join([title, *offered_names, location_name or ""]).lower()
    contract = Contract(
        contract_id=cid,
        region_id=region_id or system_region,
        type=type,
        issuer_id=issuer_id,
        issuer_corporation_id=CORPORATION,
        for_corporation=False,
        date_issued=at - issued_ago,
        date_expired=at + expires_in,
        days_to_complete=7 if type == "courier" else None,
        price=price,
        buyout=buyout,
        collateral=collateral,
        reward=reward,
        volume=volume,
        title=title,
        start_location_id=location,
        end_location_id=end_location,
        end_system_id=end_system,
        end_security=end_security,
        end_location_name=end_name,
        end_is_structure=end_location is not None and end_location not in STATIONS,
        start_system_id=system_id,
        start_security=security,
        start_location_name=location_name,
        start_is_structure=is_structure,
        items_status="fetched" if type in {"item_exchange", "auction"} else "none",
        is_ship_contract=bool(ships),
        ship_count=sum(i.quantity for i in ships),
        search_text=haystack,
        first_seen_at=at - issued_ago,
        last_seen_at=at,
        ended_at=at if ended else None,
        highest_bid=max(bids) if bids else None,
        bid_count=len(bids or []),
    )
    contract.items = [
        ContractItem(
            record_id=cid * 100 + n,
            type_id=i.type_id,
            quantity=i.quantity,
            is_included=i.included,
            is_singleton=False,
            is_blueprint_copy=i.bpc,
            runs=i.runs,
            material_efficiency=i.me,
            time_efficiency=i.te,
        )
        for n, i in enumerate(items)
    ]
    contract.bids = [
        ContractBid(bid_id=cid * 100 + n, date_bid=at - dt.timedelta(minutes=n), amount=amount)
        for n, amount in enumerate(bids or [])
    ]
    return contract


async def add(database: Database, *contracts: Contract) -> None:
    async with database.session() as session:
        await _add(session, contracts)


async def _add(session: AsyncSession, contracts: tuple[Contract, ...]) -> None:
    session.add_all(contracts)
    await session.flush()


async def make(database: Database, **kwargs: object) -> Contract:
    contract = build_contract(**kwargs)  # type: ignore[arg-type]
    await add(database, contract)
    return contract
