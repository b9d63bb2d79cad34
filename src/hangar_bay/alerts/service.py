"""The notifications service: a pilot's notifications, read marks, settings, pruning.

Services only flush; the caller's unit of work commits.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.alerts.webhooks import WebhookUrl, WebhookUrlError, validate_webhook_url
from hangar_bay.contracts.listing import summaries_for
from hangar_bay.contracts.schemas import ContractSummary
from hangar_bay.models import (
    AlertOutbox,
    AlertSettings,
    Notification,
    as_utc,
    utcnow,
)

MAX_PAGE_SIZE = 100


class NotificationSource(BaseModel):
    kind: str = Field(
        description="`watch` (a watch entry), `search` (a saved search) or "
        "`notice` (a message from Hangar Bay)."
    )
    id: int | None = Field(description="The watch entry's or saved search's id.")
    name: str = Field(description="Its name when it matched (the ship type for a watch entry).")


class NotificationOut(BaseModel):
    id: int
    created_at: dt.datetime
    read: bool
    source: NotificationSource
    message: str | None = Field(None, description="A notice's text.")
    contract: ContractSummary | None = Field(None, description="As in the browse list.")
    url: str | None = Field(None, description="The contract's page.")


class NotificationPage(BaseModel):
    total: int
    unread: int
    page: int
    size: int
    pages: int
    items: list[NotificationOut]


class SettingsOut(BaseModel):
    discord_webhook_url: str | None = Field(
        description="The webhook URL with its token masked, or null."
    )
    discord_enabled: bool
    discord_disabled_reason: str | None = Field(
        description="Why delivery was turned off (Discord refused the webhook), if it was."
    )
    discord_failed: int = Field(description="Discord deliveries given up on (last 30 days).")
    discord_pending: int = Field(description="Discord deliveries waiting to be sent.")


def contract_url(public_url: str, contract_id: int) -> str:
    return f"{public_url.rstrip('/')}/contracts/{contract_id}"


async def unread_count(session: AsyncSession, user_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(count or 0)


async def list_notifications(
    session: AsyncSession, user_id: int, *, unread: bool = False, page: int = 1, size: int = 20
) -> NotificationPage:
    """A page of the user's notifications, newest first, with their contracts."""
    conds = [Notification.user_id == user_id]
    if unread:
        conds.append(Notification.read_at.is_(None))
    total = int(
        await session.scalar(select(func.count()).select_from(Notification).where(*conds)) or 0
    )
    rows = (
        await session.scalars(
            select(Notification)
            .where(*conds)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
    ).all()
    summaries = await summaries_for(
        session, [n.contract_id for n in rows if n.contract_id is not None]
    )
    items = []
    for n in rows:
        summary = summaries.get(n.contract_id) if n.contract_id is not None else None
        items.append(
            NotificationOut(
                id=n.id,
                created_at=as_utc(n.created_at),
                read=n.read_at is not None,
                source=NotificationSource(
                    kind=n.kind,
                    id=n.source_id if n.kind != "notice" else None,
                    name=n.source_name,
                ),
                message=n.message,
                contract=ContractSummary.model_validate(summary) if summary else None,
                url=f"/contracts/{n.contract_id}" if n.contract_id is not None else None,
            )
        )
    return NotificationPage(
        total=total,
        unread=total if unread else await unread_count(session, user_id),
        page=page,
        size=size,
        pages=max(1, math.ceil(total / size)),
        items=items,
    )


async def mark_read(
    session: AsyncSession, user_id: int, *, ids: Sequence[int] = (), everything: bool = False
) -> int:
    """Mark the user's notifications read (only theirs); returns how many changed."""
    conds = [Notification.user_id == user_id, Notification.read_at.is_(None)]
    if not everything:
        if not ids:
            return 0
        conds.append(Notification.id.in_(list(ids)))
    result = await session.execute(
        update(Notification)
        .where(*conds)
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def add_notice(session: AsyncSession, user_id: int, message: str) -> None:
    session.add(
        Notification(
            user_id=user_id, kind="notice", source_id=0, source_name="Hangar Bay", message=message
        )
    )
    await session.flush()


async def prune(session: AsyncSession, older_than: dt.timedelta) -> int:
    """Delete notifications (and their outbox rows) older than ``older_than``."""
    cutoff = utcnow() - older_than
    old = select(Notification.id).where(Notification.created_at < cutoff)
    await session.execute(
        delete(AlertOutbox)
        .where(AlertOutbox.notification_id.in_(old))
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(
        delete(Notification)
        .where(Notification.created_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _masked(url: str | None, allowed: Sequence[str]) -> str | None:
    if not url:
        return None
    try:
        return validate_webhook_url(url, allowed).masked
    except WebhookUrlError:
        return "(no longer allowed)"


async def get_settings(session: AsyncSession, user_id: int, allowed: Sequence[str]) -> SettingsOut:
    row = await session.get(AlertSettings, user_id)
    counts = dict(
        (
            await session.execute(
                select(AlertOutbox.status, func.count())
                .where(AlertOutbox.user_id == user_id, AlertOutbox.status != "sent")
                .group_by(AlertOutbox.status)
            )
        ).all()
    )
    return SettingsOut(
        discord_webhook_url=_masked(row.discord_webhook_url if row else None, allowed),
        discord_enabled=bool(row and row.discord_enabled),
        discord_disabled_reason=row.discord_disabled_reason if row else None,
        discord_failed=int(counts.get("failed", 0)),
        discord_pending=int(counts.get("pending", 0)),
    )


async def set_webhook(session: AsyncSession, user_id: int, webhook: WebhookUrl | None) -> None:
    """Store (or with ``None`` remove) the user's webhook, and turn delivery on (off)."""
    row = await session.get(AlertSettings, user_id)
    if row is None:
        row = AlertSettings(user_id=user_id)
        session.add(row)
    row.discord_webhook_url = webhook.url if webhook else None
    row.discord_enabled = webhook is not None
    row.discord_disabled_reason = None
    row.updated_at = utcnow()
    await session.flush()
