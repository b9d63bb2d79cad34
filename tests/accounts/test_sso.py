"""SsoClient on its own: key rotation (an unknown kid refetches the JWKS once),
metadata that points elsewhere, and cookie flags per environment."""

from __future__ import annotations

import time

import pytest
from fastapi import Response

from esi_sim.config import Character
from esi_sim.sso import RSA_KID, RSA_KID_2, _Grant
from esi_sim.testing import RunningSimulator
from hangar_bay.accounts.sessions import set_session_cookie
from hangar_bay.accounts.sso import SsoClient, SsoFailure, _Cached
from hangar_bay.settings import Settings
from tests.accounts.conftest import SSO


def _token(sso_sim: RunningSimulator) -> str:
    assert sso_sim.sim.sso is not None
    grant = _Grant(SSO.client_id, Character(), [], "http://x/cb", None, time.time() + 60)
    return sso_sim.sim.sso.access_token(grant)


async def test_unknown_kid_refetches_the_keys_once(
    settings: Settings, sso_sim: RunningSimulator
) -> None:
    client = SsoClient(settings)
    token = _token(sso_sim)
    # A cached key set from before a rotation: it lacks the key the token names.
    jwks = sso_sim.sim.sso.jwks() if sso_sim.sim.sso else {}
    stale = [key for key in jwks["keys"] if key["kid"] not in (RSA_KID,)]
    assert {key["kid"] for key in stale} >= {RSA_KID_2}
    client._jwks = _Cached(stale, time.monotonic() + 3600)
    character = await client.validate(token)
    assert character.character_id == Character().character_id
    assert character.owner_hash == Character().owner
    # The fresh set is kept.
    assert client._jwks is not None
    assert RSA_KID in {key["kid"] for key in client._jwks.value}


async def test_metadata_pointing_elsewhere_is_refused(
    settings: Settings, sso_sim: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = SsoClient(settings)

    async def foreign(self: SsoClient, url: str, what: str) -> object:
        base = sso_sim.base_url
        return {
            "authorization_endpoint": f"{base}/v2/oauth/authorize",
            "token_endpoint": "https://collector.evil.example/token",
            "jwks_uri": f"{base}/oauth/jwks",
        }

    monkeypatch.setattr(SsoClient, "_get_json", foreign)
    with pytest.raises(SsoFailure) as failure:
        await client.metadata()
    assert failure.value.status == 502
    assert failure.value.reason == "metadata_foreign_endpoint"


async def test_garbage_tokens(settings: Settings, sso_sim: RunningSimulator) -> None:
    client = SsoClient(settings)
    for garbage in ("", "abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.AAAA"):
        with pytest.raises(SsoFailure) as failure:
            await client.validate(garbage)
        assert failure.value.status == 401


def test_secure_cookies_in_production() -> None:
    base = {"_env_file": None, "secret_key": "k" * 40}
    assert Settings(**base, environment="production").secure_cookies is True  # type: ignore[arg-type]
    assert Settings(**base, environment="development").secure_cookies is False  # type: ignore[arg-type]
    forced = Settings(**base, environment="development", session_cookie_secure=True)  # type: ignore[arg-type]
    assert forced.secure_cookies is True


def test_session_cookie_flags_in_production() -> None:
    settings = Settings(_env_file=None, environment="production", secret_key="k" * 40)  # type: ignore[call-arg]
    response = Response()
    set_session_cookie(response, "token", settings)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("hangar_session=token;")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" in cookie
    assert "Path=/" in cookie
