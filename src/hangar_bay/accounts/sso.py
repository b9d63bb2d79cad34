"""EVE SSO: endpoint discovery, the code exchange and access-token validation.

Endpoints come from ``{HANGAR_SSO_BASE_URL}/.well-known/oauth-authorization-server``
(cached for an hour); they must be on the SSO's own origin, so a tampered metadata
document cannot send the client secret or a code anywhere else. Keys come from the
metadata's ``jwks_uri`` (cached, fetched again once when a token names an unknown
``kid``).

A token is accepted only when: its ``alg`` is RS256 or ES256 and the JWKS holds a key
with its ``kid`` for that ``alg``; the signature verifies; ``iss`` is
``login.eveonline.com`` or ``https://login.eveonline.com``; ``aud`` contains the client
id *and* ``"EVE Online"``; ``exp`` is in the future (:data:`LEEWAY_SECONDS` of leeway);
``sub`` is ``CHARACTER:EVE:<id>``; ``name`` and ``owner`` are present. Everything else
raises :class:`SsoFailure`, whose ``reason`` is logged (never the token or the code).
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt

from hangar_bay import __version__
from hangar_bay.settings import Settings

ALLOWED_ALGORITHMS = ("RS256", "ES256")
ISSUERS = ("login.eveonline.com", "https://login.eveonline.com")
EVE_AUDIENCE = "EVE Online"
LEEWAY_SECONDS = 30
METADATA_PATH = "/.well-known/oauth-authorization-server"
CACHE_SECONDS = 3600.0
_SUB = re.compile(r"CHARACTER:EVE:([1-9][0-9]{0,18})")
# A token response bigger than this is not an EVE token response.
MAX_RESPONSE_BYTES = 64 * 1024


class SsoFailure(Exception):
    """A login that cannot complete. ``status`` is the page's HTTP status (400 for the
    browser's side, 401 for a token we refuse, 502 when the SSO misbehaves); ``reason``
    is a short log code; ``message`` is shown to the pilot."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Metadata:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True, slots=True)
class Character:
    """Who the validated token speaks for."""

    character_id: int
    character_name: str
    owner_hash: str


@dataclass(slots=True)
class _Cached:
    value: Any
    until: float


@dataclass(slots=True)
class SsoClient:
    """Discovery, keys and the code exchange for one SSO base URL; one per app."""

    settings: Settings
    _metadata: _Cached | None = None
    _jwks: _Cached | None = None
    _clock: Any = field(default=time.monotonic)

    @property
    def base_url(self) -> str:
        return self.settings.sso_base_url.rstrip("/")

    @property
    def is_public(self) -> bool:
        return not self.settings.sso_client_secret.get_secret_value()

    def _http(self) -> httpx.AsyncClient:
        # Logins are rare: a client per call keeps nothing open between them.
        return httpx.AsyncClient(
            timeout=self.settings.sso_timeout_seconds,
            headers={"User-Agent": f"HangarBay/{__version__}", "Accept": "application/json"},
            follow_redirects=False,
        )

    def _same_origin(self, url: Any) -> str:
        base = urlsplit(self.base_url)
        if not isinstance(url, str):
            raise SsoFailure(502, "metadata_malformed", "EVE's login server answered oddly.")
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            raise SsoFailure(502, "metadata_foreign_endpoint", "EVE's login server answered oddly.")
        return url

    async def _get_json(self, url: str, what: str) -> Any:
        try:
            async with self._http() as http:
                response = await http.get(url)
        except httpx.HTTPError as exc:
            raise SsoFailure(
                502,
                f"{what}_unreachable:{type(exc).__name__}",
                "EVE's login server did not answer.",
            ) from None
        if response.status_code != 200:
            raise SsoFailure(
                502, f"{what}_status_{response.status_code}", "EVE's login server did not answer."
            )
        try:
            return response.json()
        except ValueError:
            raise SsoFailure(
                502, f"{what}_malformed", "EVE's login server answered oddly."
            ) from None

    async def metadata(self) -> Metadata:
        now = self._clock()
        if self._metadata is not None and self._metadata.until > now:
            return self._metadata.value  # type: ignore[no-any-return]
        doc = await self._get_json(self.base_url + METADATA_PATH, "metadata")
        if not isinstance(doc, dict):
            raise SsoFailure(502, "metadata_malformed", "EVE's login server answered oddly.")
        meta = Metadata(
            authorization_endpoint=self._same_origin(doc.get("authorization_endpoint")),
            token_endpoint=self._same_origin(doc.get("token_endpoint")),
            jwks_uri=self._same_origin(doc.get("jwks_uri")),
        )
        self._metadata = _Cached(meta, now + CACHE_SECONDS)
        return meta

    async def _keys(self, *, refresh: bool) -> list[dict[str, Any]]:
        now = self._clock()
        if not refresh and self._jwks is not None and self._jwks.until > now:
            return self._jwks.value  # type: ignore[no-any-return]
        meta = await self.metadata()
        doc = await self._get_json(meta.jwks_uri, "jwks")
        keys = doc.get("keys") if isinstance(doc, dict) else None
        if not isinstance(keys, list):
            raise SsoFailure(502, "jwks_malformed", "EVE's login server answered oddly.")
        usable = [k for k in keys if isinstance(k, dict)]
        self._jwks = _Cached(usable, now + CACHE_SECONDS)
        return usable

    async def _key_for(self, kid: str, alg: str) -> jwt.PyJWK:
        for refresh in (False, True):
            for data in await self._keys(refresh=refresh):
                if data.get("kid") != kid or data.get("alg", alg) != alg:
                    continue
                try:
                    key = jwt.PyJWK(data, algorithm=alg)
                except jwt.PyJWTError:
                    continue
                return key
        raise SsoFailure(401, "token_unknown_key", "EVE's login could not be verified.")

    def authorize_url(self, meta: Metadata, *, state: str, verifier: str | None) -> str:
        """The authorize redirect: no scope (login only), PKCE S256 for a public client."""
        params = {
            "response_type": "code",
            "redirect_uri": self.settings.sso_callback_url,
            "client_id": self.settings.sso_client_id,
            "state": state,
        }
        if verifier is not None:
            params["code_challenge"] = pkce_challenge(verifier)
            params["code_challenge_method"] = "S256"
        separator = "&" if urlsplit(meta.authorization_endpoint).query else "?"
        return meta.authorization_endpoint + separator + urlencode(params)

    async def exchange(self, code: str, verifier: str | None) -> str:
        """Trade the authorization code for an access token (HTTP Basic for a
        confidential client, the PKCE verifier for a public one)."""
        meta = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.settings.sso_callback_url,
        }
        auth: httpx.Auth | None = None
        if self.is_public:
            form["client_id"] = self.settings.sso_client_id
            form["code_verifier"] = verifier or ""
        else:
            auth = httpx.BasicAuth(
                self.settings.sso_client_id, self.settings.sso_client_secret.get_secret_value()
            )
        try:
            async with self._http() as http:
                if auth is None:
                    response = await http.post(meta.token_endpoint, data=form)
                else:
                    response = await http.post(meta.token_endpoint, data=form, auth=auth)
        except httpx.TimeoutException:
            raise SsoFailure(
                502, "token_endpoint_timeout", "EVE's login server did not answer."
            ) from None
        except httpx.HTTPError as exc:
            raise SsoFailure(
                502, f"token_endpoint_unreachable:{type(exc).__name__}",
                "EVE's login server did not answer.",
            ) from None  # fmt: skip
        if response.status_code != 200:
            error = _oauth_error(response)
            # invalid_grant: the code was used, expired or not ours - the browser's side.
            status = 400 if response.status_code == 400 and error == "invalid_grant" else 502
            raise SsoFailure(
                status,
                f"token_endpoint_status_{response.status_code}:{error}",
                "EVE's login server refused the login; please try again.",
            )
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise SsoFailure(502, "token_response_too_large", "EVE's login server answered oddly.")
        try:
            body = response.json()
        except ValueError:
            raise SsoFailure(
                502, "token_response_malformed", "EVE's login server answered oddly."
            ) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise SsoFailure(502, "token_response_malformed", "EVE's login server answered oddly.")
        return token

    async def validate(self, token: str) -> Character:
        """The character a token speaks for, or :class:`SsoFailure` (401)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid("token_malformed") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALLOWED_ALGORITHMS:
            raise _invalid(f"token_alg_refused:{str(alg)[:10]}")
        if not isinstance(kid, str) or not kid:
            raise _invalid("token_without_kid")
        key = await self._key_for(kid, alg)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.settings.sso_client_id,
                issuer=ISSUERS,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise _invalid("token_expired") from None
        except jwt.InvalidAudienceError:
            raise _invalid("token_wrong_audience") from None
        except jwt.InvalidIssuerError:
            raise _invalid("token_wrong_issuer") from None
        except jwt.InvalidSignatureError:
            raise _invalid("token_bad_signature") from None
        except jwt.PyJWTError as exc:
            raise _invalid(f"token_invalid:{type(exc).__name__}") from None
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or EVE_AUDIENCE not in audiences:
            raise _invalid("token_wrong_audience")
        match = _SUB.fullmatch(str(claims.get("sub", "")))
        if match is None:
            raise _invalid("token_bad_sub")
        name, owner = claims.get("name"), claims.get("owner")
        if not isinstance(name, str) or not 0 < len(name) <= 100:
            raise _invalid("token_bad_name")
        if not isinstance(owner, str) or not 0 < len(owner) <= 255:
            raise _invalid("token_bad_owner")
        return Character(int(match.group(1)), name, owner)


def _invalid(reason: str) -> SsoFailure:
    return SsoFailure(401, reason, "EVE's login could not be verified, so you are not logged in.")


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "unreadable"
    error = body.get("error") if isinstance(body, dict) else None
    return error[:40] if isinstance(error, str) else "unknown"


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
