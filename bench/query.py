"""Query benchmark: browse latency at universe scale on PostgreSQL (+ Redis for the cache).

Usage::

    .venv/bin/python bench/query.py                        # universe scale, ~100k live
    .venv/bin/python bench/query.py --scale small --runs 10  # a quick look
    .venv/bin/python bench/query.py --reuse                  # keep the seeded database

It creates a scratch database (``--database``, default ``hangar_bench``) on the server
of ``--server`` (default ``postgresql+asyncpg://postgres@127.0.0.1``), migrates it, fills
it with a synthetic universe through ``COPY`` (fast and independent of ingestion), then
times twelve representative queries four ways, each against the bare SQL:

* ``sql``: the statements a cold request sends (recorded from one, as the driver sent
  them), replayed on a plain asyncpg connection: the request's bare SQL time;
* ``api cold`` / ``api warm``: ``GET /api/v1/contracts`` in-process (ASGI), with the
  result cache missed or hit. Before each cold request, untimed, the benchmark does what
  a finished sweep does: it bumps the ingestion generation (so every cached result is
  out of reach) and runs ``warm_counts`` (so the counts of the two unfiltered views are
  ready, and filtered views still count in the request);
* ``http cold`` / ``http warm``: the same over HTTP against uvicorn in a child process.

It also reports the size of the browse page's HTML. Numbers go to stdout as Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import platform
import random
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from hangar_bay import migrate
from hangar_bay.app import create_app
from hangar_bay.contracts.caching import GENERATION_KEY, warm_counts
from hangar_bay.core.cache import create_cache
from hangar_bay.core.database import Database
from hangar_bay.core.logging import configure_logging
from hangar_bay.ingest.sweep import CONTRACT_COLUMNS
from hangar_bay.ingest.writes import ITEM_FIELDS
from hangar_bay.runtime import background_hooks
from hangar_bay.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

QUERIES: list[tuple[str, str]] = [
    ("default view", ""),
    ("ship class (Cruiser)", "group_id=26"),
    ("exact type (Drake)", "type_id=24698"),
    ("region (The Forge)", "region_id=10000002"),
    ("security band (low)", "security=low"),
    ("price range 10M-100M", "min_price=10000000&max_price=100000000"),
    ("text search 'abyssal'", "q=abyssal"),
    ("sort price", "sort=price"),
    ("sort -volume", "sort=-volume"),
    ("sort date_expired", "sort=date_expired"),
    ("sort price_per_ship", "sort=price_per_ship"),
    ("deep page (all contracts, page 100)", "ships_only=false&page=100"),
    # Type-aware tabs (issue #13).
    ("couriers by reward per m³", "ships_only=false&contract_type=courier&sort=-reward_per_m3"),
    ("couriers by jumps", "ships_only=false&contract_type=courier&sort=jumps"),
    ("auctions by current bid", "ships_only=false&contract_type=auction&sort=price"),
    ("security high + unknown", "security=high&security=unknown"),
    # value (issue 12)
    ("sort -discount", "sort=-discount"),
    ("sort discount", "sort=discount"),
    ("flag bait_price", "flag=bait_price"),
    ("hide flagged, discount >= 20%", "no_flags=true&min_discount=0.2"),
]

SCALES = {"small": 10_000, "forge": 35_000, "universe": 100_000}

# --- the synthetic universe -------------------------------------------------------------

SHIP_GROUPS = {
    25: "Frigate",
    26: "Cruiser",
    27: "Battleship",
    28: "Hauler",
    324: "Assault Frigate",
    358: "Heavy Assault Cruiser",
    419: "Combat Battlecruiser",
    420: "Destroyer",
    463: "Mining Barge",
    485: "Dreadnought",
    541: "Interdictor",
    547: "Carrier",
    830: "Covert Ops",
    906: "Combat Recon Ship",
    941: "Industrial Command Ship",
}
REAL_SHIPS = {
    587: ("Rifter", 25),
    603: ("Merlin", 25),
    32880: ("Venture", 25),
    626: ("Vexor", 26),
    627: ("Thorax", 26),
    621: ("Caracal", 26),
    638: ("Raven", 27),
    639: ("Tempest", 27),
    641: ("Megathron", 27),
    642: ("Apocalypse", 27),
    24698: ("Drake", 419),
    24702: ("Hurricane", 419),
    16240: ("Catalyst", 420),
    12005: ("Ishtar", 358),
    22456: ("Sabre", 541),
    17480: ("Procurer", 463),
    28606: ("Orca", 941),
    11379: ("Hawk", 324),
    19720: ("Revelation", 485),
    23757: ("Archon", 547),
}
TITLE_WORDS = [
    "fitted",
    "cheap",
    "navy",
    "faction",
    "pvp",
    "shiny",
    "officer fit",
    "deadspace",
    "bling",
    "alpha clone",
    "starter",
    "pvp ready",
    "ratting",
    "abyssal",
    "t2 fit",
    "hull only",
    "bargain",
    "corp sale",
    "quick sale",
]


@dataclass
class Universe:
    ship_types: list[tuple[int, str, int]] = field(default_factory=list)
    other_types: list[tuple[int, str, int, int]] = field(default_factory=list)
    blueprints: list[tuple[int, str]] = field(default_factory=list)
    # (location_id, name, system_id, security, region_id, is_structure)
    locations: list[tuple[int, str | None, int | None, float | None, int, bool]] = field(
        default_factory=list
    )


def _ids(start: int) -> Iterator[int]:
    n = start
    while True:
        yield n
        n += 1


async def seed(conn: asyncpg.Connection, live: int, rng: random.Random, ship_share: float) -> None:
    u = Universe()
    regions = [(10000002, "The Forge"), (10000043, "Domain"), (10000030, "Heimatar")]
    regions += [(10000000 + n, f"Region {n}") for n in range(3, 70) if n not in (30, 43, 2)]
    regions += [(11000000 + n, f"A-R{n:05d}") for n in range(1, 34)]
    await conn.copy_records_to_table("regions", records=regions, columns=["region_id", "name"])

    systems, stations = [], []
    system_ids = _ids(30010001)
    station_ids = _ids(60100001)
    for region_id, _ in regions:
        wormhole = region_id >= 11000000
        for _ in range(25 if not wormhole else 10):
            if wormhole:
                sid = 31000000 + len(systems)
                sec = -1.0
            else:
                sid = next(system_ids)
                sec = rng.choice(
                    [rng.uniform(0.45, 1.0)] * 4
                    + [rng.uniform(0.05, 0.44)] * 2
                    + [rng.uniform(-1.0, 0.0)] * 4
                )
            name = f"J{sid % 1000000:06d}" if wormhole else f"SYS-{sid % 100000}"
            systems.append((sid, name, None, region_id, sec))
            if not wormhole and rng.random() < 0.5:
                st = next(station_ids)
                st_name = (
                    f"{name} - Navy Assembly Plant" if rng.random() < 0.2 else f"{name} - Station"
                )
                stations.append((st, st_name, sid))
                u.locations.append((st, st_name, sid, sec, region_id, False))
            elif wormhole:
                u.locations.append(
                    (1_030_000_000_000 + sid, f"{name} - Astrahus", sid, sec, region_id, True)
                )
    jita = (
        60003760,
        "Jita IV - Moon 4 - Caldari Navy Assembly Plant",
        30000142,
        0.9459,
        10000002,
        False,
    )
    systems.append((30000142, "Jita", None, 10000002, 0.9459))
    stations.append((60003760, jita[1], 30000142))
    u.locations.append(jita)
    await conn.copy_records_to_table(
        "systems",
        records=systems,
        columns=["system_id", "name", "constellation_id", "region_id", "security_status"],
    )
    await conn.copy_records_to_table(
        "stations", records=stations, columns=["station_id", "name", "system_id"]
    )

    categories = [
        (6, "Ship", True),
        (7, "Module", True),
        (8, "Charge", True),
        (9, "Blueprint", True),
    ]
    await conn.copy_records_to_table(
        "item_categories", records=categories, columns=["category_id", "name", "published"]
    )
    groups = [(gid, name, 6, True) for gid, name in SHIP_GROUPS.items()]
    groups += [(2000 + n, f"Module group {n}", 7, True) for n in range(40)]
    groups += [(3000 + n, f"Charge group {n}", 8, True) for n in range(10)]
    groups += [(4000 + n, f"Blueprint group {n}", 9, True) for n in range(10)]
    await conn.copy_records_to_table(
        "item_groups", records=groups, columns=["group_id", "name", "category_id", "published"]
    )
    types = []
    for tid, (name, gid) in REAL_SHIPS.items():
        types.append((tid, name, gid, 6))
        u.ship_types.append((tid, name, gid))
    ship_groups = list(SHIP_GROUPS)
    for n in range(330):
        tid, gid = 700000 + n, ship_groups[n % len(ship_groups)]
        name = f"{SHIP_GROUPS[gid]} Mk{n}"
        types.append((tid, name, gid, 6))
        u.ship_types.append((tid, name, gid))
    for n in range(2500):
        tid, gid = 800000 + n, 2000 + n % 40
        cat = 7
        if n % 10 == 0:
            gid, cat = 3000 + n % 10, 8
        types.append((tid, f"Module {n} {rng.choice(['I', 'II', 'Navy Issue'])}", gid, cat))
        u.other_types.append((tid, types[-1][1], gid, cat))
    for n in range(400):
        tid = 900000 + n
        types.append((tid, f"Blueprint {n}", 4000 + n % 10, 9))
        u.blueprints.append((tid, f"blueprint {n}"))
    await conn.copy_records_to_table(
        "item_types",
        records=[(t, n, g, c, True, 1.0, 1.0) for t, n, g, c in types],
        columns=[
            "type_id",
            "name",
            "group_id",
            "category_id",
            "published",
            "volume",
            "packaged_volume",
        ],
    )
    names = [(90000000 + n, f"Pilot {n}", "character") for n in range(5000)]
    names += [(98000000 + n, f"Corp {n}", "corporation") for n in range(500)]
    await conn.copy_records_to_table(
        "entity_names", records=names, columns=["entity_id", "name", "category"]
    )
    now = dt.datetime.now(dt.UTC)
    await conn.copy_records_to_table(
        "region_status",
        records=[
            (
                rid,
                now,
                now - dt.timedelta(minutes=rng.randint(1, 40)),
                "complete",
                None,
                None,
                0,
                0,
                0,
                1,
                1.0,
            )
            for rid, _ in regions
        ],
        columns=[
            "region_id",
            "last_attempt_at",
            "last_complete_at",
            "last_outcome",
            "last_error",
            "next_due_at",
            "contracts_live",
            "ship_contracts_live",
            "items_total",
            "pages",
            "last_duration_seconds",
        ],
    )

    # Contracts: most are not ships; The Forge holds about a third of them.
    forge_locations = [loc for loc in u.locations if loc[4] == 10000002]
    contracts, items = [], []
    record_ids = _ids(1)
    ended = live // 5
    for n in range(live + ended):
        cid = 200_000_000 + n
        is_ended = n >= live
        kind = rng.choices(["item_exchange", "auction", "courier", "loan"], [62, 8, 28, 2])[0]
        if rng.random() < 0.35:
            loc = rng.choice(forge_locations)
        elif rng.random() < 0.25:
            region_id = rng.choice(regions)[0]
            loc = (1_020_000_000_000 + rng.randint(0, 5000), None, None, None, region_id, True)
        else:
            loc = rng.choice(u.locations)
        issued = now - dt.timedelta(seconds=rng.uniform(0, 28 * 86400))
        expires = (
            now - dt.timedelta(hours=rng.uniform(1, 500))
            if is_ended
            else now + dt.timedelta(seconds=rng.uniform(3600, 28 * 86400))
        )
        contract_items: list[tuple[int, str, int, bool, bool | None, int | None]] = []
        ships = 0
        if kind in ("item_exchange", "auction"):
            # Item exchanges and auctions are 70% of contracts; ships are a share of all.
            if rng.random() < ship_share / 0.70:
                count = 1 if rng.random() < 0.9 else rng.randint(2, 5)
                ship = rng.choice(u.ship_types)
                contract_items.append((ship[0], ship[1], count, True, None, None))
                ships = count
                if rng.random() < 0.5:
                    for _ in range(rng.randint(1, 15)):
                        mod = rng.choice(u.other_types)
                        contract_items.append(
                            (mod[0], mod[1], rng.randint(1, 50), True, None, None)
                        )
            elif rng.random() < 0.1:
                bp = rng.choice(u.blueprints)
                copy = rng.random() < 0.7
                contract_items.append(
                    (bp[0], bp[1], 1, True, copy, rng.randint(1, 50) if copy else -1)
                )
            else:
                for _ in range(rng.randint(1, 8)):
                    mod = rng.choice(u.other_types)
                    contract_items.append((mod[0], mod[1], rng.randint(1, 500), True, None, None))
            if rng.random() < 0.03:
                mod = rng.choice(u.other_types)
                contract_items.append((mod[0], mod[1], 1, False, None, None))
        title = ""
        if rng.random() < 0.6:
            title = rng.choice(TITLE_WORDS)
            if ships and rng.random() < 0.5:
                title = f"{contract_items[0][1]} {title}"
        price = (10 ** rng.uniform(6, 10)) if ships else (10 ** rng.uniform(4, 9))
        haystack = " ".join([title, *(i[1] for i in contract_items if i[3]), loc[1] or ""]).lower()
        contracts.append(
            (
                cid,
                loc[4],
                kind,
                90000000 + rng.randint(0, 4999),
                98000000 + rng.randint(0, 499),
                False,
                issued,
                expires,
                7 if kind == "courier" else None,
                0.0 if kind == "courier" else round(price, 2),
                round(price * 1.5, 2) if kind == "auction" else None,
                round(price, 2) if kind == "courier" else None,
                round(price / 100, 2) if kind == "courier" else None,
                round(rng.uniform(1, 500000), 2),
                title,
                loc[0],
                60003760 if kind == "courier" else None,
                loc[2],
                loc[3],
                loc[1],
                loc[5],
                now if not is_ended else expires,  # last_seen_at, as ingestion writes it
                "fetched" if kind in ("item_exchange", "auction") else "none",
                ships > 0,
                ships,
                haystack,
                issued,
                expires if is_ended else None,
            )
        )
        for type_id, _, qty, included, copy, runs in contract_items:
            items.append(
                (
                    cid,
                    next(record_ids),
                    type_id,
                    qty,
                    included,
                    False,
                    None,
                    copy,
                    rng.randint(0, 10) if copy is not None else None,
                    rng.randint(0, 10) * 2 if copy is not None else None,
                    runs,
                )
            )
    # The column lists ingestion writes (its sweep and its COPY of items), so the seeded
    # rows stay in step with the schema as ingestion fills it.
    await conn.copy_records_to_table(
        "contracts",
        records=contracts,
        columns=[
            "contract_id",
            *CONTRACT_COLUMNS,
            "items_status",
            "is_ship_contract",
            "ship_count",
            "search_text",
            "first_seen_at",
            "ended_at",
        ],
    )
    await conn.copy_records_to_table("contract_items", records=items, columns=list(ITEM_FIELDS))
    await seed_type_aware(conn, rng, [st for st, _, _ in stations])
    await seed_values(conn)


async def seed_values(conn: asyncpg.Connection) -> None:
    """Value columns as the valuation pass leaves them (issue 12), drawn at random: most
    item exchanges and auctions valued near their price, a few partial, a few flagged."""
    await conn.execute("SELECT setseed(0.42)")
    await conn.execute(
        """
        UPDATE contracts SET
            estimated_value = price * (0.5 + random()),
            value_complete = random() < 0.85,
            flags = CASE
                WHEN random() < 0.03 THEN ',bait_price,'
                WHEN random() < 0.04 THEN ',asks_items,'
                WHEN random() < 0.02 THEN ',title_mismatch,overpriced,'
                ELSE '' END,
            valued_at = now()
        WHERE type IN ('item_exchange', 'auction') AND price > 0
        """
    )
    await conn.execute(
        "UPDATE contracts SET discount = (estimated_value - price) / estimated_value "
        "WHERE value_complete AND estimated_value > 0"
    )
    # The pass values couriers and loans too (no value, no flags).
    await conn.execute("UPDATE contracts SET valued_at = now() WHERE valued_at IS NULL")
    await conn.execute("VACUUM ANALYZE")


async def seed_type_aware(
    conn: asyncpg.Connection, rng: random.Random, stations: list[int]
) -> None:
    """Couriers to every station (not just Jita) with a route per system pair, and bids on
    three auctions in five, as ingestion leaves them (``highest_bid``, ``bid_count``)."""
    couriers = await conn.fetch("SELECT contract_id FROM contracts WHERE type = 'courier'")
    await conn.executemany(
        "UPDATE contracts SET end_location_id = $2 WHERE contract_id = $1",
        [(r["contract_id"], rng.choice(stations)) for r in couriers],
    )
    pairs = await conn.fetch(
        "SELECT DISTINCT c.start_system_id AS o, s.system_id AS d FROM contracts c "
        "JOIN stations s ON s.station_id = c.end_location_id "
        "WHERE c.type = 'courier' AND c.start_system_id IS NOT NULL"
    )
    await conn.copy_records_to_table(
        "routes",
        records=[(p["o"], p["d"], rng.randint(0, 40), dt.datetime.now(dt.UTC)) for p in pairs],
        columns=["origin_system_id", "destination_system_id", "jumps", "fetched_at"],
    )
    auctions = await conn.fetch(
        "SELECT contract_id, price, date_issued FROM contracts WHERE type = 'auction'"
    )
    bids, bid_ids = [], _ids(1)
    for a in auctions:
        if rng.random() < 0.6:
            amount = float(a["price"] or 10_000)
            for _ in range(rng.randint(1, 6)):
                amount = round(amount * rng.uniform(1.01, 1.2), 2)
                bids.append((next(bid_ids), a["contract_id"], a["date_issued"], amount))
    await conn.copy_records_to_table(
        "contract_bids", records=bids, columns=["bid_id", "contract_id", "date_bid", "amount"]
    )
    await conn.execute(
        "UPDATE contracts c SET highest_bid = b.top, bid_count = b.n FROM "
        "(SELECT contract_id, max(amount) AS top, count(*) AS n FROM contract_bids "
        "GROUP BY contract_id) b WHERE b.contract_id = c.contract_id"
    )


# --- measuring --------------------------------------------------------------------------


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return pick(0.50), pick(0.95), pick(0.99)


@dataclass
class Step:
    """One timed request, and what must happen before it without being timed."""

    run: Callable[[], Awaitable[Any]]
    prepare: Callable[[], Awaitable[Any]] | None = None


async def timed(step: Step, runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        if step.prepare is not None:
            await step.prepare()
        await step.run()
    samples = []
    for _ in range(runs):
        if step.prepare is not None:
            await step.prepare()
        started = time.perf_counter()
        await step.run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


class StatementLog:
    """The statements (SQL as sent, with the driver's parameters) the app sends while
    ``recording``: what a request really asks of the database, to be replayed bare."""

    def __init__(self) -> None:
        self.recording = False
        self.seen: list[tuple[str, tuple[Any, ...]]] = []
        event.listen(Engine, "before_cursor_execute", self._before)

    def _before(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool
    ) -> None:
        if self.recording:
            self.seen.append((statement, tuple(parameters or ())))

    async def record(
        self, step: Callable[[], Awaitable[None]]
    ) -> list[tuple[str, tuple[Any, ...]]]:
        self.seen, self.recording = [], True
        try:
            await step()
        finally:
            self.recording = False
        return self.seen


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_factory() -> Any:
    """For ``uvicorn --factory``: the app configured from ``HANGAR_*`` variables."""
    settings = Settings()
    # As `hangar-bay serve` does; unconfigured, structlog would print every request's
    # access line, and the http cells would time writing it.
    configure_logging(level=settings.log_level)
    return create_app(settings, background=background_hooks(settings, ingest=False))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default="postgresql+asyncpg://postgres@127.0.0.1")
    parser.add_argument("--database", default="hangar_bench")
    parser.add_argument("--cache", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--scale", choices=list(SCALES), default="universe")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--warmup",
        type=int,
        default=5,
        help="untimed runs before each cell (after one warm-up pass over every query)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--ship-share",
        type=float,
        default=0.015,
        help="share of contracts that sell ships (live Forge: ~1.5%%, as in esi_sim)",
    )
    args = parser.parse_args()

    server = make_url(args.server)
    url = server.set(database=args.database).render_as_string(hide_password=False)
    dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn + "/postgres")
    exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", args.database)
    if not (args.reuse and exists):
        await admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{args.database}"')
        await migrate.upgrade(url, "heads")
        conn = await asyncpg.connect(f"{dsn}/{args.database}")
        started = time.perf_counter()
        await seed(conn, SCALES[args.scale], random.Random(args.seed), args.ship_share)
        print(f"seeded {args.scale} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        await conn.close()
    else:
        # A reused database still gets the indexes of migrations written since it was seeded.
        await migrate.upgrade(url, "heads")
        conn = await asyncpg.connect(f"{dsn}/{args.database}")
        if not await conn.fetchval("SELECT count(*) FROM contracts WHERE valued_at IS NOT NULL"):
            await seed_values(conn)  # seeded before value columns existed
        await conn.close()
    await admin.close()

    # As the app's connections are made (core.database): no parallel workers.
    conn = await asyncpg.connect(
        f"{dsn}/{args.database}", server_settings={"max_parallel_workers_per_gather": "0"}
    )
    live = await conn.fetchval(
        "SELECT count(*) FROM contracts WHERE ended_at IS NULL AND date_expired > now()"
    )
    ships = await conn.fetchval(
        "SELECT count(*) FROM contracts WHERE ended_at IS NULL AND date_expired > now() "
        "AND is_ship_contract"
    )
    item_rows = await conn.fetchval("SELECT count(*) FROM contract_items")
    total_rows = await conn.fetchval("SELECT count(*) FROM contracts")

    os.environ.update(
        HANGAR_DATABASE_URL=url,
        HANGAR_CACHE_URL=args.cache,
        HANGAR_CACHE_PREFIX="hbbench:",
        HANGAR_ENVIRONMENT="test",
        HANGAR_LOG_LEVEL="WARNING",
        HANGAR_INGEST_IN_PROCESS="false",
        # One client asking for hundreds of uncached views: far past the query budget.
        HANGAR_RATE_LIMIT_ENABLED="false",
    )
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    configure_logging(level="WARNING")
    # As `serve --no-ingest` builds it (its start-up hooks included).
    app = create_app(settings, background=background_hooks(settings, ingest=False))
    # The same Redis keys and database the app reads: the benchmark plays the sweep.
    cache = create_cache(args.cache, prefix="hbbench:", metrics=None)
    sweep_database = Database.from_url(url, pool_size=2)

    async def finished_sweep() -> None:
        # Exactly what a sweep does when it finishes (ingest/sweep.py): a new generation,
        # so every cached result is out of reach, then the counts of the unfiltered
        # default views. Untimed: it happens once per sweep, not once per request.
        await cache.incr(GENERATION_KEY)
        await warm_counts(sweep_database, cache)

    def request(client: httpx.AsyncClient, path: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            response = await client.get(path)
            assert response.status_code == 200, response.text

        return run

    def cold(client: httpx.AsyncClient, path: str) -> Step:
        return Step(request(client, path), prepare=finished_sweep)

    def warm(client: httpx.AsyncClient, path: str) -> Step:
        return Step(request(client, path))

    port = free_port()
    child = await asyncio.create_subprocess_exec(
        *[
            sys.executable,
            "-m",
            "uvicorn",
            "query:app_factory",
            "--factory",
            "--app-dir",
            str(ROOT / "bench"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=os.environ.copy(),
    )
    results: list[tuple[str, dict[str, tuple[float, float, float]]]] = []
    statement_log = StatementLog()
    sent: dict[str, int] = {}
    page_sizes: dict[str, int] = {}
    try:
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with (
                httpx.AsyncClient(transport=transport, base_url="http://bench") as inproc,
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
            ):
                for _ in range(100):
                    try:
                        if (await http.get("/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                # One pass over every query and client first, so the first cell measured
                # does not pay for the processes' first requests (connections, imports).
                for _, query in QUERIES:
                    for client in (inproc, http):
                        path = f"/api/v1/contracts?{query}"
                        await timed(cold(client, path), 0, 2)
                        await timed(warm(client, path), 0, 3)
                for label, query in QUERIES:
                    path = f"/api/v1/contracts?{query}"
                    # The bare SQL of a cold request: the statements one sent, replayed
                    # on a plain asyncpg connection (prepared, as the driver does).
                    await finished_sweep()
                    statements = await statement_log.record(request(inproc, path))
                    sent[label] = len(statements)

                    async def sql(
                        statements: list[tuple[str, tuple[Any, ...]]] = statements,
                    ) -> None:
                        for stmt, params in statements:
                            await conn.fetch(stmt, *params)

                    cells = {
                        "sql": Step(sql),
                        "api cold": cold(inproc, path),
                        "api warm": warm(inproc, path),
                        "http cold": cold(http, path),
                        "http warm": warm(http, path),
                    }
                    row = {
                        mode: percentiles(await timed(step, args.runs, args.warmup))
                        for mode, step in cells.items()
                    }
                    results.append((label, row))
                    print(f"{label}: {row}", file=sys.stderr)
                for label, path in (
                    ("default", "/"),
                    ("full page, size=200", "/?size=200"),
                    ("contract", "/contracts/200000001"),
                ):
                    response = await http.get(path)
                    page_sizes[label] = len(response.content)
                page_cold = percentiles(await timed(cold(http, "/"), args.runs, args.warmup))
                page_warm = percentiles(await timed(warm(http, "/"), args.runs, args.warmup))
    finally:
        child.terminate()
        await child.wait()
        await conn.close()
        await cache.close()
        await sweep_database.dispose()

    print(
        f"Machine: {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"PostgreSQL {(await asyncpg.connect(dsn + '/postgres')).get_server_version()}"
    )
    print(
        f"Data: {total_rows:,} contracts ({live:,} live, {ships:,} live ship contracts), "
        f"{item_rows:,} item rows; {args.runs} timed runs per cell after {args.warmup} "
        "warm-up runs; times in ms.\n"
    )
    modes = ["sql", "api cold", "api warm", "http cold", "http warm"]
    print(
        "| query | statements | "
        + " | ".join(f"{m} p50 / p95 / p99" for m in modes)
        + " | api cold p95 / sql p95 |"
    )
    print("|---|---|" + "---|" * len(modes) + "---|")
    ratios = []
    for label, row in results:
        cells = [" / ".join(f"{v:.1f}" for v in row[m]) for m in modes]
        ratio = row["api cold"][1] / row["sql"][1]
        ratios.append(ratio)
        print(f"| {label} | {sent[label]} | " + " | ".join(cells) + f" | {ratio:.1f}x |")
    print(
        f"\nCold API p95 over bare SQL p95: {sum(r <= 3 for r in ratios)} of {len(ratios)} "
        f"views at 3x or less; median {statistics.median(ratios):.1f}x, "
        f"worst {max(ratios):.1f}x."
    )
    worst_cold = max(row["api cold"][1] for _, row in results)
    worst_warm = max(row["api warm"][1] for _, row in results)
    print(f"\nWorst API p95: cold {worst_cold:.1f} ms, warm {worst_warm:.1f} ms.")
    print(
        "Browse page over HTTP (p50 / p95 / p99): cold "
        + " / ".join(f"{v:.1f}" for v in page_cold)
        + ", warm "
        + " / ".join(f"{v:.1f}" for v in page_warm)
        + " ms."
    )
    print("HTML sizes: " + ", ".join(f"{k} {v / 1024:.1f} KiB" for k, v in page_sizes.items()))
    print(
        f"Median of all api-warm p50s: "
        f"{statistics.median(row['api warm'][0] for _, row in results):.2f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
