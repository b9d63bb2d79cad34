"""``GET /api/v1/regions``: every region with the freshness of its data."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from hangar_bay.core.openapi import EDGE_RESPONSES
from hangar_bay.core.state import SessionDep
from hangar_bay.models import Region, RegionStatus, as_utc, utcnow
from hangar_bay.ops.freshness import STALE_AFTER

router = APIRouter(prefix="/api/v1", tags=["regions"], responses=EDGE_RESPONSES)


class RegionFreshness(BaseModel):
    region_id: int
    name: str | None
    last_complete_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_outcome: str | None
    next_due_at: dt.datetime | None
    contracts_live: int
    ship_contracts_live: int
    items_total: int
    # No complete sweep within the staleness window (or never).
    stale: bool


class RegionList(BaseModel):
    regions: list[RegionFreshness]


@router.get(
    "/regions",
    response_model=RegionList,
    summary="Regions and the freshness of their contract data",
)
async def list_regions(session: SessionDep) -> RegionList:
    result = await session.execute(select(Region.region_id, Region.name))
    names: dict[int, str] = {row.region_id: row.name for row in result}
    statuses = {s.region_id: s for s in (await session.execute(select(RegionStatus))).scalars()}
    now = utcnow()
    out: list[RegionFreshness] = []
    for region_id in sorted(names.keys() | statuses.keys()):
        status = statuses.get(region_id)
        complete = as_utc(status.last_complete_at) if status else None
        out.append(
            RegionFreshness(
                region_id=region_id,
                name=names.get(region_id),
                last_complete_at=complete,
                last_attempt_at=as_utc(status.last_attempt_at) if status else None,
                last_outcome=status.last_outcome if status else None,
                next_due_at=as_utc(status.next_due_at) if status else None,
                contracts_live=status.contracts_live if status else 0,
                ship_contracts_live=status.ship_contracts_live if status else 0,
                items_total=status.items_total if status else 0,
                stale=complete is None or now - complete > STALE_AFTER,
            )
        )
    return RegionList(regions=out)
