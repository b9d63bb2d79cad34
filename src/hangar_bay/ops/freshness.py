"""Freshness of ingested data, summarised for ``/ready``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from hangar_bay.core.database import Database
from hangar_bay.models import RegionStatus, as_utc, utcnow

# A region is stale when its last complete sweep is older than a few ESI cache windows.
STALE_AFTER = dt.timedelta(hours=2)


async def freshness_report(database: Database) -> dict[str, Any]:
    async with database.sessionmaker() as session:
        rows = (
            await session.execute(select(RegionStatus.region_id, RegionStatus.last_complete_at))
        ).all()
        failed = await session.scalar(
            select(func.count()).where(RegionStatus.last_outcome.in_(("failed", "partial")))
        )
    now = utcnow()
    completes = [as_utc(at) for _, at in rows if at is not None]
    stale = [rid for rid, at in rows if at is None or now - as_utc(at) > STALE_AFTER]
    return {
        "regions_tracked": len(rows),
        "regions_stale": len(stale),
        "regions_last_sweep_failed": failed or 0,
        "oldest_complete_sweep": min(completes).isoformat() if completes else None,
        "newest_complete_sweep": max(completes).isoformat() if completes else None,
    }
