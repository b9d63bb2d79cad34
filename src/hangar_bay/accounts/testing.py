"""Log a pilot in from a test, without the browser or the SSO.

Fixture-friendly::

    from hangar_bay.accounts.sessions import SESSION_COOKIE
    from hangar_bay.accounts.testing import log_in

    login = await log_in(database, character_id=90000001, character_name="Pilot A")
    client.cookies.set(SESSION_COOKIE, login.cookie)
    await client.post("/api/v1/me/searches", json={...}, headers=login.headers)

``login.headers`` carries the ``X-CSRF-Token``; ``login.csrf_token`` goes into a form's
``csrf_token`` field.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from hangar_bay.accounts.service import upsert_user
from hangar_bay.accounts.sessions import SESSION_COOKIE, create_session, token_digest
from hangar_bay.core.database import Database
from hangar_bay.models import UserSession


@dataclass(frozen=True, slots=True)
class LoggedIn:
    user_id: int
    character_id: int
    cookie: str
    csrf_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf_token}

    @property
    def cookies(self) -> dict[str, str]:
        return {SESSION_COOKIE: self.cookie}


async def log_in(
    database: Database,
    *,
    character_id: int = 2112625428,
    character_name: str = "Hangar Test Pilot",
    owner_hash: str = "nMqyu5m2sHm0QWlAOKRwTLyfEzo=",
) -> LoggedIn:
    """Upsert the user (as the SSO callback does) and start a session for it."""
    async with database.session() as session:
        user = await upsert_user(
            session,
            character_id=character_id,
            character_name=character_name,
            owner_hash=owner_hash,
        )
        cookie = await create_session(session, user.id)
        csrf = await session.scalar(
            select(UserSession.csrf_token).where(UserSession.id == token_digest(cookie))
        )
        assert csrf is not None
        return LoggedIn(user.id, character_id, cookie, csrf)
