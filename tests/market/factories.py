"""Hand-made contracts with market prices, valued by the real valuation pass."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hangar_bay.core.database import Database
from hangar_bay.ingest.writes import Writer
from hangar_bay.market.valuation import revalue
from hangar_bay.models import ItemType, MarketPrice
from tests.contracts.factories import (
    AUTOCANNON,
    DRAKE,
    DRAKE_BP,
    RAVEN,
    RIFTER,
    RIFTER_BP,
    VEXOR,
    Item,
    add,
    build_contract,
)

SKIN = 91
DRAKE_SKIN = 900_001

# ISK. Blueprints carry only an adjusted price, as on ESI.
PRICES: dict[int, tuple[float | None, float | None]] = {
    RIFTER: (500_000.0, 480_000.0),
    VEXOR: (10e6, 9.5e6),
    DRAKE: (50e6, 48e6),
    RAVEN: (200e6, 190e6),
    AUTOCANNON: (1e6, 0.9e6),
    RIFTER_BP: (None, 3e6),
    DRAKE_BP: (None, 300e6),
    DRAKE_SKIN: (None, 2e6),
}


async def seed_prices(database: Database) -> None:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    async with database.session() as session:
        session.add(ItemType(type_id=DRAKE_SKIN, name="Drake Sentinel SKIN", group_id=1950,
                             category_id=SKIN))  # fmt: skip
        session.add_all(
            MarketPrice(type_id=t, average_price=a, adjusted_price=j, updated_at=now)
            for t, (a, j) in PRICES.items()
        )


async def valued(database: Database, specs: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Add these contracts (factory keyword arguments by name) and value them."""
    ids: dict[str, int] = {}
    contracts = []
    for n, (name, spec) in enumerate(specs.items()):
        spec.setdefault("issued_ago", dt.timedelta(minutes=10 + n))
        contract = build_contract(**spec)
        ids[name] = contract.contract_id
        contracts.append(contract)
    await add(database, *contracts)
    await revalue(Writer(database), now=dt.datetime.now(dt.UTC))
    return ids


# The cases of the issue: fitted ship, requested items, BPC, SKIN, unknown price, bait.
CASES: dict[str, dict[str, Any]] = {
    "fitted": {"title": "Drake fitted", "items": [Item(DRAKE), Item(AUTOCANNON, 2)], "price": 39e6},
    "fair": {"title": "Vexor", "items": [Item(VEXOR)], "price": 10e6},
    "bait": {"title": "Raven cheap", "items": [Item(RAVEN)], "price": 50e6},
    "overpriced": {"items": [Item(RIFTER)], "price": 2e6},
    "requests": {"items": [Item(DRAKE), Item(VEXOR, included=False)], "price": 30e6},
    "wtb": {"title": "WTB Raven", "items": [Item(RAVEN, included=False)], "price": 0.0},
    "bpc": {"title": "Rifter BPO", "items": [Item(RIFTER_BP, bpc=True, runs=10, me=10, te=20)],
            "price": 1e6},
    "skin": {"title": "Drake", "items": [Item(DRAKE_SKIN)], "price": 40e6},
    "unknown": {"items": [Item(DRAKE), Item(587_000_000)], "price": 40e6},
    "auction": {"type": "auction", "items": [Item(RAVEN)], "price": 100e6, "buyout": 150e6,
                "bids": [120e6]},
}  # fmt: skip
