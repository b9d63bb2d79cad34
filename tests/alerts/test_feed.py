"""The Atom feed of a search: valid Atom 1.0, stable ids, conditional requests, cached."""

from __future__ import annotations

import feedparser
import httpx

from hangar_bay.core.database import Database
from tests.alerts.conftest import new_contract
from tests.contracts.factories import AMARR_8, DRAKE, RAVEN, RIFTER, VEXOR, Item

ATOM_NS = "http://www.w3.org/2005/Atom"


async def _market(db: Database) -> dict[str, int]:
    return {
        "drake": await new_contract(db, items=[Item(DRAKE)], price=55e6, title="Drake <b>"),
        "raven": await new_contract(db, items=[Item(RAVEN)], price=150e6),
        "vexor": await new_contract(db, items=[Item(VEXOR)], price=20e6, location=AMARR_8),
        "rifter": await new_contract(db, items=[Item(RIFTER)], price=1e6),
    }


async def test_feed_is_valid_atom(universe: Database, client: httpx.AsyncClient) -> None:
    ids = await _market(universe)
    response = await client.get("/feeds/contracts.atom?region_id=10000002&max_price=100000000")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.namespaces.get("") == ATOM_NS
    # Required feed elements: id, title, updated (and an author, for entries without one).
    assert feed.feed.id.endswith("/feeds/contracts.atom?region_id=10000002&max_price=100000000")
    assert feed.feed.title
    assert feed.feed.updated_parsed
    assert feed.feed.author == "Hangar Bay"
    assert {link.rel for link in feed.feed.links} == {"self", "alternate"}
    # The matching contracts, newest first, each with its required elements.
    assert [e.id.rsplit("/", 1)[1] for e in feed.entries] == sorted(
        [str(ids["rifter"]), str(ids["drake"])], reverse=True
    )
    for entry in feed.entries:
        assert entry.title
        assert entry.updated_parsed
        assert entry.link == entry.id
        assert entry.link.startswith("http://127.0.0.1:8000/contracts/")
    drake = next(e for e in feed.entries if e.id.endswith(str(ids["drake"])))
    assert drake.title == "Drake — 55.0M ISK — Jita IV - Moon 4 - Caldari Navy Assembly Plant (0.9)"
    # The title's in-game markup reads as text, as on the pages (never markup in the XML).
    assert drake.summary.endswith("ISK. Drake")
    assert "<b>" not in response.text


async def test_feed_answers_304(universe: Database, client: httpx.AsyncClient) -> None:
    await _market(universe)
    first = await client.get("/feeds/contracts.atom")
    etag = first.headers["etag"]
    last_modified = first.headers["last-modified"]

    again = await client.get("/feeds/contracts.atom", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    since = await client.get("/feeds/contracts.atom", headers={"If-Modified-Since": last_modified})
    assert since.status_code == 304
    # Sort, page and size do not change a feed: the same ETag.
    same = await client.get("/feeds/contracts.atom?sort=price&page=3&size=5")
    assert same.headers["etag"] == etag
    other = await client.get("/feeds/contracts.atom?q=drake")
    assert other.headers["etag"] != etag
    assert len(feedparser.parse(other.content).entries) == 1


async def test_feed_shares_the_browse_cache(universe: Database, client: httpx.AsyncClient) -> None:
    await _market(universe)
    browse = await client.get("/api/v1/contracts?sort=-date_issued&size=50")
    feed = await client.get("/feeds/contracts.atom")
    # A new contract with no new generation: both still answer from the cached list.
    await new_contract(universe, items=[Item(DRAKE)])
    assert (await client.get("/api/v1/contracts?sort=-date_issued&size=50")).headers[
        "etag"
    ] == browse.headers["etag"]
    assert (await client.get("/feeds/contracts.atom")).headers["etag"] == feed.headers["etag"]


async def test_bad_parameters_are_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/feeds/contracts.atom?max_price=cheap")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "max_price"]


async def test_browse_page_links_its_feed(universe: Database, client: httpx.AsyncClient) -> None:
    await _market(universe)
    page = await client.get("/?region_id=10000002&sort=price")
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Atom feed of this search" '
        'href="/feeds/contracts.atom?region_id=10000002">' in page.text
    )
    assert 'href="/feeds/contracts.atom?region_id=10000002">Atom feed of this search' in page.text


async def test_entries_read_as_the_browse_row_for_auctions_and_contracts_wanting_items(
    universe: Database, client: httpx.AsyncClient
) -> None:
    auction = await new_contract(
        universe, type="auction", items=[Item(RIFTER)], price=1e6, bids=[1.2e6, 1.5e6]
    )
    wants = await new_contract(
        universe, items=[Item(DRAKE), Item(RIFTER, included=False)], price=10e6
    )
    feed = feedparser.parse((await client.get("/feeds/contracts.atom")).content)
    entries = {e.id.rsplit("/", 1)[1]: e for e in feed.entries}
    assert "bid 1.50M ISK" in entries[str(auction)].title
    assert "current bid 1,500,000.00 ISK" in entries[str(auction)].summary
    assert "wants 1 item —" in entries[str(wants)].title


async def test_the_parameters_a_feed_sets_itself_are_ignored_whatever_they_say(
    universe: Database, client: httpx.AsyncClient
) -> None:
    await new_contract(universe, items=[Item(RIFTER)], price=1e6)
    plain = await client.get("/feeds/contracts.atom")
    odd = await client.get("/feeds/contracts.atom?size=abc&page=-1&sort=nonsense")
    assert odd.status_code == 200
    assert odd.headers["etag"] == plain.headers["etag"]
    # A filter the feed does read is still checked.
    assert (await client.get("/feeds/contracts.atom?min_price=abc")).status_code == 422
