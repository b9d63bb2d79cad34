"""Value fields, the discount sort and the value filters through /api/v1/contracts."""

from __future__ import annotations

import httpx
import pytest

from hangar_bay.core.database import Database
from tests.market.factories import CASES, seed_prices, valued


@pytest.fixture
async def cases(universe: Database) -> dict[str, int]:
    await seed_prices(universe)
    return await valued(universe, {k: dict(v) for k, v in CASES.items()})


async def _all(client: httpx.AsyncClient, query: str) -> list[dict[str, object]]:
    response = await client.get(f"/api/v1/contracts?ships_only=false&size=200&{query}")
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_value_and_discount_on_hand_made_contracts(
    client: httpx.AsyncClient, cases: dict[str, int]
) -> None:
    rows = {r["contract_id"]: r for r in await _all(client, "")}
    by = {name: rows[cid] for name, cid in cases.items()}
    assert by["fitted"]["estimated_value"] == pytest.approx(52e6)
    assert by["fitted"]["value_complete"] is True
    assert by["fitted"]["discount"] == pytest.approx(0.25)
    assert by["fitted"]["flags"] == []
    assert by["requests"]["estimated_value"] == pytest.approx(40e6)
    assert by["requests"]["discount"] == pytest.approx(0.25)
    assert [f["code"] for f in by["requests"]["flags"]] == ["asks_items"]
    assert by["bpc"]["estimated_value"] is None
    assert by["bpc"]["discount"] is None
    assert [f["code"] for f in by["bpc"]["flags"]] == ["bpc_as_bpo"]
    assert by["skin"]["estimated_value"] == pytest.approx(2e6)
    assert {f["code"] for f in by["skin"]["flags"]} == {"skin_not_ship", "overpriced"}
    assert by["unknown"]["estimated_value"] == pytest.approx(50e6)
    assert by["unknown"]["value_complete"] is False
    assert by["unknown"]["discount"] is None
    assert [f["code"] for f in by["bait"]["flags"]] == ["bait_price"]
    assert {f["code"] for f in by["wtb"]["flags"]} == {"asks_items", "asks_ship"}
    assert by["wtb"]["discount"] is None
    # Auctions: against the current bid (120M of a 200M value).
    assert by["auction"]["discount"] == pytest.approx(0.4)
    assert all(f["reason"] for r in rows.values() for f in r["flags"])  # type: ignore[attr-defined]


async def test_detail_has_a_value_breakdown(
    client: httpx.AsyncClient, cases: dict[str, int]
) -> None:
    detail = (await client.get(f"/api/v1/contracts/{cases['fitted']}")).json()
    lines = {i["type_id"]: i for i in detail["items"]}
    assert sorted(i["line_value"] for i in lines.values()) == [2e6, 50e6]
    assert {i["price_source"] for i in lines.values()} == {"average"}
    bpc = (await client.get(f"/api/v1/contracts/{cases['bpc']}")).json()
    assert bpc["items"][0]["unit_price"] is None
    auction = (await client.get(f"/api/v1/contracts/{cases['auction']}")).json()
    assert auction["buyout_discount"] == pytest.approx(0.25)


@pytest.mark.parametrize("sort", ["discount", "-discount"])
async def test_discount_sort_nulls_last_ties_by_id_across_pages(
    client: httpx.AsyncClient, cases: dict[str, int], sort: str
) -> None:
    whole = await _all(client, f"sort={sort}")
    known = [r for r in whole if r["discount"] is not None]
    unknown = [r for r in whole if r["discount"] is None]
    assert whole == known + unknown
    descending = sort.startswith("-")
    keys = [(r["discount"], r["contract_id"]) for r in known]
    assert keys == sorted(keys, reverse=descending)
    ids = [r["contract_id"] for r in unknown]
    assert ids == sorted(ids, reverse=descending)  # type: ignore[type-var]
    paged: list[object] = []
    for page in range(1, 6):
        response = await client.get(
            f"/api/v1/contracts?ships_only=false&size=3&page={page}&sort={sort}"
        )
        paged += [r["contract_id"] for r in response.json()["items"]]
    assert paged == [r["contract_id"] for r in whole]


async def test_value_filters(client: httpx.AsyncClient, cases: dict[str, int]) -> None:
    names = {cid: name for name, cid in cases.items()}

    async def found(query: str) -> set[str]:
        return {names[r["contract_id"]] for r in await _all(client, query)}  # type: ignore[index]

    assert await found("min_discount=0.3") == {"bait", "auction"}
    assert await found("min_discount=0") == {"bait", "auction", "fitted", "requests", "fair"}
    assert await found("flag=bait_price") == {"bait"}
    assert await found("flag=asks_items&flag=bpc_as_bpo") == {"requests", "wtb", "bpc"}
    assert await found("no_flags=true") == {"fitted", "fair", "unknown", "auction"}
    both = await found("no_flags=true&min_discount=0.3")
    assert both == {"auction"}
    # Counts follow the filters.
    response = await client.get("/api/v1/contracts?ships_only=false&flag=bait_price")
    assert response.json()["total"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("flag=nonsense", "flag"),
        ("min_discount=2", "min_discount"),
        ("min_discount=abc", "min_discount"),
        ("min_discount=nan", "min_discount"),
        ("no_flags=maybe", "no_flags"),
        ("sort=discounts", "sort"),
    ],
)
async def test_bad_value_parameters_are_422(
    client: httpx.AsyncClient, universe: Database, query: str, field: str
) -> None:
    response = await client.get(f"/api/v1/contracts?{query}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["query", field]
