"""EVE SSO (OAuth 2.0 authorization code flow) as EVE's login server answers it.

SSO runs on the wall clock, not the simulated one: the application checks `exp` and `iat`
against its own clock, so a token stamped with simulated time would look expired.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from esi_sim.config import Character, SsoConfig, TokenMode

RSA_KID = "JWT-Signature-Key"
RSA_KID_2 = "JWT-Signature-Key-2"
EC_KID = "JWT-Signature-Key-ES256"
CODE_TTL = 300


def _b64(n: int, length: int | None = None) -> str:
    raw = n.to_bytes(length or (n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


_KEYS_LOCK = threading.Lock()
_KEYS: dict[str, Any] = {}


def _process_keys() -> dict[str, Any]:
    """Signing keys, made on first use and shared by every simulator in the process: RSA
    generation costs a few hundred ms that ESI-only tests should not pay, and a test
    suite starting many simulators should pay once."""
    with _KEYS_LOCK:
        if not _KEYS:
            _KEYS.update(
                {
                    RSA_KID: rsa.generate_private_key(public_exponent=65537, key_size=2048),
                    RSA_KID_2: rsa.generate_private_key(public_exponent=65537, key_size=2048),
                    EC_KID: ec.generate_private_key(ec.SECP256R1()),
                    "rogue": rsa.generate_private_key(public_exponent=65537, key_size=2048),
                }
            )
        return dict(_KEYS)


@dataclass(slots=True)
class _Grant:
    client_id: str
    character: Character
    scopes: list[str]
    redirect_uri: str
    challenge: str | None
    expires: float


class SsoState:
    def __init__(self, config: SsoConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._keys: dict[str, Any] | None = None
        self._codes: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}

    def keys(self) -> dict[str, Any]:
        with self._lock:
            if self._keys is None:
                self._keys = _process_keys()
            return self._keys

    def jwks(self) -> dict[str, Any]:
        keys = self.keys()
        out: list[dict[str, Any]] = []
        for kid in (RSA_KID, RSA_KID_2):
            pub = keys[kid].public_key().public_numbers()
            out.append(
                {"alg": "RS256", "e": _b64(pub.e), "kid": kid, "kty": "RSA", "n": _b64(pub.n),
                 "use": "sig"}
            )  # fmt: skip
        ecpub = keys[EC_KID].public_key().public_numbers()
        out.append(
            {"alg": "ES256", "crv": "P-256", "kid": EC_KID, "kty": "EC", "use": "sig",
             "x": _b64(ecpub.x, 32), "y": _b64(ecpub.y, 32)}
        )  # fmt: skip
        return {"keys": out, "SkipUnresolvedJsonWebKeys": True}

    def update(self, **changes: Any) -> SsoConfig:
        with self._lock:
            self.config = self.config.model_copy(update=changes)
            return self.config

    def issue_code(self, grant: _Grant) -> str:
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = grant
        return code

    def take_code(self, code: str) -> _Grant | None:
        with self._lock:
            grant = self._codes.pop(code, None)
        if grant is None or grant.expires < time.time():
            return None
        return grant

    def access_token(self, grant: _Grant) -> str:
        cfg = self.config
        mode: TokenMode = cfg.token_mode
        now = int(time.time())
        exp = now + cfg.access_token_seconds
        if mode == "expired":
            now, exp = now - 2 * cfg.access_token_seconds, now - cfg.access_token_seconds
        audience = [grant.client_id, "EVE Online"]
        if mode == "wrong_audience":
            audience = ["some-other-client", "EVE Online"]
        issuer = "https://login.evil.example" if mode == "wrong_issuer" else cfg.issuer
        subject = f"CHARACTER:EVE:{grant.character.character_id}"
        if mode == "bad_sub":
            subject = f"CORPORATION:EVE:{grant.character.character_id}"
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "kid": RSA_KID if cfg.signing_alg == "RS256" else EC_KID,
            "sub": subject,
            "azp": grant.client_id,
            "tenant": "tranquility",
            "tier": "live",
            "region": "world",
            "aud": audience,
            "name": grant.character.name,
            "owner": grant.character.owner,
            "exp": exp,
            "iat": now,
            "iss": issuer,
        }
        # EVE writes a single scope as a string and several as a list; no scope, no claim.
        if len(grant.scopes) == 1:
            claims["scp"] = grant.scopes[0]
        elif grant.scopes:
            claims["scp"] = list(grant.scopes)
        keys = self.keys()
        kid = claims["kid"]
        if mode == "hs256":
            # The classic confusion attack: a MAC a careless client would verify with a
            # secret it knows.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the short test secret is the point
                return jwt.encode(
                    claims, cfg.client_secret, algorithm="HS256", headers={"kid": kid}
                )
        if mode == "none":
            return jwt.encode(claims, "", algorithm="none", headers={"kid": kid})
        if mode == "unknown_kid":
            claims["kid"] = "JWT-Signature-Key-Unknown"
            return jwt.encode(
                claims, keys["rogue"], algorithm="RS256", headers={"kid": claims["kid"]}
            )
        key = keys["rogue"] if mode == "bad_signature" and cfg.signing_alg == "RS256" else keys[kid]
        if mode == "bad_signature" and cfg.signing_alg == "ES256":
            key = ec.generate_private_key(ec.SECP256R1())
        return jwt.encode(claims, key, algorithm=cfg.signing_alg, headers={"kid": kid})

    def token_response(self, grant: _Grant) -> dict[str, Any]:
        out: dict[str, Any] = {
            "access_token": self.access_token(grant),
            "expires_in": self.config.access_token_seconds,
            "token_type": "Bearer",
        }
        if grant.scopes:
            refresh = secrets.token_urlsafe(24)
            with self._lock:
                self._refresh[refresh] = grant
            out["refresh_token"] = refresh
        return out

    def take_refresh(self, token: str) -> _Grant | None:
        with self._lock:
            return self._refresh.pop(token, None)


def _oauth_error(status: int, error: str, description: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = (parts.query + "&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def build_router(state: SsoState) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/.well-known/oauth-authorization-server")
    async def metadata(request: Request) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        return {
            "issuer": state.config.issuer,
            "authorization_endpoint": f"{base}/v2/oauth/authorize",
            "token_endpoint": f"{base}/v2/oauth/token",
            "response_types_supported": ["code", "token"],
            "jwks_uri": f"{base}/oauth/jwks",
            "revocation_endpoint": f"{base}/v2/oauth/revoke",
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "token_endpoint_auth_signing_alg_values_supported": ["HS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    @router.get("/oauth/jwks")
    async def jwks() -> dict[str, Any]:
        return state.jwks()

    @router.get("/v2/oauth/authorize")
    async def authorize(request: Request) -> Response:
        q = request.query_params
        cfg = state.config
        client_id = q.get("client_id", "")
        redirect_uri = q.get("redirect_uri", "")
        if client_id not in (cfg.client_id, cfg.public_client_id):
            return _oauth_error(400, "invalid_request", "Unknown client_id.")
        if not redirect_uri or (
            cfg.allowed_redirect_uris is not None and redirect_uri not in cfg.allowed_redirect_uris
        ):
            return _oauth_error(400, "invalid_request", "Invalid redirect_uri.")
        if q.get("response_type") != "code":
            return _oauth_error(400, "unsupported_response_type", "response_type must be code.")
        state_param = q.get("state", "")
        if cfg.deny:
            params = {"error": "access_denied", "error_description": "The user denied access."}
            if state_param:
                params["state"] = state_param
            return RedirectResponse(_with_query(redirect_uri, params), status_code=302)
        challenge = q.get("code_challenge")
        method = q.get("code_challenge_method", "S256" if challenge else None)
        if challenge and method != "S256":
            return _oauth_error(400, "invalid_request", "Only S256 code challenges are supported.")
        if client_id == cfg.public_client_id and not challenge:
            return _oauth_error(400, "invalid_request", "Public clients must use PKCE.")
        scopes = [s for s in q.get("scope", "").split() if s]
        grant = _Grant(
            client_id, cfg.character, scopes, redirect_uri, challenge, time.time() + CODE_TTL
        )
        code = state.issue_code(grant)
        params = {"code": code}
        if state_param:
            params["state"] = state_param
        return RedirectResponse(_with_query(redirect_uri, params), status_code=302)

    @router.post("/v2/oauth/token")
    async def token(request: Request) -> Response:
        form = await request.form()
        cfg = state.config
        fault = await _token_fault(cfg)
        if fault is not None:
            return fault
        fields = {k: str(v) for k, v in form.items()}
        client_id, secret = _basic(request.headers.get("authorization"))
        if client_id is None:
            client_id = fields.get("client_id")
            secret = fields.get("client_secret")
        if client_id == cfg.client_id:
            if secret != cfg.client_secret:
                return _oauth_error(
                    401, "invalid_client", "Client could not be authenticated.",
                    **{"WWW-Authenticate": 'Basic realm="eveonline"'},
                )  # fmt: skip
        elif client_id == cfg.public_client_id:
            if secret:
                return _oauth_error(401, "invalid_client", "Client could not be authenticated.")
        else:
            return _oauth_error(401, "invalid_client", "Unknown client.")
        grant_type = fields.get("grant_type")
        if grant_type == "authorization_code":
            grant = state.take_code(fields.get("code", ""))
            if grant is None or grant.client_id != client_id:
                return _oauth_error(400, "invalid_grant", "Invalid authorization code.")
            if grant.challenge is not None:
                verifier = fields.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if not secrets.compare_digest(expected, grant.challenge):
                    return _oauth_error(400, "invalid_grant", "Invalid code_verifier.")
            return JSONResponse(state.token_response(grant))
        if grant_type == "refresh_token":
            grant = state.take_refresh(fields.get("refresh_token", ""))
            if grant is None or grant.client_id != client_id:
                return _oauth_error(400, "invalid_grant", "Invalid refresh token.")
            return JSONResponse(state.token_response(grant))
        return _oauth_error(400, "unsupported_grant_type", "Unsupported grant_type.")

    @router.post("/v2/oauth/revoke")
    async def revoke(request: Request) -> Response:
        form = await request.form()
        state.take_refresh(str(form.get("token", "")))
        return Response(status_code=200)

    return router


async def _token_fault(cfg: SsoConfig) -> Response | None:
    fault = cfg.token_fault
    if fault is None:
        return None
    if fault == "slow":
        await asyncio.sleep(cfg.token_slow_seconds)
        return None
    if fault == "malformed":
        return Response(b'{"access_token": "eyJ', media_type="application/json")
    status = int(fault)
    error = (
        "invalid_grant" if status == 400 else "invalid_client" if status == 401 else "server_error"
    )
    return _oauth_error(status, error, "A fault the simulator was asked for.")


def _basic(header: str | None) -> tuple[str | None, str | None]:
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret
