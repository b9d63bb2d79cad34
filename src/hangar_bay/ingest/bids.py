"""Auction bids: read with an auction's items, then refreshed (conditionally) once ESI's
copy expires, at most once per sweep."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.esi.errors import EsiError, PermanentEsiError
from hangar_bay.ingest.common import SweepParts, SweepResult, map_bounded
from hangar_bay.ingest.schemas import BidRow, parse_rows
from hangar_bay.ingest.writes import (
    BATCH_ROWS,
    PageState,
    chunks,
    load_pages,
    save_pages,
    upsert,
)
from hangar_bay.models import Contract, ContractBid


def bids_url(contract_id: int) -> str:
    return f"/contracts/public/bids/{contract_id}/"


def bid_dicts(contract_id: int, bids: Sequence[BidRow] | None) -> list[dict[str, Any]]:
    return [{"contract_id": contract_id, **bid.model_dump()} for bid in bids or []]


async def save_bids(
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
    """Recompute ``highest_bid`` (ISK) and ``bid_count`` of these contracts from their
    stored bids, so the auction tab sorts and shows the current bid without a join."""
    ids = sorted(contract_ids)
    if not ids:
        return
    contracts = cast(Table, Contract.__table__)
    bids = cast(Table, ContractBid.__table__)
    for batch in chunks(ids, BATCH_ROWS):
        await session.execute(
            update(contracts)
            .where(contracts.c.contract_id.in_(batch))
            .values(
                highest_bid=select(func.max(bids.c.amount))
                .where(bids.c.contract_id == contracts.c.contract_id)
                .scalar_subquery(),
                bid_count=select(func.count())
                .select_from(bids)
                .where(bids.c.contract_id == contracts.c.contract_id)
                .scalar_subquery(),
            )
        )


# Bids (None: unchanged since stored) and the validators to store.
BidsAnswer = tuple[list[BidRow] | None, PageState | None]


class BidsPart(SweepParts):
    async def _fetch_bids(self, contract_id: int, stored: PageState | None) -> BidsAnswer:
        """One auction's bids. A 404 or 204 is stored as "no bids" with its time, so the
        same sweep does not ask again (each 404 costs the error budget)."""
        url = bids_url(contract_id)
        try:
            response = await self.esi.get(
                url, route="bids", etag=stored.etag if stored is not None else None
            )
        except PermanentEsiError:
            return [], PageState(url, None, None, self.floor_expires(None), None)
        expires = self.floor_expires(response.expires)
        if response.status == 304:
            return None, PageState(
                url,
                response.etag or (stored.etag if stored else None),
                response.last_modified,
                expires,
                None,
            )
        if response.status == 204:
            return [], PageState(url, None, response.last_modified, expires, None)
        data = response.data
        if (response.pages or 1) > 1:
            for n in range(2, (response.pages or 1) + 1):
                more = await self.esi.get(url, route="bids", page=n)
                if isinstance(more.data, list):
                    data = [*data, *more.data]
        rows, _ = parse_rows(BidRow, data, what="bid")
        return rows, PageState(url, response.etag, response.last_modified, expires, None)

    async def _refresh_bids(self, region_id: int, result: SweepResult, since: dt.datetime) -> bool:
        """Re-read (conditionally) the bids of live auctions whose stored copy expired,
        except those read since ``since`` (this sweep's start): at most once per sweep."""
        async with self.database.sessionmaker() as session:
            auctions = list(
                (
                    await session.execute(
                        select(Contract.contract_id).where(
                            Contract.region_id == region_id,
                            Contract.ended_at.is_(None),
                            Contract.type == "auction",
                            Contract.items_status == "fetched",
                            Contract.date_expired > self.esi.server_now(),
                        )
                    )
                ).scalars()
            )
            states = await load_pages(session, [bids_url(c) for c in auctions])
        now = self.esi.server_now()

        def due(contract_id: int) -> bool:
            state = states.get(bids_url(contract_id))
            if state is None:
                return True
            read = state.fetched_at
            return not state.fresh(now) and (read is None or read < since)

        wanted = [c for c in auctions if due(c)]
        ok = True
        for batch in chunks(wanted, self.settings.ingest_items_batch):

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
                rows.extend(bid_dicts(cid, bids))
                if state is not None:
                    new_states.append(state)
            async with self.writer.session() as session:
                await save_bids(session, rows, new_states, self.clock())
        if not ok:
            result.problems.append("some bids could not be refreshed")
        return ok
