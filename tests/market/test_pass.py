"""The market pass against the simulator: prices, values, flags and history after sweeps."""

from __future__ import annotations

import httpx
from sqlalchemy import delete, func, select, update

from esi_sim.testing import RunningSimulator
from hangar_bay.core.cache import MemoryCache, ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.core.metrics import Metrics
from hangar_bay.esi.client import EsiClient
from hangar_bay.esi.governor import Governor
from hangar_bay.ingest.once import run_once
from hangar_bay.ingest.writes import Writer
from hangar_bay.market.service import MarketPassResult, market_pass
from hangar_bay.models import Contract, EsiPage, MarketPrice, PriceDaily, PriceObservation
from hangar_bay.settings import Settings

# One region keeps these fast; the market pass does not care which.
FORGE = [10000002]


async def test_once_stores_prices_values_and_history(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    assert (await run_once(ingest_settings, FORGE, show_progress=False)).ok
    async with database.sessionmaker() as session:
        prices = await session.scalar(select(func.count()).select_from(MarketPrice))
        page = await session.get(EsiPage, "/latest/markets/prices/")
        contracts = (await session.execute(select(Contract))).scalars().all()
        observations = await session.scalar(select(func.count()).select_from(PriceObservation))
        days = await session.scalar(select(func.count()).select_from(PriceDaily))
    assert prices
    assert prices > 50
    assert page is not None
    assert page.etag
    assert page.expires
    exchanges = [c for c in contracts if c.type == "item_exchange" and c.items_status == "fetched"]
    assert exchanges
    assert all(c.valued_at is not None for c in contracts if c.items_status != "pending")
    assert any(c.value_complete and c.discount is not None for c in exchanges)
    # Couriers and loans have no value and no flags.
    assert all(
        c.estimated_value is None and c.flags == "" for c in contracts if c.type == "courier"
    )
    assert any(c.flags for c in exchanges)
    ships = [c for c in contracts if c.is_ship_contract and c.items_status == "fetched"]
    assert observations == len(ships)
    assert days
    assert days > 0


async def _pass(base_url: str, database: Database, cache: ResilientCache) -> MarketPassResult:
    # A client per pass: it learns ESI's clock once, and the test moves that clock.
    async with httpx.AsyncClient(base_url=base_url) as http:
        esi = EsiClient(http, Governor(cache, floor=10))
        return await market_pass(esi, Writer(database), cache)


async def test_second_pass_values_nothing_and_asks_conditionally(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    assert (await run_once(ingest_settings, FORGE, show_progress=False)).ok
    cache = ResilientCache(MemoryCache(), Metrics())
    sim.sim.reset_stats()
    again = await _pass(sim.base_url, database, cache)
    assert (again.valued, again.prices, again.observed) == (0, 0, 0)
    assert "prices" not in sim.sim.stats.as_dict()["by_route"]
    # Past the hour: a conditional request, answered 304, changes nothing.
    sim.sim.clock.advance(3700)
    later = await _pass(sim.base_url, database, cache)
    assert later.prices == 0
    assert "prices" in sim.sim.stats.as_dict()["by_route"]


async def test_prices_down_values_go_on(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    assert (await run_once(ingest_settings, FORGE, show_progress=False)).ok
    async with database.session() as session:
        await session.execute(update(Contract).values(valued_at=None))
        await session.execute(delete(EsiPage).where(EsiPage.url == "/latest/markets/prices/"))
    cache = ResilientCache(MemoryCache(), Metrics())
    # Nothing listens here: the prices cannot be fetched, the stored ones are used.
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9") as http:
        esi = EsiClient(http, Governor(cache, floor=10), max_retries=0)
        result = await market_pass(esi, Writer(database), cache)
    assert result.prices == 0
    assert result.valued > 0
