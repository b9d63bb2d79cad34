"""Price history: observations of churned contracts, daily aggregates, the API and page."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from sqlalchemy import select, update

from hangar_bay.core.database import Database
from hangar_bay.ingest.writes import Writer
from hangar_bay.market.history import aggregate, main_ship, observe, refresh_daily
from hangar_bay.models import Contract, PriceDaily, PriceObservation, utcnow
from tests.contracts.factories import AUTOCANNON, DRAKE, RIFTER, Item, add, build_contract
from tests.market.factories import seed_prices

DAY = dt.timedelta(days=1)


def test_aggregate_quartiles() -> None:
    assert aggregate([5.0]) == {"count": 1, "min": 5.0, "p25": 5.0, "median": 5.0, "p75": 5.0}
    got = aggregate([4.0, 1.0, 3.0, 2.0, 5.0])
    assert got == {"count": 5, "min": 1.0, "p25": 2.0, "median": 3.0, "p75": 4.0}


def test_main_ship_and_single_hull() -> None:
    assert main_ship([(RIFTER, 1, True, 6)]) == (RIFTER, True)
    assert main_ship([(RIFTER, 2, True, 6)]) == (RIFTER, False)
    assert main_ship([(RIFTER, 1, True, 6), (AUTOCANNON, 1, True, 7)]) == (RIFTER, False)
    assert main_ship([(RIFTER, 1, True, 6), (DRAKE, 3, True, 6)]) == (DRAKE, False)
    assert main_ship([(AUTOCANNON, 1, True, 7)]) is None
    assert main_ship([(RIFTER, 1, False, 6)]) is None


async def _churned(database: Database) -> None:
    """Rifters over three days: single hulls (some ended), plus ones that do not count."""
    start = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    prices = {2: [1e6, 2e6, 3e6, 4e6, 5e6], 1: [7e6], 0: [2e6, 4e6]}
    contracts = []
    for days_ago, day_prices in prices.items():
        for n, price in enumerate(day_prices):
            ago = utcnow() - (start - days_ago * DAY) + dt.timedelta(minutes=n)
            contracts.append(
                build_contract(items=[Item(RIFTER)], price=price, issued_ago=ago, ended=n == 0)
            )
    # Not single hulls: two Rifters, a fitted one, an auction.
    contracts.append(build_contract(items=[Item(RIFTER, 2)], price=1.0))
    contracts.append(build_contract(items=[Item(RIFTER), Item(AUTOCANNON)], price=1.0))
    contracts.append(build_contract(type="auction", items=[Item(RIFTER)], price=1.0))
    await add(database, *contracts)


async def _history(database: Database) -> None:
    writer = Writer(database)
    _, touched = await observe(writer)
    await refresh_daily(writer, touched)


async def test_daily_aggregates_survive_delisting(universe: Database) -> None:
    await _churned(universe)
    await _history(universe)
    async with universe.sessionmaker() as session:
        observed = (await session.execute(select(PriceObservation))).scalars().all()
        daily = (await session.execute(select(PriceDaily).order_by(PriceDaily.day))).scalars().all()
    assert len(observed) == 11
    assert sum(o.single_hull for o in observed) == 8
    assert [(d.count, d.min, d.median) for d in daily] == [
        (5, 1e6, 3e6),
        (1, 7e6, 7e6),
        (2, 2e6, 3e6),
    ]
    assert daily[0].p25 == 2e6
    assert daily[0].p75 == 4e6
    # Every contract ends and then disappears: the history stays, the ends recorded.
    async with universe.session() as session:
        await session.execute(update(Contract).values(ended_at=utcnow()))
    await _history(universe)
    async with universe.session() as session:
        await session.execute(Contract.__table__.delete())
    await _history(universe)
    async with universe.sessionmaker() as session:
        kept = (await session.execute(select(PriceObservation))).scalars().all()
        again = (await session.execute(select(PriceDaily).order_by(PriceDaily.day))).scalars().all()
    assert len(kept) == 11
    assert all(o.ended_at is not None for o in kept)
    assert [(d.count, d.median) for d in again] == [(5, 3e6), (1, 7e6), (2, 3e6)]


async def test_price_history_api_and_page(client: httpx.AsyncClient, universe: Database) -> None:
    await seed_prices(universe)
    await _churned(universe)
    await _history(universe)
    response = await client.get(f"/api/v1/types/{RIFTER}/price-history?days=90")
    assert response.status_code == 200
    body = response.json()
    assert body["type_id"] == RIFTER
    assert body["type_name"] == "Rifter"
    assert [d["count"] for d in body["days"]] == [5, 1, 2]
    assert set(body["days"][0]) == {"date", "count", "min", "p25", "median", "p75"}
    # Only today's day in a one-day window.
    one = (await client.get(f"/api/v1/types/{RIFTER}/price-history?days=1")).json()
    assert [d["count"] for d in one["days"]] == [2]
    page = await client.get(f"/types/{RIFTER}")
    assert page.status_code == 200
    html = page.text
    assert "<svg" in html
    assert "<polyline" in html
    # The chart needs no script: any script on the page is an external file (the bell).
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))
    assert " style=" not in html
    assert "Daily prices (ISK)" in html
    assert "500,000.00 ISK" in html  # the market price


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/types/0/price-history", 422),
        ("/api/v1/types/abc/price-history", 422),
        (f"/api/v1/types/{RIFTER}/price-history?days=0", 422),
        (f"/api/v1/types/{RIFTER}/price-history?days=366", 422),
        ("/api/v1/types/999999/price-history", 404),
        ("/types/abc", 422),
        (f"/types/{RIFTER}?days=abc", 422),
        ("/types/999999", 404),
    ],
)
async def test_bad_type_requests(
    client: httpx.AsyncClient, universe: Database, url: str, status: int
) -> None:
    response = await client.get(url)
    assert response.status_code == status


def test_chart_geometry() -> None:
    from hangar_bay.market.chart import price_chart

    assert price_chart([], str) is None
    one = {"date": dt.date(2026, 11, 1), "count": 1, "min": 5.0, "p25": 5.0, "median": 5.0}
    single = price_chart([{**one, "p75": 5.0}], str)
    assert single is not None
    assert len(single.points) == 1
    days = [
        {"date": dt.date(2026, 11, d), "count": 3, "min": m, "p25": m + 1, "median": m + 2,
         "p75": m + 3}
        for d, m in ((1, 10.0), (2, 20.0), (5, 15.0))
    ]  # fmt: skip
    chart = price_chart(days, lambda v: f"{v:.0f}")
    assert chart is not None
    x0, y0, x1, y1 = chart.plot
    xs = [x for x, _, _ in chart.points]
    assert xs[0] == x0
    assert xs[-1] == x1
    assert xs == sorted(xs)
    # Higher prices are higher up (smaller y); every point inside the plot.
    assert chart.points[1][1] < chart.points[0][1]
    assert all(y0 <= y <= y1 for _, y, _ in chart.points)
    assert [a for _, _, a in chart.x_ticks] == ["start", "middle", "end"]
    assert len(chart.band.split()) == 6


async def test_price_history_days_given_twice_is_422_like_browse(
    client: httpx.AsyncClient, universe: Database
) -> None:
    await seed_prices(universe)
    browse = await client.get("/api/v1/contracts?size=5&size=6")
    assert browse.status_code == 422
    (expected,) = browse.json()["detail"]
    for days in ("days=1&days=2", "days=2&days=2", "days=1&days=x"):
        response = await client.get(f"/api/v1/types/{RIFTER}/price-history?{days}")
        assert response.status_code == 422, days
        assert response.json()["error"] == "validation_error"
        (detail,) = response.json()["detail"]
        assert detail == {**expected, "loc": ["query", "days"]}, days
    # One value (or none) is still fine.
    assert (await client.get(f"/api/v1/types/{RIFTER}/price-history?days=2")).status_code == 200
    assert (await client.get(f"/api/v1/types/{RIFTER}/price-history")).status_code == 200
