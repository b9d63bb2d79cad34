"""EVE SSO: metadata, authorize, token grants, JWKS and the token switches."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from esi_sim.config import SimConfig
from esi_sim.testing import RunningSimulator, running_simulator

CLIENT_ID = "hangar-bay-test"
SECRET = "hangar-bay-test-secret"
CALLBACK = "http://127.0.0.1:9999/auth/callback"
ISSUERS = ("https://login.eveonline.com", "login.eveonline.com")


@pytest.fixture
def sso() -> Iterator[tuple[RunningSimulator, httpx.Client]]:
    with (
        running_simulator(SimConfig(clock="manual")) as running,
        httpx.Client(base_url=running.base_url, timeout=10) as http,
    ):
        yield running, http


def authorize(
    http: httpx.Client, scope: str = "", client_id: str = CLIENT_ID, **extra: str
) -> dict[str, list[str]]:
    params = {
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "client_id": client_id,
        "scope": scope,
        "state": "xyz-123",
        **extra,
    }
    resp = http.get("/v2/oauth/authorize", params=params)
    assert resp.status_code == 302
    location = resp.headers["location"]
    assert location.startswith(CALLBACK)
    return parse_qs(urlsplit(location).query)


def token(
    http: httpx.Client, data: dict[str, str], auth: tuple[str, str] | None = (CLIENT_ID, SECRET)
) -> httpx.Response:
    return http.post("/v2/oauth/token", data=data, auth=auth)


def verify(http: httpx.Client, access: str) -> dict[str, Any]:
    """Validate a token the way the app must: key by kid and alg, RS256/ES256 only."""
    jwks = http.get("/oauth/jwks").json()
    header = jwt.get_unverified_header(access)
    assert header["alg"] in ("RS256", "ES256")
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"] and k["alg"] == header["alg"])
    claims: dict[str, Any] = jwt.decode(
        access,
        jwt.PyJWK(key).key,
        algorithms=["RS256", "ES256"],
        audience=CLIENT_ID,
        issuer=ISSUERS,
        options={"require": ["exp", "iat", "sub", "iss", "aud"]},
    )
    assert "EVE Online" in claims["aud"]
    return claims


def test_metadata_and_jwks(sso: tuple[RunningSimulator, httpx.Client]) -> None:
    running, http = sso
    meta = http.get("/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == "https://login.eveonline.com"
    assert meta["authorization_endpoint"] == f"{running.base_url}/v2/oauth/authorize"
    assert meta["token_endpoint"] == f"{running.base_url}/v2/oauth/token"
    assert meta["jwks_uri"] == f"{running.base_url}/oauth/jwks"
    assert "S256" in meta["code_challenge_methods_supported"]
    keys = http.get("/oauth/jwks").json()["keys"]
    assert sorted(k["alg"] for k in keys) == ["ES256", "RS256", "RS256"]
    assert all(k["use"] == "sig" and k["kid"] for k in keys)


def test_code_flow_without_scope_has_no_refresh_token(
    sso: tuple[RunningSimulator, httpx.Client],
) -> None:
    _, http = sso
    q = authorize(http)
    assert q["state"] == ["xyz-123"]
    resp = token(http, {"grant_type": "authorization_code", "code": q["code"][0]})
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1199
    assert "refresh_token" not in body
    claims = verify(http, body["access_token"])
    assert claims["sub"] == "CHARACTER:EVE:2112625428"
    assert claims["name"] == "Hangar Test Pilot"
    assert claims["owner"]
    assert claims["aud"] == [CLIENT_ID, "EVE Online"]
    assert claims["azp"] == CLIENT_ID
    assert claims["tenant"] == "tranquility"
    assert claims["region"] == "world"
    assert "scp" not in claims
    assert jwt.get_unverified_header(body["access_token"])["kid"] == claims["kid"]
    # A code is single use.
    again = token(http, {"grant_type": "authorization_code", "code": q["code"][0]})
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_scopes_and_refresh(sso: tuple[RunningSimulator, httpx.Client]) -> None:
    _, http = sso
    q = authorize(http, scope="publicData esi-wallet.read_character_wallet.v1")
    body = token(http, {"grant_type": "authorization_code", "code": q["code"][0]}).json()
    claims = verify(http, body["access_token"])
    assert claims["scp"] == ["publicData", "esi-wallet.read_character_wallet.v1"]
    refreshed = token(http, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200
    assert verify(http, refreshed.json()["access_token"])["sub"] == claims["sub"]
    single = authorize(http, scope="publicData")
    one = token(http, {"grant_type": "authorization_code", "code": single["code"][0]}).json()
    assert verify(http, one["access_token"])["scp"] == "publicData"


def test_wrong_secret_is_refused_like_eve(sso: tuple[RunningSimulator, httpx.Client]) -> None:
    _, http = sso
    q = authorize(http)
    resp = token(
        http, {"grant_type": "authorization_code", "code": q["code"][0]}, auth=(CLIENT_ID, "nope")
    )
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"
    assert token(http, {"grant_type": "password"}).json()["error"] == "unsupported_grant_type"


def test_pkce_public_client(sso: tuple[RunningSimulator, httpx.Client]) -> None:
    _, http = sso
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    q = authorize(
        http, client_id="hangar-bay-public", code_challenge=challenge, code_challenge_method="S256"
    )
    bad = token(
        http,
        {
            "grant_type": "authorization_code",
            "code": q["code"][0],
            "client_id": "hangar-bay-public",
            "code_verifier": "wrong",
        },
        auth=None,
    )
    assert bad.status_code == 400
    q = authorize(
        http, client_id="hangar-bay-public", code_challenge=challenge, code_challenge_method="S256"
    )
    good = token(
        http,
        {
            "grant_type": "authorization_code",
            "code": q["code"][0],
            "client_id": "hangar-bay-public",
            "code_verifier": verifier,
        },
        auth=None,
    )
    assert good.status_code == 200
    access = good.json()["access_token"]
    jwks = http.get("/oauth/jwks").json()
    header = jwt.get_unverified_header(access)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(access, jwt.PyJWK(key).key, algorithms=["RS256"], audience="EVE Online")
    assert claims["azp"] == "hangar-bay-public"
    no_pkce = http.get(
        "/v2/oauth/authorize",
        params={
            "response_type": "code",
            "redirect_uri": CALLBACK,
            "client_id": "hangar-bay-public",
        },
    )
    assert no_pkce.status_code == 400


def test_deny_switch(sso: tuple[RunningSimulator, httpx.Client]) -> None:
    _, http = sso
    assert http.post("/_sim/sso", json={"deny": True}).json()["deny"] is True
    q = authorize(http)
    assert q["error"] == ["access_denied"]
    assert q["state"] == ["xyz-123"]
    assert "code" not in q


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("expired", jwt.ExpiredSignatureError),
        ("bad_signature", jwt.InvalidSignatureError),
        ("wrong_audience", jwt.InvalidAudienceError),
        ("wrong_issuer", jwt.InvalidIssuerError),
    ],
)
def test_token_modes(
    sso: tuple[RunningSimulator, httpx.Client], mode: str, error: type[Exception]
) -> None:
    _, http = sso
    http.post("/_sim/sso", json={"token_mode": mode})
    q = authorize(http)
    access = token(http, {"grant_type": "authorization_code", "code": q["code"][0]}).json()[
        "access_token"
    ]
    with pytest.raises(error):
        verify(http, access)


def test_es256_and_other_character(sso: tuple[RunningSimulator, httpx.Client]) -> None:
    _, http = sso
    state = http.post(
        "/_sim/sso",
        json={
            "signing_alg": "ES256",
            "character": {"character_id": 95465499, "name": "Other Pilot", "owner": "abc="},
        },
    ).json()
    assert state["character"]["name"] == "Other Pilot"
    q = authorize(http)
    access = token(http, {"grant_type": "authorization_code", "code": q["code"][0]}).json()[
        "access_token"
    ]
    assert jwt.get_unverified_header(access)["alg"] == "ES256"
    claims = verify(http, access)
    assert claims["sub"] == "CHARACTER:EVE:95465499"
    assert claims["owner"] == "abc="
