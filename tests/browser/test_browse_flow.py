"""A real browser (Debian's Chromium, headless, driven by Playwright) walks the main flow:
browse, filter by ship class, sort by price, open a contract, come back with the filters.

Skipped with a reason when Chromium or Playwright is missing, unless
``HANGAR_REQUIRE_BROWSER`` is set (CI sets it), in which case their absence fails.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn

from hangar_bay.app import create_app
from hangar_bay.settings import Settings
from tests.contracts.factories import COMBAT_BC

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRED = bool(os.environ.get("HANGAR_REQUIRE_BROWSER"))

try:
    from playwright.async_api import async_playwright
except ImportError:  # pragma: no cover - depends on the machine
    async_playwright = None  # type: ignore[assignment]


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    if async_playwright is None:
        return "the playwright package is missing (pip install playwright)"
    return None


@pytest.fixture(scope="module")
def browser_available() -> None:
    reason = _missing()
    if reason is None:
        return
    if REQUIRED:
        pytest.fail(f"HANGAR_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(settings: Settings, market: dict[str, int]) -> Iterator[str]:
    """The app on a real port, in a thread with its own event loop, engine and cache."""
    port = _free_port()
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
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


async def test_filter_sort_open_and_come_back(
    browser_available: None, live_server: str, market: dict[str, int]
) -> None:
    assert async_playwright is not None
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()
            await page.goto(live_server + "/")
            assert await page.locator("table.results tbody tr").count() == 10

            # Filter by ship class through the form.
            await page.select_option('select[name="group_id"]', str(COMBAT_BC))
            async with page.expect_navigation():
                await page.get_by_role("button", name="Search").click()
            query = parse_qs(urlsplit(page.url).query)
            assert query["group_id"] == [str(COMBAT_BC)]
            # The script leaves empty fields out of the shared URL.
            assert "q" not in query
            assert "min_price" not in query
            assert await page.locator("table.results tbody tr").count() == 3

            # Sort by price (ascending on first click).
            async with page.expect_navigation():
                await page.get_by_role("link", name="Price", exact=True).click()
            assert parse_qs(urlsplit(page.url).query)["sort"] == ["price"]
            links = page.locator('table.results tbody tr td:first-child a[href^="/contracts/"]')
            hrefs = [await links.nth(i).get_attribute("href") for i in range(await links.count())]
            ids = [int((href or "").split("?")[0].rsplit("/", 1)[1]) for href in hrefs]
            assert ids == [market["drake_structure"], market["drake_fit"], market["requests"]]

            # Open a contract, then go back through the page's own link.
            async with page.expect_navigation():
                await links.nth(1).click()
            assert urlsplit(page.url).path == f"/contracts/{market['drake_fit']}"
            assert await page.locator("h1").inner_text() == "Drake fitted"
            assert await page.get_by_role("img", name="Drake (render)").count() == 1
            async with page.expect_navigation():
                await page.get_by_role("link", name="Back to results").click()
            back = parse_qs(urlsplit(page.url).query)
            assert urlsplit(page.url).path == "/"
            assert back == {"group_id": [str(COMBAT_BC)], "sort": ["price"]}
            assert await page.locator('select[name="group_id"]').input_value() == str(COMBAT_BC)
            assert await page.locator("table.results tbody tr").count() == 3

            # Keyboard: the skip link is the first stop and moves focus to the content.
            await page.keyboard.press("Tab")
            focused = await page.evaluate("document.activeElement.textContent")
            assert focused == "Skip to content"
        finally:
            await browser.close()


async def test_the_flow_works_without_javascript(
    browser_available: None, live_server: str, market: dict[str, int]
) -> None:
    assert async_playwright is not None
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = await browser.new_context(java_script_enabled=False)
            page = await context.new_page()
            await page.goto(live_server + "/")
            await page.select_option('select[name="group_id"]', str(COMBAT_BC))
            await page.check('input[name="security"][value="high"]')
            async with page.expect_navigation():
                await page.get_by_role("button", name="Search").click()
            query = parse_qs(urlsplit(page.url).query, keep_blank_values=True)
            # Without the script the form sends its empty fields too; they mean "any".
            assert query["q"] == [""]
            assert query["group_id"] == [str(COMBAT_BC)]
            assert await page.locator("table.results tbody tr").count() == 2
            async with page.expect_navigation():
                await page.get_by_role("link", name="Auction", exact=False).first.click()
            assert "No contracts match" in await page.content()
            async with page.expect_navigation():
                await page.get_by_role("link", name="Show every contract type").click()
            assert await page.locator("table.results tbody tr").count() == 2
        finally:
            await browser.close()
