"""The Discord outbox and sender against a local receiver: batching, faults, exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select, update

from hangar_bay.accounts.sessions import SESSION_COOKIE
from hangar_bay.accounts.testing import log_in
from hangar_bay.alerts.discord import DeliveryResult, build_client, deliver_pending
from hangar_bay.alerts.matcher import match_new_contracts
from hangar_bay.app import create_app
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.models import AlertOutbox, AlertSettings, Notification, utcnow
from hangar_bay.settings import Settings
from tests.alerts.conftest import make_user, new_contract, watch
from tests.alerts.receiver import Answer, Receiver
from tests.contracts.factories import DRAKE, RIFTER, Item


@pytest.fixture
def alert_settings(settings: Settings, receiver: Receiver) -> Settings:
    return settings.model_copy(
        update={
            "discord_webhook_origins": [receiver.base_url],
            "alerts_backoff_seconds": 0.01,
            "public_url": "https://hangar.example",
        }
    )


@pytest.fixture
async def http(alert_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with build_client(alert_settings) as client:
        yield client


async def _drain(
    db: Database, http: httpx.AsyncClient, settings: Settings, rounds: int = 40
) -> DeliveryResult:
    """Deliver until nothing is pending (retries are due after tiny waits)."""
    total = DeliveryResult()
    for _ in range(rounds):
        result = await deliver_pending(db, http, settings)
        total.outcomes += result.outcomes
        total.sent += result.sent
        async with db.session() as session:
            pending = await session.scalar(
                select(func.count()).select_from(AlertOutbox).where(AlertOutbox.status == "pending")
            )
        if not pending:
            break
        await asyncio.sleep(0.03)
    return total


async def _statuses(db: Database) -> list[str]:
    async with db.session() as session:
        return list(await session.scalars(select(AlertOutbox.status).order_by(AlertOutbox.id)))


async def _one_match(db: Database, receiver: Receiver) -> int:
    """A user with a webhook on ``receiver`` watching the Drake, and one matched Drake
    contract waiting in the outbox; the user's id."""
    user = await make_user(db, webhook=receiver.webhook())
    await watch(db, user, DRAKE)
    await new_contract(db, items=[Item(DRAKE)])
    await match_new_contracts(db)
    return user


async def test_matches_of_one_sweep_batched_into_messages(
    universe: Database, receiver: Receiver, alert_settings: Settings, http: httpx.AsyncClient
) -> None:
    db = universe
    user = await make_user(db, webhook=receiver.webhook())
    await watch(db, user, DRAKE)
    for _ in range(12):
        await new_contract(db, items=[Item(DRAKE)], title="@everyone cheap", price=42e6)
    await new_contract(db, items=[Item(RIFTER)])
    await match_new_contracts(db)

    await _drain(db, http, alert_settings)

    assert [len(p["embeds"]) for p in receiver.posts] == [10, 2]
    embed = receiver.posts[0]["embeds"][0]
    assert embed["title"] == "Drake"
    assert embed["url"].startswith("https://hangar.example/contracts/")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Price"] == "42,000,000.00 ISK"
    assert fields["Location"].endswith("(0.9)")
    assert receiver.posts[0]["allowed_mentions"] == {"parse": []}
    assert await _statuses(db) == ["sent"] * 12
    # Sent rows are never sent again.
    await deliver_pending(db, http, alert_settings)
    assert len(receiver.posts) == 2


async def test_429_then_500_then_200_delivers_once(
    universe: Database, receiver: Receiver, alert_settings: Settings, http: httpx.AsyncClient
) -> None:
    db = universe
    await _one_match(db, receiver)
    receiver.script = [
        Answer(429, orjson.dumps({"retry_after": 0.05, "global": False})),
        Answer(500, b"oops"),
        Answer(204, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "0.01"}),
    ]

    result = await _drain(db, http, alert_settings)

    assert result.outcomes == ["rate_limited", "retry", "sent"]
    assert len(receiver.posts) == 1
    assert await _statuses(db) == ["sent"]


async def test_retry_after_is_honoured(
    universe: Database, receiver: Receiver, alert_settings: Settings, http: httpx.AsyncClient
) -> None:
    db = universe
    await _one_match(db, receiver)
    receiver.script = [Answer(429, b"not json", {"Retry-After": "30"})]

    await deliver_pending(db, http, alert_settings)
    await deliver_pending(db, http, alert_settings)

    assert receiver.posts == []
    assert len(receiver.paths) == 1  # not due again for 30 s
    async with db.session() as session:
        row = await session.scalar(select(AlertOutbox))
        assert row is not None
        due = (
            row.next_attempt_at
            if row.next_attempt_at.tzinfo
            else row.next_attempt_at.replace(tzinfo=dt.UTC)
        )
    assert due > utcnow() + dt.timedelta(seconds=20)


async def test_gives_up_after_bounded_tries(
    universe: Database, receiver: Receiver, alert_settings: Settings, http: httpx.AsyncClient
) -> None:
    db = universe
    settings = alert_settings.model_copy(update={"alerts_max_attempts": 3})
    await _one_match(db, receiver)
    receiver.then = Answer(503)

    result = await _drain(db, http, settings)

    assert result.outcomes == ["retry"] * 3
    assert await _statuses(db) == ["failed"]


async def test_429s_use_up_no_attempt(
    universe: Database, receiver: Receiver, alert_settings: Settings, http: httpx.AsyncClient
) -> None:
    db = universe
    settings = alert_settings.model_copy(update={"alerts_max_attempts": 2})
    await _one_match(db, receiver)
    limited = Answer(429, orjson.dumps({"retry_after": 0, "global": False}))
    receiver.script = [limited] * 4 + [Answer(500), Answer(204)]

    result = await _drain(db, http, settings)

    assert result.outcomes == ["rate_limited"] * 4 + ["retry", "sent"]
    assert await _statuses(db) == ["sent"]
    async with db.session() as session:
        # The 500 and the 204 counted; the four 429s did not.
        assert await session.scalar(select(AlertOutbox.attempts)) == 2


async def test_a_message_rate_limited_past_its_age_is_failed(
    universe: Database, receiver: Receiver, alert_settings: Settings, http: httpx.AsyncClient
) -> None:
    db = universe
    settings = alert_settings.model_copy(update={"alerts_max_age_hours": 1.0})
    await _one_match(db, receiver)
    receiver.then = Answer(429, orjson.dumps({"retry_after": 0}))
    # A young message is kept through any number of 429s ...
    for _ in range(3):
        await deliver_pending(db, http, settings)
    assert await _statuses(db) == ["pending"]
    # ... one written longer ago than the age limit is failed at its next 429.
    async with db.session() as session:
        await session.execute(
            update(AlertOutbox).values(created_at=utcnow() - dt.timedelta(hours=2))
        )

    result = await deliver_pending(db, http, settings)

    assert result.outcomes == ["rate_limited"]
    assert await _statuses(db) == ["failed"]
    async with db.session() as session:
        assert await session.scalar(select(AlertOutbox.last_error)) == "expired"


async def test_404_turns_the_webhook_off_with_a_notice(
    universe: Database, receiver: Receiver, alert_settings: Settings, http: httpx.AsyncClient
) -> None:
    db = universe
    user = await _one_match(db, receiver)
    receiver.then = Answer(404, b'{"message": "Unknown Webhook", "code": 10015}')

    await _drain(db, http, alert_settings)

    async with db.session() as session:
        row = await session.get(AlertSettings, user)
        assert row is not None
        assert row.discord_enabled is False
        assert "404" in (row.discord_disabled_reason or "")
        notices = list(
            await session.scalars(select(Notification.message).where(Notification.kind == "notice"))
        )
    assert len(notices) == 1
    assert "turned off" in (notices[0] or "")
    assert await _statuses(db) == ["failed"]
    # Later matches are not queued for a webhook that is off.
    await new_contract(db, items=[Item(DRAKE)])
    assert (await match_new_contracts(db)).outbox == 0


async def test_crash_between_notification_and_post_then_restart(
    universe: Database, receiver: Receiver, alert_settings: Settings, http: httpx.AsyncClient
) -> None:
    db = universe
    user = await make_user(db, webhook=receiver.webhook())
    await watch(db, user, DRAKE)
    await new_contract(db, items=[Item(DRAKE)])
    await new_contract(db, items=[Item(DRAKE)])
    await match_new_contracts(db)
    # The first sender claimed the rows and died before posting (its lease runs out).
    async with db.session() as session:
        await session.execute(
            update(AlertOutbox).values(
                claim="dead", claimed_until=utcnow() - dt.timedelta(seconds=1)
            )
        )

    await _drain(db, http, alert_settings)  # the restarted process
    await _drain(db, http, alert_settings)  # and again: nothing twice

    assert [len(p["embeds"]) for p in receiver.posts] == [2]
    assert await _statuses(db) == ["sent", "sent"]


async def test_racing_senders_post_each_message_once(
    universe: Database, receiver: Receiver, alert_settings: Settings, http: httpx.AsyncClient
) -> None:
    db = universe
    users = [await make_user(db, webhook=receiver.webhook(n)) for n in range(1, 5)]
    for user in users:
        await watch(db, user, DRAKE)
    for _ in range(3):
        await new_contract(db, items=[Item(DRAKE)])
    await match_new_contracts(db)

    await asyncio.gather(*(deliver_pending(db, http, alert_settings) for _ in range(3)))
    await _drain(db, http, alert_settings)

    assert sorted(len(p["embeds"]) for p in receiver.posts) == [3, 3, 3, 3]
    assert sorted(receiver.paths) == sorted(f"/api/webhooks/{n}/tok-en_1" for n in range(1, 5))


async def test_redirects_are_not_followed(
    universe: Database, receiver: Receiver, alert_settings: Settings, http: httpx.AsyncClient
) -> None:
    db = universe
    await _one_match(db, receiver)
    # An allowed host answering with a redirect to another host: never followed.
    elsewhere = receiver.webhook(999, "other")
    receiver.then = Answer(307, headers={"Location": elsewhere})

    result = await _drain(db, http, alert_settings)

    assert result.outcomes == ["failed"]
    assert receiver.paths == ["/api/webhooks/123/tok-en_1"]
    assert await _statuses(db) == ["failed"]


async def test_the_token_is_never_logged(
    universe: Database,
    receiver: Receiver,
    alert_settings: Settings,
    http: httpx.AsyncClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = universe
    user = await make_user(db, webhook=receiver.webhook(123, "VerySecretToken"))
    await watch(db, user, DRAKE)
    await new_contract(db, items=[Item(DRAKE)])
    await match_new_contracts(db)
    receiver.script = [Answer(500, b"VerySecretToken echoed back")]

    await _drain(db, http, alert_settings)

    logged = capsys.readouterr()
    assert "webhook_posted" in logged.out + logged.err
    assert "VerySecretToken" not in logged.out + logged.err


async def test_a_test_answered_gone_turns_discord_off(
    universe: Database, cache: ResilientCache, receiver: Receiver, alert_settings: Settings
) -> None:
    app = create_app(alert_settings, database=universe, cache=cache)
    login = await log_in(universe)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.cookies.set(SESSION_COOKIE, login.cookie)
            for status, via_form in ((404, False), (401, True)):
                saved = await client.put(
                    "/api/v1/me/settings",
                    json={"discord_webhook_url": receiver.webhook()},
                    headers=login.headers,
                )
                assert saved.json()["discord_enabled"] is True
                receiver.script = [Answer(status)]
                if via_form:
                    form = await client.post(
                        "/notifications/settings",
                        data={"csrf_token": login.csrf_token, "action": "test"},
                    )
                    assert form.headers["location"] == "/notifications?notice=test-gone"
                    page = await client.get(form.headers["location"])
                    assert "Discord alerts were turned off" in page.text
                else:
                    test = await client.post("/api/v1/me/settings/test", headers=login.headers)
                    assert test.json() == {"outcome": "gone"}
                after = (await client.get("/api/v1/me/settings")).json()
                assert after["discord_enabled"] is False, status
                assert str(status) in after["discord_disabled_reason"]
    async with universe.session() as session:
        notices = list(await session.scalars(select(Notification.message)))
    assert len(notices) == 2
    assert all("turned off" in (n or "") for n in notices)


async def test_send_test_message_button(
    universe: Database, cache: ResilientCache, receiver: Receiver, alert_settings: Settings
) -> None:
    app = create_app(alert_settings, database=universe, cache=cache)
    login = await log_in(universe)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.cookies.set(SESSION_COOKIE, login.cookie)
            none_yet = await client.post("/api/v1/me/settings/test", headers=login.headers)
            assert none_yet.status_code == 400
            saved = await client.put(
                "/api/v1/me/settings",
                json={"discord_webhook_url": receiver.webhook()},
                headers=login.headers,
            )
            assert saved.status_code == 200
            sent = await client.post("/api/v1/me/settings/test", headers=login.headers)
            assert sent.json() == {"outcome": "sent"}
            form = await client.post(
                "/notifications/settings", data={"csrf_token": login.csrf_token, "action": "test"}
            )
            assert form.headers["location"] == "/notifications?notice=test-sent"
    assert [p["embeds"][0]["title"] for p in receiver.posts] == ["Hangar Bay test message"] * 2
