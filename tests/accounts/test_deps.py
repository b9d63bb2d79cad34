"""The dependencies other packages build on: current_user, optional_user, require_csrf."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import Depends, FastAPI
from sqlalchemy import update

from hangar_bay.accounts.deps import CurrentUser, OptionalUser, require_csrf
from hangar_bay.accounts.sessions import SESSION_COOKIE
from hangar_bay.accounts.testing import log_in
from hangar_bay.core.database import Database
from hangar_bay.models import UserSession, utcnow


@pytest.fixture
async def probe(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    @app.get("/probe/optional")
    async def optional(user: OptionalUser) -> dict[str, int | None]:
        return {"character_id": user.character_id if user else None}

    @app.get("/probe/required")
    async def required(user: CurrentUser) -> dict[str, int]:
        return {"user_id": user.id}

    @app.post("/probe/change", dependencies=[Depends(require_csrf)])
    async def change(user: CurrentUser) -> dict[str, bool]:
        return {"changed": True}

    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_visitor_is_none_or_401(probe: httpx.AsyncClient) -> None:
    assert (await probe.get("/probe/optional")).json() == {"character_id": None}
    response = await probe.get("/probe/required")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    response = await probe.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    response = await probe.post("/probe/change")
    assert response.status_code == 401


async def test_logged_in_and_csrf(probe: httpx.AsyncClient, database: Database) -> None:
    login = await log_in(database, character_id=91000001, character_name="Pilot One")
    probe.cookies.set(SESSION_COOKIE, login.cookie)
    assert (await probe.get("/probe/optional")).json() == {"character_id": 91000001}
    assert (await probe.get("/probe/required")).json() == {"user_id": login.user_id}
    me = (await probe.get("/api/v1/me")).json()
    assert me == {
        "character_id": 91000001,
        "character_name": "Pilot One",
        "csrf_token": login.csrf_token,
    }
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ""}):
        response = await probe.post("/probe/change", headers=headers)
        assert response.status_code == 403
        assert response.json()["error"] == "csrf"
    assert (await probe.post("/probe/change", headers=login.headers)).json() == {"changed": True}
    # The form field works for pages.
    response = await probe.post("/probe/change", data={"csrf_token": login.csrf_token})
    assert response.status_code == 200
    response = await probe.post("/probe/change", data={"csrf_token": "nope"})
    assert response.status_code == 403


async def test_unknown_and_idle_sessions(probe: httpx.AsyncClient, database: Database) -> None:
    probe.cookies.set(SESSION_COOKIE, "not-a-session")
    assert (await probe.get("/probe/required")).status_code == 401
    probe.cookies.set(SESSION_COOKIE, "x" * 5000)
    assert (await probe.get("/probe/required")).status_code == 401
    login = await log_in(database)
    probe.cookies.set(SESSION_COOKIE, login.cookie)
    assert (await probe.get("/probe/required")).status_code == 200
    async with database.session() as session:
        await session.execute(
            update(UserSession).values(last_seen_at=utcnow() - dt.timedelta(days=31))
        )
    assert (await probe.get("/probe/required")).status_code == 401
    # Gone server-side too: restoring the timestamp brings nothing back.
    async with database.session() as session:
        result = await session.execute(update(UserSession).values(last_seen_at=utcnow()))
        assert getattr(result, "rowcount", 0) == 0
