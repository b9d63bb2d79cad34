"""A real browser opens a hull's price history from the browse page (issue 12), and a
contract's value breakdown; skipped like the browse flow when Chromium is missing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import uvicorn

from hangar_bay.app import create_app
from hangar_bay.core.database import Database
from hangar_bay.settings import Settings
from tests.browser import test_browse_flow as flow
from tests.market.factories import seed_prices
from tests.market.test_history import _churned, _history

browser_available = flow.browser_available


@pytest.fixture
async def history(universe: Database) -> Database:
    await seed_prices(universe)
    await _churned(universe)
    await _history(universe)
    return universe


@pytest.fixture
def value_server(settings: Settings, history: Database) -> Iterator[str]:
    """The app on a real port (as the browse flow's live_server), over the history data."""
    port = flow._free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


async def test_price_history_from_the_browse_page(
    browser_available: None, value_server: str
) -> None:
    assert flow.async_playwright is not None
    async with flow.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(flow.CHROMIUM), args=flow.CHROMIUM_ARGS, headless=True
        )
        try:
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
        finally:
            await browser.close()
