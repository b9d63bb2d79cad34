"""End to end against the simulator with churn: sweeps bring contracts, exactly the
matching new ones become notifications, once, in the app and on Discord."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select

from esi_sim.testing import RunningSimulator
from hangar_bay.accounts.testing import log_in
from hangar_bay.alerts.runner import AlertsRunner
from hangar_bay.alerts.service import set_webhook
from hangar_bay.alerts.webhooks import validate_webhook_url
from hangar_bay.app import build_esi_client
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.ingest.service import Ingestor
from hangar_bay.models import (
    AlertOutbox,
    Contract,
    ContractItem,
    ItemType,
    Notification,
    utcnow,
)
from hangar_bay.settings import Settings
from tests.alerts.conftest import search, watch
from tests.alerts.receiver import Receiver
from tests.alerts.test_discord import _drain

REGIONS = [10000002, 10000043, 10000032]


async def _sweep(
    db: Database, cache: ResilientCache, settings: Settings, after: Callable[[], Awaitable[None]]
) -> None:
    """One round of sweeps by a fresh ingestor (as after a restart), then ``after``."""
    http = build_esi_client(settings)
    ingestor = Ingestor.build(database=db, cache=cache, http=http, settings=settings)
    ingestor.after_sweeps = after
    try:
        results = await ingestor.sweep_many(REGIONS, wait=True)
    finally:
        await ingestor.esi.close()
        await http.aclose()
    assert all(r.outcome == "complete" for r in results), [r.outcome for r in results]


async def _ship_types(db: Database) -> list[int]:
    """Every ship type ingestion has resolved so far."""
    async with db.session() as session:
        return list(
            await session.scalars(
                select(ItemType.type_id).where(ItemType.category_id == 6).order_by(ItemType.type_id)
            )
        )


async def _expected(
    db: Database, entries: dict[int, int], search_id: int, since: dt.datetime
) -> list[tuple[int, str, int]]:
    """Ground truth from the stored rows, per source: for each watch entry the new live
    contracts offering its type, and for the search ("every contract") every new one."""
    new_live = (
        Contract.first_seen_at >= since,
        Contract.ended_at.is_(None),
        Contract.items_status != "pending",
    )
    rows: list[tuple[int, str, int]] = []
    async with db.session() as session:
        for entry_id, type_id in entries.items():
            offering = await session.scalars(
                select(Contract.contract_id)
                .join(ContractItem, ContractItem.contract_id == Contract.contract_id)
                .where(
                    *new_live, ContractItem.type_id == type_id, ContractItem.is_included.is_(True)
                )
                .distinct()
            )
            rows.extend((int(c), "watch", entry_id) for c in offering)
        every = await session.scalars(select(Contract.contract_id).where(*new_live))
        rows.extend((int(c), "search", search_id) for c in every)
    return sorted(rows)


async def _notified(db: Database) -> list[tuple[int, str, int]]:
    async with db.session() as session:
        rows = await session.execute(
            select(Notification.contract_id, Notification.kind, Notification.source_id).where(
                Notification.kind != "notice"
            )
        )
        return sorted((int(c), k, int(s)) for c, k, s in rows)


async def test_sweeps_to_notifications_and_discord_exactly_once(
    database: Database,
    cache: ResilientCache,
    ingest_settings: Settings,
    sim: RunningSimulator,
    receiver: Receiver,
) -> None:
    db = database
    settings = ingest_settings.model_copy(
        update={
            "regions": REGIONS,
            "discord_webhook_origins": [receiver.base_url],
            "alerts_backoff_seconds": 0.01,
        }
    )
    runner = AlertsRunner(db, cache, settings)
    matched: list[int] = []

    async def after_sweeps() -> None:
        result = await runner.match()
        matched.append(-1 if result is None else result.notifications)

    try:
        await _sweep(db, cache, settings, after_sweeps)
        assert matched == [0]  # nobody watches anything yet
        login = await log_in(db)
        since = utcnow()
        # A watch entry for every ship type seen so far; a search for every contract.
        entries = {
            await watch(db, login.user_id, type_id, created_at=since): type_id
            for type_id in await _ship_types(db)
        }
        search_id = await search(
            db, login.user_id, "ships_only=false", name="Everything", created_at=since
        )
        async with db.session() as session:
            await set_webhook(
                session,
                login.user_id,
                validate_webhook_url(receiver.webhook(), settings.discord_webhook_origins),
            )

        # Time passes: contracts end, new ones appear (some of them matching).
        sim.sim.clock.advance(12 * 3600)
        await _sweep(db, cache, settings, after_sweeps)
        expected = await _expected(db, entries, search_id, since)
        watched = {c for c, kind, _ in expected if kind == "watch"}
        every = {c for c, kind, _ in expected if kind == "search"}
        assert watched, "twelve hours of churn should bring a watched ship type"
        assert every - watched, "and contracts no watch entry matches"
        assert await _notified(db) == expected
        assert matched[-1] == len(expected)

        # The same sweep again, and the matcher again: nothing twice.
        await _sweep(db, cache, settings, after_sweeps)
        assert (await runner.match()) is not None
        assert await _notified(db) == expected

        # A crash between notification and post: this process never posts; a restarted
        # one (two of them, racing) sends each message once.
        async with db.session() as session:
            queued = await session.scalar(select(func.count()).select_from(AlertOutbox))
        assert queued == len(expected)
        restarted = [AlertsRunner(db, cache, settings) for _ in range(2)]
        await asyncio.gather(*(r.cycle() for r in restarted))
        await _drain(db, restarted[0].client(), settings)
        for r in restarted:
            await r.close()
    finally:
        await runner.close()

    posted = sorted(
        (int(embed["url"].rsplit("/", 1)[1]), embed["fields"][2]["value"].split(":")[0])
        for post in receiver.posts
        for embed in post["embeds"]
    )
    kinds = {"watch": "Watchlist", "search": "Saved search"}
    assert posted == sorted((cid, kinds[kind]) for cid, kind, _ in expected)
    assert all(len(post["embeds"]) <= 10 for post in receiver.posts)
    async with db.session() as session:
        statuses = set(await session.scalars(select(AlertOutbox.status)))
    assert statuses == {"sent"}


async def test_a_cycle_with_the_database_down_is_one_warning_line_not_a_traceback(
    cache: ResilientCache, settings: Settings
) -> None:
    from structlog.testing import capture_logs

    dead = Database.from_url("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    runner = AlertsRunner(dead, cache, settings)
    try:
        with capture_logs() as logs:
            await runner.cycle()  # never raises
    finally:
        await dead.dispose()
        if runner.http is not None:
            await runner.http.aclose()
    (failure,) = [entry for entry in logs if entry["event"] == "alerts_cycle_failed"]
    assert failure["log_level"] == "warning"
    assert failure["reason"] == "database_unavailable"
    assert "exc_info" not in failure


def test_any_other_background_failure_keeps_its_traceback() -> None:
    from structlog.testing import capture_logs

    from hangar_bay.core.errors import log_failure
    from hangar_bay.core.logging import get_logger

    with capture_logs() as logs:
        log_failure(get_logger("tests"), "something_failed", ValueError("a bug"))
    (entry,) = logs
    assert entry["log_level"] == "error"
    assert isinstance(entry["exc_info"], ValueError)
