"""A region's listing: reading its pages, proving the read complete, writing the
contracts it holds and delisting the ones it no longer holds.

Only a listing that is provably whole (every page read, the page count known from ESI's
X-Pages or, when no page carries it, from reading on until a short, empty or missing page
ends the listing, the pages agreeing) and at least as new as the stored one may delist;
anything less leaves every stored contract as it is.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, case, delete, literal_column, or_, select, update

from hangar_bay.core.logging import get_logger
from hangar_bay.esi.errors import PermanentEsiError, TransientEsiError
from hangar_bay.ingest.common import UNAVAILABLE, Previous, SweepParts, SweepResult
from hangar_bay.ingest.schemas import ContractRow, parse_rows, raw_ids
from hangar_bay.ingest.universe import NPC_STATIONS, UNKNOWN, Incomplete, Location
from hangar_bay.ingest.writes import PageState, chunks, load_pages, save_pages, upsert
from hangar_bay.models import Contract

log = get_logger(__name__)

CONTRACT_COLUMNS = (
    "region_id",
    "type",
    "issuer_id",
    "issuer_corporation_id",
    "for_corporation",
    "date_issued",
    "date_expired",
    "days_to_complete",
    "price",
    "buyout",
    "collateral",
    "reward",
    "volume",
    "title",
    "start_location_id",
    "end_location_id",
    "start_system_id",
    "start_security",
    "start_location_name",
    "start_is_structure",
    "last_seen_at",
)
# A courier's destination, resolved as the start is. Apart from CONTRACT_COLUMNS, whose
# order bench/query.py follows when it seeds rows.
END_COLUMNS = ("end_system_id", "end_security", "end_location_name", "end_is_structure")

_contracts = cast(Table, Contract.__table__)


def listing_url(region_id: int, page: int) -> str:
    return f"/contracts/public/{region_id}/?page={page}"


# How many pages past the last one read a listing without X-Pages is probed for its end
# (ESI's largest regions have a few dozen pages of 1,000 contracts).
MAX_PROBED_PAGES = 200


class ListingInconsistent(Exception):
    """Pages of one listing disagree (Last-Modified or X-Pages): ESI's copy changed."""


@dataclass
class Page:
    number: int
    state: PageState
    pages: int | None
    # None: unchanged since stored (304, or not yet expired).
    rows: list[ContractRow] | None
    ids: list[int]
    # A row without a readable contract id: the listing cannot be trusted for delisting.
    lossy: bool = False
    malformed: int = 0


@dataclass
class Listing:
    pages: list[Page]
    # Why this listing may not delist (empty: it may).
    doubts: list[str] = field(default_factory=list)
    # Older than the stored copy (an out-of-date cache node answered): nothing of it is
    # written, so nothing ended is brought back.
    older: bool = False


def _resolved(location: Any, system: Any, structure: Any) -> Any:
    """SQL: this end of a contract needs no resolving (an NPC station not yet resolved
    is written again by the next listing that holds it)."""
    return (
        system.is_not(None)
        | structure.is_(True)
        | location.is_(None)
        | (location < NPC_STATIONS.start)
        | (location >= NPC_STATIONS.stop)
    )


class ListingPart(SweepParts):
    async def _page(
        self, region_id: int, number: int, stored: PageState | None, force: bool
    ) -> Page:
        page = await self._maybe_page(region_id, number, stored, force)
        if page is None:
            # The listing shrank under us (or X-Pages lied): read it again.
            raise ListingInconsistent(f"page {number} vanished")
        return page

    async def _maybe_page(
        self, region_id: int, number: int, stored: PageState | None, force: bool
    ) -> Page | None:
        """One listing page; None when ESI answers 404 for a page after the first."""
        url = listing_url(region_id, number)
        now = self.esi.server_now()
        usable = stored is not None and isinstance(stored.payload, dict)
        if usable and stored is not None and not force and stored.fresh(now):
            return Page(number, stored, stored.payload.get("pages"), None, stored.payload["ids"])
        try:
            response = await self.esi.get(
                f"/contracts/public/{region_id}/",
                route="contracts",
                page=number,
                etag=stored.etag if usable and stored is not None else None,
            )
        except PermanentEsiError as exc:
            if number > 1 and exc.status == 404:
                return None
            raise
        expires = self.floor_expires(response.expires)
        if response.status == 304 and usable and stored is not None:
            payload = stored.payload
            state = PageState(
                url,
                response.etag or stored.etag,
                response.last_modified or stored.last_modified,
                expires,
                payload,
            )
            # The stored copy's count stands for this same content.
            return Page(number, state, response.pages or payload.get("pages"), None, payload["ids"])
        if response.status != 200:
            raise TransientEsiError(f"unexpected {response.status} for {url}", url=url)
        rows, bad = parse_rows(ContractRow, response.data, what="contract")
        bad_ids = raw_ids(bad, "contract_id")
        ids = [r.contract_id for r in rows] + sorted(bad_ids)
        payload = {"pages": response.pages, "ids": ids}
        state = PageState(url, response.etag, response.last_modified, expires, payload)
        return Page(
            number,
            state,
            response.pages,
            rows,
            ids,
            lossy=len(bad_ids) < len(bad),
            malformed=len(bad),
        )

    async def _listing(self, region_id: int) -> Listing:
        force = False
        attempts = self.settings.ingest_sweep_attempts
        for attempt in range(attempts):
            try:
                return await self._listing_once(region_id, force)
            except ListingInconsistent as exc:
                log.info("sweep_restart", region_id=region_id, attempt=attempt + 1, reason=str(exc))
                # Stored copies may be part of the disagreement: ask ESI for every page.
                force = True
        raise ListingInconsistent(f"pages disagreed on {attempts} attempts")

    async def _read_pages(self, region_id: int, numbers: Sequence[int], force: bool) -> list[Page]:
        urls = [listing_url(region_id, n) for n in numbers]
        async with self.database.sessionmaker() as session:
            stored = await load_pages(session, urls)
        return list(
            await asyncio.gather(
                *(
                    self._page(region_id, n, stored.get(listing_url(region_id, n)), force)
                    for n in numbers
                )
            )
        )

    async def _listing_once(self, region_id: int, force: bool) -> Listing:
        first_url = listing_url(region_id, 1)
        async with self.database.sessionmaker() as session:
            stored_first = (await load_pages(session, [first_url])).get(first_url)
        first = await self._page(region_id, 1, stored_first, force)
        doubts: list[str] = []
        total = first.pages
        if total is None:
            # No X-Pages: not "one page". Read as many as the stored copy had; another
            # page's count may settle it, else probing on for the listing's end (below).
            stored_count = (
                stored_first.payload.get("pages")
                if stored_first is not None and isinstance(stored_first.payload, dict)
                else None
            )
            total = stored_count if isinstance(stored_count, int) and stored_count > 0 else 1
        pages = [first, *await self._read_pages(region_id, range(2, total + 1), force)]
        if first.pages is None:
            reported = {p.pages for p in pages[1:] if p.pages is not None}
            if len(reported) > 1:
                raise ListingInconsistent(f"X-Pages differs between pages: {sorted(reported)}")
            if reported:
                count = reported.pop()
                if count < total:
                    raise ListingInconsistent(f"X-Pages says {count}, {total} pages were read")
                pages += await self._read_pages(region_id, range(total + 1, count + 1), force)
                total = count
            else:
                probed = await self._probe(region_id, pages, force)
                if probed is None:
                    doubts.append("no X-Pages on the listing: page count unknown")
                else:
                    pages, total = probed
        modified = {p.state.last_modified for p in pages}
        if len(modified) > 1:
            raise ListingInconsistent("Last-Modified differs between pages")
        counts = {p.pages for p in pages if p.pages is not None}
        if counts and counts != {total}:
            raise ListingInconsistent(f"X-Pages changed during the sweep: {sorted(counts)}")
        listing = Listing(pages, doubts)
        current = next(iter(modified))
        if (
            stored_first is not None
            and stored_first.last_modified is not None
            and current is not None
            and current < stored_first.last_modified
        ):
            listing.older = True
            doubts.append("listing older than the stored one")
        return listing

    async def _probe(
        self, region_id: int, pages: list[Page], force: bool
    ) -> tuple[list[Page], int] | None:
        """No page read so far told the page count: read on, one page at a time, until a
        page tells it (X-Pages), or a page shorter than a full one, an empty page or a
        404 ends the listing. Returns every page and the count, or None when
        :data:`MAX_PROBED_PAGES` more pages did not settle it."""
        pages = list(pages)
        full = max(len(p.ids) for p in pages)
        if len(pages) > 1 and len(pages[-1].ids) < full:
            return pages, len(pages)
        for number in range(len(pages) + 1, len(pages) + 1 + MAX_PROBED_PAGES):
            url = listing_url(region_id, number)
            async with self.database.sessionmaker() as session:
                stored = (await load_pages(session, [url])).get(url)
            page = await self._maybe_page(region_id, number, stored, force)
            if page is None or not page.ids:
                return pages, number - 1
            if page.pages is not None:
                if page.pages < number:
                    raise ListingInconsistent(f"page {number} says X-Pages {page.pages}")
                rest = await self._read_pages(region_id, range(number + 1, page.pages + 1), force)
                return [*pages, page, *rest], page.pages
            pages.append(page)
            if len(page.ids) < full:
                return pages, number
            full = max(full, len(page.ids))
        return None

    # --- writing the listing ---------------------------------------------------------------

    def _contract_row(
        self,
        region_id: int,
        row: ContractRow,
        where: Location,
        end: Location,
        now: dt.datetime,
    ) -> dict[str, Any]:
        values = row.model_dump()
        values.update(
            region_id=region_id,
            start_system_id=where.system_id,
            start_security=where.security,
            start_location_name=where.name,
            start_is_structure=where.is_structure,
            end_system_id=end.system_id,
            end_security=end.security,
            end_location_name=end.name,
            end_is_structure=end.is_structure,
            items_status="pending" if row.has_items else "none",
            search_text=" ".join(x for x in (row.title, where.name or "") if x).lower(),
            first_seen_at=now,
            last_seen_at=now,
            ended_at=None,
        )
        return values

    async def _write_pages(
        self, region_id: int, pages: Sequence[Page], result: SweepResult
    ) -> bool:
        """Write changed pages (rows and validators together). False when some locations
        could not be resolved; those pages' validators are not stored, so the next sweep
        fetches them again in full."""
        changed = [p for p in pages if p.rows is not None]
        locations_ok = True
        location_ids = {
            loc
            for p in changed
            for r in p.rows or []
            for loc in (r.start_location_id, r.end_location_id)
            if loc
        }
        try:
            where = await self.universe.ensure_locations(location_ids)
        except Incomplete as exc:
            locations_ok = False
            result.problems.append(str(exc))
            where = self.universe.known_locations(location_ids)
        now = self.clock()
        # A public contract's listing row never changes, but one new contract shifts every
        # later page, so a changed page mostly holds rows we already have: write only
        # contracts not stored with both ends resolved.
        seen = await self._stored_listed(region_id) if changed else set()
        table = Contract.__table__
        # A contract hidden because its items are not available stays hidden (its
        # re-check restores it); any other listed contract is live.
        # (Literal values: an executemany cannot expand an IN list of parameters.)
        hidden = _contracts.c.items_status.in_([literal_column(f"'{s}'") for s in UNAVAILABLE])
        ended_at = case((hidden, _contracts.c.ended_at), else_=None)
        for page in changed:
            rows = []
            for row in page.rows or []:
                if row.contract_id in seen:
                    continue
                seen.add(row.contract_id)
                start = where.get(row.start_location_id or 0, UNKNOWN)
                end = where.get(row.end_location_id or 0, UNKNOWN)
                rows.append(self._contract_row(region_id, row, start, end, now))
            async with self.writer.session() as session:
                await upsert(
                    session,
                    table,  # type: ignore[arg-type]
                    rows,
                    key=["contract_id"],
                    update=(*CONTRACT_COLUMNS, *END_COLUMNS),
                    extra_set={"ended_at": ended_at},
                )
                if locations_ok:
                    await save_pages(session, [page.state], now)
            result.contracts_written += len(rows)
            if self.metrics is not None:
                self.metrics.contracts_ingested.inc(len(rows))
        unchanged = [p.state for p in pages if p.rows is None]
        if unchanged:
            async with self.writer.session() as session:
                await save_pages(session, unchanged, now)
        return locations_ok

    async def _stored_listed(self, region_id: int) -> set[int]:
        """Contracts stored as listed (live, or hidden awaiting a re-check) with both
        ends resolved: a listing that holds them has nothing new to say about them."""
        c = Contract
        async with self.database.sessionmaker() as session:
            result = await session.execute(
                select(c.contract_id).where(
                    c.region_id == region_id,
                    or_(c.ended_at.is_(None), c.items_status.in_(UNAVAILABLE)),
                    _resolved(c.start_location_id, c.start_system_id, c.start_is_structure),
                    _resolved(c.end_location_id, c.end_system_id, c.end_is_structure),
                )
            )
            return set(result.scalars())

    async def _delist(
        self,
        region_id: int,
        listed: set[int],
        result: SweepResult,
        previous: Previous,
        listing_unchanged: bool,
    ) -> None:
        """End the live contracts a whole, current listing no longer holds."""
        now = self.clock()
        gone: list[int] = []
        # The same listing as at the last complete sweep, which delisted everything not
        # in it: nothing can be missing now, so skip reading every live id of the region.
        if not (listing_unchanged and previous.complete):
            async with self.database.sessionmaker() as session:
                live = set(
                    (
                        await session.execute(
                            select(Contract.contract_id).where(
                                Contract.region_id == region_id, Contract.ended_at.is_(None)
                            )
                        )
                    ).scalars()
                )
            gone = sorted(live - listed)
        # Every live contract was in the region's previous complete listing, so that is
        # when a delisted one was last seen. Stamping each live row on every sweep instead
        # would rewrite every row (and index entry) of a region per sweep.
        last_listing = previous.last_complete_at
        for batch in chunks(gone, 1000):
            values: dict[str, Any] = {"ended_at": now}
            if last_listing is not None:
                values["last_seen_at"] = case(
                    (Contract.last_seen_at < last_listing, last_listing),
                    else_=Contract.last_seen_at,
                )
            async with self.writer.session() as session:
                await session.execute(
                    update(Contract)
                    .where(Contract.contract_id.in_(batch), Contract.ended_at.is_(None))
                    .values(**values)
                )
        result.delisted = len(gone)
        async with self.writer.session() as session:
            cutoff = now - dt.timedelta(days=self.settings.ingest_retention_days)
            await session.execute(
                delete(Contract).where(
                    Contract.region_id == region_id,
                    Contract.ended_at.is_not(None),
                    Contract.ended_at < cutoff,
                )
            )
