"""The login flow: ``GET /auth/login``, ``GET /auth/callback``, ``POST /auth/logout``.

``/auth/login`` stores a random ``state`` (and the PKCE verifier of a public client, and
where to go afterwards) in a short-lived cookie signed with ``HANGAR_SECRET_KEY``, then
redirects to EVE's authorize endpoint. ``/auth/callback`` accepts the code only with the
same ``state`` as that cookie, so a login cannot be started in one browser and finished
in another (login CSRF). Failures are friendly pages (400/401/502) that create no
session and log why, never the code or the token.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from hangar_bay.accounts.deps import AuthDep, csrf_matches, csrf_token_sent
from hangar_bay.accounts.service import upsert_user
from hangar_bay.accounts.sessions import (
    SESSION_COOKIE,
    clear_session_cookie,
    create_session,
    end_session,
    purge_idle,
    set_session_cookie,
)
from hangar_bay.accounts.sso import SsoClient, SsoFailure
from hangar_bay.core.bodies import BodyRoute
from hangar_bay.core.errors import error_body, wants_html
from hangar_bay.core.logging import get_logger
from hangar_bay.core.state import SessionDep, SettingsDep
from hangar_bay.settings import Settings
from hangar_bay.web.router import error_page

log = get_logger(__name__)

router = APIRouter(prefix="/auth", tags=["auth"], include_in_schema=False, route_class=BodyRoute)

LOGIN_COOKIE = "hangar_login"
LOGIN_SECONDS = 600
MAX_NEXT_LENGTH = 2000


def safe_next(value: str | None) -> str:
    """``value`` when it is a path on this site, else ``/``: no scheme, no host, no
    ``//host`` or ``/\\host`` (browsers read both as another site), no control
    characters."""
    if not value or len(value) > MAX_NEXT_LENGTH:
        return "/"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value) or "\\" in value:
        return "/"
    if not value.startswith("/") or value.startswith("//"):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def _signing_key(settings: Settings) -> bytes:
    secret = settings.secret_key.get_secret_value().encode()
    return hmac.new(secret, b"hangar-bay login state v1", hashlib.sha256).digest()


def sign_state(settings: Settings, payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(_signing_key(settings), body, hashlib.sha256).digest()
    return body.decode() + "." + base64.urlsafe_b64encode(mac).decode().rstrip("=")


def read_state(settings: Settings, cookie: str | None) -> dict[str, Any] | None:
    """The signed login state, or ``None`` when absent, forged or older than
    :data:`LOGIN_SECONDS`."""
    if not cookie or len(cookie) > 4096 or "." not in cookie:
        return None
    body, _, mac = cookie.rpartition(".")
    expected = hmac.new(_signing_key(settings), body.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(base64.urlsafe_b64encode(expected).decode().rstrip("="), mac):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int | float):
        return None
    if payload["exp"] < time.time():
        return None
    return payload


def sso_client(request: Request, settings: Settings) -> SsoClient:
    """The app's SSO client (metadata and keys cached in it), made on first use."""
    client = getattr(request.app.state, "sso_client", None)
    if not isinstance(client, SsoClient) or client.settings is not settings:
        client = SsoClient(settings)
        request.app.state.sso_client = client
    return client


def _failure_page(request: Request, failure: SsoFailure, settings: Settings) -> Response:
    log.warning("sso_login_failed", reason=failure.reason, status=failure.status)
    response = error_page(request, failure.status, "Login did not complete", [failure.message])
    response.delete_cookie(LOGIN_COOKIE, path="/auth", secure=settings.secure_cookies)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/login")
async def login(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    """302 to EVE's authorize endpoint (no scope); ``next`` is where to land afterwards
    (a path on this site; anything else becomes ``/``)."""
    client = sso_client(request, settings)
    if not settings.sso_client_id:
        failure = SsoFailure(503, "sso_not_configured", "Logging in is not set up on this site.")
        return _failure_page(request, failure, settings)
    try:
        meta = await client.metadata()
    except SsoFailure as failure:
        return _failure_page(request, failure, settings)
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48) if client.is_public else None
    cookie = sign_state(
        settings,
        {"s": state, "v": verifier, "n": safe_next(next), "exp": int(time.time()) + LOGIN_SECONDS},
    )
    response = RedirectResponse(client.authorize_url(meta, state=state, verifier=verifier), 302)
    response.set_cookie(
        LOGIN_COOKIE,
        cookie,
        max_age=LOGIN_SECONDS,
        path="/auth",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/callback")
async def callback(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    """Finish the login: check ``state``, exchange the code, validate the token, upsert
    the user, start a session and 302 to ``next``."""
    saved = read_state(settings, request.cookies.get(LOGIN_COOKIE))
    try:
        if error is not None:
            if error == "access_denied":
                raise SsoFailure(400, "access_denied", "The login was cancelled at EVE Online.")
            raise SsoFailure(400, f"sso_error:{error[:40]}", "EVE Online refused the login.")
        if saved is None:
            raise SsoFailure(
                400, "state_cookie_missing", "This login expired or began elsewhere; try again."
            )
        if not state or not secrets.compare_digest(
            state.encode(), str(saved.get("s", "")).encode()
        ):
            raise SsoFailure(400, "state_mismatch", "This login began elsewhere; try again.")
        if not code or len(code) > 2048:
            raise SsoFailure(400, "code_missing", "EVE Online sent no login code; try again.")
        client = sso_client(request, settings)
        verifier = saved.get("v")
        token = await client.exchange(code, verifier if isinstance(verifier, str) else None)
        character = await client.validate(token)
    except SsoFailure as failure:
        return _failure_page(request, failure, settings)
    # A fresh session id at every login (no fixation); the browser's old session ends.
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await end_session(session, old)
    user = await upsert_user(
        session,
        character_id=character.character_id,
        character_name=character.character_name,
        owner_hash=character.owner_hash,
    )
    cookie = await create_session(session, user.id)
    # Sessions that idled out and were never seen again are swept here, logins being
    # rare and the sweep one indexed DELETE.
    await purge_idle(session, dt.timedelta(days=settings.session_idle_days))
    log.info("login", character_id=character.character_id, user_id=user.id)
    response = RedirectResponse(safe_next(str(saved.get("n") or "/")), 302)
    response.delete_cookie(LOGIN_COOKIE, path="/auth", secure=settings.secure_cookies)
    set_session_cookie(response, cookie, settings)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/logout")
async def logout(
    request: Request, auth: AuthDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """End the session server-side and drop the cookie; 303 to ``/``. Needs the CSRF
    token (form field or header) when there is a session to end."""
    if auth is not None:
        if not csrf_matches(await csrf_token_sent(request), auth):
            return csrf_refused(request)
        await end_session(session, request.cookies.get(SESSION_COOKIE, ""))
        log.info("logout", user_id=auth.user.id)
    response = RedirectResponse("/", 303)
    clear_session_cookie(response, settings)
    response.headers["Cache-Control"] = "no-store"
    return response


def csrf_refused(request: Request) -> Response:
    """403 for a missing or wrong CSRF token: JSON ``{"error": "csrf"}`` for API
    clients, a page for a browser (a form body, or ``Accept: text/html`` outside the
    API, as a bodiless button post sends)."""
    detail = "Missing or wrong CSRF token; reload the page and try again."
    form = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    browser = "text/html" in request.headers.get("accept", "") and wants_html(request.scope)
    if form or browser:
        return error_page(request, 403, "This form has expired", [detail])
    return JSONResponse(error_body("csrf", detail), status_code=403)
