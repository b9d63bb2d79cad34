from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hangar_bay.core.database import Database
from tests.contracts.factories import (
    AMAMAKE_STATION,
    AMARR_8,
    AUTOCANNON,
    DRAKE,
    DRAKE_BP,
    HED_GP_STATION,
    J_SPACE_LOCATION,
    OTHER_ISSUER,
    RAVEN,
    RIFTER,
    RIFTER_BP,
    STRUCTURE,
    VEXOR,
    Item,
    add,
    build_contract,
    seed_universe,
)


@pytest.fixture
async def universe(database: Database) -> Database:
    """The static universe (regions, systems, stations, types, names, freshness)."""
    await seed_universe(database)
    return database


@pytest.fixture
async def market(universe: Database) -> dict[str, int]:
    """A small market with one contract per interesting case, by name."""
    day = dt.timedelta(days=1)
    specs: dict[str, dict[str, Any]] = {
        "rifter_jita": {"title": "Cheap Rifter", "items": [Item(RIFTER)], "price": 5e6},
        "drake_fit": {
            "title": "Drake fitted",
            "items": [Item(DRAKE), Item(AUTOCANNON, 2)],
            "price": 60e6,
        },
        "vexor_amarr": {"items": [Item(VEXOR)], "location": AMARR_8, "price": 20e6},
        "raven_low": {"items": [Item(RAVEN)], "location": AMAMAKE_STATION, "price": 150e6},
        "rifter_null": {
            "title": "Two frigates",
            "items": [Item(RIFTER, 2)],
            "location": HED_GP_STATION,
            "price": 9e6,
        },
        "vexor_wh": {"items": [Item(VEXOR)], "location": J_SPACE_LOCATION, "price": 25e6},
        "drake_structure": {
            "items": [Item(DRAKE)],
            "location": STRUCTURE,
            "price": 55e6,
            "issuer_id": OTHER_ISSUER,
        },
        "auction_raven": {
            "type": "auction",
            "items": [Item(RAVEN)],
            "price": 100e6,
            "buyout": 200e6,
            "bids": [110e6, 120e6],
        },
        "requests": {
            "title": "Want to trade",
            "items": [Item(DRAKE), Item(RAVEN, included=False)],
            "price": 70e6,
        },
        "hostile": {
            "title": "<script>alert('x')</script> Ræven ☃ ünïcode & co",
            "items": [Item(RAVEN)],
            "price": 30e6,
        },
        "courier": {
            "type": "courier",
            "price": 0.0,
            "reward": 5e6,
            "collateral": 100e6,
            "end_location": AMARR_8,
            "volume": 12000.0,
        },
        "bpc": {
            "items": [Item(RIFTER_BP, bpc=True, runs=10, me=10, te=20)],
            "price": 1e6,
        },
        "bpo": {
            "items": [Item(DRAKE_BP, bpc=False, runs=-1, me=8, te=16)],
            "price": 300e6,
        },
        "modules": {"items": [Item(AUTOCANNON, 10)], "price": 2e6},
        "ended": {"items": [Item(RIFTER)], "ended": True},
        "expired": {
            "items": [Item(RIFTER)],
            "issued_ago": 20 * day,
            "expires_in": -day,
        },
    }
    ids: dict[str, int] = {}
    contracts = []
    for n, (name, spec) in enumerate(specs.items()):
        # Distinct issue times, newest first in spec order, so the default order is known.
        spec.setdefault("issued_ago", dt.timedelta(minutes=10 + n))
        contract = build_contract(**spec)
        ids[name] = contract.contract_id
        contracts.append(contract)
    await add(universe, *contracts)
    return ids
