"""``/api/v1/me/*``: saved searches and the watchlist, CSRF on every unsafe route, rows
visible to their owner only, limits and bad bodies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from hangar_bay.accounts.schemas import MAX_SEARCHES, MAX_WATCH_ENTRIES
from hangar_bay.accounts.sessions import SESSION_COOKIE
from hangar_bay.accounts.testing import LoggedIn, log_in
from hangar_bay.core.database import Database
from hangar_bay.models import SavedSearch, WatchEntry
from tests.contracts.factories import AUTOCANNON, DRAKE, FORGE, RIFTER


@pytest.fixture
async def pilot(client: httpx.AsyncClient, database: Database) -> LoggedIn:
    login = await log_in(database, character_id=91000001, character_name="Pilot One")
    client.cookies.set(SESSION_COOKIE, login.cookie)
    return login


async def _browse_total(client: httpx.AsyncClient, query: str) -> int:
    response = await client.get("/api/v1/contracts?" + query)
    assert response.status_code == 200
    return int(response.json()["total"])


async def _rows(database: Database, model: type[Any]) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_saved_search_lifecycle(
    client: httpx.AsyncClient, pilot: LoggedIn, market: dict[str, int]
) -> None:
    created = await client.post(
        "/api/v1/me/searches",
        json={"name": "  Cheap drakes ", "query": "?type_id=24698&max_price=65000000&page=3"},
        headers=pilot.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "Cheap drakes"
    assert body["query"] == f"type_id={DRAKE}&max_price=65000000"
    assert body["url"] == f"/?type_id={DRAKE}&max_price=65000000"
    assert body["alerts"] is False
    assert body["total"] == await _browse_total(client, body["query"]) == 2
    listed = (await client.get("/api/v1/me/searches")).json()["items"]
    assert [item["id"] for item in listed] == [body["id"]]

    patched = await client.patch(
        f"/api/v1/me/searches/{body['id']}",
        json={"name": "Drakes", "alerts": True, "query": "/?type_id=24698"},
        headers=pilot.headers,
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Drakes"
    assert patched.json()["alerts"] is True
    assert patched.json()["total"] == 3

    deleted = await client.delete(f"/api/v1/me/searches/{body['id']}", headers=pilot.headers)
    assert deleted.status_code == 204
    assert (await client.get("/api/v1/me/searches")).json()["items"] == []


async def test_watchlist_lifecycle(
    client: httpx.AsyncClient, pilot: LoggedIn, market: dict[str, int]
) -> None:
    created = await client.post(
        "/api/v1/me/watchlist",
        json={"type_id": DRAKE, "max_price": 58e6, "note": "for <b>PvP</b>"},
        headers=pilot.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["type_name"] == "Drake"
    assert body["note"] == "for <b>PvP</b>"
    assert body["url"] == f"/?type_id={DRAKE}&max_price=58000000&sort=price"
    assert body["matches"] == await _browse_total(client, body["url"][2:]) == 1

    patched = await client.patch(
        f"/api/v1/me/watchlist/{body['id']}",
        json={"max_price": None, "region_id": FORGE},
        headers=pilot.headers,
    )
    assert patched.status_code == 200, patched.text
    out = patched.json()
    assert out["max_price"] is None
    assert out["region_name"] == "The Forge"
    assert out["note"] == "for <b>PvP</b>"
    assert out["matches"] == await _browse_total(client, f"type_id={DRAKE}&region_id={FORGE}")

    listed = (await client.get("/api/v1/me/watchlist")).json()["items"]
    assert [item["id"] for item in listed] == [body["id"]]
    deleted = await client.delete(f"/api/v1/me/watchlist/{body['id']}", headers=pilot.headers)
    assert deleted.status_code == 204
    assert (await client.get("/api/v1/me/watchlist")).json()["items"] == []


UNSAFE = [
    ("POST", "/api/v1/me/searches", {"name": "x", "query": ""}),
    ("PATCH", "/api/v1/me/searches/{search}", {"name": "y"}),
    ("DELETE", "/api/v1/me/searches/{search}", None),
    ("POST", "/api/v1/me/watchlist", {"type_id": RIFTER}),
    ("PATCH", "/api/v1/me/watchlist/{entry}", {"note": "y"}),
    ("DELETE", "/api/v1/me/watchlist/{entry}", None),
]


async def _seed_rows(client: httpx.AsyncClient, login: LoggedIn) -> dict[str, int]:
    search = await client.post(
        "/api/v1/me/searches", json={"name": "s", "query": "q=rifter"}, headers=login.headers
    )
    entry = await client.post(
        "/api/v1/me/watchlist", json={"type_id": RIFTER}, headers=login.headers
    )
    assert search.status_code == entry.status_code == 201
    return {"search": search.json()["id"], "entry": entry.json()["id"]}


@pytest.mark.parametrize(("method", "path", "body"), UNSAFE)
async def test_csrf_on_every_unsafe_route(
    client: httpx.AsyncClient,
    database: Database,
    pilot: LoggedIn,
    universe: Database,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    ids = await _seed_rows(client, pilot)
    before = (await _rows(database, SavedSearch), await _rows(database, WatchEntry))
    for token in (None, "", "wrong", pilot.csrf_token[:-1]):
        headers = {} if token is None else {"X-CSRF-Token": token}
        response = await client.request(method, path.format(**ids), json=body, headers=headers)
        assert response.status_code == 403, token
        assert response.json()["error"] == "csrf"
    after = (await _rows(database, SavedSearch), await _rows(database, WatchEntry))
    assert after == before
    listed = (await client.get("/api/v1/me/searches")).json()["items"]
    assert listed[0]["name"] == "s"
    entries = (await client.get("/api/v1/me/watchlist")).json()["items"]
    assert entries[0]["note"] is None


async def test_a_csrf_header_sent_twice_is_no_token(
    client: httpx.AsyncClient, database: Database, pilot: LoggedIn, universe: Database
) -> None:
    """Whichever of two tokens a check read, the other went unchecked: a forged one
    beside the right one must not pass, in either order."""
    for pair in ((pilot.csrf_token, "forged"), ("forged", pilot.csrf_token)):
        headers = [("X-CSRF-Token", token) for token in pair]
        body = {"name": "twice", "query": f"type_id={DRAKE}"}
        response = await client.post("/api/v1/me/searches", json=body, headers=headers)
        assert response.status_code == 403, pair
        assert response.json()["error"] == "csrf"
    assert await _rows(database, SavedSearch) == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        *UNSAFE,
        ("GET", "/api/v1/me/searches", None),
        ("GET", "/api/v1/me/watchlist", None),
        ("GET", "/api/v1/me", None),
    ],
)
async def test_every_route_needs_a_session(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = await client.request(
        method, path.format(search=1, entry=1), json=body, headers={"X-CSRF-Token": "x"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


async def test_other_users_rows_are_404(
    client: httpx.AsyncClient, database: Database, universe: Database
) -> None:
    owner = await log_in(database, character_id=91000001, character_name="Owner")
    client.cookies.set(SESSION_COOKIE, owner.cookie)
    ids = await _seed_rows(client, owner)
    intruder = await log_in(database, character_id=91000002, character_name="Intruder")
    client.cookies.set(SESSION_COOKIE, intruder.cookie)
    assert (await client.get("/api/v1/me/searches")).json()["items"] == []
    assert (await client.get("/api/v1/me/watchlist")).json()["items"] == []
    for method, path, body in UNSAFE:
        if "{" not in path:
            continue
        response = await client.request(
            method, path.format(**ids), json=body, headers=intruder.headers
        )
        assert response.status_code == 404, (method, path)
        assert response.json()["error"] == "not_found"
    # The owner's rows are untouched.
    client.cookies.set(SESSION_COOKIE, owner.cookie)
    assert (await client.get("/api/v1/me/searches")).json()["items"][0]["name"] == "s"
    assert (await client.get("/api/v1/me/watchlist")).json()["items"][0]["note"] is None


BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("/api/v1/me/searches", {"name": "", "query": ""}, "name"),
    ("/api/v1/me/searches", {"name": "   ", "query": ""}, "name"),
    ("/api/v1/me/searches", {"name": "x" * 81, "query": ""}, "name"),
    ("/api/v1/me/searches", {"query": "q=x"}, "name"),
    ("/api/v1/me/searches", {"name": "n", "query": "min_price=abc"}, "min_price"),
    ("/api/v1/me/searches", {"name": "n", "query": "security=space"}, "security"),
    ("/api/v1/me/searches", {"name": "n", "query": "x" * 2001}, "query"),
    ("/api/v1/me/searches", {"name": "n", "alerts": "maybe"}, "alerts"),
    ("/api/v1/me/searches", {"name": "n", "owner": 3}, "owner"),
    ("/api/v1/me/watchlist", {"type_id": AUTOCANNON}, "type_id"),
    ("/api/v1/me/watchlist", {"type_id": 999999}, "type_id"),
    ("/api/v1/me/watchlist", {"type_id": 0}, "type_id"),
    ("/api/v1/me/watchlist", {"type_id": 2**70}, "type_id"),
    ("/api/v1/me/watchlist", {"type_id": RIFTER, "max_price": -1}, "max_price"),
    ("/api/v1/me/watchlist", {"type_id": RIFTER, "note": "n" * 501}, "note"),
    ("/api/v1/me/watchlist", {"type_id": RIFTER, "region_id": 12345}, "region_id"),
    ("/api/v1/me/watchlist", {"max_price": 5}, "type_id"),
    # Control characters (a NUL used to be a 500 on PostgreSQL).
    ("/api/v1/me/searches", {"name": "a\u0000b", "query": ""}, "name"),
    ("/api/v1/me/searches", {"name": "bell\u0007", "query": ""}, "name"),
    ("/api/v1/me/searches", {"name": "del\u007f", "query": ""}, "name"),
    ("/api/v1/me/searches", {"name": "n", "query": "q=a\u0000b"}, "query"),
    ("/api/v1/me/watchlist", {"type_id": RIFTER, "note": "a\u0000b"}, "note"),
    ("/api/v1/me/watchlist", {"type_id": RIFTER, "note": "line\nbreak"}, "note"),
    # A query the browse page would half-ignore is refused, not stored as "everything".
    ("/api/v1/me/searches", {"name": "n", "query": "ship_type_id=22544"}, "ship_type_id"),
    ("/api/v1/me/searches", {"name": "n", "query": "a=%00"}, "a"),
    ("/api/v1/me/searches", {"name": "n", "query": "q=%00"}, "q"),
    ("/api/v1/me/searches", {"name": "n", "query": "%zz"}, "query"),
    ("/api/v1/me/searches", {"name": "n", "query": "&&&=="}, "query"),
    ("/api/v1/me/searches", {"name": "n", "query": "x"}, "x"),
    ("/api/v1/me/searches", {"name": "n", "query": "type_id"}, "type_id"),
    ("/api/v1/me/searches", {"name": "n", "query": "q=%FF"}, "query"),
    ("/api/v1/me/searches", {"name": "n", "alerts": True}, "query"),
    # JSON true is not the id 1.
    ("/api/v1/me/watchlist", {"type_id": True}, "type_id"),
    ("/api/v1/me/watchlist", {"type_id": RIFTER, "region_id": True}, "region_id"),
    ("/api/v1/me/watchlist", {"type_id": RIFTER, "max_price": True}, "max_price"),
]


async def test_bad_bodies_are_422_naming_the_field(
    client: httpx.AsyncClient, database: Database, pilot: LoggedIn, universe: Database
) -> None:
    for path, body, field in BAD_BODIES:
        response = await client.post(path, json=body, headers=pilot.headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"] == "validation_error"
        named = {str(part) for err in response.json()["detail"] for part in err["loc"]}
        assert field in named, (body, named)
    assert await _rows(database, SavedSearch) == 0
    assert await _rows(database, WatchEntry) == 0


async def test_an_unknown_ship_type_says_what_known_means(
    client: httpx.AsyncClient, pilot: LoggedIn, universe: Database
) -> None:
    # A real hull (the Rifter is one) that no ingested contract offers is not known yet.
    response = await client.post(
        "/api/v1/me/watchlist", json={"type_id": 999999}, headers=pilot.headers
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "type_id"]
    assert error["msg"].startswith("999999 is not a known ship type")
    assert "once a contract offering it has been ingested" in error["msg"]


async def test_an_empty_query_is_every_contract(
    client: httpx.AsyncClient, pilot: LoggedIn, market: dict[str, int]
) -> None:
    created = await client.post(
        "/api/v1/me/searches", json={"name": "all", "query": ""}, headers=pilot.headers
    )
    assert created.status_code == 201
    assert created.json()["query"] == ""
    assert created.json()["total"] == await _browse_total(client, "")


async def test_bad_patches_are_422_and_change_nothing(
    client: httpx.AsyncClient, pilot: LoggedIn, universe: Database
) -> None:
    created = await client.post(
        "/api/v1/me/searches",
        json={"name": "Drakes", "query": f"type_id={DRAKE}", "alerts": True},
        headers=pilot.headers,
    )
    search = created.json()["id"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": None}, "name"),
        ({"alerts": None}, "alerts"),
        ({"query": None}, "query"),
        ({"name": "a\u0000b"}, "name"),
        ({"query": "ship_type_id=22544"}, "ship_type_id"),
        ({"query": "%zz"}, "query"),
    ]
    for body, field in cases:
        response = await client.patch(
            f"/api/v1/me/searches/{search}", json=body, headers=pilot.headers
        )
        assert response.status_code == 422, (body, response.text)
        named = {str(part) for err in response.json()["detail"] for part in err["loc"]}
        assert field in named, (body, named)
    kept = (await client.get("/api/v1/me/searches")).json()["items"][0]
    assert (kept["name"], kept["query"], kept["alerts"]) == ("Drakes", f"type_id={DRAKE}", True)

    entry = await client.post(
        "/api/v1/me/watchlist", json={"type_id": RIFTER}, headers=pilot.headers
    )
    for body in ({"note": "a\u0000b"}, {"type_id": True}, {"region_id": True}):
        response = await client.patch(
            f"/api/v1/me/watchlist/{entry.json()['id']}", json=body, headers=pilot.headers
        )
        assert response.status_code == 422, body
        assert next(iter(body)) in response.text


async def test_not_json_and_bad_ids(
    client: httpx.AsyncClient, pilot: LoggedIn, universe: Database
) -> None:
    headers = {**pilot.headers, "Content-Type": "application/json"}
    response = await client.post("/api/v1/me/searches", content=b"{nope", headers=headers)
    assert response.status_code == 422
    for bad in ("abc", "0", "1.5", str(2**64), "%C2%B2", "%D9%A1%D9%A2"):
        for kind in ("searches", "watchlist"):
            response = await client.delete(f"/api/v1/me/{kind}/{bad}", headers=pilot.headers)
            assert response.status_code == 422, (kind, bad)
    response = await client.patch(
        "/api/v1/me/watchlist/5", json={"type_id": None}, headers=pilot.headers
    )
    assert response.status_code == 404  # no such entry: existence is checked first


async def test_limits(
    client: httpx.AsyncClient, database: Database, pilot: LoggedIn, universe: Database
) -> None:
    async with database.session() as session:
        session.add_all(
            SavedSearch(user_id=pilot.user_id, name=f"s{n}", query="") for n in range(MAX_SEARCHES)
        )
        session.add_all(
            WatchEntry(user_id=pilot.user_id, type_id=RIFTER) for _ in range(MAX_WATCH_ENTRIES)
        )
    response = await client.post(
        "/api/v1/me/searches", json={"name": "one more", "query": ""}, headers=pilot.headers
    )
    assert response.status_code == 422
    assert "at most 100" in response.json()["detail"][0]["msg"]
    response = await client.post(
        "/api/v1/me/watchlist", json={"type_id": RIFTER}, headers=pilot.headers
    )
    assert response.status_code == 422
    assert "at most 500" in response.json()["detail"][0]["msg"]
    # Another pilot is not limited by this one's rows.
    other = await log_in(database, character_id=91000002, character_name="Other")
    client.cookies.set(SESSION_COOKIE, other.cookie)
    response = await client.post(
        "/api/v1/me/searches", json={"name": "mine", "query": ""}, headers=other.headers
    )
    assert response.status_code == 201


async def test_alerts_must_be_a_boolean_and_notification_ids_fit_64_bits(
    client: httpx.AsyncClient, database: Database
) -> None:
    login = await log_in(database)
    client.cookies.set(SESSION_COOKIE, login.cookie)
    for alerts in (0, 1, "true"):
        body = {"name": "n", "query": "", "alerts": alerts}
        response = await client.post("/api/v1/me/searches", json=body, headers=login.headers)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "alerts"]
    too_big = {"ids": [2**64]}
    read = await client.post("/api/v1/me/notifications/read", json=too_big, headers=login.headers)
    assert read.status_code == 422


# Each body field that holds a number or a switch, with values a lax parser would coerce.
NOT_STRICT: list[tuple[str, dict[str, Any], str]] = [
    ("/api/v1/me/watchlist", {"type_id": str(RIFTER)}, "type_id"),
    ("/api/v1/me/watchlist", {"type_id": float(RIFTER)}, "type_id"),
    ("/api/v1/me/watchlist", {"type_id": RIFTER + 0.5}, "type_id"),
    ("/api/v1/me/watchlist", {"type_id": False}, "type_id"),
    ("/api/v1/me/watchlist", {"type_id": RIFTER, "region_id": str(FORGE)}, "region_id"),
    ("/api/v1/me/watchlist", {"type_id": RIFTER, "region_id": float(FORGE)}, "region_id"),
    ("/api/v1/me/watchlist", {"type_id": RIFTER, "max_price": "60000000"}, "max_price"),
    ("/api/v1/me/watchlist", {"type_id": RIFTER, "max_price": False}, "max_price"),
    ("/api/v1/me/searches", {"name": "n", "query": "", "alerts": "false"}, "alerts"),
    ("/api/v1/me/notifications/read", {"ids": ["1"]}, "ids"),
    ("/api/v1/me/notifications/read", {"ids": [1.0]}, "ids"),
    ("/api/v1/me/notifications/read", {"all": "true"}, "all"),
    ("/api/v1/me/notifications/read", {"all": 1}, "all"),
]


async def test_bodies_are_strict_about_numbers_and_switches(
    client: httpx.AsyncClient, database: Database, pilot: LoggedIn, universe: Database
) -> None:
    for path, body, field in NOT_STRICT:
        response = await client.post(path, json=body, headers=pilot.headers)
        assert response.status_code == 422, (body, response.text)
        named = {str(part) for err in response.json()["detail"] for part in err["loc"]}
        assert field in named, (body, named)
    assert await _rows(database, WatchEntry) == 0
    assert await _rows(database, SavedSearch) == 0
    settings = await client.put(
        "/api/v1/me/settings", json={"discord_webhook_url": 5}, headers=pilot.headers
    )
    assert settings.status_code == 422
    # A whole ISK amount may be a JSON integer: a number, as the schema says.
    created = await client.post(
        "/api/v1/me/watchlist",
        json={"type_id": RIFTER, "max_price": 60000000, "region_id": FORGE},
        headers=pilot.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["max_price"] == 60e6
    entry = created.json()["id"]
    for body in ({"type_id": str(DRAKE)}, {"region_id": "10000002"}, {"max_price": "5"}):
        response = await client.patch(
            f"/api/v1/me/watchlist/{entry}", json=body, headers=pilot.headers
        )
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"] == ["body", next(iter(body))]
    kept = (await client.get("/api/v1/me/watchlist")).json()["items"][0]
    assert (kept["type_id"], kept["max_price"], kept["region_id"]) == (RIFTER, 60e6, FORGE)
    read = await client.post(
        "/api/v1/me/notifications/read", json={"all": True}, headers=pilot.headers
    )
    assert read.status_code == 200


# Queries that filter nothing, however written: only spaces (in any encoding) are no
# text filter at all, and sort, size and the ships-only switch narrow nothing.
FILTER_NOTHING = [
    "",
    "q=%20%20",
    "?q=++",
    "q=%E3%80%80%C2%A0",
    "ships_only=false",
    "sort=price&size=100",
    "/?ships_only=false&q=%20&sort=-price&page=2",
    # Filters that cannot exclude a contract are no filter either: every contract type,
    # every security band (in any order), a minimum price of 0.
    "contract_type=item_exchange&contract_type=auction&contract_type=courier"
    "&contract_type=loan&contract_type=unknown",
    "security=unknown&security=high&security=low&security=null&security=wormhole",
    "min_price=0",
    "ships_only=false&min_price=0&contract_type=item_exchange&contract_type=auction"
    "&contract_type=courier&contract_type=loan&contract_type=unknown&security=high"
    "&security=low&security=null&security=wormhole&security=unknown",
]


async def test_alerts_on_a_search_that_filters_nothing_are_refused(
    client: httpx.AsyncClient, database: Database, pilot: LoggedIn, universe: Database
) -> None:
    for query in FILTER_NOTHING:
        body = {"name": "everything", "query": query, "alerts": True}
        response = await client.post("/api/v1/me/searches", json=body, headers=pilot.headers)
        assert response.status_code == 422, (query, response.text)
        (detail,) = response.json()["detail"]
        assert detail["loc"] == ["body", "alerts"], query
        assert "filters something" in detail["msg"]
    assert await _rows(database, SavedSearch) == 0
    # Saved without alerts it is fine, and stored canonically: no text filter at all.
    quiet = await client.post(
        "/api/v1/me/searches", json={"name": "all", "query": "q=%20%20"}, headers=pilot.headers
    )
    assert quiet.status_code == 201
    assert quiet.json()["query"] == ""
    assert quiet.json()["url"] == "/"
    still_filtering = (
        "q=drake",
        "contract_type=courier",
        "ships_only=false&min_price=1",
        # One type or band short of all of them still excludes some contracts.
        "contract_type=item_exchange&contract_type=auction&contract_type=courier"
        "&contract_type=loan",
        "security=high&security=low&security=null&security=wormhole",
        "min_price=0&region_id=10000002",
        # A ceiling cannot be judged in general (docs/accounts.md): kept as a filter.
        "max_price=1000000000000000",
    )
    for query in still_filtering:
        body = {"name": query[:80], "query": query, "alerts": True}
        response = await client.post("/api/v1/me/searches", json=body, headers=pilot.headers)
        assert response.status_code == 201, (query, response.text)


async def test_patches_cannot_leave_alerts_on_every_contract(
    client: httpx.AsyncClient, database: Database, pilot: LoggedIn, universe: Database
) -> None:
    quiet = await client.post(
        "/api/v1/me/searches", json={"name": "all", "query": ""}, headers=pilot.headers
    )
    loud = await client.post(
        "/api/v1/me/searches",
        json={"name": "Drakes", "query": f"type_id={DRAKE}", "alerts": True},
        headers=pilot.headers,
    )
    cases: list[tuple[int, dict[str, Any], str]] = [
        (quiet.json()["id"], {"alerts": True}, "alerts"),
        (quiet.json()["id"], {"alerts": True, "query": "sort=price"}, "alerts"),
        (loud.json()["id"], {"query": "q=%20%20"}, "query"),
        (loud.json()["id"], {"query": "", "name": "renamed"}, "query"),
        (loud.json()["id"], {"query": "min_price=0"}, "query"),
    ]
    for search_id, body, field in cases:
        response = await client.patch(
            f"/api/v1/me/searches/{search_id}", json=body, headers=pilot.headers
        )
        assert response.status_code == 422, (body, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", field], body
    listed = (await client.get("/api/v1/me/searches")).json()["items"]
    assert [(s["name"], s["query"], s["alerts"]) for s in listed] == [
        ("all", "", False),
        ("Drakes", f"type_id={DRAKE}", True),
    ]
    # Both at once is fine: the search stops alerting as it stops filtering.
    both = await client.patch(
        f"/api/v1/me/searches/{loud.json()['id']}",
        json={"query": "", "alerts": False},
        headers=pilot.headers,
    )
    assert both.status_code == 200
    assert (both.json()["query"], both.json()["alerts"]) == ("", False)
    # A row stored before the rule (alerts on, no filter) can still be renamed or quietened.
    async with database.session() as session:
        session.add(SavedSearch(user_id=pilot.user_id, name="old", query="", alerts=True))
    old = (await client.get("/api/v1/me/searches")).json()["items"][-1]
    renamed = await client.patch(
        f"/api/v1/me/searches/{old['id']}", json={"name": "older"}, headers=pilot.headers
    )
    assert renamed.status_code == 200
    off = await client.patch(
        f"/api/v1/me/searches/{old['id']}", json={"alerts": False}, headers=pilot.headers
    )
    assert off.status_code == 200
    assert off.json()["alerts"] is False


async def test_a_path_id_must_be_written_as_digits(
    client: httpx.AsyncClient, pilot: LoggedIn, market: dict[str, int]
) -> None:
    saved = await client.post(
        "/api/v1/me/searches", json={"name": "n", "query": "q=drake"}, headers=pilot.headers
    )
    search_id = saved.json()["id"]
    # "1.0", "1_0" and "+1" are not another way of writing a row id: 422, nothing changed.
    for written in (f"{search_id}.0", f"+{search_id}", f"0_{search_id}"):
        response = await client.delete(f"/api/v1/me/searches/{written}", headers=pilot.headers)
        assert response.status_code == 422, written
        assert response.json()["detail"][0]["loc"] == ["path", "search_id"]
    assert len((await client.get("/api/v1/me/searches")).json()["items"]) == 1
    contract = await client.get(f"/api/v1/contracts/{market['rifter_jita']}.0")
    assert contract.status_code == 422
    assert contract.json()["detail"][0]["loc"] == ["path", "contract_id"]


async def test_a_key_given_twice_in_a_body_is_a_422_naming_it(
    client: httpx.AsyncClient, database: Database, pilot: LoggedIn, universe: Database
) -> None:
    search = await client.post(
        "/api/v1/me/searches", json={"name": "kept", "query": ""}, headers=pilot.headers
    )
    entry = await client.post(
        "/api/v1/me/watchlist", json={"type_id": RIFTER}, headers=pilot.headers
    )
    search_id, entry_id = search.json()["id"], entry.json()["id"]
    headers = {**pilot.headers, "Content-Type": "application/json"}
    cases = [
        ("POST", "/api/v1/me/searches", b'{"name": "a", "name": "b", "query": ""}', "name"),
        ("PATCH", f"/api/v1/me/searches/{search_id}", b'{"name": "a", "name": "b"}', "name"),
        ("POST", "/api/v1/me/watchlist", b'{"type_id": 587, "type_id": 24698}', "type_id"),
        ("PATCH", f"/api/v1/me/watchlist/{entry_id}", b'{"note": "a", "note": "a"}', "note"),
        (
            "PUT",
            "/api/v1/me/settings",
            b'{"discord_webhook_url": null, "discord_webhook_url": null}',
            "discord_webhook_url",
        ),
        ("POST", "/api/v1/me/notifications/read", b'{"all": false, "all": true}', "all"),
    ]
    for method, path, body, key in cases:
        response = await client.request(method, path, content=body, headers=headers)
        assert response.status_code == 422, (path, response.text)
        assert response.json() == {
            "error": "validation_error",
            "detail": [
                {
                    "loc": ["body", key],
                    "msg": "given more than once; a key may appear once in an object",
                    "type": "repeated",
                }
            ],
        }
    # Nothing changed.
    listed = (await client.get("/api/v1/me/searches")).json()["items"]
    assert [s["name"] for s in listed] == ["kept"]
    watched = (await client.get("/api/v1/me/watchlist")).json()["items"]
    assert [(w["type_id"], w["note"]) for w in watched] == [(RIFTER, None)]
    # A body without a repeat still goes through.
    fine = await client.post(
        "/api/v1/me/searches", content=b'{"name": "b", "query": "type_id=587"}', headers=headers
    )
    assert fine.status_code == 201
