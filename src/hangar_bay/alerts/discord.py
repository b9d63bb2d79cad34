"""The Discord sender: posts the outbox's pending rows, up to 10 embeds per message.

Each round claims a user's due rows (``claim``/``claimed_until``, in their own short
transaction, so any number of senders can run), posts them as one message to the
user's webhook without following redirects, and records the outcome:

* 2xx: ``sent`` (never posted again);
* 429: due again after ``retry_after`` (body) or ``Retry-After``; Discord did not
  refuse the message, so this uses up no attempt;
* 5xx, timeout, connection error: due again after a doubling backoff; ``failed`` once
  ``alerts_max_attempts`` such posts were made;
* either of the two, for a message written more than ``alerts_max_age_hours`` ago:
  ``failed`` (the bound on a webhook that answers 429 for ever);
* 401/404: the webhook is gone: delivery is turned off, the rows are ``failed`` and the
  pilot gets an in-app notice;
* anything else (a redirect, another 4xx): ``failed``.

A test message (:func:`test_and_apply`) follows the same rule for 401/404.

``X-RateLimit-Remaining: 0`` with ``X-RateLimit-Reset-After`` holds the user's next
message back until the bucket resets. Discord's answers are untrusted input: parsed
defensively, never logged in full. The webhook token is never logged (only its id).
A claim that outlives its lease (the sender died mid-post) is claimed again; a row
marked ``sent`` never is.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.alerts import service
from hangar_bay.alerts.matcher import begin_write
from hangar_bay.alerts.metrics import alert_metrics
from hangar_bay.alerts.webhooks import WebhookUrl, WebhookUrlError, validate_webhook_url
from hangar_bay.contracts.listing import summaries_for
from hangar_bay.core.database import Database
from hangar_bay.core.logging import get_logger
from hangar_bay.core.metrics import Metrics
from hangar_bay.models import AlertOutbox, AlertSettings, Notification, utcnow
from hangar_bay.settings import Settings
from hangar_bay.web import format as fmt

log = get_logger(__name__)

EMBEDS_PER_MESSAGE = 10
CLAIM_SECONDS = 120.0
MAX_RETRY_AFTER = 3600.0
EMBED_COLOUR = 0x3B82F6


@dataclass
class DeliveryResult:
    messages: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    disabled: int = 0
    outcomes: list[str] = field(default_factory=list)


def build_client(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client for webhooks: no redirects, bounded timeouts, no cookies kept."""
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(settings.alerts_webhook_timeout_seconds, connect=5.0),
        headers={"User-Agent": settings.user_agent},
        trust_env=False,
    )


def _seconds(value: Any) -> float | None:
    """A non-negative finite number of seconds from untrusted input, else None."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if not 0 <= seconds < float("inf"):
        return None
    return min(seconds, MAX_RETRY_AFTER)


def retry_after(response: httpx.Response) -> float:
    """How long Discord asks us to wait after a 429 (seconds, capped)."""
    body: Any = None
    if len(response.content) <= 10_000:
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = None
    found = _seconds(body.get("retry_after")) if isinstance(body, dict) else None
    if found is None:
        found = _seconds(response.headers.get("retry-after"))
    return 1.0 if found is None else found


def bucket_wait(response: httpx.Response) -> float | None:
    """Seconds until the webhook's rate-limit bucket refills, when it is empty now."""
    if response.headers.get("x-ratelimit-remaining", "").strip() != "0":
        return None
    return _seconds(response.headers.get("x-ratelimit-reset-after"))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def embed_for(summary: dict[str, Any], source: str, public_url: str) -> dict[str, Any]:
    """One contract as a Discord embed: ship, price, location with security, link."""
    ships = summary.get("ships") or []
    ship = ", ".join(
        f"{s['quantity']} x {s['name'] or s['type_id']}" if s["quantity"] > 1 else str(s["name"])
        for s in ships
    ) or (summary.get("title") or f"Contract {summary['contract_id']}")
    location = summary.get("start_location_name") or "Unknown location"
    security = fmt.security_display(summary.get("start_security"))
    return {
        "title": _clip(ship, 250),
        "url": service.contract_url(public_url, summary["contract_id"]),
        "color": EMBED_COLOUR,
        "description": _clip(summary.get("title") or "", 300) or None,
        "fields": [
            {"name": "Price", "value": fmt.isk_full(summary.get("price")), "inline": True},
            {
                "name": "Location",
                "value": _clip(f"{location} ({security})", 1000),
                "inline": True,
            },
            {"name": "Matched", "value": _clip(source, 200), "inline": False},
        ],
        "timestamp": summary["date_issued"].isoformat(),
    }


def message_for(embeds: Sequence[dict[str, Any]], content: str = "") -> bytes:
    # No mentions, whatever a contract's title says (@everyone in a title stays text).
    payload: dict[str, Any] = {
        "username": "Hangar Bay",
        "embeds": [{k: v for k, v in e.items() if v is not None} for e in embeds],
        "allowed_mentions": {"parse": []},
    }
    if content:
        payload["content"] = content
    return orjson.dumps(payload)


async def post(
    http: httpx.AsyncClient, webhook: WebhookUrl, body: bytes
) -> tuple[str, httpx.Response | None]:
    """Post once; the outcome (sent, rate_limited, retry, gone, failed) and the answer."""
    try:
        response = await http.post(
            webhook.url, content=body, headers={"Content-Type": "application/json"}
        )
    except httpx.HTTPError as exc:
        log.info("webhook_post_error", webhook_id=webhook.webhook_id, error=type(exc).__name__)
        return "retry", None
    status = response.status_code
    if 200 <= status < 300:
        return "sent", response
    if status == 429:
        return "rate_limited", response
    if status >= 500:
        return "retry", response
    if status in (401, 404):
        return "gone", response
    return "failed", response


async def _claim(database: Database, now: dt.datetime) -> tuple[str, int, list[int]] | None:
    """Claim up to one message's worth of one user's due rows."""
    due = (
        AlertOutbox.status == "pending",
        AlertOutbox.next_attempt_at <= now,
        or_(AlertOutbox.claimed_until.is_(None), AlertOutbox.claimed_until < now),
    )
    token = secrets.token_hex(8)
    async with database.session() as session:
        await begin_write(session)
        user_id = await session.scalar(
            select(AlertOutbox.user_id).where(*due).order_by(AlertOutbox.id).limit(1)
        )
        if user_id is None:
            return None
        ids = (
            select(AlertOutbox.id)
            .where(AlertOutbox.user_id == user_id, *due)
            .order_by(AlertOutbox.id)
            .limit(EMBEDS_PER_MESSAGE)
            .scalar_subquery()
        )
        # The due test again in the outer WHERE: a racing sender's claim, committed
        # while this one waited for the row, makes the row fail it here.
        await session.execute(
            update(AlertOutbox)
            .where(AlertOutbox.id.in_(ids), *due)
            .values(claim=token, claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS))
            .execution_options(synchronize_session=False)
        )
    async with database.session() as session:
        claimed = list(
            await session.scalars(
                select(AlertOutbox.id).where(AlertOutbox.claim == token).order_by(AlertOutbox.id)
            )
        )
    # Empty when a racing sender claimed these rows first: the caller moves on.
    return token, int(user_id), claimed


async def _finish(
    session: AsyncSession,
    ids: Sequence[int],
    *,
    status: str | None = None,
    next_at: dt.datetime | None = None,
    attempted: bool = True,
    error: str | None = None,
    now: dt.datetime,
) -> None:
    values: dict[str, Any] = {"claim": None, "claimed_until": None}
    if status is not None:
        values["status"] = status
    if status == "sent":
        values["sent_at"] = now
    if next_at is not None:
        values["next_attempt_at"] = next_at
    if attempted:
        values["attempts"] = AlertOutbox.attempts + 1
    if error is not None:
        values["last_error"] = error[:200]
    await session.execute(
        update(AlertOutbox)
        .where(AlertOutbox.id.in_(list(ids)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def _disable(session: AsyncSession, user_id: int, reason: str) -> None:
    await session.execute(
        update(AlertSettings)
        .where(AlertSettings.user_id == user_id)
        .values(discord_enabled=False, discord_disabled_reason=reason, updated_at=utcnow())
    )
    await session.execute(
        update(AlertOutbox)
        .where(AlertOutbox.user_id == user_id, AlertOutbox.status == "pending")
        .values(status="failed", last_error=reason, claim=None, claimed_until=None)
    )
    await service.add_notice(
        session, user_id, f"Discord alerts were turned off: {reason}. Set a new webhook on /me."
    )


async def _send_one(
    database: Database,
    http: httpx.AsyncClient,
    settings: Settings,
    metrics: Metrics | None,
    claim: tuple[str, int, list[int]],
    result: DeliveryResult,
) -> None:
    _, user_id, ids = claim
    now = utcnow()
    async with database.session() as session:
        row = await session.get(AlertSettings, user_id)
        pairs = (
            await session.execute(
                select(AlertOutbox.id, Notification)
                .join(Notification, Notification.id == AlertOutbox.notification_id)
                .where(AlertOutbox.id.in_(ids))
                .order_by(AlertOutbox.id)
            )
        ).all()
        summaries = await summaries_for(
            session, [n.contract_id for _, n in pairs if n.contract_id is not None]
        )
    webhook: WebhookUrl | None = None
    if row is not None and row.discord_enabled and row.discord_webhook_url:
        try:
            webhook = validate_webhook_url(
                row.discord_webhook_url, settings.discord_webhook_origins
            )
        except WebhookUrlError:
            webhook = None
    if webhook is None:
        async with database.session() as session:
            await _finish(session, ids, status="failed", error="webhook off", now=now)
        result.failed += len(ids)
        return
    embeds = []
    for _, n in pairs:
        summary = summaries.get(n.contract_id) if n.contract_id is not None else None
        if summary is not None:
            source = f"{'Watchlist' if n.kind == 'watch' else 'Saved search'}: {n.source_name}"
            embeds.append(embed_for(summary, source, settings.public_url))
    if not embeds:
        async with database.session() as session:
            await _finish(session, ids, status="failed", error="contract gone", now=now)
        result.failed += len(ids)
        return
    outcome, response = await post(http, webhook, message_for(embeds))
    result.messages += 1
    result.outcomes.append(outcome)
    m = alert_metrics(metrics)
    if m is not None:
        m.webhook_posts.labels(outcome).inc()
    status_code = response.status_code if response is not None else None
    log.info(
        "webhook_posted",
        webhook_id=webhook.webhook_id,
        outcome=outcome,
        status=status_code,
        embeds=len(embeds),
    )
    async with database.session() as session:
        if outcome == "sent":
            await _finish(session, ids, status="sent", now=now)
            result.sent += len(ids)
            wait = bucket_wait(response) if response is not None else None
            if wait:
                await session.execute(
                    update(AlertOutbox)
                    .where(AlertOutbox.user_id == user_id, AlertOutbox.status == "pending")
                    .values(next_attempt_at=now + dt.timedelta(seconds=wait))
                )
        elif outcome == "rate_limited":
            assert response is not None
            wait = retry_after(response)
            await _finish(
                session,
                ids,
                next_at=now + dt.timedelta(seconds=wait),
                attempted=False,
                error="429",
                now=now,
            )
            await _give_up_exhausted(session, ids, settings, now)
            result.retried += len(ids)
        elif outcome == "retry":
            attempts = await session.scalar(
                select(AlertOutbox.attempts).where(AlertOutbox.id == ids[0])
            )
            delay = settings.alerts_backoff_seconds * 2 ** int(attempts or 0)
            await _finish(
                session,
                ids,
                next_at=now + dt.timedelta(seconds=delay),
                error=f"HTTP {status_code}" if status_code else "no answer",
                now=now,
            )
            result.retried += len(ids)
            await _give_up_exhausted(session, ids, settings, now)
        elif outcome == "gone":
            await _finish(session, ids, status="failed", error=f"HTTP {status_code}", now=now)
            await _disable(session, user_id, f"Discord answered {status_code} for the webhook")
            result.disabled += 1
            result.failed += len(ids)
        else:
            await _finish(session, ids, status="failed", error=f"HTTP {status_code}", now=now)
            result.failed += len(ids)


async def _give_up_exhausted(
    session: AsyncSession, ids: Sequence[int], settings: Settings, now: dt.datetime
) -> None:
    """Fail the rows among ``ids`` that used up their attempts or outlived
    ``alerts_max_age_hours`` (called after a post that did not deliver them)."""
    await session.execute(
        update(AlertOutbox)
        .where(
            AlertOutbox.id.in_(list(ids)),
            AlertOutbox.attempts >= settings.alerts_max_attempts,
        )
        .values(status="failed")
        .execution_options(synchronize_session=False)
    )
    oldest = now - dt.timedelta(hours=settings.alerts_max_age_hours)
    await session.execute(
        update(AlertOutbox)
        .where(
            AlertOutbox.id.in_(list(ids)),
            AlertOutbox.status == "pending",
            AlertOutbox.created_at < oldest,
        )
        .values(status="failed", last_error="expired")
        .execution_options(synchronize_session=False)
    )


async def deliver_pending(
    database: Database,
    http: httpx.AsyncClient,
    settings: Settings,
    metrics: Metrics | None = None,
    *,
    max_messages: int = 100,
) -> DeliveryResult:
    """Post every due outbox row (at most ``max_messages`` messages this round)."""
    result = DeliveryResult()
    for _ in range(max_messages):
        claim = await _claim(database, utcnow())
        if claim is None:
            break
        if claim[2]:
            await _send_one(database, http, settings, metrics, claim, result)
    m = alert_metrics(metrics)
    if m is not None:
        async with database.session() as session:
            backlog = await session.scalar(
                select(func.count()).select_from(AlertOutbox).where(AlertOutbox.status == "pending")
            )
        m.outbox_backlog.set(int(backlog or 0))
    return result


async def send_test(http: httpx.AsyncClient, settings: Settings, webhook_url: str) -> str:
    """Post a test message to the webhook; the outcome (sent, rate_limited, retry, gone,
    failed). Raises :class:`WebhookUrlError` when the URL is not allowed."""
    outcome, _ = await _post_test(http, settings, webhook_url)
    return outcome


async def test_and_apply(
    session: AsyncSession,
    http: httpx.AsyncClient,
    settings: Settings,
    user_id: int,
    webhook_url: str,
) -> str:
    """:func:`send_test`, and when Discord answers 401/404 the sender's rule: delivery
    is turned off and the pilot gets an in-app notice (the webhook will not come back)."""
    outcome, status_code = await _post_test(http, settings, webhook_url)
    if outcome == "gone":
        await _disable(
            session, user_id, f"Discord answered {status_code} for the webhook (test message)"
        )
    return outcome


async def _post_test(
    http: httpx.AsyncClient, settings: Settings, webhook_url: str
) -> tuple[str, int | None]:
    webhook = validate_webhook_url(webhook_url, settings.discord_webhook_origins)
    body = message_for(
        [
            {
                "title": "Hangar Bay test message",
                "url": settings.public_url,
                "color": EMBED_COLOUR,
                "description": "Alerts for your watchlist and saved searches will look like this.",
            }
        ]
    )
    outcome, response = await post(http, webhook, body)
    log.info("webhook_test", webhook_id=webhook.webhook_id, outcome=outcome)
    return outcome, response.status_code if response is not None else None
