"""One region sweep: listing → contracts → items and bids → names → freshness.

A sweep is safe to interrupt at any point and to repeat: every batch is one
transaction, page validators are stored in the same transaction as the rows they stand
for, and contracts whose items are not yet written stay ``pending`` until a later sweep
fetches them.

Outcomes: ``complete`` (the listing was complete and consistent, and every live
contract's items, locations and names are stored), ``partial`` (something could not be
fetched now; delisting happened only if the listing itself was complete) and
``failed`` (no usable listing; nothing was delisted).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import Table, and_, bindparam, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

# The browse caches are stamped with this generation; a sweep that changed something
# starts a new one.
from hangar_bay.contracts.caching import GENERATION_KEY, warm_counts
from hangar_bay.core.cache import Cache
from hangar_bay.core.database import Database
from hangar_bay.core.logging import get_logger
from hangar_bay.core.metrics import Metrics
from hangar_bay.esi.client import EsiClient
from hangar_bay.esi.errors import EsiError, PermanentEsiError, TransientEsiError
from hangar_bay.ingest.schemas import (
    BidRow,
    ContractRow,
    ItemDict,
    parse_items,
    parse_rows,
    raw_ids,
)
from hangar_bay.ingest.universe import (
    NPC_STATIONS,
    Incomplete,
    Location,
    TypeFacts,
    Universe,
)
from hangar_bay.ingest.writes import (
    BATCH_ROWS,
    PageState,
    chunks,
    insert_items,
    load_pages,
    save_pages,
    upsert,
)
from hangar_bay.models import (
    Contract,
    ContractBid,
    ContractItem,
    RegionStatus,
    as_utc,
    utcnow,
)
from hangar_bay.settings import Settings

log = get_logger(__name__)

T = TypeVar("T")
R = TypeVar("R")

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


_contracts = cast(Table, Contract.__table__)
# What a contract's items decide: one statement, executed once per contract of a batch.
_DERIVED_UPDATE = (
    update(_contracts)
    .where(_contracts.c.contract_id == bindparam("b_contract_id"))
    .values(
        items_status=bindparam("b_items_status"),
        is_ship_contract=bindparam("b_is_ship_contract"),
        ship_count=bindparam("b_ship_count"),
        search_text=bindparam("b_search_text"),
    )
)


async def map_bounded(fn: Callable[[T], Awaitable[R]], items: Sequence[T], width: int) -> list[R]:
    """``fn`` over ``items``, at most ``width`` at once, results in order.

    A few workers taking the next item, rather than a task per item queued on the ESI
    client's semaphore: each queued task cost a task, a future and one more wake-up of
    the event loop per request, a visible share of ingestion's CPU at one request per
    contract."""
    results: list[R] = []
    if not items:
        return results
    slots: list[R | None] = [None] * len(items)
    position = 0

    async def worker() -> None:
        nonlocal position
        while position < len(items):
            index = position
            position += 1
            slots[index] = await fn(items[index])

    await asyncio.gather(*(worker() for _ in range(min(max(width, 1), len(items)))))
    results.extend(slots)  # type: ignore[arg-type]  # every slot was filled
    return results


def _bid_rows(contract_id: int, bids: Sequence[BidRow] | None) -> list[dict[str, Any]]:
    return [{"contract_id": contract_id, **bid.model_dump()} for bid in bids or []]


async def _save_bids(
    session: AsyncSession,
    rows: Sequence[dict[str, Any]],
    states: Sequence[PageState],
    now: dt.datetime,
) -> None:
    """Bids and the validators of the pages they came from, in the caller's transaction."""
    await upsert(
        session,
        ContractBid.__table__,  # type: ignore[arg-type]
        rows,
        key=["bid_id"],
        update=["date_bid", "amount"],
    )
    await refresh_bid_summary(session, {row["contract_id"] for row in rows})
    await save_pages(session, states, now)


async def refresh_bid_summary(session: AsyncSession, contract_ids: Iterable[int]) -> None:
    """Recompute ``highest_bid`` and ``bid_count`` of these contracts from their bids."""
    ids = sorted(contract_ids)
    if not ids:
        return
    bids = ContractBid.__table__
    for batch in chunks(ids, BATCH_ROWS):
        await session.execute(
            update(_contracts)
            .where(_contracts.c.contract_id.in_(batch))
            .values(
                highest_bid=select(func.max(bids.c.amount))
                .where(bids.c.contract_id == _contracts.c.contract_id)
                .scalar_subquery(),
                bid_count=select(func.count())
                .select_from(bids)
                .where(bids.c.contract_id == _contracts.c.contract_id)
                .scalar_subquery(),
            )
        )


def listing_url(region_id: int, page: int) -> str:
    return f"/contracts/public/{region_id}/?page={page}"


def bids_url(contract_id: int) -> str:
    return f"/contracts/public/bids/{contract_id}/"


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
class SweepResult:
    region_id: int
    outcome: str = "failed"
    error: str | None = None
    pages: int = 0
    contracts_live: int = 0
    contracts_written: int = 0
    delisted: int = 0
    items_written: int = 0
    items_pending: int = 0
    requests: int = 0
    duration: float = 0.0
    next_due_at: dt.datetime | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.outcome == "complete"


@dataclass
class _ItemsOutcome:
    contract_id: int
    status: str  # fetched | gone | forbidden | failed
    items: list[ItemDict] = field(default_factory=list)
    bids: list[BidRow] | None = None
    bids_state: PageState | None = None


@dataclass(frozen=True)
class _Previous:
    """The region's last recorded sweep, read once as the current one starts (a region
    is never swept twice at once, so it still holds when the sweep records its own)."""

    outcome: str | None = None
    last_complete_at: dt.datetime | None = None
    # Live contracts, live ship contracts, items: as that sweep counted them.
    counts: tuple[int, int, int] | None = None

    @property
    def complete(self) -> bool:
        return self.outcome == "complete"


# Bids (None: unchanged since stored) and the validators to store.
BidsAnswer = tuple[list[BidRow] | None, PageState | None]
ProgressFn = Callable[[int, str, int], None]
# Runs one items batch somewhere (this process, or a worker): (written, left pending).
ItemsDispatch = Callable[[list[int]], Awaitable[tuple[int, int]]]


def _noop(_: int, __: str, ___: int) -> None:
    return None


class RegionSweeper:
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
        self.items_dispatch: ItemsDispatch | None = None
        # Told which types could not be resolved now (their contracts stay pending); the
        # worker queues a type-resolution task, so the next sweep finds them stored.
        self.types_missing: Callable[[list[int]], Awaitable[object]] | None = None

    # --- the listing ---------------------------------------------------------------------

    async def _page(
        self, region_id: int, number: int, stored: PageState | None, force: bool
    ) -> Page:
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
                # The listing shrank under us (or X-Pages lied): read it again.
                raise ListingInconsistent(f"page {number} vanished") from exc
            raise
        if response.status == 304 and usable and stored is not None:
            payload = stored.payload
            state = PageState(
                url,
                response.etag or stored.etag,
                response.last_modified or stored.last_modified,
                response.expires,
                payload,
            )
            return Page(number, state, response.pages or payload.get("pages"), None, payload["ids"])
        if response.status != 200:
            raise TransientEsiError(f"unexpected {response.status} for {url}", url=url)
        rows, bad = parse_rows(ContractRow, response.data, what="contract")
        bad_ids = raw_ids(bad, "contract_id")
        ids = [r.contract_id for r in rows] + sorted(bad_ids)
        payload = {"pages": response.pages, "ids": ids}
        state = PageState(url, response.etag, response.last_modified, response.expires, payload)
        return Page(
            number,
            state,
            response.pages,
            rows,
            ids,
            lossy=len(bad_ids) < len(bad),
            malformed=len(bad),
        )

    async def _listing(self, region_id: int) -> list[Page]:
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

    async def _listing_once(self, region_id: int, force: bool) -> list[Page]:
        first_url = listing_url(region_id, 1)
        async with self.database.sessionmaker() as session:
            stored = await load_pages(session, [first_url])
        first = await self._page(region_id, 1, stored.get(first_url), force)
        total = first.pages or 1
        urls = [listing_url(region_id, n) for n in range(2, total + 1)]
        async with self.database.sessionmaker() as session:
            stored = await load_pages(session, urls)
        rest = await asyncio.gather(
            *(
                self._page(region_id, n, stored.get(listing_url(region_id, n)), force)
                for n in range(2, total + 1)
            )
        )
        pages = [first, *rest]
        modified = {p.state.last_modified for p in pages}
        if len(modified) > 1:
            raise ListingInconsistent("Last-Modified differs between pages")
        counts = {p.pages for p in pages if p.pages is not None}
        if counts and counts != {total}:
            raise ListingInconsistent(f"X-Pages changed during the sweep: {sorted(counts)}")
        return pages

    # --- writing the listing ---------------------------------------------------------------

    def _contract_row(
        self, region_id: int, row: ContractRow, where: Location, now: dt.datetime
    ) -> dict[str, Any]:
        values = row.model_dump()
        values.update(
            region_id=region_id,
            start_system_id=where.system_id,
            start_security=where.security,
            start_location_name=where.name,
            start_is_structure=where.is_structure,
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
            r.start_location_id for p in changed for r in p.rows or [] if r.start_location_id
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
        # contracts not stored live with a resolved location.
        seen = await self._stored_live(region_id) if changed else set()
        table = Contract.__table__
        for page in changed:
            rows = []
            for row in page.rows or []:
                if row.contract_id in seen:
                    continue
                seen.add(row.contract_id)
                loc = where.get(row.start_location_id or 0, Location(None, None, None, False))
                rows.append(self._contract_row(region_id, row, loc, now))
            async with self.writer.session() as session:
                await upsert(
                    session,
                    table,  # type: ignore[arg-type]
                    rows,
                    key=["contract_id"],
                    update=CONTRACT_COLUMNS,
                    extra_set={"ended_at": None},
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

    async def _stored_live(self, region_id: int) -> set[int]:
        async with self.database.sessionmaker() as session:
            result = await session.execute(
                select(Contract.contract_id).where(
                    Contract.region_id == region_id,
                    Contract.ended_at.is_(None),
                    # An NPC station that could not be resolved last time: write it again.
                    (Contract.start_system_id.is_not(None))
                    | Contract.start_is_structure.is_(True)
                    | Contract.start_location_id.is_(None)
                    | (Contract.start_location_id < NPC_STATIONS.start)
                    | (Contract.start_location_id >= NPC_STATIONS.stop),
                )
            )
            return set(result.scalars())

    async def _previous(self, region_id: int) -> _Previous:
        async with self.database.sessionmaker() as session:
            status = await session.get(RegionStatus, region_id)
        if status is None:
            return _Previous()
        return _Previous(
            outcome=status.last_outcome,
            last_complete_at=as_utc(status.last_complete_at),
            counts=(status.contracts_live, status.ship_contracts_live, status.items_total),
        )

    async def _delist(
        self,
        region_id: int,
        listed: set[int],
        result: SweepResult,
        previous: _Previous,
        listing_unchanged: bool,
    ) -> None:
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

    # --- items and bids -----------------------------------------------------------------

    async def _fetch_paged(self, path: str, route: str) -> tuple[int, list[Any]]:
        first = await self.esi.get(path, route=route)
        if first.status == 204:
            return 204, []
        data = list(first.data) if isinstance(first.data, list) else [first.data]
        total = first.pages or 1
        if total > 1:
            more = await asyncio.gather(
                *(self.esi.get(path, route=route, page=n) for n in range(2, total + 1))
            )
            for response in more:
                if isinstance(response.data, list):
                    data.extend(response.data)
        return first.status, data

    async def _fetch_items(self, contract_id: int, is_auction: bool) -> _ItemsOutcome:
        try:
            status, data = await self._fetch_paged(
                f"/contracts/public/items/{contract_id}/", "items"
            )
        except PermanentEsiError as exc:
            return _ItemsOutcome(contract_id, "forbidden" if exc.status in (403, 404) else "failed")
        except TransientEsiError:
            return _ItemsOutcome(contract_id, "failed")
        if status == 204:
            return _ItemsOutcome(contract_id, "gone")
        rows, bad = parse_items(data)
        if bad:
            # Half a contract's items would misstate what it sells: retry next sweep.
            return _ItemsOutcome(contract_id, "failed")
        outcome = _ItemsOutcome(contract_id, "fetched", rows)
        if is_auction:
            try:
                outcome.bids, outcome.bids_state = await self._fetch_bids(contract_id, None)
            except EsiError:
                return _ItemsOutcome(contract_id, "failed")
        return outcome

    async def _fetch_bids(self, contract_id: int, stored: PageState | None) -> BidsAnswer:
        url = bids_url(contract_id)
        try:
            response = await self.esi.get(
                url, route="bids", etag=stored.etag if stored is not None else None
            )
        except PermanentEsiError:
            return [], None
        if response.status == 304:
            return None, PageState(
                url,
                response.etag or (stored.etag if stored else None),
                response.last_modified,
                response.expires,
                None,
            )
        if response.status == 204:
            return [], None
        data = response.data
        if (response.pages or 1) > 1:
            for n in range(2, (response.pages or 1) + 1):
                more = await self.esi.get(url, route="bids", page=n)
                if isinstance(more.data, list):
                    data = [*data, *more.data]
        rows, _ = parse_rows(BidRow, data, what="bid")
        return rows, PageState(url, response.etag, response.last_modified, response.expires, None)

    async def items_batch(self, contract_ids: Sequence[int]) -> tuple[int, int]:
        """Fetch and write the items of one batch of contracts: (items written, contracts
        left pending). Idempotent: contracts no longer pending or live are skipped."""
        async with self.database.sessionmaker() as session:
            batch = (
                await session.execute(
                    select(
                        Contract.contract_id,
                        Contract.type,
                        Contract.title,
                        Contract.start_location_name,
                    ).where(
                        Contract.contract_id.in_(list(contract_ids)),
                        Contract.ended_at.is_(None),
                        Contract.items_status == "pending",
                    )
                )
            ).all()
        if not batch:
            return 0, 0
        outcomes = await map_bounded(
            lambda row: self._fetch_items(row[0], row[1] == "auction"),
            batch,
            self.esi.max_concurrency,
        )
        type_ids = {i["type_id"] for o in outcomes for i in o.items}
        try:
            types = await self.universe.ensure_types(type_ids)
        except Incomplete as exc:
            log.info("types_incomplete", error=str(exc))
            types = self.universe.known_types(type_ids)
            missing = {
                t for t in type_ids if t not in types and not self.universe.is_unknown_type(t)
            }
            if missing and self.types_missing is not None:
                try:
                    await self.types_missing(sorted(missing))
                except Exception as queue_error:  # the next sweep retries them anyway
                    log.warning("types_not_queued", error=str(queue_error)[:200])
        return await self._write_items(batch, outcomes, types)

    async def _items(self, region_id: int, result: SweepResult, progress: ProgressFn) -> bool:
        async with self.database.sessionmaker() as session:
            pending = list(
                (
                    await session.execute(
                        select(Contract.contract_id)
                        .where(
                            Contract.region_id == region_id,
                            Contract.ended_at.is_(None),
                            Contract.items_status == "pending",
                        )
                        .order_by(Contract.contract_id)
                    )
                ).scalars()
            )
        run_batch = self.items_dispatch or self.items_batch
        # Two batches at a time locally, so one's writes overlap the other's requests;
        # more when batches are spread over workers.
        semaphore = asyncio.Semaphore(2 if self.items_dispatch is None else 16)

        async def one(batch: Sequence[int]) -> None:
            async with semaphore:
                written, left = await run_batch(list(batch))
            result.items_written += written
            result.items_pending += left
            progress(region_id, "items", len(batch))

        await asyncio.gather(*(one(b) for b in chunks(pending, self.settings.ingest_items_batch)))
        if result.items_pending:
            result.problems.append(f"{result.items_pending} contracts' items not fetched")
        return result.items_pending == 0

    async def _write_items(
        self,
        batch: Sequence[Any],
        outcomes: Sequence[_ItemsOutcome],
        types: dict[int, TypeFacts],
    ) -> tuple[int, int]:
        """Write one batch; returns (items written, contracts left pending)."""
        meta = {cid: (title, loc_name) for cid, _, title, loc_name in batch}
        item_rows: list[tuple[Any, ...]] = []
        bid_rows: list[dict[str, Any]] = []
        bid_states: list[PageState] = []
        updates: list[dict[str, Any]] = []
        left = 0
        for outcome in outcomes:
            cid = outcome.contract_id
            if outcome.status == "failed":
                left += 1
                continue
            if outcome.status != "fetched":
                updates.append({"contract_id": cid, "items_status": outcome.status})
                continue
            if any(
                i["type_id"] not in types and not self.universe.is_unknown_type(i["type_id"])
                for i in outcome.items
            ):
                # Without its types the ship flag could be wrong: keep it pending.
                left += 1
                continue
            ships = 0
            names: list[str] = []
            for item in outcome.items:
                facts = types.get(item["type_id"])
                item_rows.append(
                    (
                        cid,
                        item["record_id"],
                        item["type_id"],
                        item["quantity"],
                        item["is_included"],
                        item.get("is_singleton", False),
                        item.get("item_id"),
                        item.get("is_blueprint_copy"),
                        item.get("material_efficiency"),
                        item.get("time_efficiency"),
                        item.get("runs"),
                    )
                )
                if item["is_included"] and facts is not None:
                    names.append(facts.name)
                    if facts.is_ship:
                        ships += item["quantity"]
            title, loc_name = meta[cid]
            text = " ".join(x for x in (title, *names, loc_name or "") if x).lower()
            updates.append(
                {
                    "contract_id": cid,
                    "items_status": "fetched",
                    "is_ship_contract": ships > 0,
                    "ship_count": ships,
                    "search_text": text,
                }
            )
            bid_rows.extend(_bid_rows(cid, outcome.bids))
            if outcome.bids_state is not None:
                bid_states.append(outcome.bids_state)
        now = self.clock()
        async with self.writer.session() as session:
            await insert_items(session, item_rows)
            await _save_bids(session, bid_rows, bid_states, now)
            for status in ("fetched", "gone", "forbidden"):
                same = [u for u in updates if u["items_status"] == status]
                if not same:
                    continue
                if status == "fetched":
                    # Core executemany: the ORM's bulk update by primary key spent more
                    # CPU assembling parameters than the database spent on the rows.
                    await session.execute(
                        _DERIVED_UPDATE, [{f"b_{k}": v for k, v in u.items()} for u in same]
                    )
                else:
                    await session.execute(
                        update(Contract)
                        .where(Contract.contract_id.in_([u["contract_id"] for u in same]))
                        .values(items_status=status)
                    )
        if self.metrics is not None:
            self.metrics.items_ingested.inc(len(item_rows))
        return len(item_rows), left

    async def _refresh_bids(self, region_id: int, result: SweepResult) -> bool:
        async with self.database.sessionmaker() as session:
            auctions = list(
                (
                    await session.execute(
                        select(Contract.contract_id).where(
                            Contract.region_id == region_id,
                            Contract.ended_at.is_(None),
                            Contract.type == "auction",
                            Contract.items_status == "fetched",
                        )
                    )
                ).scalars()
            )
            states = await load_pages(session, [bids_url(c) for c in auctions])
        now = self.esi.server_now()
        due = [c for c in auctions if not (s := states.get(bids_url(c))) or not s.fresh(now)]
        ok = True
        for batch in chunks(due, self.settings.ingest_items_batch):

            async def refresh(contract_id: int) -> BidsAnswer | EsiError:
                try:
                    return await self._fetch_bids(contract_id, states.get(bids_url(contract_id)))
                except EsiError as exc:
                    return exc

            answers = await map_bounded(refresh, batch, self.esi.max_concurrency)
            rows: list[dict[str, Any]] = []
            new_states: list[PageState] = []
            for cid, answer in zip(batch, answers, strict=True):
                if isinstance(answer, EsiError):
                    ok = False
                    continue
                bids, state = answer
                rows.extend(_bid_rows(cid, bids))
                if state is not None:
                    new_states.append(state)
            async with self.writer.session() as session:
                await _save_bids(session, rows, new_states, now)
        if not ok:
            result.problems.append("some bids could not be refreshed")
        return ok

    # --- names ---------------------------------------------------------------------------

    async def _names(self, region_id: int, result: SweepResult) -> bool:
        async with self.database.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(Contract.issuer_id, Contract.issuer_corporation_id)
                    .where(Contract.region_id == region_id, Contract.ended_at.is_(None))
                    .distinct()
                )
            ).all()
        ids = {i for row in rows for i in row}
        try:
            await self.universe.ensure_names(ids)
        except Incomplete as exc:
            result.problems.append(str(exc))
            return False
        return True

    # --- the whole sweep -----------------------------------------------------------------

    async def sweep(self, region_id: int, progress: ProgressFn = _noop) -> SweepResult:
        result = SweepResult(region_id)
        started = time.monotonic()
        sent_before = self.esi.stats.sent
        attempt_at = self.clock()
        pages: list[Page] = []
        previous = await self._previous(region_id)
        try:
            pages = await self._listing(region_id)
            result.pages = len(pages)
            progress(region_id, "listing", len(pages))
            locations_ok = await self._write_pages(region_id, pages, result)
            listed = {cid for p in pages for cid in p.ids}
            lossy = any(p.lossy for p in pages)
            malformed = sum(p.malformed for p in pages)
            unchanged = all(p.rows is None for p in pages)
            if not lossy:
                await self._delist(region_id, listed, result, previous, unchanged)
            items_ok = await self._items(region_id, result, progress)
            bids_ok = True
            if self.settings.ingest_refresh_bids:
                bids_ok = await self._refresh_bids(region_id, result)
            names_ok = True
            # No contract written since a complete sweep: every issuer is already named.
            if result.contracts_written or not previous.complete:
                names_ok = await self._names(region_id, result)
            complete = locations_ok and items_ok and bids_ok and names_ok and not malformed
            if malformed:
                result.problems.append(f"{malformed} malformed listing rows skipped")
            result.outcome = "complete" if complete else "partial"
        except PermanentEsiError as exc:
            result.outcome = "failed"
            result.error = str(exc)
        except (TransientEsiError, ListingInconsistent) as exc:
            result.outcome = "failed" if not pages else "partial"
            result.error = str(exc)
        if result.problems and result.error is None:
            result.error = "; ".join(result.problems)[:1000]
        result.duration = time.monotonic() - started
        result.requests = self.esi.stats.sent - sent_before
        now = self.clock()
        if result.complete:
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
            requests=result.requests,
            seconds=round(result.duration, 2),
            error=result.error,
        )
        return result

    async def _count(self, session: AsyncSession, region_id: int) -> tuple[int, int, int]:
        live = and_(Contract.region_id == region_id, Contract.ended_at.is_(None))
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

    async def _record(
        self, result: SweepResult, attempt_at: dt.datetime, previous: _Previous
    ) -> None:
        region_id = result.region_id
        unchanged = not (result.contracts_written or result.delisted or result.items_written)
        if unchanged and previous.complete and previous.counts is not None:
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
            try:
                await self.cache.incr(GENERATION_KEY)
            except Exception as exc:  # a cache outage must not fail the sweep
                log.warning("generation_not_bumped", error=str(exc))
            else:
                await warm_counts(self.database, self.cache)
