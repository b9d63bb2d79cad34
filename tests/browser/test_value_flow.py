"""A real browser opens a hull's price history from the browse page (issue 12), and a
contract's value breakdown; skipped like the browse flow when Chromium is missing."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from hangar_bay.app import create_app
from hangar_bay.core.database import Database
from hangar_bay.settings import Settings
from tests.browser.conftest import chromium, serve_in_thread
from tests.market.factories import seed_prices
from tests.market.test_history import _churned, _history


@pytest.fixture
async def history(universe: Database) -> Database:
    await seed_prices(universe)
    await _churned(universe)
    await _history(universe)
    return universe


@pytest.fixture
def value_server(settings: Settings, history: Database) -> Iterator[str]:
    """The app on a real port (as the browse flow's live_server), over the history data."""
    with serve_in_thread(create_app(settings)) as base:
        yield base


async def test_price_history_from_the_browse_page(
    browser_available: None, value_server: str
) -> None:
    async with chromium() as browser:
        page = await browser.new_page(java_script_enabled=False)
        await page.goto(value_server + "/?sort=-discount")
        assert await page.locator("table.results tbody tr").count() > 0
        assert await page.get_by_role("link", name="Download CSV").count() == 1
        async with page.expect_navigation():
            await page.get_by_role("link", name="price history of Rifter").first.click()
        assert urlsplit(page.url).path == "/types/587"
        assert await page.locator("h1").inner_text() == "Rifter"
        chart = page.get_by_role("img", name="Daily contract prices of Rifter", exact=False)
        assert await chart.count() == 1
        assert await page.locator("svg.chart polyline.median").count() == 1
        rows = page.locator("table:has(caption:text('Daily prices')) tbody tr")
        assert await rows.count() == 3
        # A live contract of the type opens its page with the value breakdown.
        async with page.expect_navigation():
            await page.locator("section#live a, section[aria-labelledby=live] a").first.click()
        assert urlsplit(page.url).path.startswith("/contracts/")
        assert await page.get_by_role("heading", name="Value").count() == 1
