from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from esi_sim.config import SimConfig
from esi_sim.testing import RunningSimulator, running_simulator_async
from hangar_bay.core.database import Database
from hangar_bay.models import AlertSettings, Contract, SavedSearch, User, WatchEntry
from tests.alerts.receiver import Receiver, running_receiver
from tests.contracts.conftest import universe
from tests.contracts.factories import add, build_contract
from tests.ingest.conftest import ingest_settings

__all__ = ["ingest_settings", "universe"]

_characters = itertools.count(2_100_000_001)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local Discord-like webhook receiver."""
    with running_receiver() as running:
        yield running


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    """ESI and EVE SSO in one simulator, its time starting now, so contracts are live by
    the app's clock too."""
    config = SimConfig(scale="tiny", clock="manual", seed=11, start_time=dt.datetime.now(dt.UTC))
    async with running_simulator_async(config) as running:
        yield running


def ago(**kwargs: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(**kwargs)


async def make_user(database: Database, *, webhook: str | None = None) -> int:
    async with database.session() as session:
        character = next(_characters)
        user = User(character_id=character, character_name=f"Pilot {character}", owner_hash="h")
        session.add(user)
        await session.flush()
        if webhook is not None:
            session.add(
                AlertSettings(user_id=user.id, discord_webhook_url=webhook, discord_enabled=True)
            )
        return user.id


async def _insert(database: Database, row: WatchEntry | SavedSearch) -> int:
    """Add ``row`` in its own session; its new id."""
    async with database.session() as session:
        session.add(row)
        await session.flush()
        return row.id


async def watch(
    database: Database,
    user_id: int,
    type_id: int,
    *,
    max_price: float | None = None,
    region_id: int | None = None,
    created_at: dt.datetime | None = None,
) -> int:
    entry = WatchEntry(
        user_id=user_id,
        type_id=type_id,
        max_price=max_price,
        region_id=region_id,
        created_at=created_at or ago(hours=2),
    )
    return await _insert(database, entry)


async def search(
    database: Database,
    user_id: int,
    query: str,
    *,
    name: str = "my search",
    alerts: bool = True,
    created_at: dt.datetime | None = None,
) -> int:
    saved = SavedSearch(
        user_id=user_id,
        name=name,
        query=query,
        alerts=alerts,
        created_at=created_at or ago(hours=2),
    )
    return await _insert(database, saved)


async def new_contract(
    database: Database, *, first_seen: dt.datetime | None = None, **kwargs: Any
) -> int:
    """A contract as a sweep has just written it (first seen now, not yet matched)."""
    contract: Contract = build_contract(**kwargs)
    contract.first_seen_at = first_seen or ago(seconds=5)
    await add(database, contract)
    return contract.contract_id
