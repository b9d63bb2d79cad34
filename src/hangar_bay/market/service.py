"""The market pass (prices, values, history) and the reads behind the type pages.

The pass runs beside sweeps, never inside one: embedded, the scheduler calls
:func:`run_market_pass` once per loop; with workers, the leader queues the
``market_pass`` task (``ingest/worker.py``); ``ingest --once`` runs it after its sweeps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hangar_bay.contracts.caching import new_generation
from hangar_bay.core.cache import Cache
from hangar_bay.core.errors import error_line, is_database_unavailable
from hangar_bay.core.logging import get_logger
from hangar_bay.esi.client import EsiClient
from hangar_bay.esi.errors import EsiError
from hangar_bay.ingest.writes import Writer
from hangar_bay.market.history import observe, refresh_daily
from hangar_bay.market.prices import refresh_prices
from hangar_bay.market.valuation import revalue
from hangar_bay.models import utcnow

if TYPE_CHECKING:
    from hangar_bay.ingest.service import Ingestor

log = get_logger(__name__)

MARKET_LOCK = "market:pass"
MARKET_LOCK_SECONDS = 600.0


@dataclass
class MarketPassResult:
    prices: int = 0
    valued: int = 0
    observed: int = 0
    days: int = 0
    skipped: bool = False


async def market_pass(
    esi: EsiClient, writer: Writer, cache: Cache, *, now: dt.datetime | None = None
) -> MarketPassResult:
    """Refresh prices when due, value what needs it, record price history.

    One at a time across the deployment (a cache lock); when another process holds it
    the pass is skipped. Bumps the browse generation when values changed.
    """
    lock = await cache.acquire_lock(MARKET_LOCK, MARKET_LOCK_SECONDS)
    if lock is None:
        return MarketPassResult(skipped=True)
    result = MarketPassResult()
    try:
        try:
            await esi.learn_clock()
            result.prices = await refresh_prices(esi, writer, now=now or utcnow())
        except EsiError as exc:
            # Values go on with the prices already stored.
            log.warning("market_prices_unavailable", error=str(exc)[:200])
        result.valued = await revalue(writer, now=now or utcnow())
        result.observed, touched = await observe(writer)
        result.days = await refresh_daily(writer, touched)
    finally:
        await cache.release_lock(lock)
    if result.valued or result.days:
        await new_generation(writer.database, cache)
        log.info(
            "market_pass",
            prices=result.prices,
            valued=result.valued,
            observed=result.observed,
            days=result.days,
        )
    return result


async def run_market_pass(
    ingestor: Ingestor, *, stop_on_database_loss: bool = False
) -> MarketPassResult:
    """The scheduler's hook: the pass with the ingestor's client, writer and cache.

    Never raises: a failure is logged and the result is ``skipped`` (``market_pass_failed``
    with its traceback; a database that cannot be reached, one warning line
    ``market_pass_database_unavailable``). ``stop_on_database_loss`` (``ingest --once``):
    that database error is raised instead, for the caller to stop on."""
    try:
        return await market_pass(ingestor.esi, ingestor.universe.writer, ingestor.cache)
    except Exception as exc:
        # The sweeps must go on whatever happens here.
        if not is_database_unavailable(exc):
            log.exception("market_pass_failed")
        elif stop_on_database_loss:
            raise
        else:
            log.warning("market_pass_database_unavailable", error=error_line(exc))
        return MarketPassResult(skipped=True)
