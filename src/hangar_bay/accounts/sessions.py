"""Server-side sessions behind the ``hangar_session`` cookie.

The cookie carries a random token (256 bits); the ``user_sessions`` table keeps only its
SHA-256, the user and the session's CSRF token. Every process sees the same table, so
any API process can serve any browser. A session ends on logout, when it has been idle
longer than ``HANGAR_SESSION_IDLE_DAYS``, or when the character's owner hash changes.

Tests log someone in without the browser with :func:`create_session` (or the wrapper
:func:`hangar_bay.accounts.testing.log_in`, which also creates the user)::

    async with database.session() as s:
        cookie = await create_session(s, user.id)
    client.cookies.set(SESSION_COOKIE, cookie)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable

from fastapi import Response
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.models import User, UserSession, as_utc, utcnow
from hangar_bay.settings import Settings

SESSION_COOKIE = "hangar_session"
# last_seen_at is written at most this often per session, not on every request.
TOUCH_EVERY = dt.timedelta(minutes=10)
# Longer cookies than this are not ours; never hash arbitrary amounts of input.
MAX_TOKEN_LENGTH = 128


def token_digest(token: str) -> str:
    """The stored id of a session: hex SHA-256 of the cookie's token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_session(session: AsyncSession, user_id: int) -> str:
    """Start a session for ``user_id``; returns the cookie value (the raw token).

    Only flushes: the caller's unit of work commits.
    """
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            id=token_digest(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=utcnow(),
            last_seen_at=utcnow(),
        )
    )
    await session.flush()
    return token


async def load_session(
    session: AsyncSession, token: str, *, idle: dt.timedelta, now: dt.datetime | None = None
) -> UserSession | None:
    """The live session for a cookie value, or ``None``. An idle-expired session is
    deleted on sight; a live one has its ``last_seen_at`` moved forward (at most every
    :data:`TOUCH_EVERY`)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = await session.get(UserSession, token_digest(token))
    if row is None:
        return None
    now = now or utcnow()
    last_seen = as_utc(row.last_seen_at)
    if last_seen <= now - idle:
        await session.delete(row)
        await session.flush()
        return None
    if now - last_seen >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


async def end_session(session: AsyncSession, token: str) -> None:
    """Logout: the session is deleted server-side (the cookie alone is then worthless)."""
    if token and len(token) <= MAX_TOKEN_LENGTH:
        await session.execute(delete(UserSession).where(UserSession.id == token_digest(token)))


async def end_user_sessions(session: AsyncSession, user_ids: Iterable[int]) -> None:
    ids = list(user_ids)
    if ids:
        await session.execute(delete(UserSession).where(UserSession.user_id.in_(ids)))


async def end_previous_owner_sessions(session: AsyncSession, user: User) -> None:
    """A changed owner hash means the character was sold: every session of another
    owner of the same character ends."""
    others = select(User.id).where(User.character_id == user.character_id, User.id != user.id)
    await session.execute(delete(UserSession).where(UserSession.user_id.in_(others)))


async def purge_idle(session: AsyncSession, idle: dt.timedelta) -> int:
    """Delete every idle-expired session; returns how many went."""
    result = await session.execute(
        delete(UserSession).where(UserSession.last_seen_at <= utcnow() - idle)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    # The server is what ends sessions; Max-Age only lets the browser drop the cookie
    # about when the server would have forgotten it anyway.
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_idle_days * 86400),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.secure_cookies
    )
