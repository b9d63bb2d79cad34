"""Every filter both ways: the contracts that must match, and (by exact set) none other."""

from __future__ import annotations

import httpx
import pytest

from tests.contracts.factories import (
    BATTLESHIP,
    CATCH,
    COMBAT_BC,
    DOMAIN,
    DRAKE,
    FORGE,
    OTHER_ISSUER,
    RIFTER,
    VEXOR,
)

SHIPS = {
    "rifter_jita",
    "drake_fit",
    "vexor_amarr",
    "raven_low",
    "rifter_null",
    "vexor_wh",
    "drake_structure",
    "auction_raven",
    "requests",
    "hostile",
}
NOT_SHIPS = {"courier", "bpc", "bpo", "modules"}
JITA_SHIPS = {"rifter_jita", "drake_fit", "auction_raven", "requests", "hostile"}

CASES: list[tuple[str, set[str]]] = [
    ("", SHIPS),
    ("ships_only=true", SHIPS),
    ("ships_only=false", SHIPS | NOT_SHIPS),
    (f"type_id={RIFTER}", {"rifter_jita", "rifter_null"}),
    (
        f"type_id={RIFTER}&type_id={VEXOR}",
        {"rifter_jita", "rifter_null", "vexor_amarr", "vexor_wh"},
    ),
    # "requests" asks for a Raven but offers a Drake: requested items never match.
    (f"group_id={BATTLESHIP}", {"raven_low", "auction_raven", "hostile"}),
    (f"group_id={COMBAT_BC}", {"drake_fit", "drake_structure", "requests"}),
    (f"region_id={DOMAIN}", {"vexor_amarr"}),
    (f"region_id={CATCH}&region_id={DOMAIN}", {"vexor_amarr", "rifter_null"}),
    (f"region_id={FORGE}", JITA_SHIPS | {"drake_structure"}),
    ("security=high", JITA_SHIPS | {"vexor_amarr"}),
    ("security=low", {"raven_low"}),
    ("security=null", {"rifter_null"}),
    ("security=wormhole", {"vexor_wh"}),
    ("security=null&security=wormhole", {"rifter_null", "vexor_wh"}),
    (
        "min_price=50000000",
        {"drake_fit", "raven_low", "drake_structure", "auction_raven", "requests"},
    ),
    ("max_price=9000000", {"rifter_jita", "rifter_null"}),
    ("min_price=20000000&max_price=30000000", {"vexor_amarr", "vexor_wh", "hostile"}),
    ("contract_type=auction", {"auction_raven"}),
    ("contract_type=item_exchange", SHIPS - {"auction_raven"}),
    ("contract_type=courier&ships_only=false", {"courier"}),
    ("contract_type=courier", set()),
    ("bpc=copies&ships_only=false", {"bpc"}),
    ("bpc=originals&ships_only=false", {"bpo"}),
    ("bpc=copies", set()),
    ("min_runs=5&ships_only=false", {"bpc"}),
    ("min_runs=11&ships_only=false", set()),
    ("max_runs=10&ships_only=false", {"bpc"}),
    ("max_runs=9&ships_only=false", set()),
    ("min_me=9&ships_only=false", {"bpc"}),
    ("min_me=8&ships_only=false", {"bpc", "bpo"}),
    ("min_te=18&ships_only=false", {"bpc"}),
    ("bpc=originals&min_me=9&ships_only=false", set()),
    ("hull_only=true", SHIPS - {"drake_fit"}),
    ("hull_only=false", {"drake_fit"}),
    # Hull or not is a question about ship contracts: modules-only contracts never match.
    ("hull_only=false&ships_only=false", {"drake_fit"}),
    ("hull_only=true&ships_only=false", SHIPS - {"drake_fit"}),
    (f"issuer_id={OTHER_ISSUER}", {"drake_structure"}),
    ("q=drake", {"drake_fit", "drake_structure", "requests"}),
    ("q=DRAKE", {"drake_fit", "drake_structure", "requests"}),
    ("q=caldari+navy", JITA_SHIPS),
    ("q=jita+rifter", {"rifter_jita"}),
    ("q=hed-gp", {"rifter_null"}),
    ("q=%C3%BCn%C3%AFcode", {"hostile"}),
    ("q=%3Cscript%3E", {"hostile"}),
    # LIKE wildcards are literal characters, not patterns.
    ("q=%25", set()),
    ("q=_", set()),
    ("q=autocannon&ships_only=false", {"drake_fit", "modules"}),
    # Combined filters narrow each other.
    (f"group_id={COMBAT_BC}&security=high", {"drake_fit", "requests"}),
    (f"type_id={RIFTER}&security=null&max_price=10000000", {"rifter_null"}),
    (f"type_id={DRAKE}&hull_only=true&region_id={FORGE}", {"drake_structure", "requests"}),
    ("q=raven&contract_type=auction&min_price=100000000", {"auction_raven"}),
    ("security=low&q=drake", set()),
]


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[c[0] or "default" for c in CASES])
async def test_filter(
    client: httpx.AsyncClient, market: dict[str, int], query: str, expected: set[str]
) -> None:
    response = await client.get(f"/api/v1/contracts?{query}&size=200")
    assert response.status_code == 200, response.text
    body = response.json()
    names = {v: k for k, v in market.items()}
    got = {names[item["contract_id"]] for item in body["items"]}
    assert got == expected
    assert body["total"] == len(expected)


async def test_ended_and_expired_contracts_are_not_listed(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    body = (await client.get(f"/api/v1/contracts?type_id={RIFTER}&size=200")).json()
    ids = {item["contract_id"] for item in body["items"]}
    assert market["ended"] not in ids
    assert market["expired"] not in ids
    assert market["rifter_jita"] in ids


async def test_counts_per_type_ignore_the_contract_type_filter(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    body = (await client.get("/api/v1/contracts?contract_type=auction")).json()
    assert body["total"] == 1
    assert body["counts"] == {"item_exchange": 9, "auction": 1, "courier": 0, "loan": 0}
    everything = (await client.get("/api/v1/contracts?ships_only=false")).json()
    assert everything["counts"] == {"item_exchange": 12, "auction": 1, "courier": 1, "loan": 0}
    assert everything["total"] == 14


async def test_list_item_summarises_ships_and_blueprints(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    body = (await client.get("/api/v1/contracts?ships_only=false&size=200")).json()
    by_id = {item["contract_id"]: item for item in body["items"]}
    pair = by_id[market["rifter_null"]]
    assert pair["ships"] == [
        {
            "type_id": RIFTER,
            "name": "Rifter",
            "group_id": 25,
            "group_name": "Frigate",
            "quantity": 2,
        }
    ]
    assert pair["ship_count"] == 2
    assert pair["price_per_ship"] == pytest.approx(4.5e6)
    assert pair["start_system_name"] == "HED-GP"
    assert pair["region_name"] == "Catch"
    requests = by_id[market["requests"]]
    assert requests["offered_count"] == 1
    assert requests["requested_count"] == 1
    bpc = by_id[market["bpc"]]["blueprints"]
    assert bpc == [
        {
            "type_id": 691,
            "name": "Rifter Blueprint",
            "is_copy": True,
            "runs": 10,
            "material_efficiency": 10,
            "time_efficiency": 20,
        }
    ]
    assert by_id[market["bpo"]]["blueprints"][0]["is_copy"] is False
    structure = by_id[market["drake_structure"]]
    assert structure["start_is_structure"] is True
    assert structure["start_location_name"] is None
