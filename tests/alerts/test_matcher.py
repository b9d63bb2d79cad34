"""The matcher: exactly the matching new contracts become notifications, once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update

from hangar_bay.alerts.matcher import match_batch, match_new_contracts
from hangar_bay.core.database import Database
from hangar_bay.models import AlertOutbox, Contract, Notification, utcnow
from tests.alerts.conftest import ago, make_user, new_contract, search, watch
from tests.contracts.factories import (
    AMARR_8,
    AUTOCANNON,
    DRAKE,
    FORGE,
    RAVEN,
    RIFTER,
    Item,
)


async def _notifications(database: Database) -> list[tuple[int, int | None, str, int]]:
    async with database.session() as session:
        rows = await session.execute(
            select(
                Notification.user_id,
                Notification.contract_id,
                Notification.kind,
                Notification.source_id,
            ).order_by(Notification.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_watch_entry_matches_type_price_region_and_age(universe: Database) -> None:
    db = universe
    user = await make_user(db)
    entry = await watch(db, user, DRAKE, max_price=60e6, region_id=FORGE)
    hit = await new_contract(db, items=[Item(DRAKE), Item(AUTOCANNON)], price=55e6)
    await new_contract(db, items=[Item(DRAKE)], price=70e6)  # too dear
    await new_contract(db, items=[Item(DRAKE)], price=50e6, location=AMARR_8)  # Domain
    await new_contract(db, items=[Item(RIFTER)], price=1e6)  # another type
    await new_contract(db, items=[Item(DRAKE, included=False)], price=1e6)  # asks for one
    await new_contract(db, items=[Item(DRAKE)], price=1e6, ended=True)  # gone already
    # Live before the entry was made: shown by the entry's matches, not alerted.
    await new_contract(db, items=[Item(DRAKE)], price=1e6, first_seen=ago(hours=3))

    result = await match_new_contracts(db)

    assert await _notifications(db) == [(user, hit, "watch", entry)]
    assert result.contracts == 7
    assert result.notifications == 1
    # Every contract is marked processed: a rerun finds nothing to do and adds nothing.
    again = await match_new_contracts(db)
    assert again.contracts == 0
    assert await _notifications(db) == [(user, hit, "watch", entry)]


async def test_contract_matches_once_its_items_settle(universe: Database) -> None:
    db = universe
    user = await make_user(db)
    entry = await watch(db, user, RAVEN)
    cid = await new_contract(db, items=[Item(RAVEN)])
    async with db.session() as session:
        await session.execute(
            update(Contract).where(Contract.contract_id == cid).values(items_status="pending")
        )
    # Listed, items not fetched yet: not matchable, and not marked either.
    assert (await match_new_contracts(db)).contracts == 0
    async with db.session() as session:
        await session.execute(
            update(Contract).where(Contract.contract_id == cid).values(items_status="fetched")
        )
    result = await match_new_contracts(db)
    assert result.notifications == 1
    assert await _notifications(db) == [(user, cid, "watch", entry)]


async def test_saved_search_uses_browse_semantics(universe: Database) -> None:
    db = universe
    alice = await make_user(db)
    bob = await make_user(db)
    carol = await make_user(db)
    # Two users with the same filter (one query per distinct filter), one without alerts.
    query = "group_id=419&max_price=60000000&security=high"
    s_alice = await search(db, alice, query, name="Cheap Drakes")
    s_bob = await search(db, bob, query + "&sort=price", name="drakes")
    await search(db, carol, query, alerts=False)
    s_text = await search(db, carol, "q=fitted&ships_only=false", name="fitted")
    # Saved after the contracts appeared: not news for it.
    await search(db, carol, "type_id=587", created_at=ago(seconds=1))

    hit = await new_contract(db, items=[Item(DRAKE)], price=50e6)
    fitted = await new_contract(db, title="Raven fitted", items=[Item(RAVEN)], price=500e6)
    await new_contract(db, items=[Item(DRAKE)], price=65e6)
    await new_contract(db, items=[Item(RIFTER)], price=50e6, first_seen=ago(seconds=30))

    result = await match_new_contracts(db)

    assert sorted(await _notifications(db)) == sorted(
        [
            (alice, hit, "search", s_alice),
            (bob, hit, "search", s_bob),
            (carol, fitted, "search", s_text),
        ]
    )
    assert result.filters == 3  # alice and bob share one filter; sort does not count


async def test_outbox_rows_for_users_with_discord(universe: Database) -> None:
    db = universe
    with_hook = await make_user(db, webhook="https://discord.com/api/webhooks/1/abc")
    without = await make_user(db)
    await watch(db, with_hook, DRAKE)
    await watch(db, without, DRAKE)
    await new_contract(db, items=[Item(DRAKE)])
    await new_contract(db, items=[Item(DRAKE)])

    result = await match_new_contracts(db)

    assert result.notifications == 4
    assert result.outbox == 2
    async with db.session() as session:
        users = (await session.scalars(select(AlertOutbox.user_id))).all()
    assert users == [with_hook, with_hook]


async def test_crash_before_commit_then_rerun(universe: Database) -> None:
    db = universe
    user = await make_user(db, webhook="https://discord.com/api/webhooks/1/abc")
    await watch(db, user, DRAKE)
    await new_contract(db, items=[Item(DRAKE)])

    class Crash(Exception):
        pass

    async def crash_before_commit() -> None:
        async with db.session() as session:
            result = await match_batch(session, utcnow())
            assert result is not None
            assert result.notifications == 1
            raise Crash  # the process dies before the commit

    with pytest.raises(Crash):
        await crash_before_commit()

    assert await _notifications(db) == []
    assert (await match_new_contracts(db)).notifications == 1
    assert (await match_new_contracts(db)).notifications == 0
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(AlertOutbox)) == 1


async def test_racing_matchers_add_nothing_twice(universe: Database) -> None:
    db = universe
    users = [await make_user(db) for _ in range(3)]
    for user in users:
        await watch(db, user, DRAKE)
        await search(db, user, "type_id=24698")
    for _ in range(5):
        await new_contract(db, items=[Item(DRAKE)])

    results = await asyncio.gather(
        *(match_new_contracts(db) for _ in range(3)), return_exceptions=True
    )

    # On SQLite a racing writer may be refused (database locked) and retries next run;
    # whatever happened, every notification exists exactly once.
    await match_new_contracts(db)
    rows = await _notifications(db)
    assert len(rows) == len(set(rows)) == 3 * 5 * 2
    assert sum(r.notifications for r in results if not isinstance(r, BaseException)) <= 30
