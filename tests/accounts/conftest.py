"""Accounts fixtures: the simulator's EVE SSO on a local port, settings pointing at it,
and helpers that walk the login flow as a browser would (without one)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from esi_sim.config import Character, SimConfig, SsoConfig
from esi_sim.testing import RunningSimulator, running_simulator
from hangar_bay.settings import Settings
from tests.contracts.conftest import market, universe

__all__ = ["market", "universe"]

SSO = SsoConfig()
PILOT = Character()


@pytest.fixture(scope="module")
def sso_sim() -> Iterator[RunningSimulator]:
    with running_simulator(SimConfig(scale="tiny")) as running:
        # Make the signing keys now (RSA generation takes a while on a busy machine),
        # not inside the first login's timeout.
        assert running.sim.sso is not None
        running.sim.sso.keys()
        yield running


@pytest.fixture(autouse=True)
def _reset_sso(sso_sim: RunningSimulator) -> Iterator[None]:
    yield
    assert sso_sim.sim.sso is not None
    sso_sim.sim.sso.update(
        token_mode="valid",
        token_fault=None,
        deny=False,
        character=Character(),
        signing_alg="RS256",
    )


@pytest.fixture
def settings(database_url: str, sso_sim: RunningSimulator) -> Settings:
    from tests.conftest import TEST_CACHE_URL

    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        database_url=database_url,
        cache_url=TEST_CACHE_URL,
        esi_base_url="http://127.0.0.1:9",
        esi_user_agent="hangar-bay tests",
        sso_base_url=sso_sim.base_url,
        sso_client_id=SSO.client_id,
        sso_client_secret=SSO.client_secret,
        sso_callback_url="http://testserver/auth/callback",
        sso_timeout_seconds=10.0,
    )


async def authorize(client: httpx.AsyncClient, next_path: str | None = "/") -> str:
    """``/auth/login`` then the SSO's authorize step: the callback URL the SSO sends
    the browser to (path and query, for the test client)."""
    params = {} if next_path is None else {"next": next_path}
    start = await client.get("/auth/login", params=params)
    assert start.status_code == 302, start.text
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(start.headers["location"])
    assert answer.status_code == 302, answer.text
    target = urlsplit(answer.headers["location"])
    assert target.netloc == "testserver"
    return f"{target.path}?{target.query}"


async def sso_login(client: httpx.AsyncClient, next_path: str | None = "/") -> httpx.Response:
    """The whole login; returns the callback's response."""
    return await client.get(await authorize(client, next_path))


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)
