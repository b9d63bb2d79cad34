"""The matcher: contracts new since its last run against watch entries and saved searches.

A contract becomes matchable once it is live and its items are settled
(``items_status`` no longer ``pending``), which may be a later sweep pass than the one
that listed it. ``contracts.alerts_matched_at`` is the persistent "processed" marker:
the matcher reads the few unmarked contracts (a partial index holds only those), matches
the matchable ones, writes their notifications and Discord outbox rows and marks the
whole batch, all in one transaction. The unique constraint on notifications (user,
contract, kind, source) makes a rerun, a crash before the commit, or two matchers
racing add nothing twice.

Cost: one statement for every watch entry (a join on the new contracts' item types),
and the saved searches grouped by distinct filter, a few hundred filters per statement,
each restricted to the batch: it grows with the new contracts and the distinct filters,
not with users times all contracts.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from pydantic import ValidationError
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    and_,
    bindparam,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.alerts.metrics import alert_metrics
from hangar_bay.contracts.query import filter_conditions
from hangar_bay.contracts.schemas import ContractFilters
from hangar_bay.core.database import Database
from hangar_bay.core.logging import get_logger
from hangar_bay.core.metrics import Metrics
from hangar_bay.models import (
    AlertOutbox,
    AlertSettings,
    Contract,
    ContractItem,
    ItemType,
    Notification,
    SavedSearch,
    WatchEntry,
    as_utc,
    utcnow,
)

log = get_logger(__name__)

# Contracts per transaction.
BATCH = 2000
# Parameters the browse parameters of a saved search carry that change no match.
_NOT_MATCHED = frozenset({"sort", "page", "size"})


@dataclass
class MatchResult:
    """What one run did: contracts marked, of them matchable, and what it wrote."""

    contracts: int = 0
    matchable: int = 0
    notifications: int = 0
    outbox: int = 0
    filters: int = 0
    # Of them, the filters whose SQL ran (the others cannot match the batch).
    filters_run: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def parse_search(query: str) -> ContractFilters:
    """A saved search's browse query string as filters; raises ``ValidationError``."""
    return ContractFilters.from_multi(parse_qsl(query, keep_blank_values=False))


def filter_key(f: ContractFilters) -> str:
    """Equal for saved searches that match exactly the same contracts."""
    return f.model_dump_json(exclude=set(_NOT_MATCHED))


_INSERT_UNNEST = text(
    "INSERT INTO notifications (user_id, contract_id, kind, source_id, source_name, created_at) "
    "SELECT u, c, k, s, n, :now FROM unnest("
    "CAST(:users AS bigint[]), CAST(:contracts AS bigint[]), CAST(:kinds AS varchar[]), "
    "CAST(:sources AS bigint[]), CAST(:names AS varchar[])) AS t(u, c, k, s, n) "
    "ON CONFLICT (user_id, contract_id, kind, source_id) DO NOTHING "
    "RETURNING id, user_id, kind"
).bindparams(bindparam("now", type_=DateTime(timezone=True)))


async def begin_write(session: AsyncSession) -> None:
    """On SQLite, take the write lock first: a transaction that reads and then writes
    fails at once (no busy wait) if another writer committed in between."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("UPDATE alert_settings SET user_id = user_id WHERE 0"))


def _insert(session: AsyncSession, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _batch_condition(low: int, high: int) -> ColumnElement[bool]:
    """The batch's contracts: unmarked and settled, between its lowest and highest id.

    A range and the unmarked test instead of a list of ids: a few parameters per filter
    statement, and the partial index ``ix_contracts_alerts_unmatched`` finds the rows.
    A contract written meanwhile by a sweep may fall in it too; it is matched now and
    again (to no effect) when its own batch comes.
    """
    return and_(
        Contract.alerts_matched_at.is_(None),
        Contract.contract_id.between(low, high),
        Contract.items_status != "pending",
    )


async def _watch_pairs(
    session: AsyncSession, batch: ColumnElement[bool], now: dt.datetime
) -> list[dict[str, Any]]:
    """(user, contract, entry) for every watch entry a new contract matches."""
    rows = await session.execute(
        select(
            WatchEntry.user_id,
            Contract.contract_id,
            WatchEntry.id,
            ItemType.name,
            WatchEntry.type_id,
        )
        .distinct()
        .select_from(ContractItem)
        .join(Contract, Contract.contract_id == ContractItem.contract_id)
        .join(WatchEntry, WatchEntry.type_id == ContractItem.type_id)
        .outerjoin(ItemType, ItemType.type_id == WatchEntry.type_id)
        .where(
            batch,
            Contract.ended_at.is_(None),
            Contract.date_expired > now,
            ContractItem.is_included.is_(True),
            or_(WatchEntry.max_price.is_(None), Contract.price <= WatchEntry.max_price),
            or_(WatchEntry.region_id.is_(None), Contract.region_id == WatchEntry.region_id),
            # A contract already live when the entry was made is in its matches, not news.
            Contract.first_seen_at >= WatchEntry.created_at,
        )
    )
    return [
        {
            "user_id": user_id,
            "contract_id": contract_id,
            "kind": "watch",
            "source_id": entry_id,
            "source_name": (type_name or f"Type {type_id}")[:80],
        }
        for user_id, contract_id, entry_id, type_name, type_id in rows
    ]


@functools.lru_cache(maxsize=50_000)
def _parsed(query: str) -> tuple[ContractFilters, str] | None:
    """A saved query's filters and filter key (parsed once per process: filters are
    immutable, and thousands of searches share a few hundred queries)."""
    try:
        f = parse_search(query)
    except ValidationError:
        return None
    return f, filter_key(f)


# A filter's statement over "the batch" (bounds as parameters), built once per process.
_STATEMENTS: dict[str, Select[Any]] = {}
_STATEMENTS_MAX = 50_000
_BATCH = and_(
    Contract.alerts_matched_at.is_(None),
    Contract.contract_id.between(bindparam("batch_low"), bindparam("batch_high")),
    Contract.items_status != "pending",
)


def _filter_statement(key: str, f: ContractFilters, now: dt.datetime) -> Select[Any]:
    """The browse page's own conditions for ``f`` (every filter, and live), restricted to
    the batch. Cached: building a filter's SQL costs more than running it on a batch.
    The cached statement's "live" test uses the time it was built, so it may let through
    a contract that expired since; the matcher keeps only contracts live now anyway
    (``first_seen`` holds the live ones), so the result is exact."""
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        conds = [_BATCH, *filter_conditions(f, now)]
        if f.contract_type:
            conds.append(Contract.type.in_(f.contract_type))
        stmt = select(Contract.contract_id).where(*conds)
        if len(_STATEMENTS) >= _STATEMENTS_MAX:
            _STATEMENTS.clear()
        _STATEMENTS[key] = stmt
    return stmt


async def _alerting_searches(
    session: AsyncSession,
) -> dict[str, tuple[ContractFilters, list[tuple[int, int, str, dt.datetime]]]]:
    """Saved searches with alerts on, grouped by distinct filter."""
    rows = await session.execute(
        select(
            SavedSearch.id,
            SavedSearch.user_id,
            SavedSearch.name,
            SavedSearch.query,
            SavedSearch.created_at,
        ).where(SavedSearch.alerts.is_(True))
    )
    groups: dict[str, tuple[ContractFilters, list[tuple[int, int, str, dt.datetime]]]] = {}
    for search_id, user_id, name, query, created_at in rows:
        found = _parsed(query)
        if found is None:
            # Saved before a parameter changed meaning; it cannot match anything now.
            log.debug("saved_search_unparsable", search_id=search_id)
            continue
        f, key = found
        group = groups.get(key)
        if group is None:
            group = groups[key] = (f, [])
        group[1].append((search_id, user_id, name, as_utc(created_at)))
    return groups


@dataclass
class _Facets:
    """What the batch's matchable contracts offer, to skip filters that cannot match."""

    regions: set[int]
    contract_types: set[str]
    ships: bool
    type_ids: set[int]
    group_ids: set[int]

    def may_match(self, f: ContractFilters) -> bool:
        """False only when no contract of the batch can pass ``f`` (a necessary test;
        the filter's own SQL decides)."""
        if (f.ships_only or f.hull_only is not None) and not self.ships:
            return False
        if f.region_id and self.regions.isdisjoint(f.region_id):
            return False
        if f.contract_type and self.contract_types.isdisjoint(f.contract_type):
            return False
        if f.type_id and self.type_ids.isdisjoint(f.type_id):
            return False
        return not (f.group_id and self.group_ids.isdisjoint(f.group_id))


async def _facets(session: AsyncSession, batch: ColumnElement[bool], now: dt.datetime) -> _Facets:
    live = (batch, Contract.ended_at.is_(None), Contract.date_expired > now)
    contracts = (
        await session.execute(
            select(Contract.region_id, Contract.type, Contract.is_ship_contract)
            .where(*live)
            .distinct()
        )
    ).all()
    items = (
        await session.execute(
            select(ContractItem.type_id, ItemType.group_id)
            .join(Contract, Contract.contract_id == ContractItem.contract_id)
            .outerjoin(ItemType, ItemType.type_id == ContractItem.type_id)
            .where(*live, ContractItem.is_included.is_(True))
            .distinct()
        )
    ).all()
    return _Facets(
        regions={int(r) for r, _, _ in contracts},
        contract_types={str(t) for _, t, _ in contracts},
        ships=any(bool(s) for _, _, s in contracts),
        type_ids={int(t) for t, _ in items},
        group_ids={int(g) for _, g in items if g is not None},
    )


async def _search_pairs(
    session: AsyncSession,
    batch: ColumnElement[bool],
    now: dt.datetime,
    first_seen: dict[int, dt.datetime],
) -> tuple[list[dict[str, Any]], int, int]:
    groups = await _alerting_searches(session)
    if not groups or not first_seen:
        return [], len(groups), 0
    # Building and planning a filter's SQL costs about a millisecond: filters that no
    # new contract can pass (another ship type, region, contract type) are skipped.
    facets = await _facets(session, batch, now)
    keys = [key for key, (f, _) in groups.items() if facets.may_match(f)]
    matched: dict[int, list[int]] = defaultdict(list)
    conn = await session.connection()
    bounds = {"batch_low": min(first_seen), "batch_high": max(first_seen)}
    for index, key in enumerate(keys):
        # One statement per filter: filters of one shape (another type, region, price)
        # share SQLAlchemy's compiled form and the driver's prepared statement, which a
        # UNION of differently shaped filters never could (measured: 3x slower).
        stmt = _filter_statement(key, groups[key][0], now)
        for (contract_id,) in await conn.execute(stmt, bounds):
            matched[index].append(int(contract_id))
    pairs: list[dict[str, Any]] = []
    for index, contract_ids in matched.items():
        for search_id, user_id, name, created_at in groups[keys[index]][1]:
            for contract_id in contract_ids:
                seen = first_seen.get(contract_id)
                if seen is None or seen < created_at:
                    continue
                pairs.append(
                    {
                        "user_id": user_id,
                        "contract_id": contract_id,
                        "kind": "search",
                        "source_id": search_id,
                        "source_name": name[:80],
                    }
                )
    return pairs, len(groups), len(keys)


async def _write(
    session: AsyncSession, pairs: Sequence[dict[str, Any]], now: dt.datetime
) -> tuple[list[tuple[int, int, str]], int]:
    """Insert notifications (existing ones are left alone) and outbox rows for the new
    ones whose user has Discord on. Returns the new (id, user, kind) and the outbox count."""
    if not pairs:
        return [], 0
    created: list[tuple[int, int, str]] = []
    if session.get_bind().dialect.name == "postgresql":
        # One statement over arrays: a sweep can bring tens of thousands of matches, and
        # a multi-row VALUES insert spends most of its time binding parameters.
        result = await session.execute(
            _INSERT_UNNEST,
            {
                "users": [p["user_id"] for p in pairs],
                "contracts": [p["contract_id"] for p in pairs],
                "kinds": [p["kind"] for p in pairs],
                "sources": [p["source_id"] for p in pairs],
                "names": [p["source_name"] for p in pairs],
                "now": now,
            },
        )
        created.extend((int(i), int(u), str(k)) for i, u, k in result)
    else:
        rows = [{**pair, "created_at": now} for pair in pairs]
        stmt = (
            _insert(session, Notification.__table__)
            .on_conflict_do_nothing(index_elements=["user_id", "contract_id", "kind", "source_id"])
            .returning(Notification.id, Notification.user_id, Notification.kind)
        )
        for start in range(0, len(rows), 1000):
            result = await session.execute(stmt, rows[start : start + 1000])
            created.extend((int(i), int(u), str(k)) for i, u, k in result)
    if not created:
        return [], 0
    users = {user_id for _, user_id, _ in created}
    discord: set[int] = set()
    user_list = sorted(users)
    for start in range(0, len(user_list), 1000):
        discord.update(
            await session.scalars(
                select(AlertSettings.user_id).where(
                    AlertSettings.user_id.in_(user_list[start : start + 1000]),
                    AlertSettings.discord_enabled.is_(True),
                )
            )
        )
    outbox = [
        {
            "notification_id": nid,
            "user_id": uid,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for nid, uid, _ in created
        if uid in discord
    ]
    for start in range(0, len(outbox), 1000):
        await session.execute(
            _insert(session, AlertOutbox.__table__).on_conflict_do_nothing(
                index_elements=["notification_id"]
            ),
            outbox[start : start + 1000],
        )
    return created, len(outbox)


async def match_batch(
    session: AsyncSession, now: dt.datetime, *, batch_size: int = BATCH
) -> MatchResult | None:
    """Match and mark one batch of unmarked contracts in ``session``; ``None`` when none
    is left. The caller commits."""
    await begin_write(session)
    # Contracts still waiting for their items are left for a later run (they stay in
    # the partial index, which holds only unmarked rows); ended or expired ones are
    # marked without matching.
    done = (
        await session.execute(
            select(
                Contract.contract_id,
                Contract.ended_at,
                Contract.date_expired,
                Contract.items_status,
                Contract.first_seen_at,
            )
            .where(
                Contract.alerts_matched_at.is_(None),
                or_(
                    Contract.items_status != "pending",
                    Contract.ended_at.is_not(None),
                    Contract.date_expired <= now,
                ),
            )
            .order_by(Contract.contract_id)
            .limit(batch_size)
        )
    ).all()
    if not done:
        return None
    first_seen = {
        row.contract_id: as_utc(row.first_seen_at)
        for row in done
        if row.items_status != "pending" and row.ended_at is None and as_utc(row.date_expired) > now
    }
    result = MatchResult(contracts=len(done), matchable=len(first_seen))
    if first_seen:
        low, high = min(first_seen), max(first_seen)
        batch = _batch_condition(low, high)
        pairs = await _watch_pairs(session, batch, now)
        search_pairs, result.filters, result.filters_run = await _search_pairs(
            session, batch, now, first_seen
        )
        # A contract marked meanwhile by a racing matcher is outside this run's batch.
        pairs = [p for p in pairs if p["contract_id"] in first_seen]
        pairs.extend(search_pairs)
        created, result.outbox = await _write(session, pairs, now)
        result.notifications = len(created)
        for _, _, kind in created:
            result.by_kind[kind] = result.by_kind.get(kind, 0) + 1
    ids = [row.contract_id for row in done]
    for start in range(0, len(ids), 1000):
        await session.execute(
            update(Contract)
            .where(
                Contract.contract_id.in_(ids[start : start + 1000]),
                Contract.alerts_matched_at.is_(None),
            )
            .values(alerts_matched_at=now)
            .execution_options(synchronize_session=False)
        )
    return result


async def match_new_contracts(
    database: Database,
    *,
    metrics: Metrics | None = None,
    now: dt.datetime | None = None,
    batch_size: int = BATCH,
) -> MatchResult:
    """Match every contract that became matchable since the last run; one transaction per
    batch. Safe to run anywhere, any number of times, concurrently."""
    started = time.perf_counter()
    total = MatchResult()
    while True:
        at = now or utcnow()
        async with database.session() as session:
            result = await match_batch(session, at, batch_size=batch_size)
        if result is None:
            break
        total.contracts += result.contracts
        total.matchable += result.matchable
        total.notifications += result.notifications
        total.outbox += result.outbox
        total.filters = max(total.filters, result.filters)
        total.filters_run += result.filters_run
        for kind, count in result.by_kind.items():
            total.by_kind[kind] = total.by_kind.get(kind, 0) + count
        if result.contracts < batch_size:
            break
    m = alert_metrics(metrics)
    if m is not None:
        m.matcher_duration.observe(time.perf_counter() - started)
        for kind, count in total.by_kind.items():
            m.notifications.labels(kind).inc(count)
    if total.contracts:
        log.info(
            "alerts_matched",
            contracts=total.contracts,
            matchable=total.matchable,
            notifications=total.notifications,
            outbox=total.outbox,
            filters=total.filters,
            filters_run=total.filters_run,
            seconds=round(time.perf_counter() - started, 3),
        )
    return total
