"""One region sweep: listing → contracts → items and bids → names → freshness.

The parts live beside this module: ``listing.py`` (reading the listing, proving it whole,
writing and delisting contracts), ``items.py`` (items and bids, their outcome model and
re-checks), ``universe.py`` (types, locations, names); ``common.py`` holds what they share.

A sweep is safe to interrupt at any point and to repeat: every batch is one
transaction, page validators are stored in the same transaction as the rows they stand
for, and contracts whose items are not yet written stay ``pending`` until they are.

Outcomes: ``complete`` (the listing was whole, current and consistent, and every live
contract's items, locations and names are stored), ``partial`` (something could not be
fetched now, even after the in-pass retries; delisting happened only if the listing
itself was whole and current) and ``failed`` (no usable listing; nothing was delisted).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

# The browse caches are stamped with this generation; a sweep that changed something
# starts a new one.
from hangar_bay.contracts.caching import GENERATION_KEY, new_generation
from hangar_bay.core.cache import Cache
from hangar_bay.core.database import Database
from hangar_bay.core.errors import is_database_unavailable
from hangar_bay.core.logging import get_logger
from hangar_bay.core.metrics import Metrics
from hangar_bay.esi.client import EsiClient
from hangar_bay.esi.errors import PermanentEsiError, TransientEsiError
from hangar_bay.ingest.bids import bids_url
from hangar_bay.ingest.common import (
    ItemsDispatch,
    Previous,
    ProgressFn,
    SweepResult,
    map_bounded,
    noop_progress,
)
from hangar_bay.ingest.items import ItemsPart
from hangar_bay.ingest.listing import (
    CONTRACT_COLUMNS,
    ListingInconsistent,
    ListingPart,
    Page,
    listing_url,
)
from hangar_bay.ingest.routes import resolve_routes
from hangar_bay.ingest.universe import Incomplete, Universe
from hangar_bay.ingest.writes import upsert
from hangar_bay.models import Contract, ContractItem, RegionStatus, as_utc, utcnow
from hangar_bay.settings import Settings

log = get_logger(__name__)

__all__ = [
    "CONTRACT_COLUMNS",
    "GENERATION_KEY",
    "ItemsDispatch",
    "ListingInconsistent",
    "Page",
    "ProgressFn",
    "RegionSweeper",
    "SweepResult",
    "bids_url",
    "listing_url",
    "map_bounded",
]


class RegionSweeper(ListingPart, ItemsPart):
    def __init__(
        self,
        database: Database,
        cache: Cache,
        esi: EsiClient,
        universe: Universe,
        settings: Settings,
        metrics: Metrics | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.database = database
        self.cache = cache
        self.esi = esi
        self.universe = universe
        # Shared with the universe resolver: one write queue per process on SQLite.
        self.writer = universe.writer
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.items_dispatch = None
        # Told which types could not be resolved now (their contracts stay pending); the
        # worker queues a type-resolution task, so the next sweep finds them stored.
        self.types_missing = None

    async def _previous(self, region_id: int) -> Previous:
        async with self.database.sessionmaker() as session:
            status = await session.get(RegionStatus, region_id)
        if status is None:
            return Previous()
        return Previous(
            outcome=status.last_outcome,
            last_complete_at=as_utc(status.last_complete_at),
            last_attempt_at=as_utc(status.last_attempt_at),
            counts=(status.contracts_live, status.ship_contracts_live, status.items_total),
        )

    # --- names ---------------------------------------------------------------------------

    async def _names(self, region_id: int, result: SweepResult, everyone: bool) -> bool:
        """Names of the region's issuers (``everyone``) and of every id whose re-check
        is due, wherever it was seen: a refused id is asked again by the next sweep due
        after its time, also one that wrote nothing new."""
        ids: set[int] = set(await self.universe.due_name_checks())
        if everyone:
            async with self.database.sessionmaker() as session:
                rows = (
                    await session.execute(
                        select(Contract.issuer_id, Contract.issuer_corporation_id)
                        .where(Contract.region_id == region_id, Contract.ended_at.is_(None))
                        .distinct()
                    )
                ).all()
            ids.update(i for row in rows for i in row)
        if not ids:
            return True
        try:
            await self.universe.ensure_names(ids)
        except Incomplete as exc:
            result.problems.append(str(exc))
            return False
        return True

    # --- the whole sweep -----------------------------------------------------------------

    async def sweep(self, region_id: int, progress: ProgressFn = noop_progress) -> SweepResult:
        result = SweepResult(region_id)
        started = time.monotonic()
        sent_before = self.esi.stats.sent
        attempt_at = self.clock()
        pages: list[Page] = []
        previous = await self._previous(region_id)
        try:
            listing = await self._listing(region_id)
            pages = listing.pages
            result.pages = len(pages)
            progress(region_id, "listing", len(pages))
            locations_ok = True
            if not listing.older:
                locations_ok = await self._write_pages(region_id, pages, result)
            listed = {cid for p in pages for cid in p.ids}
            malformed = sum(p.malformed for p in pages)
            unchanged = all(p.rows is None for p in pages)
            if any(p.lossy for p in pages):
                listing.doubts.append("listing rows without a contract id")
            if not listing.doubts:
                await self._delist(region_id, listed, result, previous, unchanged)
            else:
                result.problems.extend(f"not delisted: {d}" for d in listing.doubts)
            items_ok = await self._items(
                region_id, listed, result, progress, settled=previous.complete
            )
            bids_ok = True
            if self.settings.ingest_refresh_bids:
                bids_ok = await self._refresh_bids(region_id, result, attempt_at)
            # No contract written since a complete sweep: every issuer is already named.
            names_ok = await self._names(
                region_id, result, bool(result.contracts_written) or not previous.complete
            )
            complete = (
                locations_ok
                and items_ok
                and bids_ok
                and names_ok
                and not malformed
                and not listing.doubts
            )
            if malformed:
                result.problems.append(f"{malformed} malformed listing rows skipped")
            result.outcome = "complete" if complete else "partial"
        except PermanentEsiError as exc:
            result.outcome = "failed"
            result.error = str(exc)
        except (TransientEsiError, ListingInconsistent) as exc:
            result.outcome = "failed" if not pages else "partial"
            result.error = str(exc)
        if result.outcome != "failed":
            result.routes_written = await self._routes(region_id)
        if result.problems and result.error is None:
            result.error = "; ".join(result.problems)[:1000]
        result.duration = time.monotonic() - started
        result.requests = self.esi.stats.sent - sent_before
        now = self.clock()
        if result.complete:
            # Every stored Expires is already raised to the poll floor (ESI_MIN_POLL).
            expiries = [p.state.expires for p in pages if p.state.expires is not None]
            result.next_due_at = (
                self.esi.to_local(min(expiries)) if expiries else now + dt.timedelta(minutes=30)
            )
            result.next_due_at = max(result.next_due_at, now + dt.timedelta(seconds=1))
        else:
            result.next_due_at = now + dt.timedelta(
                seconds=self.settings.ingest_retry_failed_seconds
            )
        await self._record(result, attempt_at, previous)
        log.info(
            "sweep_finished",
            region_id=region_id,
            outcome=result.outcome,
            pages=result.pages,
            contracts=result.contracts_live,
            written=result.contracts_written,
            delisted=result.delisted,
            items=result.items_written,
            hidden=result.items_unavailable,
            requests=result.requests,
            seconds=round(result.duration, 2),
            error=result.error,
        )
        return result

    async def _routes(self, region_id: int) -> int:
        """Jumps for the region's couriers that lack them (:mod:`.routes`), before the
        sweep decides on a new generation, so browse shows them with the sweep's other
        changes. Best effort: a failure is logged and left for the next sweep, except a
        lost database, which ends the sweep as it would at the next write anyway."""
        try:
            return await resolve_routes(self.database, self.esi, region_id=region_id)
        except Exception as exc:
            if is_database_unavailable(exc):
                raise
            log.exception("routes_failed", region_id=region_id)
            return 0

    async def _count(self, session: AsyncSession, region_id: int) -> tuple[int, int, int]:
        # Live as browse counts it: not ended and not past date_expired.
        live = and_(
            Contract.region_id == region_id,
            Contract.ended_at.is_(None),
            Contract.date_expired > self.esi.server_now(),
        )
        contracts = await session.scalar(select(func.count()).select_from(Contract).where(live))
        ships = await session.scalar(
            select(func.count())
            .select_from(Contract)
            .where(live, Contract.is_ship_contract.is_(True))
        )
        items = await session.scalar(
            select(func.count())
            .select_from(ContractItem)
            .join(Contract, Contract.contract_id == ContractItem.contract_id)
            .where(live)
        )
        return contracts or 0, ships or 0, items or 0

    async def _expired_since(self, region_id: int, since: dt.datetime | None) -> bool:
        """Whether a live contract of the region passed its date_expired since ``since``
        (then the counts carried over from the last sweep would be too high)."""
        if since is None:
            return True
        async with self.database.sessionmaker() as session:
            hit = await session.scalar(
                select(Contract.contract_id)
                .where(
                    Contract.region_id == region_id,
                    Contract.ended_at.is_(None),
                    Contract.date_expired > self.esi.to_server(since),
                    Contract.date_expired <= self.esi.server_now(),
                )
                .limit(1)
            )
        return hit is not None

    async def _record(
        self, result: SweepResult, attempt_at: dt.datetime, previous: Previous
    ) -> None:
        region_id = result.region_id
        unchanged = not (
            result.contracts_written
            or result.delisted
            or result.items_written
            or result.routes_written
        )
        if (
            unchanged
            and previous.complete
            and previous.counts is not None
            and not await self._expired_since(region_id, previous.last_attempt_at)
        ):
            # Nothing written since the last complete sweep counted: keep its counts
            # (counting a big region's items costs more than the rest of a no-change sweep).
            counts = previous.counts
        else:
            async with self.database.sessionmaker() as session:
                counts = await self._count(session, region_id)
        result.contracts_live, ships, items = counts
        values: dict[str, Any] = {
            "region_id": region_id,
            "last_attempt_at": attempt_at,
            "last_outcome": result.outcome,
            "last_error": result.error,
            "next_due_at": result.next_due_at,
            "contracts_live": result.contracts_live,
            "ship_contracts_live": ships,
            "items_total": items,
            "pages": result.pages,
            "last_duration_seconds": result.duration,
        }
        update_cols = [k for k in values if k != "region_id"]
        if result.complete:
            values["last_complete_at"] = self.clock()
            update_cols.append("last_complete_at")
        async with self.writer.session() as session:
            await upsert(
                session,
                RegionStatus.__table__,  # type: ignore[arg-type]
                [values],
                key=["region_id"],
                update=update_cols,
            )
        if self.metrics is not None:
            self.metrics.sweep_duration.labels(result.outcome).observe(result.duration)
        news = previous.outcome != result.outcome
        if result.outcome != "failed" and (news or not unchanged):
            # A new generation empties the browse caches and recounts the default views,
            # so a sweep that changed nothing (most of them) leaves both alone.
            await new_generation(self.database, self.cache)
