"""The notifications and settings API and the /notifications page."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, select, update

from hangar_bay.accounts.sessions import SESSION_COOKIE
from hangar_bay.accounts.testing import LoggedIn, log_in
from hangar_bay.alerts import service
from hangar_bay.alerts.matcher import match_new_contracts
from hangar_bay.core.database import Database
from hangar_bay.models import AlertOutbox, Notification
from tests.alerts.conftest import new_contract, search, watch
from tests.contracts.factories import DRAKE, RAVEN, Item

WEBHOOK = "https://discord.com/api/webhooks/123456789/SECRETtoken_abc"


async def _pilot(db: Database, client: httpx.AsyncClient, character_id: int = 90000101) -> LoggedIn:
    login = await log_in(db, character_id=character_id, character_name=f"Pilot {character_id}")
    client.cookies.set(SESSION_COOKIE, login.cookie)
    return login


async def _two_notifications(db: Database, user_id: int) -> tuple[int, int, int]:
    entry = await watch(db, user_id, DRAKE)
    saved = await search(db, user_id, "type_id=638", name="Ravens")
    drake = await new_contract(db, items=[Item(DRAKE)], price=50e6, title="Drake, fitted")
    await new_contract(db, items=[Item(RAVEN)], price=150e6)
    await match_new_contracts(db)
    return entry, saved, drake


async def test_needs_login(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/me/notifications", "/api/v1/me/settings"):
        response = await client.get(path)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
    page = await client.get("/notifications")
    assert page.status_code == 303
    assert page.headers["location"] == "/auth/login?next=/notifications"


async def test_list_and_read(universe: Database, client: httpx.AsyncClient) -> None:
    db = universe
    login = await _pilot(db, client)
    entry, saved, drake = await _two_notifications(db, login.user_id)

    listing = (await client.get("/api/v1/me/notifications")).json()
    assert listing["total"] == 2
    assert listing["unread"] == 2
    by_kind = {item["source"]["kind"]: item for item in listing["items"]}
    watch_item = by_kind["watch"]
    assert watch_item["source"] == {"kind": "watch", "id": entry, "name": "Drake"}
    assert by_kind["search"]["source"] == {"kind": "search", "id": saved, "name": "Ravens"}
    assert watch_item["read"] is False
    assert watch_item["url"] == f"/contracts/{drake}"
    assert watch_item["contract"]["contract_id"] == drake
    assert watch_item["contract"]["ships"][0]["name"] == "Drake"
    assert watch_item["contract"]["price"] == 50e6
    assert (await client.get("/api/v1/me/notifications/unread")).json() == {"unread": 2}

    # Unsafe requests need the CSRF token.
    refused = await client.post("/api/v1/me/notifications/read", json={"all": True})
    assert refused.status_code == 403
    assert refused.json()["error"] == "csrf"
    bad = await client.post("/api/v1/me/notifications/read", json={}, headers=login.headers)
    assert bad.status_code == 422

    read = await client.post(
        "/api/v1/me/notifications/read", json={"ids": [watch_item["id"]]}, headers=login.headers
    )
    assert read.json() == {"marked": 1, "unread": 1}
    unread = (await client.get("/api/v1/me/notifications?unread=true")).json()
    assert [item["source"]["kind"] for item in unread["items"]] == ["search"]
    paged = (await client.get("/api/v1/me/notifications?size=1&page=2")).json()
    assert paged["pages"] == 2
    assert len(paged["items"]) == 1
    assert (await client.get("/api/v1/me/notifications?size=1000")).status_code == 422

    everything = await client.post(
        "/api/v1/me/notifications/read", json={"all": True}, headers=login.headers
    )
    assert everything.json() == {"marked": 1, "unread": 0}


async def test_pilots_see_only_their_own(universe: Database, client: httpx.AsyncClient) -> None:
    db = universe
    other = await log_in(db, character_id=90000202, character_name="Other")
    await _two_notifications(db, other.user_id)
    async with db.session() as session:
        theirs = list(await session.scalars(select(Notification.id)))
    login = await _pilot(db, client)

    assert (await client.get("/api/v1/me/notifications")).json()["total"] == 0
    read = await client.post(
        "/api/v1/me/notifications/read", json={"ids": theirs}, headers=login.headers
    )
    assert read.json()["marked"] == 0
    # Another pilot's notification, like an unknown one, is a 404 page (docs/accounts.md).
    for row_id in (theirs[0], max(theirs) + 1000, 2**63 - 1):
        opened = await client.post(
            f"/notifications/{row_id}/open", data={"csrf_token": login.csrf_token}
        )
        assert opened.status_code == 404, row_id
        assert opened.headers["content-type"].startswith("text/html")
        assert "No such notification" in opened.text
    async with db.session() as session:
        unread = await session.scalar(
            select(func.count()).select_from(Notification).where(Notification.read_at.is_(None))
        )
    assert unread == 2


async def test_settings_webhook(universe: Database, client: httpx.AsyncClient) -> None:
    db = universe
    login = await _pilot(db, client)
    assert (await client.get("/api/v1/me/settings")).json()["discord_webhook_url"] is None

    no_csrf = await client.put("/api/v1/me/settings", json={"discord_webhook_url": WEBHOOK})
    assert no_csrf.status_code == 403
    for bad in (
        "https://evil.example/api/webhooks/1/t",
        "http://127.0.0.1:9/api/webhooks/1/t",
        "https://discord.com@evil.example/api/webhooks/1/t",
        "https://discord.com/api/webhooks/1/t?x=1",
    ):
        refused = await client.put(
            "/api/v1/me/settings", json={"discord_webhook_url": bad}, headers=login.headers
        )
        assert refused.status_code == 422, bad
        assert refused.json()["detail"][0]["loc"] == ["body", "discord_webhook_url"]

    saved = await client.put(
        "/api/v1/me/settings", json={"discord_webhook_url": WEBHOOK}, headers=login.headers
    )
    assert saved.status_code == 200
    body = saved.json()
    assert body["discord_webhook_url"] == "https://discord.com/api/webhooks/123456789/****"
    assert body["discord_enabled"] is True
    shown = (await client.get("/api/v1/me/settings")).text
    assert "SECRETtoken" not in shown
    page = await client.get("/notifications")
    assert "SECRETtoken" not in page.text

    # With a webhook, matches are queued for Discord.
    await _two_notifications(db, login.user_id)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(AlertOutbox)) == 2
    assert (await client.get("/api/v1/me/settings")).json()["discord_pending"] == 2

    off = await client.put(
        "/api/v1/me/settings", json={"discord_webhook_url": None}, headers=login.headers
    )
    assert off.json()["discord_enabled"] is False
    assert off.json()["discord_webhook_url"] is None


async def test_page_open_lands_on_the_contract(
    universe: Database, client: httpx.AsyncClient
) -> None:
    db = universe
    login = await _pilot(db, client)
    _, _, drake = await _two_notifications(db, login.user_id)

    page = await client.get("/notifications")
    assert page.status_code == 200
    assert "2 unread of 2" in page.text
    assert "Drake" in page.text
    listing = (await client.get("/api/v1/me/notifications")).json()
    watch_id = next(i["id"] for i in listing["items"] if i["source"]["kind"] == "watch")

    refused = await client.post(f"/notifications/{watch_id}/open")
    assert refused.status_code in (401, 403)
    opened = await client.post(
        f"/notifications/{watch_id}/open", data={"csrf_token": login.csrf_token}
    )
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/contracts/{drake}"
    assert (await client.get(opened.headers["location"])).status_code == 200
    assert (await client.get("/api/v1/me/notifications/unread")).json() == {"unread": 1}

    bad = await client.post(
        "/notifications/settings",
        data={"csrf_token": login.csrf_token, "discord_webhook_url": "https://evil.example/x"},
    )
    assert bad.status_code == 422
    assert "cannot be used" in bad.text
    # An action the form does not have is refused, not taken as "save".
    unknown = await client.post(
        "/notifications/settings", data={"csrf_token": login.csrf_token, "action": "nuke"}
    )
    assert unknown.status_code == 422
    assert "action: expected save, remove or test" in unknown.text


async def test_old_notifications_are_pruned(universe: Database) -> None:
    db = universe
    login = await log_in(db)
    await _two_notifications(db, login.user_id)
    async with db.session() as session:
        await session.execute(
            update(Notification)
            .where(Notification.kind == "watch")
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=31))
        )
    async with db.session() as session:
        assert await service.prune(session, dt.timedelta(days=30)) == 1
        kinds = list(await session.scalars(select(Notification.kind)))
    assert kinds == ["search"]


async def test_settings_form_on_me(universe: Database, client: httpx.AsyncClient) -> None:
    db = universe
    login = await _pilot(db, client)
    page = await client.get("/me")
    assert page.status_code == 200
    assert "Discord alerts" in page.text
    assert 'action="/notifications/settings"' in page.text
    saved = await client.post(
        "/notifications/settings",
        data={"csrf_token": login.csrf_token, "back": "/me", "discord_webhook_url": WEBHOOK},
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/me"
    page = await client.get("/me")
    assert "https://discord.com/api/webhooks/123456789/****" in page.text
    assert "SECRETtoken" not in page.text


async def test_metrics_are_listed(client: httpx.AsyncClient) -> None:
    text = (await client.get("/metrics")).text
    for name in (
        "hangar_alerts_outbox_backlog",
        "hangar_alerts_matcher_duration_seconds",
        "hangar_alerts_notifications_total",
        "hangar_alerts_webhook_posts_total",
    ):
        assert name in text


async def test_saved_searches_link_their_feeds(
    universe: Database, client: httpx.AsyncClient
) -> None:
    login = await _pilot(universe, client)
    await search(universe, login.user_id, "group_id=419&max_price=60000000", name="Drakes")
    page = (await client.get("/me")).text
    feed = "/feeds/contracts.atom?group_id=419&amp;max_price=60000000"
    assert (
        f'<link rel="alternate" type="application/atom+xml" title="Drakes" href="{feed}">' in page
    )
    assert f'href="{feed}" title="Atom feed of this search">Atom feed</a>' in page


async def test_page_header_shows_the_pilot(universe: Database, client: httpx.AsyncClient) -> None:
    await _pilot(universe, client, character_id=90000303)
    page = await client.get("/notifications")
    assert "Pilot 90000303" in page.text
    assert "Log out" in page.text
    assert page.headers["cache-control"] == "private, no-store"


async def test_settings_refuse_control_characters_and_unknown_fields(
    universe: Database, client: httpx.AsyncClient
) -> None:
    login = await _pilot(universe, client)
    for body, field in (
        ({"discord_webhook_url": WEBHOOK + "\u0000"}, "discord_webhook_url"),
        ({"discord_webhook_url": WEBHOOK, "enabled": True}, "enabled"),
    ):
        refused = await client.put("/api/v1/me/settings", json=body, headers=login.headers)
        assert refused.status_code == 422, body
        assert refused.json()["detail"][0]["loc"] == ["body", field]
    form = await client.post(
        "/notifications/settings",
        data={"csrf_token": login.csrf_token, "discord_webhook_url": WEBHOOK + "\x00"},
    )
    assert form.status_code == 422
    assert "discord_webhook_url" in form.text
    assert (await client.get("/api/v1/me/settings")).json()["discord_webhook_url"] is None


async def test_notices_are_fixed_texts(universe: Database, client: httpx.AsyncClient) -> None:
    login = await _pilot(universe, client)
    saved = await client.post(
        "/notifications/settings",
        data={"csrf_token": login.csrf_token, "discord_webhook_url": WEBHOOK},
    )
    assert saved.headers["location"] == "/notifications?notice=alerts-on"
    page = await client.get(saved.headers["location"])
    assert "Discord alerts on." in page.text
    assert page.headers["vary"] == "Cookie"
    assert "private" in page.headers["cache-control"]
    phishing = "Your account is suspended, log in at evil.example"
    page = await client.get("/notifications", params={"notice": phishing})
    assert page.status_code == 200
    assert "evil.example" not in page.text
    assert 'class="flash"' not in page.text


async def test_settings_form_csrf_is_the_expired_form_page(
    universe: Database, client: httpx.AsyncClient
) -> None:
    login = await _pilot(universe, client)
    await _two_notifications(universe, login.user_id)
    for path in ("/notifications/settings", "/notifications/read-all", "/notifications/1/open"):
        for token in (None, "wrong"):
            data = {"discord_webhook_url": WEBHOOK}
            if token is not None:
                data["csrf_token"] = token
            refused = await client.post(path, data=data)
            assert refused.status_code == 403, (path, token)
            assert "This form has expired" in refused.text
    assert (await client.get("/api/v1/me/settings")).json()["discord_webhook_url"] is None
    assert (await client.get("/api/v1/me/notifications/unread")).json()["unread"] == 2


async def test_opening_a_notification_that_is_not_a_number_is_a_422_page(
    universe: Database, client: httpx.AsyncClient
) -> None:
    login = await _pilot(universe, client)
    await _two_notifications(universe, login.user_id)
    for bad in ("abc", "0", "1.5", str(2**64), "%D9%A1"):
        response = await client.post(
            f"/notifications/{bad}/open", data={"csrf_token": login.csrf_token}
        )
        assert response.status_code == 422, bad
        assert response.headers["content-type"].startswith("text/html")
        assert "notification_id: expected a positive whole number" in response.text
    # The session and CSRF checks come first, as on every form.
    expired = await client.post("/notifications/abc/open", data={"csrf_token": "wrong"})
    assert expired.status_code == 403
    client.cookies.delete(SESSION_COOKIE)
    logged_out = await client.post("/notifications/abc/open", data={"csrf_token": "x"})
    assert logged_out.status_code == 303
    assert logged_out.headers["location"].startswith("/auth/login")
    client.cookies.set(SESSION_COOKIE, login.cookie)
    assert (await client.get("/api/v1/me/notifications/unread")).json()["unread"] == 2


async def test_list_parameters_given_twice_are_422_naming_them(
    universe: Database, client: httpx.AsyncClient
) -> None:
    # A visitor gets the 401 first, as for any other bad value.
    visitor = await client.get("/api/v1/me/notifications?size=5&size=6")
    assert visitor.status_code == 401
    await _pilot(universe, client)
    browse = await client.get("/api/v1/contracts?size=5&size=6")
    (expected,) = browse.json()["detail"]
    for name, values in (("size", ("5", "6")), ("page", ("1", "1")), ("unread", ("true", "0"))):
        query = "&".join(f"{name}={value}" for value in values)
        response = await client.get(f"/api/v1/me/notifications?{query}")
        assert response.status_code == 422, query
        assert response.json()["error"] == "validation_error"
        assert response.json()["detail"] == [{**expected, "loc": ["query", name]}], query
    both = await client.get("/api/v1/me/notifications?size=5&page=1&size=6&page=2")
    assert [d["loc"] for d in both.json()["detail"]] == [["query", "page"], ["query", "size"]]
    assert (await client.get("/api/v1/me/notifications?size=5&page=1")).status_code == 200


async def test_settings_form_field_sent_twice_is_a_422_page_naming_it(
    universe: Database, client: httpx.AsyncClient
) -> None:
    login = await _pilot(universe, client)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for field, values in (
        ("discord_webhook_url", (WEBHOOK, WEBHOOK)),
        ("action", ("save", "remove")),
    ):
        pairs = [("csrf_token", login.csrf_token), *((field, value) for value in values)]
        if field != "discord_webhook_url":
            pairs.append(("discord_webhook_url", WEBHOOK))
        response = await client.post(
            "/notifications/settings", content=urlencode(pairs), headers=headers
        )
        assert response.status_code == 422, field
        assert f"{field}: given more than once; this parameter takes one value" in response.text
    assert (await client.get("/api/v1/me/settings")).json()["discord_webhook_url"] is None


async def test_the_notifications_page_refuses_a_repeated_page_number(
    universe: Database, client: httpx.AsyncClient
) -> None:
    await _pilot(universe, client)
    assert (await client.get("/notifications?page=2")).status_code == 200
    page = await client.get("/notifications?page=1&page=2")
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "page: given more than once" in page.text
