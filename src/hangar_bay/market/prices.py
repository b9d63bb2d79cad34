"""Ingesting ``GET /markets/prices/`` into ``market_prices``.

ESI caches the route for an hour. Like every other route it is asked for only after its
stored ``Expires`` has passed (on ESI's clock) and conditionally (``If-None-Match``), so
most refreshes are a 304 that changes nothing.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.core.logging import get_logger
from hangar_bay.esi.client import EsiClient
from hangar_bay.esi.errors import TransientEsiError
from hangar_bay.ingest.schemas import _Row, parse_rows
from hangar_bay.ingest.writes import PageState, Writer, load_pages, save_pages, upsert
from hangar_bay.models import MarketPrice, as_utc

log = get_logger(__name__)

PRICES_PATH = "/markets/prices/"
PRICES_URL = "/latest/markets/prices/"


class PriceRow(_Row):
    """One row of ESI's ``get_markets_prices`` (ISK)."""

    type_id: int = Field(ge=1)
    average_price: float | None = Field(None, ge=0, allow_inf_nan=False)
    adjusted_price: float | None = Field(None, ge=0, allow_inf_nan=False)


async def refresh_prices(esi: EsiClient, writer: Writer, *, now: dt.datetime) -> int:
    """Fetch the prices when their stored copy has expired; store them.

    Returns the number of prices stored (0 when still fresh or not modified). Raises
    :class:`~hangar_bay.esi.errors.EsiError` when ESI fails (the caller goes on with the
    prices it has).
    """
    async with writer.database.sessionmaker() as session:
        stored = (await load_pages(session, [PRICES_URL])).get(PRICES_URL)
    if stored is not None and stored.fresh(esi.server_now()):
        return 0
    response = await esi.get(PRICES_PATH, route="prices", etag=stored.etag if stored else None)
    state = PageState(PRICES_URL, response.etag, response.last_modified, response.expires, None)
    if response.status == 304 and stored is not None:
        state.etag = response.etag or stored.etag
        async with writer.session() as session:
            await save_pages(session, [state], now)
        return 0
    if response.status != 200:
        raise TransientEsiError(f"unexpected {response.status} for {PRICES_URL}", url=PRICES_URL)
    rows, bad = parse_rows(PriceRow, response.data, what="price")
    values = [
        {
            "type_id": r.type_id,
            "average_price": r.average_price,
            "adjusted_price": r.adjusted_price,
            "updated_at": now,
        }
        for r in rows
    ]
    async with writer.session() as session:
        await upsert(
            session,
            MarketPrice.__table__,  # type: ignore[arg-type]
            values,
            key=["type_id"],
            update=["average_price", "adjusted_price", "updated_at"],
        )
        await save_pages(session, [state], now)
    log.info("market_prices_stored", prices=len(values), malformed=len(bad))
    return len(values)


async def prices_changed_at(session: AsyncSession) -> dt.datetime | None:
    """When prices last changed (every stored value older than this is stale)."""
    return as_utc(await session.scalar(select(func.max(MarketPrice.updated_at))))
