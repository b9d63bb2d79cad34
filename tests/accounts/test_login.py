"""EVE SSO login through the simulator: the happy paths, the token matrix, state and
``next`` tampering, token endpoint failures, owner-hash changes, logout."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from esi_sim.config import Character
from esi_sim.testing import RunningSimulator
from hangar_bay.accounts.auth import LOGIN_COOKIE, safe_next
from hangar_bay.accounts.sessions import SESSION_COOKIE
from hangar_bay.core.database import Database
from hangar_bay.models import SavedSearch, User, UserSession
from hangar_bay.settings import Settings
from tests.accounts.conftest import PILOT, SSO, authorize, query_of, sso_login


async def _count(database: Database, model: type[object]) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_confidential_login(client: httpx.AsyncClient, database: Database) -> None:
    start = await client.get("/auth/login", params={"next": "/?group_id=419&sort=price"})
    assert start.status_code == 302
    query = query_of(start.headers["location"])
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [SSO.client_id]
    assert query["redirect_uri"] == ["http://testserver/auth/callback"]
    assert "scope" not in query
    assert "code_challenge" not in query  # a confidential client authenticates instead
    assert len(query["state"][0]) >= 32
    cookie = start.headers["set-cookie"]
    assert LOGIN_COOKIE in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # test environment; production sets it

    done = await sso_login(client, "/?group_id=419&sort=price")
    assert done.status_code == 302
    assert done.headers["location"] == "/?group_id=419&sort=price"
    session_cookie = next(
        value for value in done.headers.get_list("set-cookie") if value.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie
    me = await client.get("/api/v1/me")
    assert me.status_code == 200
    body = me.json()
    assert body["character_id"] == PILOT.character_id
    assert body["character_name"] == PILOT.name
    assert len(body["csrf_token"]) >= 32
    async with database.session() as session:
        user = await session.scalar(select(User))
        assert user is not None
        assert user.owner_hash == PILOT.owner


async def test_public_client_uses_pkce(
    client: httpx.AsyncClient, settings: Settings, sso_sim: RunningSimulator
) -> None:
    settings.sso_client_id = SSO.public_client_id
    settings.sso_client_secret = type(settings.sso_client_secret)("")
    start = await client.get("/auth/login")
    query = query_of(start.headers["location"])
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    done = await sso_login(client)
    assert done.status_code == 302, done.text
    assert (await client.get("/api/v1/me")).status_code == 200


async def test_es256_tokens_are_accepted(
    client: httpx.AsyncClient, sso_sim: RunningSimulator
) -> None:
    assert sso_sim.sim.sso is not None
    sso_sim.sim.sso.update(signing_alg="ES256")
    done = await sso_login(client)
    assert done.status_code == 302, done.text
    assert (await client.get("/api/v1/me")).status_code == 200


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("expired", "token_expired"),
        ("bad_signature", "token_bad_signature"),
        ("wrong_audience", "token_wrong_audience"),
        ("wrong_issuer", "token_wrong_issuer"),
        ("hs256", "token_alg_refused"),
        ("none", "token_alg_refused"),
        ("unknown_kid", "token_unknown_key"),
        ("bad_sub", "token_bad_sub"),
    ],
)
async def test_rejected_tokens_give_no_session(
    client: httpx.AsyncClient,
    database: Database,
    sso_sim: RunningSimulator,
    mode: str,
    reason: str,
) -> None:
    assert sso_sim.sim.sso is not None
    sso_sim.sim.sso.update(token_mode=mode)
    callback = await authorize(client)
    with capture_logs() as logs:
        done = await client.get(callback)
    assert done.status_code == 401
    assert "could not be verified" in done.text
    assert SESSION_COOKIE not in done.headers.get("set-cookie", "")
    assert (await client.get("/api/v1/me")).status_code == 401
    assert await _count(database, UserSession) == 0
    assert await _count(database, User) == 0
    code = query_of(callback)["code"][0]
    failures = [entry for entry in logs if entry["event"] == "sso_login_failed"]
    assert len(failures) == 1
    assert failures[0]["reason"].startswith(reason)
    assert code not in repr(logs)


async def test_es256_signature_by_another_key_is_refused(
    client: httpx.AsyncClient, database: Database, sso_sim: RunningSimulator
) -> None:
    assert sso_sim.sim.sso is not None
    sso_sim.sim.sso.update(signing_alg="ES256", token_mode="bad_signature")
    done = await sso_login(client)
    assert done.status_code == 401
    assert await _count(database, UserSession) == 0


@pytest.mark.parametrize(
    ("fault", "status"),
    [("400", 400), ("401", 502), ("500", 502), ("503", 502), ("malformed", 502), ("slow", 502)],
)
async def test_token_endpoint_failures(
    client: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    sso_sim: RunningSimulator,
    fault: str,
    status: int,
) -> None:
    assert sso_sim.sim.sso is not None
    if fault == "slow":
        settings.sso_timeout_seconds = 1.0
    sso_sim.sim.sso.update(token_fault=fault, token_slow_seconds=3.0)
    done = await sso_login(client)
    assert done.status_code == status
    assert "Login did not complete" in done.text
    assert await _count(database, UserSession) == 0


async def test_wrong_client_secret_is_a_502(
    client: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    settings.sso_client_secret = type(settings.sso_client_secret)("not-the-secret")
    done = await sso_login(client)
    assert done.status_code == 502
    assert await _count(database, UserSession) == 0


async def test_access_denied(client: httpx.AsyncClient, sso_sim: RunningSimulator) -> None:
    assert sso_sim.sim.sso is not None
    sso_sim.sim.sso.update(deny=True)
    done = await sso_login(client)
    assert done.status_code == 400
    assert "cancelled" in done.text
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_state_tampering(client: httpx.AsyncClient, database: Database) -> None:
    callback = await authorize(client)
    code = query_of(callback)["code"][0]
    # A different state than the one this browser was given.
    wrong = await client.get("/auth/callback", params={"code": code, "state": "forged"})
    assert wrong.status_code == 400
    # No state at all.
    assert (await client.get("/auth/callback", params={"code": code})).status_code == 400
    # The right state, but another browser (no login cookie).
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as other:
        assert (await other.get(callback)).status_code == 400
    # A forged login cookie.
    client.cookies.set(LOGIN_COOKIE, "eyJzIjoiZm9yZ2VkIn0.AAAA", path="/auth")
    assert (await client.get(callback)).status_code == 400
    assert await _count(database, UserSession) == 0


BAD_NEXT = [
    "//evil.example/",
    "/\\evil.example",
    "https://evil.example/",
    "http:/evil.example",
    "evil",
    "/ok\r\nSet-Cookie: x=1",
    "/\tevil",
    "javascript:alert(1)",
    "",
]


async def test_next_only_on_this_site(client: httpx.AsyncClient) -> None:
    for bad in BAD_NEXT:
        assert safe_next(bad) == "/"
    # Through the whole flow, for the two a browser would follow off-site.
    for bad in ("//evil.example/", "/\\evil.example"):
        done = await sso_login(client, bad)
        assert done.status_code == 302
        assert done.headers["location"] == "/"


def test_safe_next_keeps_paths() -> None:
    assert safe_next("/me") == "/me"
    assert safe_next("/?q=a%2F%2Fb&region_id=1") == "/?q=a%2F%2Fb&region_id=1"
    assert safe_next(None) == "/"


async def test_owner_hash_change(
    client: httpx.AsyncClient, database: Database, sso_sim: RunningSimulator
) -> None:
    assert (await sso_login(client)).status_code == 302
    seller_cookie = client.cookies[SESSION_COOKIE]
    async with database.session() as session:
        seller = await session.scalar(select(User))
        assert seller is not None
        session.add(SavedSearch(user_id=seller.id, name="Seller's search", query="q=drake"))
    # The character is sold: same character id, new owner hash.
    assert sso_sim.sim.sso is not None
    sso_sim.sim.sso.update(character=Character(owner="bmV3IG93bmVyIGhhc2g="))
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as buyer:
        assert (await sso_login(buyer)).status_code == 302
        assert (await buyer.get("/api/v1/me")).status_code == 200
        searches = await buyer.get("/api/v1/me/searches")
        assert searches.status_code == 200
        assert searches.json()["items"] == []
    # The seller's session ended; their rows are kept with their own user row.
    client.cookies.set(SESSION_COOKIE, seller_cookie)
    assert (await client.get("/api/v1/me")).status_code == 401
    assert await _count(database, User) == 2
    assert await _count(database, SavedSearch) == 1


async def test_logout(client: httpx.AsyncClient, database: Database) -> None:
    assert (await sso_login(client)).status_code == 302
    cookie = client.cookies[SESSION_COOKIE]
    csrf = (await client.get("/api/v1/me")).json()["csrf_token"]
    # Without the token nothing happens.
    refused = await client.post("/auth/logout", data={})
    assert refused.status_code == 403
    refused = await client.post("/auth/logout", headers={"X-CSRF-Token": "wrong"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "csrf"
    assert (await client.get("/api/v1/me")).status_code == 200
    done = await client.post("/auth/logout", data={"csrf_token": csrf})
    assert done.status_code == 303
    assert (await client.get("/api/v1/me")).status_code == 401
    # Ended server-side: the old cookie value is worthless.
    client.cookies.set(SESSION_COOKIE, cookie)
    assert (await client.get("/api/v1/me")).status_code == 401
    assert await _count(database, UserSession) == 0


async def test_login_without_a_client_id_is_a_friendly_503(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    settings.sso_client_id = ""
    response = await client.get("/auth/login")
    assert response.status_code == 503
    assert "not set up" in response.text
