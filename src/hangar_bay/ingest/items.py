"""Items and bids: what a contract sells, fetched once, and the outcome model behind it.

Each items fetch ends in one of four outcomes:

* ``fetched``: items (and an auction's bids) written with the derived columns; a contract
  that was hidden is shown again;
* ``gone`` (204) / ``forbidden`` (403/404), "not available": while the contract is still
  listed it is hidden (``ended_at`` set; most likely accepted) and asked about again from
  ``items_next_check_at`` on, at a growing interval (``recheck_delay``);
* ``failed`` (transient: 5xx, timeouts, a torn body, unresolved types): retried within the
  same sweep after the others, with backoff; what still fails after the last round waits
  for a later sweep at the same growing interval, so a few contracts ESI keeps failing
  cannot spend the error budget on every pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update

from hangar_bay.core.logging import get_logger
from hangar_bay.esi.errors import EsiError, PermanentEsiError, TransientEsiError
from hangar_bay.ingest.bids import BidsPart, bid_dicts, save_bids
from hangar_bay.ingest.common import (
    UNAVAILABLE,
    ProgressFn,
    SweepResult,
    map_bounded,
)
from hangar_bay.ingest.schemas import BidRow, ItemDict, parse_items
from hangar_bay.ingest.universe import Incomplete, TypeFacts
from hangar_bay.ingest.writes import PageState, chunks, insert_items
from hangar_bay.models import Contract

log = get_logger(__name__)

_contracts = cast(Table, Contract.__table__)
# What a contract's items decide: one statement, executed once per contract of a batch.
# Fetched items also show a contract hidden earlier again and reset its re-checks.
_DERIVED_UPDATE = (
    update(_contracts)
    .where(_contracts.c.contract_id == bindparam("b_contract_id"))
    .values(
        items_status=bindparam("b_items_status"),
        is_ship_contract=bindparam("b_is_ship_contract"),
        ship_count=bindparam("b_ship_count"),
        search_text=bindparam("b_search_text"),
        ended_at=None,
        items_attempts=0,
        items_next_check_at=None,
    )
)
# "Not available" (hide while listed) or still failing: count the attempt, set the next.
_RECHECK_UPDATE = (
    update(_contracts)
    .where(_contracts.c.contract_id == bindparam("b_contract_id"))
    .values(
        items_status=bindparam("b_items_status"),
        ended_at=func.coalesce(_contracts.c.ended_at, bindparam("b_hidden_at")),
        items_attempts=bindparam("b_attempts"),
        items_next_check_at=bindparam("b_next"),
    )
)
_BACKOFF_UPDATE = (
    update(_contracts)
    .where(_contracts.c.contract_id == bindparam("b_contract_id"))
    .values(items_attempts=bindparam("b_attempts"), items_next_check_at=bindparam("b_next"))
)


@dataclass
class _ItemsOutcome:
    contract_id: int
    status: str  # fetched | gone | forbidden | failed
    items: list[ItemDict] = field(default_factory=list)
    bids: list[BidRow] | None = None
    bids_state: PageState | None = None


class ItemsPart(BidsPart):
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
            # Half a contract's items would misstate what it sells: retry.
            return _ItemsOutcome(contract_id, "failed")
        outcome = _ItemsOutcome(contract_id, "fetched", rows)
        if is_auction:
            try:
                outcome.bids, outcome.bids_state = await self._fetch_bids(contract_id, None)
            except EsiError:
                return _ItemsOutcome(contract_id, "failed")
        return outcome

    async def items_batch(self, contract_ids: Sequence[int]) -> tuple[int, int]:
        """Fetch and write the items of one batch of contracts: (items written, contracts
        left pending). Idempotent: contracts whose items are known, or that ended, are
        skipped; hidden ones ("not available") are asked again."""
        async with self.database.sessionmaker() as session:
            batch = (
                await session.execute(
                    select(
                        Contract.contract_id,
                        Contract.type,
                        Contract.title,
                        Contract.start_location_name,
                        Contract.items_attempts,
                    ).where(
                        Contract.contract_id.in_(list(contract_ids)),
                        (Contract.ended_at.is_(None) & (Contract.items_status == "pending"))
                        | Contract.items_status.in_(UNAVAILABLE),
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

    async def _write_items(
        self,
        batch: Sequence[Any],
        outcomes: Sequence[_ItemsOutcome],
        types: dict[int, TypeFacts],
    ) -> tuple[int, int]:
        """Write one batch; returns (items written, contracts left pending)."""
        meta = {row[0]: row for row in batch}
        now = self.clock()
        item_rows: list[tuple[Any, ...]] = []
        bid_rows: list[dict[str, Any]] = []
        bid_states: list[PageState] = []
        fetched: list[dict[str, Any]] = []
        unavailable: list[dict[str, Any]] = []
        left = 0
        for outcome in outcomes:
            cid = outcome.contract_id
            _, _, title, loc_name, attempts = meta[cid]
            if outcome.status == "failed":
                left += 1
                continue
            if outcome.status != "fetched":
                unavailable.append(
                    {
                        "b_contract_id": cid,
                        "b_items_status": outcome.status,
                        "b_hidden_at": now,
                        "b_attempts": attempts + 1,
                        "b_next": self.recheck_at(attempts + 1, now),
                    }
                )
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
            text = " ".join(x for x in (title, *names, loc_name or "") if x).lower()
            fetched.append(
                {
                    "b_contract_id": cid,
                    "b_items_status": "fetched",
                    "b_is_ship_contract": ships > 0,
                    "b_ship_count": ships,
                    "b_search_text": text,
                }
            )
            bid_rows.extend(bid_dicts(cid, outcome.bids))
            if outcome.bids_state is not None:
                bid_states.append(outcome.bids_state)
        async with self.writer.session() as session:
            await insert_items(session, item_rows)
            await save_bids(session, bid_rows, bid_states, now)
            # Core executemany: the ORM's bulk update by primary key spent more CPU
            # assembling parameters than the database spent on the rows.
            if fetched:
                await session.execute(_DERIVED_UPDATE, fetched)
            if unavailable:
                await session.execute(_RECHECK_UPDATE, unavailable)
        if self.metrics is not None:
            self.metrics.items_ingested.inc(len(item_rows))
        return len(item_rows), left

    async def _due_items(self, region_id: int, listed: set[int], first_round: bool) -> list[int]:
        """Contracts whose items are due now: live and pending, plus (first round only)
        hidden ones still listed whose re-check time has come. Never a contract whose
        ``date_expired`` has passed (ESI would answer 204)."""
        now = self.clock()
        esi_now = self.esi.server_now()
        statuses = ("pending", *UNAVAILABLE) if first_round else ("pending",)
        async with self.database.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(Contract.contract_id, Contract.items_status, Contract.ended_at)
                    .where(
                        Contract.region_id == region_id,
                        Contract.items_status.in_(statuses),
                        Contract.date_expired > esi_now,
                        Contract.items_next_check_at.is_(None)
                        | (Contract.items_next_check_at <= now),
                    )
                    .order_by(Contract.contract_id)
                )
            ).all()
        return [
            cid
            for cid, status, ended_at in rows
            if (status == "pending" and ended_at is None) or (status != "pending" and cid in listed)
        ]

    async def _run_items(
        self, region_id: int, due: Sequence[int], progress: ProgressFn
    ) -> tuple[int, int]:
        """Fetch and write ``due`` in batches: (items written, contracts left pending)."""
        run_batch = self.items_dispatch or self.items_batch
        # Two batches at a time locally, so one's writes overlap the other's requests;
        # more when batches are spread over workers.
        semaphore = asyncio.Semaphore(2 if self.items_dispatch is None else 16)
        totals = [0, 0]

        async def one(batch: Sequence[int]) -> None:
            async with semaphore:
                written, left = await run_batch(list(batch))
            totals[0] += written
            totals[1] += left
            progress(region_id, "items", len(batch))

        await asyncio.gather(*(one(b) for b in chunks(due, self.settings.ingest_items_batch)))
        return totals[0], totals[1]

    async def _items(
        self,
        region_id: int,
        listed: set[int],
        result: SweepResult,
        progress: ProgressFn,
        settled: bool = False,
    ) -> bool:
        """The items phase. ``settled``: the previous sweep was complete, so no contract
        waits for a later re-check of failed items (nothing due now means none pending)."""
        due = await self._due_items(region_id, listed, first_round=True)
        if settled and not due:
            return True
        written, left = await self._run_items(region_id, due, progress)
        result.items_written += written
        # A burst of transient failures should not cost a whole pass: ask again for what
        # failed, after the others and with backoff (the governor keeps the error budget).
        delay = self.settings.ingest_items_retry_seconds
        rounds = self.settings.ingest_items_retry_rounds
        while left and rounds:
            rounds -= 1
            failed = await self._due_items(region_id, listed, first_round=False)
            if not failed:
                left = 0
                break
            log.info("items_retry", region_id=region_id, contracts=len(failed), delay=delay)
            await asyncio.sleep(delay)
            delay *= 2
            written, left = await self._run_items(region_id, failed, progress)
            result.items_written += written
        if left:
            await self._back_off_failed(region_id, listed)
        esi_now = self.esi.server_now()
        async with self.database.sessionmaker() as session:
            # Still pending (failed now, or waiting for a later re-check) and hidden ones
            # awaiting their re-check, in one query.
            counts = dict(
                (
                    await session.execute(
                        select(Contract.items_status, func.count())
                        .where(
                            Contract.region_id == region_id,
                            Contract.date_expired > esi_now,
                            ((Contract.items_status == "pending") & Contract.ended_at.is_(None))
                            | (
                                Contract.items_status.in_(UNAVAILABLE)
                                & Contract.ended_at.is_not(None)
                            ),
                        )
                        .group_by(Contract.items_status)
                    )
                ).all()
            )
        result.items_pending = int(counts.pop("pending", 0))
        result.items_unavailable = int(sum(counts.values()))
        if result.items_pending:
            result.problems.append(f"{result.items_pending} contracts' items not fetched")
        return result.items_pending == 0

    async def _back_off_failed(self, region_id: int, listed: set[int]) -> None:
        """What still failed after the in-pass rounds is asked again by a later sweep,
        from a growing interval on."""
        failed = await self._due_items(region_id, listed, first_round=False)
        if not failed:
            return
        now = self.clock()
        async with self.database.sessionmaker() as session:
            attempts = dict(
                (
                    await session.execute(
                        select(Contract.contract_id, Contract.items_attempts).where(
                            Contract.contract_id.in_(failed)
                        )
                    )
                ).all()
            )
        rows = []
        for cid in failed:
            n = attempts.get(cid, 0) + 1
            # One failed pass: the next pass asks again. Pass after pass: the re-check
            # rule's growing interval.
            rows.append(
                {
                    "b_contract_id": cid,
                    "b_attempts": n,
                    "b_next": self.recheck_at(n - 1, now) if n > 1 else None,
                }
            )
        async with self.writer.session() as session:
            await session.execute(_BACKOFF_UPDATE, rows)
