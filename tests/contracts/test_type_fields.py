"""Type-aware fields of the list and detail (F008): auctions' current bid and bid count,
couriers' destination, jumps and reward per m³ / per jump, their sorts, and the
"unknown" security band of player structures."""

from __future__ import annotations

import httpx
import pytest

from hangar_bay.core.database import Database
from hangar_bay.models import Route
from tests.contracts import factories
from tests.contracts.factories import (
    AMAMAKE,
    AMAMAKE_STATION,
    AMARR,
    AMARR_8,
    HED_GP_STATION,
    JITA,
    RAVEN,
    STRUCTURE,
    Item,
    add,
    build_contract,
)


async def add_route(database: Database, origin: int, destination: int, jumps: int | None) -> None:
    async with database.session() as session:
        session.add(Route(origin_system_id=origin, destination_system_id=destination, jumps=jumps))


def by_id(body: dict[str, object]) -> dict[int, dict[str, object]]:
    items = body["items"]
    assert isinstance(items, list)
    return {item["contract_id"]: item for item in items}


async def test_auction_summary_has_current_bid_and_bid_count(
    client: httpx.AsyncClient, market: dict[str, int], universe: Database
) -> None:
    quiet = build_contract(type="auction", items=[Item(RAVEN)], price=90e6)
    await add(universe, quiet)
    items = by_id(
        (await client.get("/api/v1/contracts?contract_type=auction&ships_only=false")).json()
    )
    raven = items[market["auction_raven"]]
    assert (raven["price"], raven["current_bid"], raven["bid_count"]) == (100e6, 120e6, 2)
    assert raven["buyout"] == 200e6
    # No bid yet: the current bid is the starting price.
    assert (items[quiet.contract_id]["current_bid"], items[quiet.contract_id]["bid_count"]) == (
        90e6,
        0,
    )
    detail = (await client.get(f"/api/v1/contracts/{market['auction_raven']}")).json()
    assert (detail["current_bid"], detail["bid_count"]) == (120e6, 2)
    # Other types carry no current bid.
    assert (await client.get(f"/api/v1/contracts/{market['rifter_jita']}")).json()[
        "current_bid"
    ] is None


async def test_auction_tab_sorts_price_by_current_bid(
    client: httpx.AsyncClient, universe: Database
) -> None:
    bid_up = build_contract(type="auction", items=[Item(RAVEN)], price=100e6, bids=[150e6])
    unbid = build_contract(type="auction", items=[Item(RAVEN)], price=120e6)
    hot = build_contract(type="auction", items=[Item(RAVEN)], price=90e6, bids=[95e6, 200e6])
    await add(universe, bid_up, unbid, hot)
    body = (await client.get("/api/v1/contracts?contract_type=auction&sort=price")).json()
    assert [i["contract_id"] for i in body["items"]] == [
        unbid.contract_id,
        bid_up.contract_id,
        hot.contract_id,
    ]
    down = (await client.get("/api/v1/contracts?contract_type=auction&sort=-price")).json()
    assert [i["current_bid"] for i in down["items"]] == [200e6, 150e6, 120e6]


async def test_courier_summary_has_destination_jumps_and_rates(
    client: httpx.AsyncClient, market: dict[str, int], universe: Database
) -> None:
    await add_route(universe, JITA, AMARR, 9)
    items = by_id(
        (await client.get("/api/v1/contracts?contract_type=courier&ships_only=false")).json()
    )
    courier = items[market["courier"]]
    assert courier["end_location_id"] == AMARR_8
    assert courier["end_location_name"] == "Amarr VIII (Oris) - Emperor Family Academy"
    assert (courier["end_system_id"], courier["end_system_name"]) == (AMARR, "Amarr")
    assert courier["end_security"] == 1.0
    assert courier["jumps"] == 9
    assert courier["reward_per_m3"] == pytest.approx(5e6 / 12000)
    assert courier["reward_per_jump"] == pytest.approx(5e6 / 9)
    assert (courier["reward"], courier["collateral"], courier["days_to_complete"]) == (
        5e6,
        100e6,
        7,
    )
    detail = (await client.get(f"/api/v1/contracts/{market['courier']}")).json()
    assert (detail["end_system_name"], detail["jumps"]) == ("Amarr", 9)


def _courier(**kw: object) -> factories.Contract:
    spec: dict[str, object] = {"type": "courier", "price": None}
    spec.update(kw)
    return build_contract(**spec)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-reward_per_m3", ["dense", "far", "near", "structure"]),
        ("reward_per_m3", ["structure", "near", "far", "dense"]),
        ("jumps", ["near", "dense", "far", "structure"]),
        ("-jumps", ["far", "dense", "near", "structure"]),
        ("-reward_per_jump", ["near", "dense", "far", "structure"]),
        ("-reward", ["far", "dense", "near", "structure"]),
        ("collateral", ["structure", "near", "dense", "far"]),
        ("days_to_complete", ["near", "dense", "far", "structure"]),
    ],
)
async def test_courier_sorts(
    client: httpx.AsyncClient, universe: Database, sort: str, expected: list[str]
) -> None:
    couriers = {
        # reward, volume, collateral, jumps (route), days
        "near": _courier(
            reward=4.4e6, volume=10_000.0, collateral=1e6, end_location=AMARR_8
        ),  # 440/m³, 2 jumps
        "far": _courier(
            reward=30e6, volume=60_000.0, collateral=900e6, end_location=AMAMAKE_STATION
        ),  # 500/m³, 20 jumps
        "dense": _courier(
            reward=10e6,
            volume=1_000.0,
            collateral=50e6,
            location=AMARR_8,
            end_location=AMAMAKE_STATION,
        ),  # 10,000/m³, 5 jumps
        "structure": _courier(
            reward=1e6, volume=50_000.0, collateral=0.0, location=STRUCTURE,
            end_location=HED_GP_STATION,
        ),  # 20/m³, jumps unknown
    }  # fmt: skip
    days = {"near": 1, "dense": 3, "far": 7, "structure": 14}
    for name, contract in couriers.items():
        contract.days_to_complete = days[name]
    await add(universe, *couriers.values())
    await add_route(universe, JITA, AMARR, 2)
    await add_route(universe, JITA, AMAMAKE, 20)
    await add_route(universe, AMARR, AMAMAKE, 5)
    names = {c.contract_id: name for name, c in couriers.items()}
    body = (
        await client.get(f"/api/v1/contracts?contract_type=courier&ships_only=false&sort={sort}")
    ).json()
    assert [names[i["contract_id"]] for i in body["items"]] == expected


async def test_security_unknown_selects_player_structures(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    unknown = by_id((await client.get("/api/v1/contracts?security=unknown")).json())
    assert set(unknown) == {market["drake_structure"]}
    both = by_id((await client.get("/api/v1/contracts?security=high&security=unknown")).json())
    assert market["drake_structure"] in both
    assert market["rifter_jita"] in both
    high = by_id((await client.get("/api/v1/contracts?security=high")).json())
    assert market["drake_structure"] not in high


async def test_contracts_without_buyout_or_courier_terms_give_null(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    item = (await client.get(f"/api/v1/contracts/{market['rifter_jita']}")).json()
    assert (item["buyout"], item["collateral"], item["reward"]) == (None, None, None)
    assert (item["jumps"], item["reward_per_m3"], item["end_location_name"]) == (None, None, None)


async def test_type_fields_are_documented(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    summary = schema["ContractSummary"]["properties"]
    for field in ("current_bid", "bid_count", "jumps", "reward_per_m3", "end_security"):
        assert "description" in summary[field] or field == "end_security", field
    assert "unknown" in str(schema)
