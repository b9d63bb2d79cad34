"""The browse table per contract type (F008) and the rough edges a newcomer hit (#13)."""

from __future__ import annotations

import re

import httpx
from asgi_lifespan import LifespanManager

from hangar_bay.app import create_app
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.models import Route
from hangar_bay.settings import Settings
from tests.contracts.factories import (
    AMARR,
    AMARR_8,
    JITA,
    RAVEN,
    RIFTER,
    RIFTER_BP,
    Item,
    add,
    build_contract,
)


def headers(html: str) -> list[str]:
    thead = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", thead)]


def rows(html: str) -> list[list[str]]:
    tbody = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(
            r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", tbody, re.S)
    ]  # fmt: skip


async def test_courier_tab_has_its_own_columns(
    client: httpx.AsyncClient, market: dict[str, int], universe: Database
) -> None:
    async with universe.session() as session:
        session.add(Route(origin_system_id=JITA, destination_system_id=AMARR, jumps=9))
    html = (await client.get("/?contract_type=courier&ships_only=false")).text
    assert headers(html) == [
        "Route", "Jumps", "Reward", "Collateral", "Volume", "ISK/m³", "ISK/jump", "Days",
        "Time left",
    ]  # fmt: skip
    (row,) = rows(html)
    assert row[0] == "0.9 Jita → 1.0 Amarr"
    assert row[1:7] == ["9", "5.00M", "100M", "12,000 m³", "417", "556K"]
    assert f'href="/contracts/{market["courier"]}?' in html
    # Every sortable column links to its sort; reward per m³ starts highest first.
    assert 'href="/?ships_only=false&amp;contract_type=courier&amp;sort=-reward_per_m3"' in html
    sorted_html = (
        await client.get("/?contract_type=courier&ships_only=false&sort=-reward_per_m3")
    ).text
    assert re.search(r'aria-sort="descending"><a [^>]*>ISK/m³</a>', sorted_html)
    assert "Courier #" not in html


async def test_courier_to_a_player_structure_says_unknown(
    client: httpx.AsyncClient, universe: Database
) -> None:
    await add(
        universe,
        build_contract(type="courier", price=None, reward=1e6, end_location=1_035_466_617_946),
    )
    html = (await client.get("/?contract_type=courier&ships_only=false")).text
    (row,) = rows(html)
    assert row[0] == "0.9 Jita → ? Player structure"
    assert row[1] == "unknown"


async def test_auction_tab_shows_current_bid_bids_and_buyout(
    client: httpx.AsyncClient, market: dict[str, int], universe: Database
) -> None:
    await add(universe, build_contract(type="auction", items=[Item(RAVEN)], price=80e6))
    html = (await client.get("/?contract_type=auction")).text
    assert headers(html)[:5] == ["Ship", "Title", "Current bid", "Bids", "Buyout"]
    by_bids = {row[3]: row for row in rows(html)}
    assert by_bids["2"][2] == "120M"
    assert by_bids["2"][4] == "200M"
    assert by_bids["0"][2] == "80.0M start"
    assert by_bids["0"][4] == "none"


async def test_blueprint_views_show_runs_me_te(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    html = (await client.get("/?bpc=copies&ships_only=false")).text
    assert headers(html)[:4] == ["Blueprint", "Runs", "ME", "TE"]
    (row,) = rows(html)
    assert row[:4] == ["Rifter Blueprint copy", "10", "10", "20"]
    originals = rows((await client.get("/?bpc=originals&ships_only=false")).text)
    assert originals[0][:4] == ["Drake Blueprint original", "∞", "8", "16"]


async def test_security_filter_notes_the_contracts_of_unknown_security(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    html = (await client.get("/?security=high")).text
    assert "1 contract is hidden by the security filter" in html
    assert 'href="/?security=high&amp;security=unknown"' in html
    assert 'value="unknown"' in html
    included = (await client.get("/?security=high&security=unknown")).text
    assert "hidden by the security filter" not in included
    assert f"/contracts/{market['drake_structure']}" in included
    assert "hidden by the security filter" not in (await client.get("/")).text


async def test_form_keeps_a_type_with_no_live_contracts(
    client: httpx.AsyncClient, universe: Database
) -> None:
    await add(universe, build_contract(items=[Item(RAVEN)]))
    html = (await client.get(f"/?type_id={RIFTER}")).text
    assert f'<option value="{RIFTER}" selected>Rifter (none live)</option>' in html
    assert "No contracts match" in html
    assert 'href="/">Any type instead of Rifter</a>' in html or "Any type instead of Rifter" in html
    assert "1 active" in html


async def test_empty_state_offers_to_widen_each_filter(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    html = (
        await client.get(
            "/?q=nothing&region_id=10000002&security=low&min_price=1&hull_only=true&issuer_id=1"
        )
    ).text
    for offer in (
        "Search without",
        "Every region",
        "Any security",
        "Drop the price range",
        "Any contents",
        "Any issuer",
    ):
        assert offer in html, offer


async def test_game_markup_in_titles_is_shown_as_text(
    client: httpx.AsyncClient, universe: Database
) -> None:
    raw = '<url=showinfo:587>Rifter</url> <font color="0xffff0000">cheap</font>'
    contract = build_contract(title=raw, items=[Item(RIFTER)])
    await add(universe, contract)
    for path in ("/", f"/contracts/{contract.contract_id}"):
        html = (await client.get(path)).text
        assert "Rifter cheap" in html
        assert "showinfo" not in html
    body = (await client.get(f"/api/v1/contracts/{contract.contract_id}")).json()
    assert body["title"] == raw


async def test_escaped_game_markup_in_titles_is_shown_as_text(
    client: httpx.AsyncClient, universe: Database
) -> None:
    # Titles can come with their markup HTML-escaped; the page shows the text, not codes.
    raw = "&lt;url=showinfo:587&gt;Rifter&lt;/url&gt; for sale"
    contract = build_contract(title=raw, items=[Item(RIFTER)])
    await add(universe, contract)
    for path in ("/", f"/contracts/{contract.contract_id}"):
        html = (await client.get(path)).text
        assert "Rifter for sale" in html
        assert "showinfo" not in html
        assert "&amp;lt;" not in html
    body = (await client.get(f"/api/v1/contracts/{contract.contract_id}")).json()
    assert body["title"] == raw


async def test_reward_of_an_item_exchange_is_shown(
    client: httpx.AsyncClient, universe: Database
) -> None:
    # A "want to buy" item exchange pays its acceptor: the reward is part of the deal.
    contract = build_contract(price=0.0, reward=25_900_000.0, items=[Item(RIFTER, included=False)])
    await add(universe, contract)
    body = (await client.get(f"/api/v1/contracts/{contract.contract_id}")).json()
    assert body["reward"] == 25_900_000.0
    html = (await client.get(f"/contracts/{contract.contract_id}")).text
    assert "25,900,000" in html
    assert "paid to you on acceptance" in html


async def test_summary_line_spacing_and_ended_contract_wording(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    html = (await client.get("/")).text
    assert re.search(r"page 1 of 1 <span class=\"fresh\">· data updated", html)
    ended = (await client.get(f"/contracts/{market['ended']}")).text
    assert "Accept this contract in the game" not in ended
    assert "can no longer be accepted" in ended
    live = (await client.get(f"/contracts/{market['rifter_jita']}")).text
    assert "Accept this contract in the game" in live


async def test_contract_pages_of_auction_and_courier(
    client: httpx.AsyncClient, market: dict[str, int], universe: Database
) -> None:
    async with universe.session() as session:
        session.add(Route(origin_system_id=JITA, destination_system_id=AMARR, jumps=9))
    auction = (await client.get(f"/contracts/{market['auction_raven']}")).text
    assert "120,000,000.00 ISK (2 bids)" in auction
    courier = (await client.get(f"/contracts/{market['courier']}")).text
    assert "9 jumps (shortest)" in courier
    assert "Amarr VIII (Oris) - Emperor Family Academy · Amarr" in courier
    assert "Reward per jump" in courier
    # The ship render hides itself when the image host cannot be reached.
    assert '<script src="/static/contract.js" defer></script>' in auction
    assert (await client.get("/static/contract.js")).status_code == 200


async def test_ingestion_off_is_said_plainly(
    settings: Settings, database: Database, cache: ResilientCache
) -> None:
    # The real ESI and no operator contact: serve reads nothing from ESI.
    off = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        database_url=settings.database_url,
        cache_url=settings.cache_url,
        esi_user_agent="",
    )
    app = create_app(off, database=database, cache=cache)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            html = (await http.get("/")).text
    assert "Ingestion is off" in html
    assert "HANGAR_ESI_USER_AGENT" in html
    assert "make demo" in html
    assert "reload this page" not in html


async def test_first_sweep_message_when_ingestion_runs(client: httpx.AsyncClient) -> None:
    html = (await client.get("/")).text
    assert "The first sweep takes a few minutes" in html
    assert "Ingestion is off" not in html


async def test_type_aware_pages_stay_light(client: httpx.AsyncClient, universe: Database) -> None:
    couriers = [
        build_contract(
            type="courier", price=None, reward=5e6, collateral=1e8, end_location=AMARR_8,
            title="<url=showinfo:5//60003760>Jita IV - Moon 4</url> to Amarr, rush " * 2,
        )
        for _ in range(50)
    ]  # fmt: skip
    blueprints = [
        build_contract(items=[Item(RIFTER_BP, bpc=True, runs=10, me=10, te=20)], title="x" * 60)
        for _ in range(50)
    ]
    auctions = [
        build_contract(type="auction", items=[Item(RAVEN), Item(RIFTER, 3)], bids=[1e6, 2e6])
        for _ in range(50)
    ]
    await add(universe, *couriers, *blueprints, *auctions)
    for path in (
        "/?contract_type=courier&ships_only=false",
        "/?bpc=copies&ships_only=false",
        "/?contract_type=auction",
        "/?ships_only=false",
    ):
        response = await client.get(path)
        assert len(rows(response.text)) == 50, path
        assert len(response.content) < 100_000, (path, len(response.content))


async def test_courier_to_a_station_not_resolved_yet_is_not_called_a_structure(
    client: httpx.AsyncClient, universe: Database
) -> None:
    await add(
        universe, build_contract(type="courier", price=None, reward=1e6, end_location=60_000_004)
    )
    html = (await client.get("/?contract_type=courier&ships_only=false")).text
    (row,) = rows(html)
    assert row[0] == "0.9 Jita → ? station not resolved yet"
