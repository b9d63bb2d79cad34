"""Every route the app uses, checked against ESI's own Swagger spec.

The spec's response schemas are converted to JSON Schema at test time (refs resolved,
int32/int64 formats turned into bounds) and each simulator answer is validated: body
against the schema of its status code, and the presence of every header the spec declares
for that status.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from esi_sim.config import SimConfig
from esi_sim.market import T_AUCTION, T_COURIER
from esi_sim.testing import RunningSimulator, running_simulator

_BOUNDS = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}


def to_json_schema(node: Any, spec: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/definitions/"), ref
            return to_json_schema(spec["definitions"][ref.split("/")[-1]], spec)
        out = {
            k: to_json_schema(v, spec)
            for k, v in node.items()
            if not k.startswith("x-") and k not in ("example", "examples")
        }
        if node.get("type") == "integer" and node.get("format") in _BOUNDS:
            lo, hi = _BOUNDS[node["format"]]
            out.setdefault("minimum", lo)
            out.setdefault("maximum", hi)
        return out
    if isinstance(node, list):
        return [to_json_schema(v, spec) for v in node]
    return node


def spec_op(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    op: dict[str, Any] = spec["paths"][path][method]
    return op


def check(spec: dict[str, Any], path: str, method: str, resp: httpx.Response, expect: int) -> Any:
    assert resp.status_code == expect, (path, resp.status_code, resp.text[:300])
    declared = spec_op(spec, path, method)["responses"]
    assert str(expect) in declared, f"{expect} is not a documented answer of {method} {path}"
    answer = declared[str(expect)]
    for header, meta in answer.get("headers", {}).items():
        assert header.lower() in resp.headers, f"{path} {expect}: header {header} missing"
        if meta.get("type") == "integer":
            int(resp.headers[header])
    # ESI sends the error-limit pair on every answer.
    assert "x-esi-error-limit-remain" in resp.headers
    assert "x-esi-error-limit-reset" in resp.headers
    if "schema" in answer:
        body = resp.json()
        schema = to_json_schema(copy.deepcopy(answer["schema"]), spec)
        jsonschema.Draft4Validator(schema).validate(body)
        return body
    assert resp.content == b"", f"{path} {expect} must have no body"
    return None


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSimulator]:
    with running_simulator(SimConfig(clock="manual")) as running:
        yield running


@pytest.fixture
def http(server: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url + "/latest", timeout=10) as c:
        yield c


REGION = "/contracts/public/{region_id}/"
ITEMS = "/contracts/public/items/{contract_id}/"
BIDS = "/contracts/public/bids/{contract_id}/"


def test_every_region_listing_matches_the_spec(swagger: dict[str, Any], http: httpx.Client) -> None:
    regions = check(swagger, "/universe/regions/", "get", http.get("/universe/regions/"), 200)
    total = 0
    for region_id in regions:
        first = http.get(f"/contracts/public/{region_id}/")
        rows = check(swagger, REGION, "get", first, 200)
        for page in range(2, int(first.headers["x-pages"]) + 1):
            rows += check(
                swagger, REGION, "get", http.get(f"/contracts/public/{region_id}/?page={page}"), 200
            )
        total += len(rows)
    assert total > 200


def test_region_listing_errors_and_304(swagger: dict[str, Any], http: httpx.Client) -> None:
    check(swagger, REGION, "get", http.get("/contracts/public/10000999/"), 404)
    check(swagger, REGION, "get", http.get("/contracts/public/abc/"), 400)
    check(swagger, REGION, "get", http.get("/contracts/public/10000002/?page=0"), 400)
    check(swagger, REGION, "get", http.get("/contracts/public/10000002/?page=50"), 404)
    ok = http.get("/contracts/public/10000002/")
    again = http.get("/contracts/public/10000002/", headers={"If-None-Match": ok.headers["etag"]})
    check(swagger, REGION, "get", again, 304)


def test_items_and_bids_of_every_forge_contract(
    swagger: dict[str, Any], server: RunningSimulator, http: httpx.Client
) -> None:
    rows = http.get("/contracts/public/10000002/").json()
    seen_pages = 0
    for row in rows:
        cid = row["contract_id"]
        resp = http.get(f"/contracts/public/items/{cid}/")
        check(swagger, ITEMS, "get", resp, 200)
        pages = int(resp.headers["x-pages"])
        for page in range(2, pages + 1):
            check(
                swagger, ITEMS, "get", http.get(f"/contracts/public/items/{cid}/?page={page}"), 200
            )
            seen_pages += 1
        if row["type"] == T_AUCTION:
            check(swagger, BIDS, "get", http.get(f"/contracts/public/bids/{cid}/"), 200)
        etag = resp.headers["etag"]
        if row["type"] == T_COURIER:
            continue
        check(
            swagger,
            ITEMS,
            "get",
            http.get(f"/contracts/public/items/{cid}/", headers={"If-None-Match": etag}),
            304,
        )
    assert seen_pages >= 1, "tiny scale holds one contract with more than 1,000 item lines"
    check(swagger, ITEMS, "get", http.get("/contracts/public/items/12345/"), 404)
    check(swagger, BIDS, "get", http.get("/contracts/public/bids/12345/"), 404)
    check(swagger, ITEMS, "get", http.get("/contracts/public/items/x/"), 400)


def test_items_and_bids_of_ended_contracts_are_204(swagger: dict[str, Any]) -> None:
    with running_simulator(SimConfig(clock="manual")) as running:
        sim = running.sim
        now = sim.now()
        live = sim.market.regions[10000002].live
        ending = min(live, key=lambda c: c.ends)
        sim.clock.advance(ending.ends - now + 1)
        with httpx.Client(base_url=running.base_url + "/latest") as http:
            check(
                swagger,
                ITEMS,
                "get",
                http.get(f"/contracts/public/items/{ending.contract_id}/"),
                204,
            )
            check(
                swagger, BIDS, "get", http.get(f"/contracts/public/bids/{ending.contract_id}/"), 204
            )


@pytest.mark.parametrize(
    ("spec_path", "good", "missing"),
    [
        ("/universe/regions/{region_id}/", ["10000002", "10000070", "11000001"], "10000024"),
        ("/universe/constellations/{constellation_id}/", ["20000020"], "29999999"),
        ("/universe/systems/{system_id}/", ["30000142", "31000001", "30002053"], "39999999"),
        ("/universe/stations/{station_id}/", ["60003760", "60008494", "60011866"], "69999999"),
        ("/universe/types/{type_id}/", ["587", "24699", "2048", "34", "77000", "1529"], "999999"),
        ("/universe/groups/{group_id}/", ["25", "1950", "105"], "999999"),
        ("/universe/categories/{category_id}/", ["6", "7", "9", "91"], "999"),
    ],
)
def test_universe_routes(
    swagger: dict[str, Any], http: httpx.Client, spec_path: str, good: list[str], missing: str
) -> None:
    prefix = spec_path.split("{")[0]
    for ident in good:
        ok = http.get(f"{prefix}{ident}/")
        check(swagger, spec_path, "get", ok, 200)
        check(
            swagger,
            spec_path,
            "get",
            http.get(f"{prefix}{ident}/", headers={"If-None-Match": ok.headers["etag"]}),
            304,
        )
    check(swagger, spec_path, "get", http.get(f"{prefix}{missing}/"), 404)
    check(swagger, spec_path, "get", http.get(f"{prefix}nope/"), 400)


def test_names_and_ids(swagger: dict[str, Any], http: httpx.Client) -> None:
    body = check(
        swagger,
        "/universe/names/",
        "post",
        http.post("/universe/names/", json=[10000002, 30000142, 60003760, 587, 20000020]),
        200,
    )
    assert {r["category"] for r in body} == {
        "region",
        "solar_system",
        "station",
        "inventory_type",
        "constellation",
    }
    check(
        swagger,
        "/universe/names/",
        "post",
        http.post("/universe/names/", json=[30000142, 1022734985679]),
        404,
    )
    check(swagger, "/universe/names/", "post", http.post("/universe/names/", json=[]), 400)
    check(swagger, "/universe/names/", "post", http.post("/universe/names/", content=b"{"), 400)
    ids = check(
        swagger,
        "/universe/ids/",
        "post",
        http.post("/universe/ids/", json=["Jita", "Rifter", "The Forge"]),
        200,
    )
    assert ids["systems"] == [{"id": 30000142, "name": "Jita"}]
    check(swagger, "/universe/ids/", "post", http.post("/universe/ids/", json=[]), 400)


def test_prices_status_and_regions(swagger: dict[str, Any], http: httpx.Client) -> None:
    for path in ("/markets/prices/", "/status/", "/universe/regions/"):
        ok = http.get(path)
        check(swagger, path, "get", ok, 200)
        check(
            swagger, path, "get", http.get(path, headers={"If-None-Match": ok.headers["etag"]}), 304
        )


def test_error_answers_match_the_spec(swagger: dict[str, Any]) -> None:
    cfg = SimConfig(
        clock="manual",
        error_limit=5,
        faults={"error_rate": {"*": 1.0}, "error_statuses": [500, 503, 504]},
    )
    with running_simulator(cfg) as running, httpx.Client(base_url=running.base_url) as http:
        seen = set()
        for _ in range(5):
            resp = http.get("/latest/contracts/public/10000002/")
            seen.add(resp.status_code)
            check(swagger, REGION, "get", resp, resp.status_code)
        assert seen <= {500, 503, 504}
        running.sim.clear_faults()
        for spec_path, method, url in [
            (REGION, "get", "/latest/contracts/public/10000002/"),
            (ITEMS, "get", "/latest/contracts/public/items/1/"),
            ("/universe/names/", "post", "/latest/universe/names/"),
            ("/universe/types/{type_id}/", "get", "/latest/universe/types/587/"),
            ("/markets/prices/", "get", "/latest/markets/prices/"),
            ("/status/", "get", "/latest/status/"),
        ]:
            resp = http.request(method.upper(), url, json=[587] if method == "post" else None)
            check(swagger, spec_path, method, resp, 420)


ROUTE = "/route/{origin}/{destination}/"


def test_route(swagger: dict[str, Any], http: httpx.Client) -> None:
    jita, amarr = 30000142, 30002187
    there = check(swagger, ROUTE, "get", http.get(f"/route/{jita}/{amarr}/"), 200)
    back = check(swagger, ROUTE, "get", http.get(f"/route/{amarr}/{jita}/"), 200)
    assert (there[0], there[-1]) == (jita, amarr)
    assert back == there[::-1]
    assert check(swagger, ROUTE, "get", http.get(f"/route/{jita}/{jita}/"), 200) == [jita]
    ok = http.get(f"/route/{jita}/{amarr}/")
    etag = ok.headers["etag"]
    check(
        swagger,
        ROUTE,
        "get",
        http.get(f"/route/{jita}/{amarr}/", headers={"If-None-Match": etag}),
        304,
    )
    # J-space has no route; an unknown system neither.
    check(swagger, ROUTE, "get", http.get(f"/route/{jita}/31000001/"), 404)
    check(swagger, ROUTE, "get", http.get(f"/route/{jita}/39999999/"), 404)
    check(swagger, ROUTE, "get", http.get(f"/route/{jita}/nope/"), 400)
