"""Alerts matcher benchmark: one sweep's new contracts against every user's sources.

Usage::

    .venv/bin/python bench/alerts.py                  # universe scale, 10,000 users
    .venv/bin/python bench/alerts.py --reuse          # keep the seeded database
    .venv/bin/python bench/alerts.py --scale small --runs 3

It seeds a synthetic universe on PostgreSQL with ``bench/query.py``'s generator (its own
database, ``hangar_bench_alerts``), marks every contract as matched, then adds 10,000
users with 50,000 watch entries (ship types weighted towards the popular hulls, half
with a price cap, a fifth with a region) and 5,000 saved searches with alerts on (drawn
from the filters pilots use: ship class, hull, region, security, price range, text,
blueprints, combinations; many pilots share a filter, as in life). Each run then plays
a sweep that adds ``--new`` contracts (copies of random live contracts with their
items, first seen now, not yet matched) and times ``match_new_contracts``: the whole
matcher, both source kinds, its writes and its commit. Results: min / median / max.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from query import REAL_SHIPS, SCALES, SHIP_GROUPS, TITLE_WORDS, seed  # noqa: E402

from hangar_bay import migrate  # noqa: E402
from hangar_bay.alerts.matcher import match_new_contracts  # noqa: E402
from hangar_bay.core.database import Database  # noqa: E402
from hangar_bay.core.logging import configure_logging  # noqa: E402

REGIONS = [10000002, 10000043, 10000030, 10000032, 10000042]


def search_query(rng: random.Random, ship_types: list[int]) -> str:
    """A saved search as pilots write them (the normalised browse query string)."""
    group = rng.choice(list(SHIP_GROUPS))
    kind = rng.random()
    if kind < 0.25:
        return f"group_id={group}"
    if kind < 0.45:
        return f"type_id={rng.choice(ship_types)}"
    if kind < 0.55:
        return f"group_id={group}&region_id={rng.choice(REGIONS)}"
    if kind < 0.65:
        return f"security={rng.choice(['high', 'low', 'null'])}&group_id={group}"
    if kind < 0.75:
        cap = rng.choice([5, 10, 20, 50, 100, 200, 500, 1000]) * 1_000_000
        return f"type_id={rng.choice(ship_types)}&max_price={cap}"
    if kind < 0.85:
        return f"q={rng.choice(TITLE_WORDS).split()[0]}"
    if kind < 0.9:
        return f"ships_only=false&bpc=copies&min_runs={rng.choice([1, 5, 10])}"
    if kind < 0.95:
        return f"hull_only=true&group_id={group}"
    return f"contract_type=auction&group_id={group}"


async def seed_sources(
    conn: asyncpg.Connection, rng: random.Random, users: int, entries: int, searches: int
) -> int:
    """Users, watch entries and alerting saved searches; returns the distinct filters."""
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    await conn.copy_records_to_table(
        "users",
        records=[
            (n + 1, 2_100_000_000 + n, f"Pilot {n}", f"hash{n}", yesterday, yesterday)
            for n in range(users)
        ],
        columns=["id", "character_id", "character_name", "owner_hash", "created_at", "updated_at"],
    )
    synthetic = [700000 + n for n in range(330)]
    popular = list(REAL_SHIPS)
    ship_types = popular + synthetic

    def watched_type() -> int:
        # Pilots watch the popular hulls far more often than the rest.
        return rng.choice(popular) if rng.random() < 0.6 else rng.choice(synthetic)

    await conn.copy_records_to_table(
        "watch_entries",
        records=[
            (
                rng.randint(1, users),
                watched_type(),
                rng.choice([10, 30, 60, 100, 300]) * 1_000_000.0 if rng.random() < 0.5 else None,
                rng.choice(REGIONS) if rng.random() < 0.2 else None,
                None,
                yesterday,
                yesterday,
            )
            for _ in range(entries)
        ],
        columns=[
            "user_id",
            "type_id",
            "max_price",
            "region_id",
            "note",
            "created_at",
            "updated_at",
        ],
    )
    queries = [search_query(rng, ship_types) for _ in range(searches)]
    await conn.copy_records_to_table(
        "saved_searches",
        records=[
            (rng.randint(1, users), f"search {n}", q, True, yesterday, yesterday)
            for n, q in enumerate(queries)
        ],
        columns=["user_id", "name", "query", "alerts", "created_at", "updated_at"],
    )
    await conn.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), $1)", users)
    return len(set(queries))


async def add_new_contracts(conn: asyncpg.Connection, count: int, next_id: int) -> int:
    """A sweep's worth of new contracts: copies of random live ones, with their items."""
    await conn.execute(
        """
        CREATE TEMP TABLE IF NOT EXISTS picked (old_id bigint, new_id bigint);
        TRUNCATE picked;
        """
    )
    await conn.execute(
        """
        INSERT INTO picked
        SELECT contract_id, $1 + row_number() OVER ()
        FROM (SELECT contract_id FROM contracts
              WHERE ended_at IS NULL AND date_expired > now() AND contract_id < 500000000
              ORDER BY random() LIMIT $2) s
        """,
        next_id,
        count,
    )
    columns = [
        r["column_name"]
        for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'contracts' ORDER BY ordinal_position"
        )
    ]
    copied = ", ".join(
        "p.new_id"
        if c == "contract_id"
        else "now()"
        if c in ("first_seen_at", "last_seen_at")
        else "NULL"
        if c == "alerts_matched_at"
        else f"c.{c}"
        for c in columns
    )
    await conn.execute(
        f"INSERT INTO contracts ({', '.join(columns)}) "  # noqa: S608 - catalogue names
        f"SELECT {copied} FROM contracts c JOIN picked p ON p.old_id = c.contract_id"
    )
    item_columns = [
        r["column_name"]
        for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'contract_items' ORDER BY ordinal_position"
        )
    ]
    item_copied = ", ".join(
        "p.new_id"
        if c == "contract_id"
        else "i.record_id + p.new_id * 1000"
        if c == "record_id"
        else f"i.{c}"
        for c in item_columns
    )
    await conn.execute(
        f"INSERT INTO contract_items ({', '.join(item_columns)}) "  # noqa: S608
        f"SELECT {item_copied} FROM contract_items i JOIN picked p ON p.old_id = i.contract_id"
    )
    await conn.execute("ANALYZE contracts")
    return next_id + count


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default="postgresql+asyncpg://postgres@127.0.0.1")
    parser.add_argument("--database", default="hangar_bench_alerts")
    parser.add_argument("--scale", choices=list(SCALES), default="universe")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--searches", type=int, default=5_000)
    parser.add_argument("--new", type=int, default=1_000, help="contracts a sweep adds")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    configure_logging(level="WARNING")

    server = make_url(args.server)
    url = server.set(database=args.database).render_as_string(hide_password=False)
    dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn + "/postgres")
    exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", args.database)
    rng = random.Random(args.seed)
    if not (args.reuse and exists):
        await admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{args.database}"')
        await migrate.upgrade(url, "heads")
        conn = await asyncpg.connect(f"{dsn}/{args.database}")
        started = time.perf_counter()
        await seed(conn, SCALES[args.scale], rng, 0.015)
        await conn.execute("UPDATE contracts SET alerts_matched_at = now()")
        await seed_sources(conn, rng, args.users, args.entries, args.searches)
        await conn.execute("VACUUM ANALYZE")
        print(f"seeded in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        await conn.close()
    else:
        await migrate.upgrade(url, "heads")
    await admin.close()

    conn = await asyncpg.connect(f"{dsn}/{args.database}")
    distinct = await conn.fetchval("SELECT count(DISTINCT query) FROM saved_searches WHERE alerts")
    live = await conn.fetchval(
        "SELECT count(*) FROM contracts WHERE ended_at IS NULL AND date_expired > now()"
    )
    next_id = int(await conn.fetchval("SELECT max(contract_id) FROM contracts")) + 1
    next_id = max(next_id, 500_000_000)
    database = Database.from_url(url, pool_size=2)
    samples: list[float] = []
    made = 0
    try:
        for run in range(args.runs + 1):
            next_id = await add_new_contracts(conn, args.new, next_id)
            started = time.perf_counter()
            result = await match_new_contracts(database)
            elapsed = time.perf_counter() - started
            if run == 0:
                continue  # warm-up: connections, plans, the first catalogue reads
            samples.append(elapsed)
            made += result.notifications
            print(
                f"run {run}: {elapsed:.3f}s, {result.contracts} contracts, "
                f"{result.notifications} notifications, {result.filters} filters "
                f"({result.filters_run} could match and ran)",
                file=sys.stderr,
            )
    finally:
        await database.dispose()
        await conn.close()
    print(f"## alerts matcher ({args.scale}, {platform.node()}, {platform.processor()})\n")
    print(
        f"{live:,} live contracts; {args.users:,} users, {args.entries:,} watch entries, "
        f"{args.searches:,} alerting saved searches ({distinct:,} distinct filters); "
        f"{args.new:,} new contracts per sweep; {args.runs} runs after one warm-up; "
        f"{made / max(1, len(samples)):.0f} notifications per sweep on average.\n"
    )
    print("| min | median | max |\n|---|---|---|")
    print(f"| {min(samples):.3f} s | {statistics.median(samples):.3f} s | {max(samples):.3f} s |")


if __name__ == "__main__":
    asyncio.run(main())
