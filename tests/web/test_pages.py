"""The server-rendered pages: browse and contract, their links, escaping and errors."""

from __future__ import annotations

import re

import httpx
import pytest

from hangar_bay.contracts import caching
from hangar_bay.contracts.http import etag_for
from hangar_bay.contracts.schemas import ContractFilters
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.web.router import page_cache_key
from tests.contracts.factories import COMBAT_BC, DRAKE, RIFTER, VEXOR, Item, add, build_contract

HOSTILE = "<script>alert('x')</script>"


def contract_links(html: str) -> set[int]:
    return {int(cid) for cid in re.findall(r'href="/contracts/(\d+)', html)}


async def test_browse_lists_ship_contracts(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    links = contract_links(response.text)
    assert market["rifter_jita"] in links
    assert market["courier"] not in links
    assert market["ended"] not in links
    assert "<strong>10</strong> contracts" in response.text


async def test_browse_filters_by_ship_class_through_the_url(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    html = (await client.get(f"/?group_id={COMBAT_BC}")).text
    assert contract_links(html) == {
        market["drake_fit"],
        market["drake_structure"],
        market["requests"],
    }
    # The form shows the filter it was built from.
    assert f'<option value="{COMBAT_BC}" selected>' in html


async def test_empty_form_fields_are_ignored(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    query = "q=&group_id=&type_id=&region_id=&min_price=&max_price=&ships_only=true&hull_only="
    html = (await client.get(f"/?{query}&bpc=&min_runs=&max_runs=&min_me=&min_te=&issuer_id=")).text
    assert len(contract_links(html)) == 10


async def test_links_keep_the_filters(client: httpx.AsyncClient, market: dict[str, int]) -> None:
    html = (await client.get(f"/?group_id={COMBAT_BC}&sort=price&security=high")).text
    # Sort links keep the filters and flip the direction of the current column.
    assert f'href="/?group_id={COMBAT_BC}&amp;security=high&amp;sort=-price"' in html
    assert 'aria-sort="ascending"' in html
    # Contract links carry the view so the contract page can link back to it.
    assert (
        f'href="/contracts/{market["drake_fit"]}?group_id={COMBAT_BC}&amp;security=high&amp;sort=price"'
        in html
    )
    # Tabs keep the filters and show counts.
    assert (
        f'href="/?group_id={COMBAT_BC}&amp;security=high&amp;contract_type=auction&amp;sort=price"'
        in html
    )


async def test_contract_type_tabs_show_counts(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    html = (await client.get("/?contract_type=auction")).text
    assert re.search(r'aria-current="page">Auction <span class="count">1</span>', html)
    assert re.search(r'>Item exchange <span class="count">9</span>', html)
    assert contract_links(html) == {market["auction_raven"]}


async def test_pagination_links(client: httpx.AsyncClient, universe: Database) -> None:
    await add(universe, *[build_contract(items=[Item(RIFTER)]) for _ in range(5)])
    first = (await client.get("/?size=2")).text
    assert 'href="/?page=2&amp;size=2" rel="next"' in first
    assert 'href="/?page=3&amp;size=2">Last' in first
    last = (await client.get("/?size=2&page=3")).text
    assert 'rel="prev"' in last
    assert 'rel="next"' not in last
    assert len(contract_links(last)) == 1
    past = await client.get("/?size=2&page=9")
    assert past.status_code == 200
    assert "past the end" in past.text
    assert 'href="/?page=3&amp;size=2"' in past.text


async def test_empty_states(client: httpx.AsyncClient, universe: Database) -> None:
    html = (await client.get("/?q=nothing+like+this")).text
    assert "No contracts match" in html
    assert "Search without" in html
    await add(universe, build_contract(items=[Item(RIFTER)]))
    assert "No contracts match" not in (await client.get("/")).text


async def test_empty_state_before_the_first_sweep(client: httpx.AsyncClient) -> None:
    html = (await client.get("/")).text
    assert "No contracts yet" in html


async def test_freshness_per_region_is_shown(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    html = (await client.get("/")).text
    assert "Data freshness per region (2)" in html
    assert "data updated 12m ago" in html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("size=1000", "size"),
        ("security=space", "security"),
        ("sort=bogus", "sort"),
        ("min_price=lots", "min_price"),
        ("type_id=%3Cscript%3E", "type_id"),
        ("page=0", "page"),
    ],
)
async def test_bad_parameters_get_a_friendly_page(
    client: httpx.AsyncClient, query: str, field: str
) -> None:
    response = await client.get(f"/?{query}")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "not valid" in response.text
    assert f"<li>{field}:" in response.text
    assert "<script>" not in response.text


async def test_hostile_titles_are_escaped(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    for path in ("/?size=200", f"/contracts/{market['hostile']}"):
        html = (await client.get(path)).text
        assert HOSTILE not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Ræven ☃ ünïcode &amp; co" in html
    search = (await client.get("/?q=%3Cscript%3E")).text
    assert "<script>" not in search.replace('<script src="/static/browse.js" defer></script>', "")


async def test_contract_page(client: httpx.AsyncClient, market: dict[str, int]) -> None:
    response = await client.get(f"/contracts/{market['requests']}?group_id={COMBAT_BC}&sort=price")
    assert response.status_code == 200
    html = response.text
    assert re.search(f'<a href="/\\?group_id={COMBAT_BC}&amp;sort=price">. Back to results', html)
    assert f"https://images.evetech.net/types/{DRAKE}/render?size=128" in html
    assert 'alt="Drake (render)"' in html
    assert "Items offered (1)" in html
    assert "Items requested (1)" in html
    assert "Jita IV - Moon 4 - Caldari Navy Assembly Plant" in html
    assert "Outstanding" in html


async def test_contract_page_blueprint_auction_and_structure(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    bpc = (await client.get(f"/contracts/{market['bpc']}")).text
    assert "Copy, 10 runs · ME 10 · TE 20" in bpc
    bpo = (await client.get(f"/contracts/{market['bpo']}")).text
    assert "Original · ME 8 · TE 16" in bpo
    auction = (await client.get(f"/contracts/{market['auction_raven']}")).text
    assert "120,000,000.00 ISK" in auction
    assert "Bids (2)" in auction
    structure = (await client.get(f"/contracts/{market['drake_structure']}")).text
    assert "Player structure" in structure


async def test_ended_contract_page(client: httpx.AsyncClient, market: dict[str, int]) -> None:
    response = await client.get(f"/contracts/{market['ended']}")
    assert response.status_code == 200
    assert "Ended" in response.text


async def test_contract_page_errors(client: httpx.AsyncClient, universe: Database) -> None:
    missing = await client.get("/contracts/424242?sort=price")
    assert missing.status_code == 404
    assert "Contract not found" in missing.text
    assert '<a href="/?sort=price">Back to the results' in missing.text
    bad = await client.get("/contracts/drake")
    assert bad.status_code == 422
    assert "not a contract number" in bad.text
    # A broken filter only loses the back link's filters; the page still renders.
    contract = build_contract(items=[Item(RIFTER)])
    await add(universe, contract)
    odd = await client.get(f"/contracts/{contract.contract_id}?size=9999")
    assert odd.status_code == 200
    assert re.search('<a href="/">. Back to results', odd.text)


async def test_full_page_stays_light(client: httpx.AsyncClient, universe: Database) -> None:
    fitted = [Item(DRAKE), Item(RIFTER, 2), *[Item(2873, 3) for _ in range(5)]]
    await add(universe, *[build_contract(title="x" * 60, items=fitted) for _ in range(50)])
    response = await client.get("/")
    assert len(contract_links(response.text)) == 50
    assert len(response.content) < 100_000


async def test_pages_send_caching_headers(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    response = await client.get("/")
    assert "max-age" in response.headers["cache-control"]
    again = await client.get("/", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


async def test_browse_page_is_cached_rendered_until_the_generation_changes(
    client: httpx.AsyncClient,
    universe: Database,
    cache: ResilientCache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = build_contract(items=[Item(DRAKE)])
    await add(universe, first)
    html = await client.get("/?sort=price")
    assert contract_links(html.text) == {first.contract_id}
    assert html.headers["etag"] == etag_for(html.content)
    second = build_contract(items=[Item(RIFTER)])
    await add(universe, second)

    def no_render(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("a cache hit must not render the page")

    monkeypatch.setattr("hangar_bay.web.router.render_bytes", no_render)
    # Same generation: the stored page, byte for byte, and a 304 from its ETag.
    again = await client.get("/?sort=price")
    assert again.content == html.content
    assert again.headers["etag"] == html.headers["etag"]
    revalidated = await client.get("/?sort=price", headers={"If-None-Match": html.headers["etag"]})
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    monkeypatch.undo()
    # A finished sweep bumps the generation: the page is rendered afresh.
    await cache.incr("ingest:generation")
    fresh = await client.get("/?sort=price")
    assert contract_links(fresh.text) == {first.contract_id, second.contract_id}
    gen = await caching.generation(cache)
    stored = await cache.get(page_cache_key(ContractFilters(sort="price")))
    assert stored is not None
    assert stored.startswith(f"{gen}\n".encode())


async def test_static_assets(client: httpx.AsyncClient) -> None:
    css = await client.get("/static/style.css")
    assert css.status_code == 200
    assert "color-scheme: dark" in css.text
    assert (await client.get("/static/browse.js")).status_code == 200


async def test_pages_are_not_in_the_api_schema(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/" not in spec["paths"]
    assert "/contracts/{contract_id}" not in spec["paths"]


async def test_a_mixed_hull_row_counts_the_other_ships_not_their_types(
    client: httpx.AsyncClient, universe: Database
) -> None:
    # Three Rifters, two Vexors and a Drake: six ships of three types, priced per ship.
    await add(
        universe,
        build_contract(
            contract_id=190000777,
            items=[Item(RIFTER, 3), Item(VEXOR, 2), Item(DRAKE, 1)],
            price=6e6,
        ),
    )
    page = await client.get("/")
    row = page.text[page.text.index('href="/contracts/190000777"') :][:600]
    assert "Rifter \u00d73 +3 ships" in row


async def test_in_game_markup_in_a_title_reads_as_text_on_the_type_page_and_in_the_feed(
    client: httpx.AsyncClient, universe: Database
) -> None:
    title = "<b>Rifter</b> below <url=showinfo:30000142>Jita</url>"
    await add(universe, build_contract(contract_id=190000778, title=title, items=[Item(RIFTER)]))
    type_page = await client.get(f"/types/{RIFTER}")
    assert "Rifter below Jita" in type_page.text
    assert "&lt;b&gt;" not in type_page.text
    feed = await client.get("/feeds/contracts.atom")
    assert "Rifter below Jita" in feed.text
    assert "&lt;b&gt;" not in feed.text
    assert "showinfo" not in feed.text


async def test_the_shared_browse_page_carries_no_visitors_stray_parameters(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    first = await client.get("/?utm_source=mail-campaign-7&sort=price")
    assert first.status_code == 200
    second = await client.get("/?sort=price")
    assert "mail-campaign-7" not in second.text
    assert "mail-campaign-7" not in first.text
    assert "/auth/login?next=/%3Fsort%3Dprice" in second.text


async def test_a_login_link_returns_to_every_filter_of_the_page(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    page = await client.get("/?q=Rifter&sort=price&security=high")
    links = re.findall(r'class="login" href="([^"]*)"', page.text)
    assert links
    for link in links:
        # One layer of encoding: the callback sends the pilot back to exactly this view.
        assert "amp" not in link
        assert link.startswith("/auth/login?next=/%3F")
        assert "%26sort%3Dprice" in link


async def test_the_type_page_refuses_a_repeated_day_count(
    client: httpx.AsyncClient, market: dict[str, int]
) -> None:
    assert (await client.get(f"/types/{RIFTER}?days=30")).status_code == 200
    page = await client.get(f"/types/{RIFTER}?days=30&days=90")
    assert page.status_code == 422
    assert "days: given more than once" in page.text
