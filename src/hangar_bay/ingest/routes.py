"""Jumps between a courier contract's start and destination systems.

ESI answers ``GET /route/{origin}/{destination}/`` with the systems of the shortest
route; its length minus one is the jump count a hauler reads. Routes hardly ever change,
so each system pair is asked once and kept in ``routes`` (``jumps`` null where ESI knows
no route, J-space). Filled after each region sweep (``Ingestor.sweep_region``), for at
most :data:`PAIRS_PER_PASS` new pairs, so a first sweep of a universe fills them over a few
passes instead of holding a sweep up; never on the request path. A contract at a player
structure has no known system: its jumps stay unknown.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, select

from hangar_bay.contracts.query import WORMHOLE_SYSTEMS
from hangar_bay.core.database import Database
from hangar_bay.core.logging import get_logger
from hangar_bay.esi.client import EsiClient
from hangar_bay.esi.errors import EsiError, PermanentEsiError
from hangar_bay.ingest.sweep import map_bounded
from hangar_bay.ingest.writes import upsert
from hangar_bay.models import Contract, Route, utcnow

log = get_logger(__name__)

PAIRS_PER_PASS = 200
CONCURRENCY = 8
_UNRESOLVED = object()


def route_url(origin: int, destination: int) -> str:
    return f"/route/{origin}/{destination}/"


async def missing_pairs(
    database: Database, *, region_id: int | None, now: dt.datetime, limit: int
) -> list[tuple[int, int]]:
    """(origin, destination) system pairs of live couriers with no stored route."""
    stmt = (
        select(Contract.start_system_id, Contract.end_system_id)
        .outerjoin(
            Route,
            and_(
                Route.origin_system_id == Contract.start_system_id,
                Route.destination_system_id == Contract.end_system_id,
            ),
        )
        .where(
            Contract.type == "courier",
            Contract.ended_at.is_(None),
            Contract.date_expired > now,
            Contract.start_system_id.is_not(None),
            Contract.end_system_id.is_not(None),
            Route.origin_system_id.is_(None),
        )
        .distinct()
        .limit(limit)
    )
    if region_id is not None:
        stmt = stmt.where(Contract.region_id == region_id)
    async with database.sessionmaker() as session:
        rows = await session.execute(stmt)
        return [(o, d) for o, d in rows if o is not None and d is not None]


def _in_wormhole_space(system_id: int) -> bool:
    return WORMHOLE_SYSTEMS[0] <= system_id < WORMHOLE_SYSTEMS[1]


async def _jumps(esi: EsiClient, origin: int, destination: int) -> Any:
    if origin == destination:
        return 0
    if _in_wormhole_space(origin) or _in_wormhole_space(destination):
        # No stargate reaches J-space: ESI would answer 404, which costs the error budget.
        return None
    try:
        response = await esi.get(route_url(origin, destination), route="route")
    except PermanentEsiError as exc:
        if exc.status == 404:
            return None  # no route (J-space): known, and kept as unknown jumps
        log.warning("route_unresolved", origin=origin, destination=destination, error=str(exc))
        return _UNRESOLVED
    except EsiError as exc:
        log.warning("route_unresolved", origin=origin, destination=destination, error=str(exc))
        return _UNRESOLVED
    data = response.data
    if not isinstance(data, list) or not data:
        return _UNRESOLVED
    return len(data) - 1


async def resolve_routes(
    database: Database,
    esi: EsiClient,
    *,
    region_id: int | None = None,
    limit: int = PAIRS_PER_PASS,
) -> int:
    """Ask ESI for the routes live couriers (of ``region_id``, or all) still lack.

    Returns how many pairs were stored. Failures are logged and left for the next pass;
    never raises for ESI's sake.
    """
    # Live by ESI's clock, which is the one the contracts' expiry times are on.
    pairs = await missing_pairs(database, region_id=region_id, now=esi.server_now(), limit=limit)
    now = utcnow()
    if not pairs:
        return 0

    async def one(pair: tuple[int, int]) -> Any:
        return await _jumps(esi, *pair)

    answers = await map_bounded(one, pairs, CONCURRENCY)
    rows = [
        {
            "origin_system_id": origin,
            "destination_system_id": destination,
            "jumps": jumps,
            "fetched_at": now,
        }
        for (origin, destination), jumps in zip(pairs, answers, strict=True)
        if jumps is not _UNRESOLVED
    ]
    if rows:
        async with database.session() as session:
            await upsert(
                session,
                Route.__table__,  # type: ignore[arg-type]
                rows,
                key=["origin_system_id", "destination_system_id"],
                update=["jumps", "fetched_at"],
            )
    log.info("routes_resolved", region_id=region_id, stored=len(rows), asked=len(pairs))
    return len(rows)
