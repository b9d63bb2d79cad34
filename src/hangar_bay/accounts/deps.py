"""FastAPI dependencies for authenticated routes (stable names; other packages use them).

* :func:`current_user` — the logged-in :class:`~hangar_bay.models.User`, or a 401
  ``{"error": "unauthorized"}``.
* :func:`optional_user` — the ``User`` or ``None`` (pages that also serve visitors).
* :func:`require_csrf` — 403 ``{"error": "csrf"}`` unless the ``X-CSRF-Token`` header
  (JSON) or the ``csrf_token`` form field (pages) equals the session's token; 401 when
  there is no session. Put it on every state-changing route.
* :func:`get_auth` — the :class:`Auth` (user, session id, CSRF token) or ``None``.

The user is loaded in the request's unit of work (:data:`hangar_bay.core.state.SessionDep`),
so a route that also takes ``SessionDep`` gets the same session and an attached ``User``.
FastAPI resolves each dependency once per request, so combining them costs one lookup.
A request without the cookie never touches the database.

Usage::

    @router.post("/api/v1/me/things", dependencies=[Depends(require_csrf)])
    async def add(user: CurrentUser, session: SessionDep) -> ...: ...

In tests, log in without the browser with :func:`hangar_bay.accounts.testing.log_in`::

    login = await log_in(database)           # creates the user and a session
    client.cookies.set(SESSION_COOKIE, login.cookie)
    await client.post("/api/v1/me/searches", json=..., headers=login.headers)
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from hangar_bay.accounts.sessions import SESSION_COOKIE, load_session
from hangar_bay.core.errors import HangarError, Unauthorized
from hangar_bay.core.state import SessionDep, get_state
from hangar_bay.models import User

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfFailed(HangarError):
    """A state-changing request without the session's CSRF token."""

    status_code = 403
    code = "csrf"


@dataclass(frozen=True, slots=True)
class Auth:
    """Who made the request: the user, the session's stored id and its CSRF token."""

    user: User
    session_id: str
    csrf_token: str


async def get_auth(request: Request, session: SessionDep) -> Auth | None:
    """The request's login, or ``None`` (no cookie, an unknown or expired session)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    state = get_state(request)
    idle = dt.timedelta(days=state["settings"].session_idle_days)
    # Its own unit of work: an expired session's deletion and the last-seen stamp are
    # committed even when the route then fails (its 401 rolls the request back).
    async with state["database"].session() as own:
        row = await load_session(own, token, idle=idle)
        if row is None:
            return None
        user_id, session_id, csrf_token = row.user_id, row.id, row.csrf_token
    user = await session.get(User, user_id)
    if user is None:
        return None
    return Auth(user=user, session_id=session_id, csrf_token=csrf_token)


AuthDep = Annotated[Auth | None, Depends(get_auth)]


async def optional_user(auth: AuthDep) -> User | None:
    """The logged-in user, or ``None`` for a visitor."""
    return auth.user if auth else None


async def current_user(auth: AuthDep) -> User:
    """The logged-in user; 401 ``{"error": "unauthorized"}`` otherwise."""
    if auth is None:
        raise Unauthorized("Log in with EVE Online first.")
    return auth.user


async def csrf_token_sent(request: Request) -> str | None:
    """The token the request carries: the header, else the form field of a form body.
    Sent twice, in either, it is no token: whichever one a check read, the other went
    unchecked."""
    headers = request.headers.getlist(CSRF_HEADER)
    if headers:
        return headers[0] if len(headers) == 1 else None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _FORM_TYPES:
        # Starlette keeps the parsed form, so the route can read it again.
        form = await request.form()
        values = form.getlist(CSRF_FIELD)
        return values[0] if len(values) == 1 and isinstance(values[0], str) else None
    return None


def csrf_matches(sent: str | None, auth: Auth) -> bool:
    return bool(sent) and secrets.compare_digest((sent or "").encode(), auth.csrf_token.encode())


async def require_csrf(request: Request, auth: AuthDep) -> None:
    """401 without a session; 403 ``{"error": "csrf"}`` when the token is missing or wrong."""
    if auth is None:
        raise Unauthorized("Log in with EVE Online first.")
    if not csrf_matches(await csrf_token_sent(request), auth):
        raise CsrfFailed("Missing or wrong CSRF token; reload the page and try again.")


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
CsrfChecked = Depends(require_csrf)
