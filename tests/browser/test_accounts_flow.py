"""A real browser, with JavaScript off, logs in through the simulator's EVE SSO, saves a
search with alerts on from the browse page, watches a ship from a contract page, finds
both on ``/me``, logs out and is then refused ``/api/v1/me`` (401).

Skipped like the browse flow when Chromium or Playwright is missing, unless
``HANGAR_REQUIRE_BROWSER`` is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from esi_sim.config import SimConfig, SsoConfig
from esi_sim.testing import RunningSimulator, running_simulator
from hangar_bay.app import create_app
from hangar_bay.settings import Settings
from tests.browser.conftest import chromium, free_port, serve_in_thread
from tests.conftest import TEST_CACHE_URL
from tests.contracts.factories import COMBAT_BC


@pytest.fixture(scope="module")
def sso_sim() -> Iterator[RunningSimulator]:
    with running_simulator(SimConfig(scale="tiny")) as running:
        yield running


@pytest.fixture
def accounts_server(
    database_url: str, sso_sim: RunningSimulator, market: dict[str, int]
) -> Iterator[str]:
    """The app on a real port, logging in through the simulator's SSO."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sso = SsoConfig()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        database_url=database_url,
        cache_url=TEST_CACHE_URL,
        esi_base_url="http://127.0.0.1:9",
        esi_user_agent="hangar-bay tests",
        ingest_in_process=False,
        sso_base_url=sso_sim.base_url,
        sso_client_id=sso.client_id,
        sso_client_secret=sso.client_secret,
        sso_callback_url=f"{base}/auth/callback",
    )
    with serve_in_thread(create_app(settings), port) as served:
        yield served


async def test_login_save_watch_logout(
    browser_available: None, accounts_server: str, market: dict[str, int]
) -> None:
    async with chromium() as browser:
        # Without JavaScript: every step is a plain link or form.
        context = await browser.new_context(java_script_enabled=False)
        # No network beyond loopback: portraits and renders fall back to text.
        await context.route("https://images.evetech.net/**", lambda route: route.abort())
        page = await context.new_page()
        await page.goto(accounts_server + "/")

        # Log in: the header link, the simulator's SSO, back to where we were.
        async with page.expect_navigation(url=accounts_server + "/"):
            await page.get_by_role("link", name="Log in with EVE Online").click()
        pilot = page.get_by_role("link", name="Hangar Test Pilot")
        assert await pilot.count() == 1

        # Filter, then save the search.
        await page.select_option('select[name="group_id"]', str(COMBAT_BC))
        async with page.expect_navigation():
            await page.get_by_role("button", name="Search", exact=True).click()
        await page.get_by_label("Name", exact=True).fill("Battlecruisers")
        await page.get_by_label("Alert me to new matches").check()
        async with page.expect_navigation():
            await page.get_by_role("button", name="Save this search").click()
        assert urlsplit(page.url).path == "/me"
        assert await page.get_by_role("link", name="Battlecruisers").count() == 1
        # Saved with its alerts on: /me offers to turn them off.
        off = page.get_by_role("button", name="Turn alerts off for Battlecruisers")
        assert await off.count() == 1

        # Watch the Drake from its contract page.
        await page.goto(f"{accounts_server}/contracts/{market['drake_fit']}")
        await page.get_by_label("Max price (ISK) for Drake").fill("65000000")
        await page.get_by_label("Note").fill("a cheap one")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Watch this ship: Drake").click()
        assert urlsplit(page.url).path == "/me"

        # Both on /me.
        saved = page.get_by_role("link", name="Battlecruisers")
        assert await saved.count() == 1
        assert await page.get_by_role("link", name="Drake", exact=True).count() == 1
        assert "a cheap one" in await page.content()
        async with page.expect_navigation():
            await saved.click()
        assert urlsplit(page.url).query == f"group_id={COMBAT_BC}"

        # Log out, and the API no longer answers for this browser.
        async with page.expect_navigation():
            await page.get_by_role("button", name="Log out").click()
        assert await page.get_by_role("link", name="Log in with EVE Online").count() == 1
        me = await context.request.get(accounts_server + "/api/v1/me")
        assert me.status == 401
