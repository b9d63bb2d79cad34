"""Contract listings, items, churn over time and the shape of the universe."""

from __future__ import annotations

from collections import Counter
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from esi_sim.catalog import TYPES
from esi_sim.geography import HUBS, REGIONS
from esi_sim.testing import RunningSimulator

FORGE = 10000002


def truth(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = client.get("/_sim/ground-truth", params=params).json()["contracts"]
    return rows


def test_version_prefixes_and_datasource_serve_the_same_listing(client: httpx.Client) -> None:
    bodies = {
        prefix: client.get(f"{prefix}/contracts/public/{FORGE}/").content
        for prefix in ("", "/latest", "/v1", "/dev", "/legacy")
    }
    assert len(set(bodies.values())) == 1
    assert (
        client.get(f"/latest/contracts/public/{FORGE}/?datasource=tranquility").content
        == bodies[""]
    )
    bad = client.get(f"/latest/contracts/public/{FORGE}/?datasource=singularity")
    assert bad.status_code == 400
    assert "error" in bad.json()


def test_listing_headers(client: httpx.Client) -> None:
    resp = client.get(f"/latest/contracts/public/{FORGE}/")
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == "public"
    assert resp.headers["x-pages"] == "1"
    expires = parsedate_to_datetime(resp.headers["expires"])
    modified = parsedate_to_datetime(resp.headers["last-modified"])
    assert (expires - modified).total_seconds() == 1800
    assert resp.headers["etag"].startswith('"')
    assert int(resp.headers["x-esi-error-limit-remain"]) <= 100


def test_unknown_region_is_404_and_empty_regions_are_empty(client: httpx.Client) -> None:
    assert client.get("/latest/contracts/public/10000024/").status_code == 404
    empty = client.get("/latest/contracts/public/10000004/")
    assert empty.status_code == 200
    assert empty.json() == []
    assert empty.headers["x-pages"] == "1"


def test_every_kind_of_contract_exists(client: httpx.Client) -> None:
    rows = truth(client)
    assert 250 <= len(rows) <= 400
    types = Counter(r["type"] for r in rows)
    assert set(types) == {"item_exchange", "auction", "courier", "loan"}
    assert types["item_exchange"] > types["courier"] > 0
    ships = [r for r in rows if r["is_ship_contract"]]
    assert 0 < len(ships) < len(rows) / 2, "most contracts do not sell ships"
    for r in rows:
        offered = [i for i in r["items"] if i["is_included"]]
        has_ship = any(TYPES[i["type_id"]].category_id == 6 for i in offered)
        assert r["is_ship_contract"] == has_ship
        if r["type"] in ("courier", "loan"):
            assert r["items"] == []
        if r["type"] != "auction":
            assert r["bids"] == []

    def category_count(r: dict[str, Any], cat: int) -> int:
        return sum(
            i["quantity"]
            for i in r["items"]
            if i["is_included"] and TYPES[i["type_id"]].category_id == cat
        )

    assert any(category_count(r, 6) >= 2 for r in ships), "a multi-ship bundle"
    assert any(category_count(r, 6) == 1 and category_count(r, 7) > 0 for r in ships), (
        "a fitted ship"
    )
    assert any(any(not i["is_included"] for i in r["items"]) for r in ships), "a ship asking items"
    bps = [i for r in rows for i in r["items"] if "runs" in i]
    assert any(i["is_blueprint_copy"] and i["runs"] > 0 for i in bps)
    assert any(not i["is_blueprint_copy"] and i["runs"] == -1 for i in bps)
    assert all(0 <= i["material_efficiency"] <= 25 and 0 <= i["time_efficiency"] <= 20 for i in bps)
    assert any(TYPES[i["type_id"]].category_id == 91 for r in rows for i in r["items"]), "SKINs"
    assert any(r["bids"] for r in rows if r["type"] == "auction")
    titles = {r["title"] for r in rows}
    assert "" in titles
    assert any("<" in t for t in titles)
    assert any(not t.isascii() for t in titles)


def test_locations_and_ids(client: httpx.Client) -> None:
    rows = truth(client)
    for r in rows:
        assert 0 < r["contract_id"] < 2**31
        assert 0 < r["issuer_id"] < 2**31
        assert 0 < r["issuer_corporation_id"] < 2**31
        assert r["issuer_name"]
        loc = r["start_location_id"]
        if 60_000_000 <= loc < 70_000_000:
            assert r["start_location_name"]
        else:
            assert loc >= 100_000_000
            assert r["start_location_name"] is None
        assert r["start_system_id"] is not None
        assert -1.0 <= r["start_security_status"] <= 1.0
        for item in r["items"]:
            assert 0 < item["record_id"] < 2**63
    jita = next(h for h in HUBS if h.system_name == "Jita")
    at_jita = [r for r in rows if r["start_location_id"] == jita.station_id]
    assert at_jita, "The Forge's contracts gather at Jita 4-4"
    assert {r["start_security_status"] for r in at_jita} == {jita.security}
    # Issuers resolve by name like on ESI.
    ids = list({r["issuer_id"] for r in rows})[:50]
    names = client.post("/latest/universe/names/", json=ids)
    assert names.status_code == 200
    assert {n["category"] for n in names.json()} == {"character"}


def test_all_regions_are_listed_with_real_names(client: httpx.Client) -> None:
    listed = client.get("/latest/universe/regions/").json()
    assert set(listed) == {r[0] for r in REGIONS}
    assert client.get("/latest/universe/regions/10000002/").json()["name"] == "The Forge"
    assert client.get("/latest/universe/regions/10000069/").json()["name"] == "Black Rise"
    wh = client.get("/latest/universe/regions/11000001/").json()
    system = client.get(f"/latest/universe/constellations/{wh['constellations'][0]}/").json()[
        "systems"
    ][0]
    assert system >= 31_000_000
    assert client.get(f"/latest/universe/systems/{system}/").json()["security_status"] == -1.0
    for hub in HUBS:
        st = client.get(f"/latest/universe/stations/{hub.station_id}/").json()
        assert st["name"] == hub.station_name
        assert st["system_id"] == hub.system_id
        sy = client.get(f"/latest/universe/systems/{hub.system_id}/").json()
        assert sy["name"] == hub.system_name
        assert hub.station_id in sy["stations"]


def test_type_group_category_chain(client: httpx.Client) -> None:
    t = client.get("/latest/universe/types/24698/").json()
    assert t["name"] == "Drake"
    g = client.get(f"/latest/universe/groups/{t['group_id']}/").json()
    assert g["name"] == "Combat Battlecruiser"
    assert 24698 in g["types"]
    c = client.get(f"/latest/universe/categories/{g['category_id']}/").json()
    assert c["name"] == "Ship"
    assert g["group_id"] in c["groups"]
    prices = {p["type_id"]: p for p in client.get("/latest/markets/prices/").json()}
    assert prices[24698]["average_price"] > 1_000_000


def test_items_page_when_a_contract_has_more_than_1000_lines(client: httpx.Client) -> None:
    rows = truth(client)
    big = next(r for r in rows if len(r["items"]) > 1000)
    first = client.get(f"/latest/contracts/public/items/{big['contract_id']}/")
    assert first.headers["x-pages"] == "2"
    second = client.get(f"/latest/contracts/public/items/{big['contract_id']}/?page=2")
    assert first.json() + second.json() == big["items"]
    assert len(first.json()) == 1000
    assert (
        client.get(f"/latest/contracts/public/items/{big['contract_id']}/?page=3").status_code
        == 404
    )


def test_listing_changes_at_most_once_per_window(fresh: RunningSimulator) -> None:
    sim = fresh.sim
    with httpx.Client(base_url=fresh.base_url) as http:
        first = http.get(f"/latest/contracts/public/{FORGE}/")
        expires = parsedate_to_datetime(first.headers["expires"]).timestamp()
        # Just before the window ends: same listing, 304 on revalidation.
        sim.clock.advance(expires - sim.now() - 1)
        same = http.get(
            f"/latest/contracts/public/{FORGE}/", headers={"If-None-Match": first.headers["etag"]}
        )
        assert same.status_code == 304
        sim.clock.advance(2)
        nxt = http.get(f"/latest/contracts/public/{FORGE}/")
        assert nxt.status_code == 200
        assert parsedate_to_datetime(nxt.headers["last-modified"]).timestamp() == expires
        # One simulated day later the listing has churned: some gone, some new.
        before = {r["contract_id"] for r in first.json()}
        sim.clock.advance(86_400)
        later = {r["contract_id"] for r in http.get(f"/latest/contracts/public/{FORGE}/").json()}
        gone, new = before - later, later - before
        assert gone
        assert new
        assert min(new) > max(before), "new contracts get newer ids"
        assert 0.5 < len(later) / len(before) < 1.5, "churn keeps the market roughly stable"
        # Gone contracts answer 204 on their items route.
        cid = sorted(gone)[0]
        assert http.get(f"/latest/contracts/public/items/{cid}/").status_code == 204
        # Clock admin shows the moved time.
        clock = http.get("/_sim/clock").json()
        assert clock["mode"] == "manual"
        moved = http.post("/_sim/clock/advance", json={"seconds": 60}).json()
        assert moved["epoch"] == pytest.approx(clock["epoch"] + 60)


def test_ground_truth_matches_listing(client: httpx.Client) -> None:
    listing = client.get(f"/latest/contracts/public/{FORGE}/").json()
    rows = truth(client, region_id=FORGE)
    assert [r["contract_id"] for r in rows] == [r["contract_id"] for r in listing]
    keys = set(listing[0])
    for esi_row, gt in zip(listing, rows, strict=True):
        assert {k: gt[k] for k in keys} == esi_row
        assert gt["region_id"] == FORGE
        if gt["type"] in ("item_exchange", "auction"):
            items = client.get(f"/latest/contracts/public/items/{gt['contract_id']}/").json()
            if len(gt["items"]) <= 1000:
                assert items == gt["items"]


def test_cache_times_follow_the_spec(client: httpx.Client) -> None:
    def lifetime(url: str) -> float:
        resp = client.get(url)
        assert resp.status_code == 200, url
        date = parsedate_to_datetime(resp.headers["date"])
        return (parsedate_to_datetime(resp.headers["expires"]) - date).total_seconds()

    rows = truth(client, region_id=FORGE)
    auction = next(r for r in rows if r["type"] == "auction")
    assert lifetime(f"/latest/contracts/public/items/{auction['contract_id']}/") == 3600
    assert 0 < lifetime(f"/latest/contracts/public/bids/{auction['contract_id']}/") <= 300
    assert 0 < lifetime("/latest/markets/prices/") <= 3600
    assert 0 < lifetime("/latest/status/") <= 30
    assert 0 < lifetime(f"/latest/contracts/public/{FORGE}/") <= 1800
    # Universe data expires daily at 11:05 UTC.
    expires = parsedate_to_datetime(client.get("/latest/universe/types/587/").headers["expires"])
    assert (expires.hour, expires.minute) == (11, 5)
