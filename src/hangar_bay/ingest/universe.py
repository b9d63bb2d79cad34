"""Static data resolved from ESI once and kept in tables: types → groups → categories,
stations → systems (security) → constellations (region), and entity names.

Each ``ensure_*`` reads what the database already holds, asks ESI only for the rest,
writes what it learned in its own short transaction (so concurrent sweeps share it) and
returns the lookups the caller needs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select

from hangar_bay.core.database import Database
from hangar_bay.core.logging import get_logger
from hangar_bay.esi.client import EsiClient
from hangar_bay.esi.errors import PermanentEsiError, TransientEsiError
from hangar_bay.ingest.names import NAMES_BATCH, Incomplete, NamesPart
from hangar_bay.ingest.schemas import (
    CategoryInfo,
    ConstellationInfo,
    GroupInfo,
    StationInfo,
    SystemInfo,
    TypeInfo,
    parse_one,
)
from hangar_bay.ingest.writes import Writer, chunks, upsert
from hangar_bay.models import (
    ItemCategory,
    ItemGroup,
    ItemType,
    SolarSystem,
    Station,
    utcnow,
)

log = get_logger(__name__)

# Incomplete and NAMES_BATCH moved to names.py; importers still find them here.
__all__ = ["NAMES_BATCH", "Incomplete", "NamesPart"]

SHIP_CATEGORY_ID = 6
NPC_STATIONS = range(60_000_000, 70_000_000)
SYSTEMS = range(30_000_000, 33_000_000)
# Player structures (and anything else this large) need auth and break /universe/names/.
STRUCTURE_MIN_ID = 100_000_000

T = TypeVar("T")
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class TypeFacts:
    name: str
    category_id: int

    @property
    def is_ship(self) -> bool:
        return self.category_id == SHIP_CATEGORY_ID


@dataclass(frozen=True, slots=True)
class Location:
    system_id: int | None
    security: float | None
    name: str | None
    is_structure: bool


STRUCTURE = Location(None, None, None, True)
UNKNOWN = Location(None, None, None, False)


async def _gather_map(
    keys: Iterable[K], fetch: Callable[[K], Awaitable[T | None]]
) -> tuple[dict[K, T], set[K], set[K]]:
    """Fetch each key concurrently: (found, permanently missing, transiently failed)."""
    keys = list(keys)
    results = await asyncio.gather(*(fetch(k) for k in keys), return_exceptions=True)
    found: dict[K, T] = {}
    missing: set[K] = set()
    failed: set[K] = set()
    for key, result in zip(keys, results, strict=True):
        if isinstance(result, PermanentEsiError):
            missing.add(key)
        elif isinstance(result, TransientEsiError):
            failed.add(key)
        elif isinstance(result, BaseException):
            raise result
        elif result is None:
            missing.add(key)
        else:
            found[key] = result
    return found, missing, failed


class Universe(NamesPart):
    """Types, locations and (through :class:`NamesPart`) entity names."""

    def __init__(
        self,
        database: Database,
        esi: EsiClient,
        *,
        recheck_seconds: float = 300.0,
        recheck_max_seconds: float = 3600.0,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.database = database
        self.writer = Writer(database)
        self.esi = esi
        self.recheck_seconds = recheck_seconds
        self.recheck_max_seconds = recheck_max_seconds
        self.clock = clock
        self._types: dict[int, TypeFacts] = {}
        self._locations: dict[int, Location] = {}
        # Type ids ESI said it does not know (static data: that answer is final).
        self._unknown_types: set[int] = set()
        self._lock = asyncio.Lock()

    async def _get_json(self, path: str, route: str) -> Any:
        response = await self.esi.get(path, route=route)
        return response.data

    # --- types ---------------------------------------------------------------------------

    async def ensure_types(self, type_ids: Iterable[int]) -> dict[int, TypeFacts]:
        """Facts for every known type among ``type_ids``. Raises :class:`Incomplete` if
        some could not be fetched now."""
        wanted = set(type_ids)
        missing = wanted - self._types.keys() - self._unknown_types
        if missing:
            async with self._lock:
                missing = wanted - self._types.keys() - self._unknown_types
                if missing:
                    await self._load_types(missing)
        return {t: self._types[t] for t in wanted if t in self._types}

    async def _load_types(self, type_ids: set[int]) -> None:
        async with self.database.sessionmaker() as session:
            for batch in chunks(sorted(type_ids), 1000):
                rows = await session.execute(
                    select(ItemType.type_id, ItemType.name, ItemType.category_id).where(
                        ItemType.type_id.in_(batch)
                    )
                )
                for type_id, name, category_id in rows:
                    self._types[type_id] = TypeFacts(name, category_id)
        todo = type_ids - self._types.keys()
        if not todo:
            return

        async def fetch_type(type_id: int) -> TypeInfo | None:
            info = parse_one(
                TypeInfo, await self._get_json(f"/universe/types/{type_id}/", "type"), what="type"
            )
            return info if info is not None and info.type_id == type_id else None

        types, gone, failed = await _gather_map(todo, fetch_type)
        self._unknown_types |= gone
        group_ids = {t.group_id for t in types.values()}
        groups = await self._groups(group_ids)
        categories = await self._categories({g.category_id for g in groups.values()})
        usable = {t: info for t, info in types.items() if info.group_id in groups}
        async with self.writer.session() as session:
            await upsert(
                session,
                ItemCategory.__table__,  # type: ignore[arg-type]
                [c.model_dump() for c in categories.values()],
                key=["category_id"],
                update=["name", "published"],
            )
            await upsert(
                session,
                ItemGroup.__table__,  # type: ignore[arg-type]
                [g.model_dump() for g in groups.values()],
                key=["group_id"],
                update=["name", "category_id", "published"],
            )
            await upsert(
                session,
                ItemType.__table__,  # type: ignore[arg-type]
                [
                    {**info.model_dump(), "category_id": groups[info.group_id].category_id}
                    for info in usable.values()
                ],
                key=["type_id"],
                update=["name", "group_id", "category_id", "published", "volume"],
            )
        for type_id, info in usable.items():
            self._types[type_id] = TypeFacts(info.name, groups[info.group_id].category_id)
        if failed or len(usable) < len(types):
            raise Incomplete(f"{len(failed) + len(types) - len(usable)} types unresolved")

    async def _groups(self, group_ids: set[int]) -> dict[int, GroupInfo]:
        found: dict[int, GroupInfo] = {}
        async with self.database.sessionmaker() as session:
            rows = (
                await session.execute(select(ItemGroup).where(ItemGroup.group_id.in_(group_ids)))
            ).scalars()
            for g in rows:
                found[g.group_id] = GroupInfo(
                    group_id=g.group_id,
                    name=g.name,
                    category_id=g.category_id,
                    published=g.published,
                )

        async def fetch(group_id: int) -> GroupInfo | None:
            data = await self._get_json(f"/universe/groups/{group_id}/", "group")
            return parse_one(GroupInfo, data, what="group")

        fetched, _, _ = await _gather_map(group_ids - found.keys(), fetch)
        return found | fetched

    async def _categories(self, category_ids: set[int]) -> dict[int, CategoryInfo]:
        found: dict[int, CategoryInfo] = {}
        async with self.database.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(ItemCategory).where(ItemCategory.category_id.in_(category_ids))
                )
            ).scalars()
            for c in rows:
                found[c.category_id] = CategoryInfo(
                    category_id=c.category_id, name=c.name, published=c.published
                )

        async def fetch(category_id: int) -> CategoryInfo | None:
            data = await self._get_json(f"/universe/categories/{category_id}/", "category")
            return parse_one(CategoryInfo, data, what="category")

        fetched, _, failed = await _gather_map(category_ids - found.keys(), fetch)
        if failed:
            raise Incomplete(f"{len(failed)} categories unresolved")
        return found | fetched

    def known_types(self, type_ids: Iterable[int]) -> dict[int, TypeFacts]:
        return {t: self._types[t] for t in type_ids if t in self._types}

    def is_unknown_type(self, type_id: int) -> bool:
        """ESI said this type does not exist: its items are kept, without facts."""
        return type_id in self._unknown_types

    def known_locations(self, location_ids: Iterable[int]) -> dict[int, Location]:
        return {loc: self._locations.get(loc, UNKNOWN) for loc in location_ids}

    # --- locations -----------------------------------------------------------------------

    async def ensure_locations(self, location_ids: Iterable[int]) -> dict[int, Location]:
        """Where each location is. Structures and unknown ids resolve to placeholders;
        raises :class:`Incomplete` when ESI could not answer for some NPC stations now."""
        wanted = set(location_ids)
        todo = wanted - self._locations.keys()
        if todo:
            async with self._lock:
                todo = wanted - self._locations.keys()
                if todo:
                    await self._load_locations(todo)
        return {loc: self._locations.get(loc, UNKNOWN) for loc in wanted}

    async def _load_locations(self, location_ids: set[int]) -> None:
        stations_wanted: set[int] = set()
        systems_wanted: set[int] = set()
        for loc in location_ids:
            if loc >= STRUCTURE_MIN_ID:
                self._locations[loc] = STRUCTURE
            elif loc in NPC_STATIONS:
                stations_wanted.add(loc)
            elif loc in SYSTEMS:
                systems_wanted.add(loc)
            else:
                self._locations[loc] = UNKNOWN
        stations: dict[int, tuple[str, int]] = {}
        systems: dict[int, tuple[str, float]] = {}
        async with self.database.sessionmaker() as session:
            if stations_wanted:
                for sid, name, system_id in await session.execute(
                    select(Station.station_id, Station.name, Station.system_id).where(
                        Station.station_id.in_(stations_wanted)
                    )
                ):
                    stations[sid] = (name, system_id)
        new_stations: list[StationInfo] = []
        failed: set[int] = set()
        if stations_wanted - stations.keys():

            async def fetch_station(station_id: int) -> StationInfo | None:
                data = await self._get_json(f"/universe/stations/{station_id}/", "station")
                return parse_one(StationInfo, data, what="station")

            found, gone, failed = await _gather_map(
                stations_wanted - stations.keys(), fetch_station
            )
            for sid in gone:
                self._locations[sid] = UNKNOWN
            new_stations = list(found.values())
            for info in new_stations:
                stations[info.station_id] = (info.name, info.system_id)
        systems_wanted |= {system_id for _, system_id in stations.values()}
        async with self.database.sessionmaker() as session:
            if systems_wanted:
                for sid, name, security in await session.execute(
                    select(
                        SolarSystem.system_id, SolarSystem.name, SolarSystem.security_status
                    ).where(SolarSystem.system_id.in_(systems_wanted))
                ):
                    systems[sid] = (name, security)
        new_systems: list[dict[str, Any]] = []
        todo_systems = systems_wanted - systems.keys()
        if todo_systems:

            async def fetch_system(system_id: int) -> SystemInfo | None:
                data = await self._get_json(f"/universe/systems/{system_id}/", "system")
                return parse_one(SystemInfo, data, what="system")

            found_systems, _, failed_systems = await _gather_map(todo_systems, fetch_system)
            constellations = await self._constellation_regions(
                {s.constellation_id for s in found_systems.values() if s.constellation_id}
            )
            for system in found_systems.values():
                systems[system.system_id] = (system.name, system.security_status)
                new_systems.append(
                    {
                        "system_id": system.system_id,
                        "name": system.name,
                        "constellation_id": system.constellation_id,
                        "region_id": constellations.get(system.constellation_id or 0),
                        "security_status": system.security_status,
                    }
                )
            failed |= failed_systems
        async with self.writer.session() as session:
            await upsert(
                session,
                SolarSystem.__table__,  # type: ignore[arg-type]
                new_systems,
                key=["system_id"],
                update=["name", "constellation_id", "region_id", "security_status"],
            )
            await upsert(
                session,
                Station.__table__,  # type: ignore[arg-type]
                [s.model_dump() for s in new_stations if s.system_id in systems],
                key=["station_id"],
                update=["name", "system_id"],
            )
        for sid, (name, system_id) in stations.items():
            if system_id in systems:
                self._locations[sid] = Location(system_id, systems[system_id][1], name, False)
        for sid in systems_wanted & location_ids:
            if sid in systems:
                name, security = systems[sid]
                self._locations[sid] = Location(sid, security, name, False)
        unresolved = {loc for loc in location_ids if loc not in self._locations}
        if failed or unresolved:
            raise Incomplete(f"{len(unresolved)} locations unresolved")

    async def _constellation_regions(self, constellation_ids: set[int]) -> dict[int, int]:
        async def fetch(constellation_id: int) -> ConstellationInfo | None:
            data = await self._get_json(
                f"/universe/constellations/{constellation_id}/", "constellation"
            )
            return parse_one(ConstellationInfo, data, what="constellation")

        found, _, _ = await _gather_map(constellation_ids, fetch)
        return {cid: info.region_id for cid, info in found.items()}
