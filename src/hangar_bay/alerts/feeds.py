"""Atom feeds of any browse view: ``/feeds/contracts.atom?<browse parameters>``.

The feed is the browse list's newest 50 contracts (``sort=-date_issued``, page 1, size
50 whatever the URL says), read through the browse result cache
(:func:`hangar_bay.contracts.caching.cached_list_entry`): a feed reader polling a view
costs what a browse request for it costs, a cache hit between sweeps. The ETag derives
from the cached list's ETag, so a conditional request is answered 304 without
building the feed. Built with feedgen (Atom 1.0).
"""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from feedgen.feed import FeedGenerator

from hangar_bay.alerts.service import contract_url
from hangar_bay.contracts.caching import cached_list_entry
from hangar_bay.contracts.http import LIST_MAX_AGE, etag_for
from hangar_bay.contracts.router import parse_filters
from hangar_bay.contracts.schemas import ContractFilters
from hangar_bay.core import stale
from hangar_bay.core.openapi import EDGE_RESPONSES
from hangar_bay.core.state import CacheDep, DatabaseDep, SettingsDep
from hangar_bay.web import format as fmt

router = APIRouter(tags=["feeds"], responses=EDGE_RESPONSES)

ATOM = "application/atom+xml"
FEED_SIZE = 50
# Parameters a feed URL may carry (a browse URL turned into a feed) but sets itself.
FEED_FIXED = frozenset({"sort", "page", "size"})


def feed_filters(f: ContractFilters) -> ContractFilters:
    """The view of a feed: the same filters, newest first, the first 50."""
    return f.model_copy(update={"sort": "-date_issued", "page": 1, "size": FEED_SIZE})


def feed_cache_key(f: ContractFilters) -> str:
    """The key of a feed's last good copy (core.stale), one per feed view."""
    return f"feed:atom:v1:{f.cache_key()}"


def feed_path(f: ContractFilters) -> str:
    """The feed URL (path and query) of a browse view."""
    query = f.query_string(sort="-date_issued", page=1, size=50)
    return "/feeds/contracts.atom" + ("?" + query if query else "")


def _entry_title(item: dict[str, Any]) -> str:
    ships = [s.get("name") or f"Type {s['type_id']}" for s in item.get("ships") or []]
    what = ", ".join(ships) or fmt.game_text(item.get("title")) or f"Contract {item['contract_id']}"
    where = item.get("start_location_name") or "Unknown location"
    sec = fmt.security_display(item.get("start_security"))
    # As the browse row reads: an auction at its current bid once it has one, and a
    # contract that also wants items in return says so.
    amount = f"{fmt.isk(item.get('price'))} ISK"
    if item.get("type") == "auction" and item.get("bid_count"):
        amount = f"bid {fmt.isk(item.get('current_bid'))} ISK"
    wanted = item.get("requested_count") or 0
    wants = f" — wants {wanted} item{'s' if wanted > 1 else ''}" if wanted else ""
    return f"{what} — {amount}{wants} — {where} ({sec})"


def _parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def build_feed(f: ContractFilters, page: dict[str, Any], public_url: str) -> bytes:
    """The Atom document of one browse page (``ContractPage`` shape, plain data)."""
    base = public_url.rstrip("/")
    query = f.query_string(sort="-date_issued", page=1, size=50)
    self_url = base + feed_path(f)
    gen = FeedGenerator()
    gen.id(self_url)
    gen.title("Hangar Bay contracts" + (f": {query}" if query else ""))
    gen.author({"name": "Hangar Bay", "uri": base + "/"})
    gen.link(href=self_url, rel="self", type=ATOM)
    gen.link(href=base + "/" + ("?" + query if query else ""), rel="alternate", type="text/html")
    gen.subtitle("The newest public contracts matching this search, from EVE Online's ESI.")
    gen.language("en")
    items = page.get("items") or []
    issued = [_parse_time(item["date_issued"]) for item in items]
    gen.updated(max(issued) if issued else dt.datetime(2003, 5, 6, tzinfo=dt.UTC))
    # feedgen writes entries in reverse order of adding: add the oldest first.
    for item, when in reversed(list(zip(items, issued, strict=True))):
        url = contract_url(base, item["contract_id"])
        entry = gen.add_entry()
        entry.id(url)
        entry.title(_entry_title(item))
        entry.link(href=url, rel="alternate", type="text/html")
        entry.updated(when)
        entry.published(when)
        region = item.get("region_name") or "Unknown region"
        bid = (
            f", current bid {fmt.isk_full(item.get('current_bid'))}"
            if item.get("type") == "auction" and item.get("bid_count")
            else ""
        )
        entry.summary(
            f"{fmt.contract_type_label(item['type'])} in {region}, "
            f"price {fmt.isk_full(item.get('price'))}{bid}. "
            f"{fmt.game_text(item.get('title'))}".strip()
        )
    body: bytes = gen.atom_str(pretty=False)
    return body


def _not_modified_since(request: Request, last_modified: dt.datetime | None) -> bool:
    header = request.headers.get("if-modified-since")
    if not header or last_modified is None or request.headers.get("if-none-match"):
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    return last_modified.replace(microsecond=0) <= since


def _etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return etag in candidates or "*" in candidates


@router.get(
    "/feeds/contracts.atom",
    summary="Atom feed of a search",
    description="The newest 50 contracts matching the browse parameters (the same names "
    "as `/api/v1/contracts`), as Atom 1.0. Conditional requests (ETag, Last-Modified) are "
    "answered 304. `sort`, `page` and `size` are the feed's own (newest first, the first "
    "50) and ignored. Bad parameters: 422 naming the parameter.",
    response_class=Response,
    responses={200: {"content": {ATOM: {}}}, 304: {"description": "Not modified"}},
)
async def contracts_feed(
    request: Request, database: DatabaseDep, cache: CacheDep, settings: SettingsDep
) -> Response:
    f = feed_filters(parse_filters(request, FEED_FIXED))
    # During a database outage the answer is this feed's last good copy (kept below).
    key = feed_cache_key(f)
    stale.answer_as(key)
    list_etag, body, _ = await cached_list_entry(database, cache, f)
    etag = etag_for((list_etag + "\n" + settings.public_url).encode())
    page = orjson.loads(body)
    issued = [_parse_time(item["date_issued"]) for item in page.get("items") or []]
    last_modified = max(issued) if issued else None
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={LIST_MAX_AGE}"}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(dt.UTC), usegmt=True)
    if _etag_matches(request, etag) or _not_modified_since(request, last_modified):
        return Response(status_code=304, headers=headers)
    feed = build_feed(f, page, settings.public_url)
    await stale.keep(cache, key, etag, feed, ATOM)
    return Response(feed, media_type=ATOM, headers=headers)
