"""A real browser (Debian's Chromium, headless, driven by Playwright) walks the main flow:
browse, filter by ship class, sort by price, open a contract, come back with the filters.

Skipped with a reason when Chromium or Playwright is missing, unless
``HANGAR_REQUIRE_BROWSER`` is set (see ``conftest.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from hangar_bay.app import create_app
from hangar_bay.core.database import Database
from hangar_bay.models import Route
from hangar_bay.settings import Settings
from tests.browser.conftest import chromium, serve_in_thread
from tests.contracts.factories import (
    AMARR,
    AMARR_8,
    COMBAT_BC,
    JITA,
    STRUCTURE,
    add,
    build_contract,
)


@pytest.fixture
def live_server(settings: Settings, market: dict[str, int]) -> Iterator[str]:
    """The app on a real port, in a thread with its own event loop, engine and cache."""
    # A cache prefix of its own: with Redis, pages cached by an earlier test (at the same
    # generation number) would otherwise be served for this test's data.
    values = settings.model_dump()
    values["cache_prefix"] = f"hbtest:{uuid.uuid4().hex[:8]}:"
    app = create_app(Settings(_env_file=None, **values))  # type: ignore[call-arg]
    with serve_in_thread(app) as base:
        yield base


async def test_filter_sort_open_and_come_back(
    browser_available: None, live_server: str, market: dict[str, int]
) -> None:
    async with chromium() as browser:
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
        # The render is there (hidden by contract.js if images.evetech.net is out of
        # reach, as on machines without internet).
        assert await page.locator('img[alt="Drake (render)"]').count() == 1
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


async def test_the_flow_works_without_javascript(
    browser_available: None, live_server: str, market: dict[str, int]
) -> None:
    async with chromium() as browser:
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


# --- type-aware browsing, phones, images, accessibility (#13) ---------------------------

AXE_BLOCKING = {"serious", "critical"}


async def _axe_problems(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {', '.join(str(n['target']) for n in v['nodes'][:3])}"
        for v in results.response["violations"]
        if v.get("impact") in AXE_BLOCKING
    ]


async def test_courier_auction_phone_images_and_accessibility(
    browser_available: None,
    live_server: str,
    market: dict[str, int],
    universe: Database,
    tmp_path: Path,
) -> None:
    # Three more couriers with known jumps, so the reward per m³ order is visible.
    couriers = {
        "dense": build_contract(
            type="courier", price=None, reward=9e6, collateral=1e8, volume=900.0,
            end_location=AMARR_8,
        ),  # 10,000 ISK/m³
        "bulk": build_contract(
            type="courier", price=None, reward=20e6, collateral=5e8, volume=200_000.0,
            end_location=AMARR_8,
        ),  # 100 ISK/m³
        "structure": build_contract(
            type="courier", price=None, reward=2e6, collateral=0.0, volume=1_000.0,
            location=STRUCTURE, end_location=AMARR_8,
        ),  # 2,000 ISK/m³, jumps unknown
    }  # fmt: skip
    await add(universe, *couriers.values())
    async with universe.session() as session:
        session.add(Route(origin_system_id=JITA, destination_system_id=AMARR, jumps=9))
    expected = [couriers["dense"].contract_id, couriers["structure"].contract_id]
    expected += [market["courier"], couriers["bulk"].contract_id]  # 417 and 100 ISK/m³

    async with chromium() as browser:
        # bypass_csp: axe-core is injected by the test, not served by the app.
        context = await browser.new_context(bypass_csp=True)
        # The image host is unreachable, as on a machine without internet.
        await context.route("https://images.evetech.net/**", lambda route: route.abort())
        page = await context.new_page()
        problems: dict[str, list[str]] = {}

        # The courier tab, sorted by reward per m³ through its column header.
        await page.goto(live_server + "/?contract_type=courier&ships_only=false")
        problems["courier"] = await _axe_problems(page)
        # By keyboard alone: Tab through the page to the column's sort link, Enter.
        for _ in range(80):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.textContent") == "ISK/m³":
                break
        else:
            raise AssertionError("the ISK/m³ sort link is not reachable by Tab")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert parse_qs(urlsplit(page.url).query)["sort"] == ["-reward_per_m3"]
        header = page.locator("th", has_text="ISK/m³")
        assert await header.get_attribute("aria-sort") == "descending"
        links = page.locator("table.results tbody tr td:first-child a")
        hrefs = [await links.nth(i).get_attribute("href") for i in range(await links.count())]
        ids = [int((href or "").split("?")[0].rsplit("/", 1)[1]) for href in hrefs]
        assert ids == expected
        first = await page.locator("table.results tbody tr").first.inner_text()
        assert "Jita → " in first
        assert "Amarr" in first

        # An auction's current bid in the list, and on its page.
        await page.goto(live_server + "/?contract_type=auction")
        problems["auction"] = await _axe_problems(page)
        row = await page.locator("table.results tbody tr").first.inner_text()
        assert "120M" in row
        await page.goto(live_server + f"/contracts/{market['auction_raven']}")
        assert "120,000,000.00 ISK (2 bids)" in await page.content()

        # A contract page with its ship render unreachable: no broken image, the
        # name and class stand in.
        await page.goto(live_server + f"/contracts/{market['drake_fit']}")
        await page.wait_for_load_state("networkidle")
        image = page.locator("img.render-img")
        await image.wait_for(state="hidden")
        assert await page.locator("figure.render figcaption").inner_text() == (
            "Drake\nCombat Battlecruiser"
        )
        problems["contract"] = await _axe_problems(page)

        # Browse, the blueprint view and an empty result.
        await page.goto(live_server + "/")
        problems["browse"] = await _axe_problems(page)
        await page.goto(live_server + "/?bpc=copies&ships_only=false")
        problems["blueprints"] = await _axe_problems(page)
        await page.goto(live_server + "/?q=nothing+like+this")
        problems["empty"] = await _axe_problems(page)

        # A phone: the page fits 420 px (the table scrolls in its own box), the
        # filters fold, and names do not wrap a character per line.
        phone = await browser.new_context(viewport={"width": 420, "height": 900}, bypass_csp=True)
        small = await phone.new_page()
        await small.goto(live_server + "/?ships_only=false")
        width = await small.evaluate("document.documentElement.scrollWidth")
        assert width <= 420
        assert await small.locator("details.fold").get_attribute("open") is None
        name_cell = small.locator("table.results tbody td.what").first
        box = await name_cell.bounding_box()
        assert box is not None
        assert box["width"] >= 80
        await small.screenshot(path=str(tmp_path / "browse-420px.png"), full_page=True)
        problems["phone"] = await _axe_problems(small)
        await small.goto(live_server + "/?contract_type=courier&ships_only=false")
        await small.screenshot(path=str(tmp_path / "couriers-420px.png"), full_page=True)
        await phone.close()
        assert (tmp_path / "browse-420px.png").stat().st_size > 0
        assert {page: found for page, found in problems.items() if found} == {}


async def test_api_docs_render_offline(
    browser_available: None, live_server: str, market: dict[str, int]
) -> None:
    # Every request that leaves this machine is refused: the docs must come from the app.
    async with chromium() as browser:
        context = await browser.new_context()
        await context.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(live_server) else route.abort()
            ),
        )
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(live_server + "/docs")
        await page.wait_for_selector("text=Search contracts", timeout=15_000)
        assert await page.locator(".swagger-ui").count() == 1
        await page.goto(live_server + "/redoc")
        await page.wait_for_selector("h2:has-text('Export contracts as CSV')", timeout=15_000)
        assert errors == []
