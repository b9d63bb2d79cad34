"""What rendering the browse page (``/``, HTML) costs on a page-cache miss, in process.

Builds a realistic page of summaries (seeded, no database: item exchanges and auctions
of ships, multi-ship and fitted contracts, player structures, value badges, flags, EVE
markup in titles) with a universe-sized filter form (40 ship classes, 280 ship types,
65 regions and their freshness rows), then times what the route does with them on a
page-cache miss, ``browse_context`` (with the table's rows) and the render of
``browse.html``, for each page size and layout asked. It prints milliseconds per page,
min/median/max over the runs (each run is ``--calls`` pages).

``--compare-templates DIR`` also renders from an older templates directory, run for
run in turn, and says whether the pages are byte for byte the same (older templates
ignore the context they do not use); ``--profile`` prints the top of a cProfile of the
50-row render instead.

    .venv/bin/python bench/render.py [--sizes 50,200] [--layouts ships] [--calls 20]
                                     [--runs 9] [--compare-templates DIR] [--profile]

    git archive fa14298 src/hangar_bay/web/templates | tar -x -C /tmp/before
    .venv/bin/python bench/render.py --compare-templates /tmp/before/src/hangar_bay/web/templates

Layouts: ships (the default view), auction, courier, blueprints, loan.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import pstats
import random
import statistics
import time
from typing import Any

from jinja2 import Environment, FileSystemLoader
from starlette.requests import Request

from hangar_bay.contracts.schemas import (
    ContractFilters,
    ContractPage,
    RegionFreshness,
    RegionOption,
    Taxonomy,
)
from hangar_bay.market.flags import REASONS
from hangar_bay.runtime import GC_YOUNG_THRESHOLD
from hangar_bay.web import format as fmt
from hangar_bay.web.router import browse_context, templates

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
SHIP_NAMES = ["Rifter", "Vexor", "Drake", "Raven", "Naglfar", "Kestrel", "Thorax", "Tengu"]
SYSTEMS = [
    (30000142, "Jita", 0.9459),
    (30002187, "Amarr", 1.0),
    (30002537, "Amamake", 0.4),
    (30001161, "HED-GP", -0.38),
    (31000005, "J100820", -1.0),
]
FILTERS = {
    "ships": ContractFilters(),
    "auction": ContractFilters(contract_type=["auction"]),
    "courier": ContractFilters(contract_type=["courier"], ships_only=False),
    "blueprints": ContractFilters(bpc="copies", ships_only=False),
    "loan": ContractFilters(contract_type=["loan"], ships_only=False),
}


def summary(rng: random.Random, n: int, layout: str) -> dict[str, Any]:
    """One contract summary as the list statement leaves it (ContractSummary's shape)."""
    kind = {
        "ships": "auction" if rng.random() < 0.15 else "item_exchange",
        "auction": "auction",
        "courier": "courier",
        "blueprints": "item_exchange",
        "loan": "loan",
    }[layout]
    system_id, system_name, security = rng.choice(SYSTEMS)
    structure = rng.random() < 0.15
    if structure and rng.random() < 0.5:
        # A structure ingestion cannot resolve: no name, system or security.
        system_id, system_name, security = None, None, None  # type: ignore[assignment]
    end_id, end_name, end_sec = rng.choice(SYSTEMS)
    price = rng.choice([950_000.0, 12_500_000.0, 55_000_000.0, 1_250_000_000.0])
    ship_lines = []
    if layout != "courier":
        for k in range(1 if rng.random() < 0.8 else 2):
            ship_lines.append(
                {
                    "type_id": 587 + k,
                    "name": rng.choice(SHIP_NAMES),
                    "group_id": 25,
                    "group_name": "Frigate",
                    "quantity": rng.choice([1, 1, 1, 3]),
                }
            )
    blueprints = []
    if layout == "blueprints":
        blueprints.append(
            {
                "type_id": 691,
                "name": "Rifter Blueprint",
                "is_copy": True,
                "runs": rng.choice([1, 10, None]),
                "material_efficiency": 10,
                "time_efficiency": 20,
            }
        )
        ship_lines = []
    ship_count = sum(s["quantity"] for s in ship_lines)  # type: ignore[misc]
    value = price * rng.uniform(0.5, 1.5) if rng.random() < 0.8 else None
    bids = rng.choice([0, 0, 3]) if kind == "auction" else 0
    return {
        "contract_id": 190_000_000 + n,
        "type": kind,
        "title": rng.choice(
            ["", "Fitted, ready to undock", "<url=showinfo:587>Rifter</url> cheap", "WTS & go"]
        ),
        "status": "outstanding",
        "region_id": 10000002,
        "region_name": "The Forge",
        "issuer_id": 2112625428,
        "issuer_name": "Some Pilot",
        "date_issued": NOW - dt.timedelta(minutes=rng.randint(1, 20_000)),
        "date_expired": NOW + dt.timedelta(minutes=rng.randint(1, 40_000)),
        "ended_at": None,
        "price": None if kind == "courier" else price,
        "buyout": price * 2 if kind == "auction" and rng.random() < 0.5 else None,
        "collateral": 100_000_000.0 if kind in {"courier", "loan"} else None,
        "reward": 5_000_000.0 if kind == "courier" else None,
        "volume": rng.choice([2_500.0, 15_000.0, 50_000.0]),
        "days_to_complete": 7 if kind == "courier" else None,
        "start_location_id": 1_035_466_617_946 if structure else 60003760,
        "start_location_name": None if structure else f"{system_name} IV - Moon 4",
        "start_system_id": system_id,
        "start_system_name": system_name,
        "start_security": security,
        "start_is_structure": structure,
        "end_location_id": 60008494 if kind == "courier" else None,
        "end_location_name": "Amarr VIII" if kind == "courier" else None,
        "end_system_id": end_id if kind == "courier" else None,
        "end_system_name": end_name if kind == "courier" else None,
        "end_security": end_sec if kind == "courier" else None,
        "jumps": rng.choice([9, None]) if kind == "courier" else None,
        "is_ship_contract": bool(ship_lines),
        "ship_count": ship_count,
        "price_per_ship": price / ship_count if ship_count else None,
        "ships": ship_lines,
        "blueprints": blueprints,
        "offered_count": len(ship_lines) + rng.choice([0, 0, 6]),
        "requested_count": 1 if rng.random() < 0.05 else 0,
        "current_bid": price if kind == "auction" else None,
        "bid_count": bids,
        "reward_per_m3": 5_000_000.0 / 15_000.0 if kind == "courier" else None,
        "reward_per_jump": 555_555.0 if kind == "courier" else None,
        "estimated_value": value,
        "value_complete": value is not None and rng.random() < 0.7,
        "discount": (value - price) / value if value else None,
        "flags": (
            [{"code": "bait_price", "reason": REASONS["bait_price"]}] if rng.random() < 0.1 else []
        ),
    }


def view(size: int, layout: str, seed: int = 1) -> dict[str, Any]:
    """``browse_context``'s arguments for a page of ``size`` summaries in ``layout``."""
    rng = random.Random(seed)
    filters = FILTERS[layout].model_copy(update={"size": size})
    page = ContractPage.model_validate(
        {
            "total": 12_345,
            "page": 1,
            "size": size,
            "pages": -(-12_345 // size),
            "counts": {"item_exchange": 11_000, "auction": 1_345, "courier": 0, "loan": 0},
            "items": [summary(rng, n, layout) for n in range(size)],
        }
    )
    taxonomy = Taxonomy.model_validate(
        {
            "groups": [
                {
                    "group_id": 1000 + g,
                    "name": f"Ship class {g}",
                    "contracts": 300,
                    "types": [
                        {"type_id": 20_000 + g * 10 + t, "name": f"Hull {g}-{t}", "contracts": 40}
                        for t in range(300 // 40)
                    ],
                }
                for g in range(40)
            ]
        }
    )
    regions = [RegionOption(region_id=10_000_001 + r, name=f"Region {r}") for r in range(65)]
    freshness = [
        RegionFreshness(
            region_id=r.region_id,
            name=r.name,
            last_complete_at=NOW - dt.timedelta(minutes=7 + i),
            last_outcome="complete",
            contracts_live=4_000,
            ship_contracts_live=250,
        )
        for i, r in enumerate(regions)
    ]
    return {
        "filters": filters,
        "page": page,
        "taxonomy": taxonomy,
        "regions": regions,
        "freshness": freshness,
        "now": NOW,
        "ingestion_off": False,
    }


def context(size: int, layout: str, seed: int = 1) -> dict[str, Any]:
    """``browse.html``'s context for a page of ``size`` summaries in ``layout``."""
    return browse_context(**view(size, layout, seed))


def request_for(query: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "query_string": query.encode(),
        "headers": [],
        "state": {},
    }
    return Request(scope)


def render(ctx: dict[str, Any], env: Environment = templates) -> bytes:
    """The page as the route renders it (``render_bytes``), from ``env``'s templates."""
    request = request_for(ctx["query"])
    return env.get_template("browse.html").render(request=request, **ctx).encode()


def time_renders(arguments: dict[str, Any], env: Environment, calls: int) -> float:
    """Milliseconds per page: the context (with its rows) and the render, as on a miss."""
    start = time.perf_counter()
    for _ in range(calls):
        render(browse_context(**arguments), env)
    return (time.perf_counter() - start) / calls * 1e3


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}/{statistics.median(values):.2f}/{max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="50,200")
    parser.add_argument("--layouts", default="ships")
    parser.add_argument("--calls", type=int, default=20, help="renders per run")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument(
        "--compare-templates",
        metavar="DIR",
        help="also render from an older templates directory, alternating run by run",
    )
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.profile:
        ctx = context(50, args.layouts.split(",")[0])
        render(ctx)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.calls):
            render(ctx)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return
    envs = {"current": templates}
    if args.compare_templates:
        before = templates.overlay(loader=FileSystemLoader(args.compare_templates))
        # Retired with web/rows.py; the templates of main before it still ask for it.
        before.filters.setdefault("band", fmt.security_band)
        envs["before"] = before
    for layout in args.layouts.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            arguments = view(size, layout)
            ctx = browse_context(**arguments)
            bodies = {name: render(ctx, env) for name, env in envs.items()}  # compiles once
            # The collector as ``serve`` tunes it (runtime.server_gc): what start-up made
            # frozen out of its sight, young collections less often.
            gc.collect()
            gc.freeze()
            young, middle, old = gc.get_threshold()
            gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), middle, old)
            times: dict[str, list[float]] = {name: [] for name in envs}
            for _ in range(args.runs):
                for name, env in envs.items():
                    times[name].append(time_renders(arguments, env, args.calls))
            for name in envs:
                print(
                    f"{layout} {size} rows, {name} ({len(bodies[name]) // 1024} KB): "
                    f"ms per page min/median/max {spread(times[name])}"
                )
            if "before" in envs:
                same = "identical" if bodies["before"] == bodies["current"] else "DIFFERENT"
                ratios = [b / c for b, c in zip(times["before"], times["current"], strict=True)]
                print(f"  before/current per run min/median/max {spread(ratios)}; pages {same}")


if __name__ == "__main__":
    main()
