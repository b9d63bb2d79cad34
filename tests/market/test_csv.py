"""CSV export: parsed back, the same rows in the same order as the list JSON."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from hangar_bay.contracts import router
from hangar_bay.core.database import Database
from tests.market.factories import CASES, seed_prices, valued


@pytest.fixture
async def cases(universe: Database) -> dict[str, int]:
    await seed_prices(universe)
    return await valued(universe, {k: dict(v) for k, v in CASES.items()})


async def _csv(client: httpx.AsyncClient, query: str) -> list[dict[str, str]]:
    response = await client.get(f"/api/v1/contracts.csv?{query}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text)))


@pytest.mark.parametrize("query", ["ships_only=false", "ships_only=false&sort=-discount", ""])
async def test_csv_matches_the_json(
    client: httpx.AsyncClient, cases: dict[str, int], query: str
) -> None:
    rows = await _csv(client, query)
    listed = (await client.get(f"/api/v1/contracts?size=200&{query}")).json()["items"]
    assert [int(r["contract_id"]) for r in rows] == [c["contract_id"] for c in listed]
    for row, item in zip(rows, listed, strict=True):
        assert row["title"] == item["title"]
        assert float(row["price"] or 0) == (item["price"] or 0)
        assert row["flags"].split() == [f["code"] for f in item["flags"]]
        if item["estimated_value"] is None:
            assert row["estimated_value"] == ""
        else:
            assert float(row["estimated_value"]) == pytest.approx(item["estimated_value"])
        assert row["value_complete"] == str(item["value_complete"])
    assert set(rows[0]) >= {"contract_id", "estimated_value", "discount", "flags", "ships"}


async def test_csv_follows_filters_ignores_paging_and_stops_at_the_cap(
    client: httpx.AsyncClient, cases: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    flagged = await _csv(client, "ships_only=false&flag=bait_price&size=1&page=3")
    assert [int(r["contract_id"]) for r in flagged] == [cases["bait"]]
    monkeypatch.setattr(router, "CSV_PAGE", 2)
    monkeypatch.setattr(router, "CSV_MAX_ROWS", 5)
    capped = await _csv(client, "ships_only=false")
    assert len(capped) == 5
    first = (await client.get("/api/v1/contracts?ships_only=false&size=5")).json()["items"]
    assert [int(r["contract_id"]) for r in capped] == [c["contract_id"] for c in first]


async def test_csv_bad_parameters_are_422(client: httpx.AsyncClient, universe: Database) -> None:
    response = await client.get("/api/v1/contracts.csv?min_discount=5")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["query", "min_discount"]
