"""The pilot's pages and forms: header, "Save this search", "Watch this ship", ``/me``;
CSRF on every form; nothing personal in shared caches; notes escaped."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select

from hangar_bay.accounts.sessions import SESSION_COOKIE
from hangar_bay.accounts.testing import LoggedIn, log_in
from hangar_bay.contracts.http import etag_for
from hangar_bay.core.database import Database
from hangar_bay.models import SavedSearch, WatchEntry
from tests.contracts.factories import DRAKE, FORGE, RIFTER


@pytest.fixture
async def pilot(client: httpx.AsyncClient, database: Database) -> LoggedIn:
    login = await log_in(database, character_id=91000001, character_name="Pilot <One>")
    client.cookies.set(SESSION_COOKIE, login.cookie)
    return login


async def _rows(database: Database, model: type[Any]) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def _csrf_fields(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]+)"', html))


async def test_visitor_sees_login_links(client: httpx.AsyncClient, market: dict[str, int]) -> None:
    page = await client.get("/?group_id=419")
    assert "Log in with EVE Online" in page.text
    assert 'href="/auth/login?next=/%3Fgroup_id%3D419"' in page.text
    assert "Log in to save this search" in page.text
    assert "csrf_token" not in page.text
    assert "public" in page.headers["cache-control"]
    # A visitor gets the cached page as it is: the ETag is the page's own.
    assert page.headers["etag"] == etag_for(page.content)
    assert page.headers["vary"] == "Cookie"
    contract = await client.get(f"/contracts/{market['drake_fit']}")
    assert "Log in to watch Drake" in contract.text
    me = await client.get("/me")
    assert me.status_code == 303
    assert me.headers["location"] == "/auth/login?next=/me"


async def test_header_and_forms_for_a_pilot(
    client: httpx.AsyncClient, pilot: LoggedIn, market: dict[str, int]
) -> None:
    # A visitor's copy is cached first: the pilot must not get it, nor the next visitor theirs.
    client.cookies.delete(SESSION_COOKIE)
    visitor = await client.get("/")
    assert "Log in with EVE Online" in visitor.text
    client.cookies.set(SESSION_COOKIE, pilot.cookie)
    page = await client.get("/")
    assert "Pilot &lt;One&gt;" in page.text
    assert "/characters/91000001/portrait" in page.text
    assert "Log out" in page.text
    assert "Save this search" in page.text
    assert "Log in" not in page.text
    assert _csrf_fields(page.text) == {pilot.csrf_token}
    assert page.headers["etag"] == etag_for(page.content)
    assert page.headers["cache-control"] == "private, no-cache"
    assert page.headers["etag"] != visitor.headers["etag"]
    client.cookies.delete(SESSION_COOKIE)
    again = await client.get("/")
    assert "Pilot" not in again.text
    assert "csrf_token" not in again.text


async def test_save_search_and_watch_through_forms(
    client: httpx.AsyncClient, database: Database, pilot: LoggedIn, market: dict[str, int]
) -> None:
    browse = await client.get(f"/?type_id={DRAKE}&sort=price&page=1")
    assert f'name="query" value="type_id={DRAKE}&amp;sort=price"' in browse.text
    assert "Watch this ship type" in browse.text
    saved = await client.post(
        "/me/searches",
        data={"csrf_token": pilot.csrf_token, "name": "Drakes", "query": f"type_id={DRAKE}"},
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/me?done=search-saved#searches"

    contract = await client.get(f"/contracts/{market['drake_fit']}")
    assert "Watch this ship" in contract.text
    assert 'name="max_price" min="0" step="any" inputmode="decimal" value="60000000"' in (
        contract.text
    )
    watched = await client.post(
        "/me/watchlist",
        data={
            "csrf_token": pilot.csrf_token,
            "type_id": str(DRAKE),
            "max_price": "65,000,000",
            "note": "<script>alert(1)</script>",
            "region_id": "",
        },
    )
    assert watched.status_code == 303

    me = await client.get("/me?done=watch-added")
    assert me.status_code == 200
    assert "Ship type added to your watchlist." in me.text
    assert f'<a href="/?type_id={DRAKE}">Drakes</a>' in me.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in me.text
    assert "<script>alert(1)" not in me.text
    assert f'href="/?type_id={DRAKE}&amp;max_price=65000000&amp;sort=price"' in me.text
    assert me.headers["cache-control"] == "private, no-store"
    assert _csrf_fields(me.text) == {pilot.csrf_token}

    async with database.session() as session:
        search = await session.scalar(select(SavedSearch))
        entry = await session.scalar(select(WatchEntry))
        assert search is not None
        assert entry is not None
        search_id, entry_id = search.id, entry.id
    form = {"csrf_token": pilot.csrf_token}
    ok = await client.post(f"/me/searches/{search_id}/rename", data={**form, "name": "Big"})
    assert ok.status_code == 303
    ok = await client.post(f"/me/searches/{search_id}/alerts", data={**form, "alerts": "true"})
    assert ok.status_code == 303
    edit = {**form, "max_price": "", "region_id": str(FORGE), "note": ""}
    ok = await client.post(f"/me/watchlist/{entry_id}/edit", data=edit)
    assert ok.status_code == 303
    listed = (await client.get("/api/v1/me/searches")).json()["items"]
    assert (listed[0]["name"], listed[0]["alerts"]) == ("Big", True)
    entries = (await client.get("/api/v1/me/watchlist")).json()["items"]
    assert entries[0]["max_price"] is None
    assert entries[0]["region_id"] == FORGE
    assert entries[0]["note"] is None
    assert (await client.post(f"/me/searches/{search_id}/delete", data=form)).status_code == 303
    assert (await client.post(f"/me/watchlist/{entry_id}/delete", data=form)).status_code == 303
    assert await _rows(database, SavedSearch) == 0
    assert await _rows(database, WatchEntry) == 0


FORMS = [
    ("/me/searches", {"name": "x", "query": ""}),
    ("/me/searches", {"name": "x", "query": f"type_id={DRAKE}", "alerts": "true"}),
    ("/me/searches/{search}/rename", {"name": "y"}),
    ("/me/searches/{search}/alerts", {"alerts": "true"}),
    ("/me/searches/{search}/delete", {}),
    ("/me/watchlist", {"type_id": str(RIFTER)}),
    ("/me/watchlist/{entry}/edit", {"note": "changed"}),
    ("/me/watchlist/{entry}/delete", {}),
    ("/auth/logout", {}),
]


@pytest.mark.parametrize(("path", "fields"), FORMS)
async def test_csrf_on_every_form(
    client: httpx.AsyncClient,
    database: Database,
    pilot: LoggedIn,
    universe: Database,
    path: str,
    fields: dict[str, str],
) -> None:
    search = await client.post(
        "/api/v1/me/searches", json={"name": "s", "query": ""}, headers=pilot.headers
    )
    entry = await client.post(
        "/api/v1/me/watchlist", json={"type_id": RIFTER}, headers=pilot.headers
    )
    ids = {"search": search.json()["id"], "entry": entry.json()["id"]}
    for token in (None, "", "wrong"):
        data = {**fields, "extra": "1"}  # always a form body, even for a bare button
        if token is not None:
            data["csrf_token"] = token
        response = await client.post(path.format(**ids), data=data)
        assert response.status_code == 403, token
        assert "This form has expired" in response.text
    assert await _rows(database, SavedSearch) == 1
    assert await _rows(database, WatchEntry) == 1
    assert (await client.get("/api/v1/me/searches")).json()["items"][0]["name"] == "s"
    assert (await client.get("/api/v1/me/watchlist")).json()["items"][0]["note"] is None
    assert (await client.get("/api/v1/me")).status_code == 200  # still logged in


async def test_a_bodiless_button_without_a_token_gets_the_page(
    client: httpx.AsyncClient, pilot: LoggedIn, universe: Database
) -> None:
    created = await client.post(
        "/api/v1/me/searches", json={"name": "s", "query": ""}, headers=pilot.headers
    )
    path = f"/me/searches/{created.json()['id']}/delete"
    response = await client.post(path, headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "This form has expired" in response.text
    # An API client (no Accept: text/html) still gets the JSON answer.
    response = await client.post(path)
    assert response.status_code == 403
    assert response.json()["error"] == "csrf"
    assert len((await client.get("/api/v1/me/searches")).json()["items"]) == 1


async def test_forms_need_a_session(client: httpx.AsyncClient, universe: Database) -> None:
    for path, fields in FORMS[:-1]:
        response = await client.post(
            path.format(search=1, entry=1), data={**fields, "csrf_token": "x"}
        )
        assert response.status_code == 401, path


async def test_bad_form_input_is_a_friendly_422(
    client: httpx.AsyncClient, database: Database, pilot: LoggedIn, universe: Database
) -> None:
    form = {"csrf_token": pilot.csrf_token}
    cases = [
        ("/me/searches", {"name": "", "query": ""}, "name"),
        ("/me/searches", {"name": "n", "query": "min_price=lots"}, "min_price"),
        ("/me/watchlist", {"type_id": "abc"}, "type_id"),
        ("/me/watchlist", {"type_id": str(RIFTER), "max_price": "cheap"}, "max_price"),
        # Commas that are not thousands groups are not dropped into another number.
        ("/me/watchlist", {"type_id": str(RIFTER), "max_price": "1,2,3"}, "max_price"),
        ("/me/watchlist", {"type_id": str(RIFTER), "max_price": "1,5"}, "max_price"),
        ("/me/watchlist", {"type_id": "34"}, "type_id"),
        ("/me/watchlist", {}, "type_id"),
        ("/me/searches", {"name": "f\x00orm", "query": ""}, "name"),
        ("/me/searches", {"name": "n", "query": "ship_type_id=22544"}, "ship_type_id"),
        ("/me/searches", {"name": "n", "query": "a=%00"}, "a"),
        ("/me/searches", {"name": "n", "query": "&&&=="}, "query"),
        ("/me/searches", {"name": "n"}, "query"),
        ("/me/watchlist", {"type_id": str(RIFTER), "note": "a\x00b"}, "note"),
    ]
    for path, fields, field in cases:
        response = await client.post(path, data={**form, **fields})
        assert response.status_code == 422, (path, fields)
        assert field in response.text
        assert response.headers["content-type"].startswith("text/html")
    # A form whose bytes are not UTF-8 at all (the browser sent Latin-1).
    raw = f"csrf_token={pilot.csrf_token}&name=n&query=q%3D%FF".encode()
    response = await client.post(
        "/me/searches",
        content=raw,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    assert "UTF-8" in response.text
    created = await client.post(
        "/api/v1/me/searches", json={"name": "s", "query": ""}, headers=pilot.headers
    )
    search = created.json()["id"]
    response = await client.post(
        f"/me/searches/{search}/rename", data={**form, "name": "re\x00name"}
    )
    assert response.status_code == 422
    assert "name" in response.text
    async with database.session() as session:
        await session.execute(delete(SavedSearch))
    for path in ("/me/searches/999/rename", "/me/searches/abc/nope", "/me/watchlist/9/nope"):
        response = await client.post(path, data={**form, "name": "x"})
        assert response.status_code == 404
    assert await _rows(database, SavedSearch) == 0
    assert await _rows(database, WatchEntry) == 0


async def test_another_pilots_rows_through_forms_are_404(
    client: httpx.AsyncClient, database: Database, universe: Database
) -> None:
    owner = await log_in(database, character_id=91000001, character_name="Owner")
    client.cookies.set(SESSION_COOKIE, owner.cookie)
    search = await client.post(
        "/api/v1/me/searches", json={"name": "s", "query": ""}, headers=owner.headers
    )
    entry = await client.post(
        "/api/v1/me/watchlist", json={"type_id": RIFTER}, headers=owner.headers
    )
    intruder = await log_in(database, character_id=91000002, character_name="Intruder")
    client.cookies.set(SESSION_COOKIE, intruder.cookie)
    form = {"csrf_token": intruder.csrf_token, "name": "mine", "note": "mine"}
    for path in (
        f"/me/searches/{search.json()['id']}/rename",
        f"/me/searches/{search.json()['id']}/delete",
        f"/me/watchlist/{entry.json()['id']}/edit",
        f"/me/watchlist/{entry.json()['id']}/delete",
    ):
        assert (await client.post(path, data=form)).status_code == 404, path
    me = await client.get("/me")
    assert "Owner" not in me.text
    assert await _rows(database, SavedSearch) == 1
    assert await _rows(database, WatchEntry) == 1


async def test_a_field_or_token_sent_twice_is_refused(
    client: httpx.AsyncClient, pilot: LoggedIn, universe: Database
) -> None:
    # Whichever copy a check read, the other would go unchecked: neither is taken.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    twice = [("csrf_token", "bad"), ("csrf_token", pilot.csrf_token)]
    body = urlencode([*twice, ("name", "n"), ("query", "")])
    refused = await client.post("/me/searches", content=body, headers=form)
    assert refused.status_code == 403
    token = [("csrf_token", pilot.csrf_token)]
    body = urlencode([*token, ("name", "n"), ("query", "q=a"), ("query", "q=b")])
    response = await client.post("/me/searches", content=body, headers=form)
    assert response.status_code == 422
    assert "query" in response.text
    assert (await client.get("/api/v1/me/searches")).json()["items"] == []


async def _a_search_and_an_entry(client: httpx.AsyncClient, pilot: LoggedIn) -> tuple[int, int]:
    """The ids of a saved search and a watchlist entry of ``pilot``'s, made through the API."""
    search = await client.post(
        "/api/v1/me/searches",
        json={"name": "Drakes", "query": f"type_id={DRAKE}"},
        headers=pilot.headers,
    )
    entry = await client.post(
        "/api/v1/me/watchlist", json={"type_id": RIFTER}, headers=pilot.headers
    )
    return search.json()["id"], entry.json()["id"]


async def test_every_me_form_says_which_field_was_sent_twice(
    client: httpx.AsyncClient, pilot: LoggedIn, universe: Database
) -> None:
    search_id, entry_id = await _a_search_and_an_entry(client, pilot)
    cases: list[tuple[str, list[tuple[str, str]], str]] = [
        (f"/me/searches/{search_id}/rename", [("name", "a"), ("name", "b")], "name"),
        (f"/me/searches/{search_id}/alerts", [("alerts", "true"), ("alerts", "true")], "alerts"),
        ("/me/searches", [("name", "a"), ("name", "b"), ("query", "q=x")], "name"),
        ("/me/searches", [("name", "a"), ("query", "q=x"), ("query", "q=x")], "query"),
        (
            "/me/searches",
            [("name", "a"), ("query", "q=x"), ("alerts", "true"), ("alerts", "false")],
            "alerts",
        ),
        ("/me/watchlist", [("type_id", str(DRAKE)), ("type_id", str(RIFTER))], "type_id"),
        ("/me/watchlist", [("type_id", str(DRAKE)), ("note", "a"), ("note", "a")], "note"),
        (f"/me/watchlist/{entry_id}/edit", [("max_price", "1"), ("max_price", "2")], "max_price"),
        (f"/me/watchlist/{entry_id}/edit", [("region_id", str(FORGE))] * 2, "region_id"),
    ]
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for path, pairs, field in cases:
        body = urlencode([("csrf_token", pilot.csrf_token), *pairs])
        response = await client.post(path, content=body, headers=headers)
        assert response.status_code == 422, (path, pairs)
        assert response.headers["content-type"].startswith("text/html")
        # The browse API's wording, naming the field, not a type error about a list.
        expected = f"{field}: given more than once; this parameter takes one value"
        assert expected in response.text, (path, pairs)
        assert "valid string" not in response.text
    # Nothing changed.
    listed = (await client.get("/api/v1/me/searches")).json()["items"]
    assert [(s["name"], s["alerts"]) for s in listed] == [("Drakes", False)]
    watched = (await client.get("/api/v1/me/watchlist")).json()["items"]
    assert [(w["type_id"], w["max_price"], w["region_id"]) for w in watched] == [
        (RIFTER, None, None)
    ]


async def test_c1_controls_and_line_separators_are_refused_in_names(
    client: httpx.AsyncClient, pilot: LoggedIn, universe: Database
) -> None:
    for name in ("a\x85b", "a\x9b31mb", "a\u2028b", "a\u2029b"):
        response = await client.post(
            "/api/v1/me/searches", json={"name": name, "query": ""}, headers=pilot.headers
        )
        assert response.status_code == 422, repr(name)
        assert response.json()["detail"][0]["loc"] == ["body", "name"]


async def test_save_this_search_can_switch_alerts_on(
    client: httpx.AsyncClient, database: Database, pilot: LoggedIn, market: dict[str, int]
) -> None:
    filtered = await client.get(f"/?type_id={DRAKE}")
    assert '<input type="checkbox" name="alerts" value="true">' in filtered.text
    assert "Alert me to new matches" in filtered.text
    # A view that filters nothing cannot alert: the box is not offered there.
    everything = await client.get("/?sort=price")
    assert "Save this search" in everything.text
    assert 'name="alerts"' not in everything.text
    assert "Alerts need a filter" in everything.text

    form = {"csrf_token": pilot.csrf_token}
    saved = await client.post(
        "/me/searches",
        data={**form, "name": "Drakes", "query": f"type_id={DRAKE}", "alerts": "true"},
    )
    assert saved.status_code == 303, saved.text
    quiet = await client.post(
        "/me/searches", data={**form, "name": "Quiet", "query": f"type_id={RIFTER}"}
    )
    assert quiet.status_code == 303
    listed = (await client.get("/api/v1/me/searches")).json()["items"]
    assert [(s["name"], s["alerts"]) for s in listed] == [("Drakes", True), ("Quiet", False)]

    refused = [
        # Only spaces: canonically no text filter, so alerts on every contract.
        {"name": "n", "query": "q=%20%20", "alerts": "true"},
        {"name": "n", "query": "ships_only=false&sort=price", "alerts": "true"},
        # Not a form's "true": the strict model refuses it rather than guess.
        {"name": "n", "query": f"type_id={DRAKE}", "alerts": "yes"},
    ]
    for fields in refused:
        response = await client.post("/me/searches", data={**form, **fields})
        assert response.status_code == 422, fields
        assert response.headers["content-type"].startswith("text/html")
        assert "alerts:" in response.text, fields
    body = urlencode(
        [
            *form.items(),
            ("name", "n"),
            ("query", f"type_id={DRAKE}"),
            ("alerts", "true"),
            ("alerts", "false"),
        ]
    )
    twice = await client.post(
        "/me/searches",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert twice.status_code == 422
    assert "alerts" in twice.text
    wrong_token = await client.post(
        "/me/searches",
        data={"csrf_token": "wrong", "name": "n", "query": f"type_id={DRAKE}", "alerts": "true"},
    )
    assert wrong_token.status_code == 403
    assert await _rows(database, SavedSearch) == 2


async def test_me_offers_alerts_only_for_searches_that_filter(
    client: httpx.AsyncClient, pilot: LoggedIn, universe: Database
) -> None:
    for name, query in (("All", "q=%20%20"), ("Drakes", f"type_id={DRAKE}")):
        created = await client.post(
            "/api/v1/me/searches", json={"name": name, "query": query}, headers=pilot.headers
        )
        assert created.status_code == 201
    everything, drakes = (await client.get("/api/v1/me/searches")).json()["items"]
    assert everything["query"] == ""
    me = await client.get("/me")
    assert f'action="/me/searches/{drakes["id"]}/alerts"' in me.text
    assert f'action="/me/searches/{everything["id"]}/alerts"' not in me.text
    assert "(needs a filter)" in me.text
    # The form itself refuses too, for a page rendered before or a hand-made post.
    response = await client.post(
        f"/me/searches/{everything['id']}/alerts",
        data={"csrf_token": pilot.csrf_token, "alerts": "true"},
    )
    assert response.status_code == 422
    assert "alerts:" in response.text
    assert (await client.get("/api/v1/me/searches")).json()["items"][0]["alerts"] is False


# Not a row id: what the API answers 422 for (RowId: a whole number from 1 to 2**63 - 1;
# test_api.py checks its answers). The last is "١٢", digits to str.isdigit().
NOT_IDS = ["abc", "0", "1.5", str(2**64), "%C2%B2", "%D9%A1%D9%A2"]


async def test_a_path_id_that_is_not_a_number_is_a_422_page(
    client: httpx.AsyncClient, database: Database, pilot: LoggedIn, universe: Database
) -> None:
    search = await client.post(
        "/api/v1/me/searches", json={"name": "kept", "query": ""}, headers=pilot.headers
    )
    assert search.status_code == 201
    entry = await client.post(
        "/api/v1/me/watchlist", json={"type_id": RIFTER}, headers=pilot.headers
    )
    assert entry.status_code == 201
    form = {"csrf_token": pilot.csrf_token, "name": "changed", "note": "changed"}
    routes = [
        ("/me/searches/{}/rename", "search_id"),
        ("/me/searches/{}/alerts", "search_id"),
        ("/me/searches/{}/delete", "search_id"),
        ("/me/watchlist/{}/edit", "entry_id"),
        ("/me/watchlist/{}/delete", "entry_id"),
    ]
    for route, field in routes:
        for bad in NOT_IDS:
            response = await client.post(route.format(bad), data=form)
            assert response.status_code == 422, (route, bad)
            assert response.headers["content-type"].startswith("text/html")
            assert f"{field}: expected a positive whole number" in response.text
    # Without a session (or a token) it is still the login / expired-form answer first.
    client.cookies.delete(SESSION_COOKIE)
    refused = await client.post("/me/searches/abc/delete", data=form)
    assert refused.status_code == 401
    assert (await client.get("/api/v1/me/searches")).status_code == 401
    client.cookies.set(SESSION_COOKIE, pilot.cookie)
    expired = await client.post("/me/watchlist/abc/delete", data={"csrf_token": "wrong"})
    assert expired.status_code == 403
    assert (await client.get("/api/v1/me/searches")).json()["items"][0]["name"] == "kept"
    assert (await client.get("/api/v1/me/watchlist")).json()["items"][0]["note"] is None


BROWSER = {"Accept": "text/html"}


def _shows_pilot(page: httpx.Response) -> bool:
    return "Pilot &lt;One&gt;" in page.text and "Log out" in page.text


async def test_error_pages_show_the_pilot_as_every_other_page(
    app: FastAPI, client: httpx.AsyncClient, pilot: LoggedIn, universe: Database
) -> None:
    async def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test/boom", boom, include_in_schema=False)
    pages = {
        "/no/such/page": 404,  # the 404 handler's page
        "/contracts/123456789": 404,  # a page route's own error page
        "/?min_price=abc": 422,  # a page's validation error
        "/test/boom": 500,  # the middleware's 500
    }
    for path, status in pages.items():
        page = await client.get(path, headers=BROWSER)
        assert page.status_code == status, path
        assert page.headers["content-type"].startswith("text/html"), path
        assert _shows_pilot(page), path
        assert "Log in" not in page.text, path
        assert _csrf_fields(page.text) == {pilot.csrf_token}, path
        # The pilot's copy is theirs alone.
        assert page.headers["cache-control"] == "private, no-store", path
        assert [v.strip() for v in page.headers["vary"].split(",")].count("Cookie") == 1, path
        assert page.headers["content-length"] == str(len(page.content)), path
    client.cookies.delete(SESSION_COOKIE)
    for path, status in pages.items():
        page = await client.get(path, headers=BROWSER)
        assert page.status_code == status, path
        assert "Log in with EVE Online" in page.text, path
        assert "Pilot" not in page.text, path
        assert "csrf_token" not in page.text, path
        # A visitor's copy is not stored by shared caches either, and is keyed by cookie.
        assert page.headers["cache-control"] == "no-store", path
        assert "Cookie" in page.headers["vary"], path
    # The API's errors stay JSON, whoever asks.
    client.cookies.set(SESSION_COOKIE, pilot.cookie)
    api = await client.get("/api/v1/contracts/123456789")
    assert api.status_code == 404
    assert api.json()["error"] == "not_found"


async def test_an_error_page_whose_session_cannot_be_read_shows_a_visitor(
    monkeypatch: pytest.MonkeyPatch, client: httpx.AsyncClient, pilot: LoggedIn
) -> None:
    from hangar_bay.accounts import fragments

    async def unreadable(*_: object) -> None:
        raise ConnectionError("unexpected connection_lost()")

    monkeypatch.setattr(fragments, "get_auth", unreadable)
    page = await client.get("/no/such/page", headers=BROWSER)
    assert page.status_code == 404
    assert "Page not found" in page.text
    assert "Log in with EVE Online" in page.text
    assert "Pilot" not in page.text


async def test_form_fields_that_are_not_utf8_are_a_422_naming_them(
    client: httpx.AsyncClient, pilot: LoggedIn, universe: Database
) -> None:
    search_id, entry_id = await _a_search_and_an_entry(client, pilot)
    token = "csrf_token=" + pilot.csrf_token
    cases = [
        ("/me/searches", "name=%FF%FE&query=", "name"),
        ("/me/searches", "name=ok&query=q%3D%C3", "query"),
        (f"/me/searches/{search_id}/rename", "name=%FF%FE", "name"),
        ("/me/watchlist", f"type_id={DRAKE}&note=%E9t%E9", "note"),
        (f"/me/watchlist/{entry_id}/edit", "note=raw\xff", "note"),
        ("/notifications/settings", "discord_webhook_url=%FF", "discord_webhook_url"),
    ]
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for path, fields, field in cases:
        body = f"{token}&{fields}".encode("latin-1")
        response = await client.post(path, content=body, headers=headers)
        assert response.status_code == 422, (path, fields)
        assert response.headers["content-type"].startswith("text/html")
        assert f"{field}: Value is not valid UTF-8 text" in response.text, (path, fields)
        assert "\ufffd" not in response.text
    # Nothing stored.
    listed = (await client.get("/api/v1/me/searches")).json()["items"]
    assert [s["name"] for s in listed] == ["Drakes"]
    watched = (await client.get("/api/v1/me/watchlist")).json()["items"]
    assert [(w["type_id"], w["note"]) for w in watched] == [(RIFTER, None)]
    settings = (await client.get("/api/v1/me/settings")).json()
    assert settings["discord_webhook_url"] is None
    # UTF-8, escaped as browsers send it or raw, is kept as it was written.
    for name in ("Caf%C3%A9", "Caf\u00e9"):
        body = f"{token}&name={name}&query=".encode()
        saved = await client.post("/me/searches", content=body, headers=headers)
        assert saved.status_code == 303
    listed = (await client.get("/api/v1/me/searches")).json()["items"]
    assert sorted(s["name"] for s in listed) == ["Café", "Café", "Drakes"]
    # Without a session it is still the login answer first.
    client.cookies.delete(SESSION_COOKIE)
    body = f"{token}&name=%FF&query=".encode()
    assert (await client.post("/me/searches", content=body, headers=headers)).status_code == 401
