"""Worker mode: two `hangar-bay worker` processes sweep, match (a task of its own) and
post to Discord, racing each other; each notification and each post happens once."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from esi_sim.testing import RunningSimulator
from hangar_bay.accounts.testing import log_in
from hangar_bay.alerts.service import set_webhook
from hangar_bay.alerts.webhooks import validate_webhook_url
from hangar_bay.core.database import Database
from hangar_bay.models import AlertOutbox, Contract, ContractItem, Notification, utcnow
from hangar_bay.settings import Settings
from tests.alerts.conftest import search, watch
from tests.alerts.receiver import Receiver
from tests.conftest import TEST_CACHE_URL
from tests.ingest.test_worker import worker_env, workers
from tests.ingest.truth import wait_complete

pytestmark = pytest.mark.skipif(
    not TEST_CACHE_URL.startswith("redis"),
    reason="worker mode needs Redis (runs with HANGAR_TEST_CACHE_URL=redis://…)",
)

REGIONS = [10000002, 10000043]
DRAKE = 24698


async def _settled(db: Database, want: int, timeout: float) -> list[str]:
    """Wait until ``want`` outbox rows are done (sent or failed); their statuses."""
    statuses: list[str] = []
    for _ in range(int(timeout / 0.25)):
        async with db.session() as session:
            statuses = list(await session.scalars(select(AlertOutbox.status)))
        if len(statuses) >= want and "pending" not in statuses:
            return statuses
        await asyncio.sleep(0.25)
    return statuses


async def test_two_workers_match_and_deliver_once(
    database: Database, settings: Settings, sim: RunningSimulator, receiver: Receiver
) -> None:
    db = database
    login = await log_in(db)
    since = utcnow() - dt.timedelta(seconds=1)
    await watch(db, login.user_id, DRAKE, created_at=since)
    await search(db, login.user_id, "security=high", name="High-sec ships", created_at=since)
    async with db.session() as session:
        await set_webhook(
            session, login.user_id, validate_webhook_url(receiver.webhook(), [receiver.base_url])
        )
    env = worker_env(
        settings,
        sim.base_url,
        HANGAR_REGIONS=",".join(map(str, REGIONS)),
        HANGAR_DISCORD_WEBHOOK_ORIGINS=receiver.base_url,
        HANGAR_PUBLIC_URL="https://hangar.example",
    )
    with workers(env, 2) as procs:
        await wait_complete(db, len(REGIONS), 120)
        async with db.session() as session:
            live = (
                Contract.ended_at.is_(None),
                Contract.items_status != "pending",
                Contract.date_expired > utcnow(),
            )
            drakes = set(
                await session.scalars(
                    select(Contract.contract_id)
                    .join(ContractItem, ContractItem.contract_id == Contract.contract_id)
                    .where(*live, ContractItem.type_id == DRAKE, ContractItem.is_included)
                )
            )
            high = set(
                await session.scalars(
                    select(Contract.contract_id).where(
                        *live, Contract.is_ship_contract, Contract.start_security >= 0.45
                    )
                )
            )
        expected = sorted([(c, "watch") for c in drakes] + [(c, "search") for c in high])
        assert high, "the Forge has high-sec ship contracts"
        statuses = await _settled(db, len(expected), 60)
        assert all(p.poll() is None for p in procs)

    async with db.session() as session:
        rows = await session.execute(select(Notification.contract_id, Notification.kind))
        notified = sorted((int(c), k) for c, k in rows)
        queued = await session.scalar(select(func.count()).select_from(AlertOutbox))
    assert notified == expected
    assert queued == len(expected)
    assert statuses == ["sent"] * len(expected)
    posted = sorted(
        int(embed["url"].rsplit("/", 1)[1]) for post in receiver.posts for embed in post["embeds"]
    )
    assert posted == sorted(c for c, _ in expected)
    assert all(
        embed["url"].startswith("https://hangar.example/contracts/")
        for p in receiver.posts
        for embed in p["embeds"]
    )
