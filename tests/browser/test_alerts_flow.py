"""A real browser walks the alerts flow: log in through the simulator's EVE SSO, watch
ship types, a sweep brings a match, the bell shows the count, the notification opens
the contract.

Skipped like the browse flow when Chromium or Playwright is missing (unless
``HANGAR_REQUIRE_BROWSER`` is set).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from esi_sim.config import Character, SsoConfig
from esi_sim.testing import RunningSimulator
from hangar_bay.alerts.runner import AlertsRunner
from hangar_bay.app import build_esi_client, create_app
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.ingest.service import Ingestor
from hangar_bay.models import ItemType, User, WatchEntry, utcnow
from hangar_bay.settings import Settings
from tests.alerts.conftest import sim
from tests.browser.conftest import chromium, free_port, serve_in_thread
from tests.ingest.conftest import sim_settings

__all__ = ["sim"]

REGIONS = [10000002, 10000043]


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def app_settings(settings: Settings, sim: RunningSimulator, port: int) -> Settings:
    sso = SsoConfig()
    return sim_settings(
        settings,
        sim.base_url,
        regions=REGIONS,
        sso_base_url=sim.base_url,
        sso_client_id=sso.client_id,
        sso_client_secret=sso.client_secret,
        sso_callback_url=f"http://127.0.0.1:{port}/auth/callback",
        public_url=f"http://127.0.0.1:{port}",
    )


@pytest.fixture
def live_app(app_settings: Settings, database: Database, port: int) -> Iterator[str]:
    with serve_in_thread(create_app(app_settings), port) as base:
        yield base


async def _sweep(db: Database, cache: ResilientCache, settings: Settings) -> None:
    """One round of sweeps; the alerts matcher runs after it, as in ``serve``."""
    http = build_esi_client(settings)
    runner = AlertsRunner(db, cache, settings)

    async def after() -> None:
        await runner.match()

    ingestor = Ingestor.build(database=db, cache=cache, http=http, settings=settings)
    ingestor.after_sweeps = after
    try:
        results = await ingestor.sweep_many(REGIONS, wait=True)
        assert all(r.outcome == "complete" for r in results)
    finally:
        await ingestor.esi.close()
        await http.aclose()
        await runner.close()


async def test_log_in_watch_match_bell_open(
    browser_available: None,
    live_app: str,
    app_settings: Settings,
    database: Database,
    cache: ResilientCache,
    sim: RunningSimulator,
) -> None:
    await _sweep(database, cache, app_settings)
    async with chromium() as browser:
        page = await browser.new_page()
        # Log in through the simulator's SSO and land back on /notifications.
        await page.goto(live_app + "/notifications")
        await page.wait_for_url(live_app + "/notifications")
        assert await page.locator("h1").inner_text() == "Notifications"
        assert "No notifications yet" in await page.content()

        # Watch ship types (the watchlist's own page belongs to accounts).
        async with database.session() as session:
            user_id = await session.scalar(
                select(User.id).where(User.character_id == Character().character_id)
            )
            assert user_id is not None
            types = list(
                await session.scalars(select(ItemType.type_id).where(ItemType.category_id == 6))
            )
            session.add_all(
                WatchEntry(user_id=user_id, type_id=t, created_at=utcnow()) for t in types
            )

        # Time passes, a sweep brings new contracts, the matcher notifies.
        sim.sim.clock.advance(12 * 3600)
        await _sweep(database, cache, app_settings)

        await page.goto(live_app + "/")
        bell = page.locator("#bell")
        await bell.wait_for(state="visible")
        count = int(await page.locator("#bell-count").inner_text())
        assert count > 0
        async with page.expect_navigation():
            await bell.click()
        assert urlsplit(page.url).path == "/notifications"
        assert f"{count} unread of {count}" in await page.content()

        first = page.locator("ol.notifications li.unread form.open button").first
        async with page.expect_navigation():
            await first.click()
        path = urlsplit(page.url).path
        assert path.startswith("/contracts/")
        assert await page.locator("article.contract").count() == 1

        await page.goto(live_app + "/")
        await bell.wait_for(state="visible")
        assert int(await page.locator("#bell-count").inner_text()) == count - 1
