"""The server-rendered web UI: ``/`` (browse) and ``/contracts/{contract_id}`` (one contract).

Both pages read the same :class:`ContractFilters` as the JSON API, from the query
string, so every view is a plain GET URL. Bad input gets a friendly HTML page (400,
404 or 422), never the JSON error the API gives and never a 500.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.accounts import fragments as account
from hangar_bay.contracts import caching, listing, service
from hangar_bay.contracts.detail import detail_cache_key, detail_model, detail_ttl
from hangar_bay.contracts.http import (
    DETAIL_MAX_AGE,
    LIST_MAX_AGE,
    cached_response,
    etag_for,
    unpack,
)
from hangar_bay.contracts.schemas import (
    CONTRACT_TYPES,
    MAX_ID,
    NOT_COUNTED,
    ContractDetail,
    ContractFilters,
    ContractPage,
    RegionFreshness,
    RegionOption,
    Taxonomy,
)
from hangar_bay.core import stale
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.params import repeated_problems
from hangar_bay.core.state import get_state
from hangar_bay.market import reads as market_reads
from hangar_bay.market.chart import price_chart
from hangar_bay.market.router import DEFAULT_DAYS, MAX_DAYS
from hangar_bay.models import utcnow
from hangar_bay.web import format as fmt
from hangar_bay.web.columns import LAYOUT_NAMES, columns_for, headers_for, layout_for
from hangar_bay.web.rows import browse_rows, row_cells

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
HTML = "text/html; charset=utf-8"

router = APIRouter(tags=["web"], include_in_schema=False)

# Autoescaping is on for every template: titles and names from ESI are untrusted text.
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    # Templates ship with the package: no stat() of every template file per render.
    auto_reload=False,
)
templates.filters.update(
    isk=fmt.isk,
    isk_full=fmt.isk_full,
    number=fmt.number,
    plain=fmt.plain,
    sec=fmt.security_display,
    security_badge=fmt.security_badge,
    discount_badge=fmt.discount_badge,
    timestamp=fmt.timestamp,
    type_label=fmt.contract_type_label,
    game_text=fmt.game_text,
)
templates.tests["structure_id"] = fmt.structure_id


def _here(request: object) -> str:
    """Where a login started from this page returns: its path and query, as plain text
    (``login_link`` percent-encodes it). ``/`` for a page rendered without a request."""
    return account.here(request) if isinstance(request, Request) else "/"


templates.globals["here"] = _here

SECURITY_LABELS = {
    "high": "High-sec",
    "low": "Low-sec",
    "null": "Null-sec",
    "wormhole": "Wormhole",
    "unknown": "Unknown (player structure)",
}


def render_bytes(request: Request, name: str, context: dict[str, Any]) -> bytes:
    return templates.get_template(name).render(request=request, **context).encode()


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int, max_age: int = 0
) -> Response:
    body = render_bytes(request, name, context)
    if status_code != 200 or max_age == 0:
        return Response(body, status_code=status_code, media_type=HTML)
    return cached_response(request, body, media_type=HTML, max_age=max_age)


def error_page(
    request: Request, status_code: int, title: str, problems: list[str], back: str = "/"
) -> Response:
    return render(
        request,
        "error.html",
        {"title": title, "problems": problems, "back": back, "status_code": status_code},
        status_code=status_code,
    )


def _problems(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "query"
        problems.append(f"{field}: {err['msg']}")
    return problems


def _parse(request: Request) -> ContractFilters:
    return ContractFilters.from_multi(list(request.query_params.multi_items()))


class _Regions(BaseModel):
    items: list[RegionOption]


class _Freshness(BaseModel):
    items: list[RegionFreshness]


async def _browse_context(
    session: AsyncSession, cache: ResilientCache, gen: int
) -> tuple[Taxonomy, list[RegionOption], list[RegionFreshness]]:
    taxonomy = await caching.cached_model(
        cache, caching.TAXONOMY_KEY, Taxonomy, lambda: service.taxonomy(session)
    )

    async def regions() -> _Regions:
        return _Regions(items=await service.region_options(session))

    async def freshness() -> _Freshness:
        return _Freshness(items=await service.region_freshness(session))

    region_list = await caching.cached_model(cache, caching.REGIONS_KEY, _Regions, regions)
    fresh = await caching.cached_model(
        cache, f"browse:freshness:v1:{gen}", _Freshness, freshness, ttl=caching.LIST_TTL
    )
    return taxonomy, region_list.items, fresh.items


def page_cache_key(f: ContractFilters) -> str:
    return f"browse:page:v3:{f.cache_key()}"


def _active_filters(f: ContractFilters) -> int:
    # Not filters: how the view is shown (sort, page, size), and the tabs above it.
    return len(f.changed(NOT_COUNTED))


async def _hidden_unknown(
    session: AsyncSession, cache: ResilientCache, f: ContractFilters, gen: int
) -> int:
    """Contracts of this view a security band filter hides because their security is
    unknown (player structures): the same view with security=unknown, counted."""
    if not f.security or "unknown" in f.security:
        return 0
    counts = await caching.cached_counts(
        session, cache, f.model_copy(update={"security": ["unknown"]}), gen
    )
    wanted: list[str] = list(f.contract_type) or list(counts)
    return sum(counts.get(t, 0) for t in wanted)


def browse_context(
    filters: ContractFilters,
    page: ContractPage,
    *,
    taxonomy: Taxonomy,
    regions: list[RegionOption],
    freshness: list[RegionFreshness],
    now: dt.datetime,
    ingestion_off: bool,
    unknown_hidden: int = 0,
    type_names: Mapping[int, str] | None = None,
    group_names: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """What ``browse.html`` is rendered with: the view ``filters``, its ``page`` of
    summaries and the form's lists, as a visitor sees them at ``now`` (UTC; relative
    times are computed against it). ``type_names`` and ``group_names`` name the filtered
    type and group ids the taxonomy does not list (no live contract offers them).

    Apart from the route so the page can be rendered without a database (tests, bench).
    """
    type_names = type_names or {}
    group_names = group_names or {}
    query = filters.query_string()
    listed_types = {t.type_id for g in taxonomy.groups for t in g.types}
    listed_groups = {g.group_id for g in taxonomy.groups}
    columns = columns_for(filters)
    layout = layout_for(filters)
    complete = [r.last_complete_at for r in freshness if r.last_complete_at]
    shown_freshness = (
        [r for r in freshness if r.region_id in filters.region_id]
        if filters.region_id
        else freshness
    )
    return {
        "f": filters,
        "page": page,
        "taxonomy": taxonomy,
        "regions": regions,
        "freshness": shown_freshness,
        "newest_sweep": max(complete) if complete else None,
        "oldest_sweep": min(complete) if complete else None,
        "now": now,
        "ago": lambda moment: fmt.ago(moment, now),
        "time_left": lambda moment: fmt.time_left(moment, now),
        "url": lambda **overrides: "/?" + filters.query_string(**overrides),
        "query": query,
        "headers": headers_for(filters, columns),
        "cells": row_cells(columns),
        "rows": browse_rows(page.items, query, now),
        "layout": layout,
        "layout_name": LAYOUT_NAMES[layout],
        "contract_types": CONTRACT_TYPES[:4],
        "security_labels": SECURITY_LABELS,
        "has_data": bool(freshness) or page.total > 0,
        "ingestion_off": ingestion_off,
        "unknown_hidden": unknown_hidden,
        "active_filters": _active_filters(filters),
        "type_names": [type_names.get(t, f"type {t}") for t in filters.type_id],
        "group_names": [group_names.get(g, f"group {g}") for g in filters.group_id],
        "extra_types": [
            (t, type_names.get(t, f"Type {t}")) for t in filters.type_id if t not in listed_types
        ],
        "extra_groups": [
            (g, group_names.get(g, f"Group {g}"))
            for g in filters.group_id
            if g not in listed_groups
        ],
    }


@router.get("/")
async def browse(request: Request) -> Response:
    # The state straight from the request, not as dependencies: FastAPI's dependency
    # solving was a large share of a cached page's cost.
    state = get_state(request)
    database, cache, settings = state["database"], state["cache"], state["settings"]
    try:
        filters = _parse(request)
    except ValidationError as exc:
        return error_page(request, 422, "These search parameters are not valid", _problems(exc))
    # The rendered page is cached (ETag + HTML) per view and generation, for as long as
    # browsers may keep it (max-age): a hit is one cache read and bytes out, with no
    # database session (one is opened on a miss only, and closed before rendering).
    # Relative times ("5 min ago") in it may lag by that long, as in a browser's copy.
    page_key = page_cache_key(filters)
    stale.answer_as(page_key)
    _, entry = await caching.read_entry(cache, page_key)
    if entry is not None:
        return await account.browse_response(
            templates, request, filters, entry[0], entry[1], media_type=HTML, max_age=LIST_MAX_AGE
        )
    async with database.read() as session:
        body, gen = await caching.cached_list(session, cache, filters)
        taxonomy, regions, freshness = await _browse_context(session, cache, gen)
        unknown_hidden = await _hidden_unknown(session, cache, filters, gen)
        # Active filters are shown by name even when no live contract offers them (the
        # taxonomy lists only those), so resubmitting the form keeps them.
        type_names = await service.type_names(session, filters.type_id)
        group_names = await service.group_names(session, filters.group_id)
    page = ContractPage.model_validate_json(body)
    context = browse_context(
        filters,
        page,
        taxonomy=taxonomy,
        regions=regions,
        freshness=freshness,
        now=utcnow(),
        ingestion_off=fmt.ingestion_off(settings),
        unknown_hidden=unknown_hidden,
        type_names=type_names,
        group_names=group_names,
    )
    # Rendered as if asked with the canonical query: the page is shared by every URL
    # with the same filters, and its login links must not carry one visitor's extras.
    html = render_bytes(_as_if(request, context["query"]), "browse.html", context)
    etag = etag_for(html)
    # Stamped with the generation the list was computed for (a sweep may have finished
    # in between: then the entry is stale at once and the next request renders again).
    # Not past the first expiry of a contract it lists (see caching.ttl_until_expiry).
    ttl = caching.ttl_until_expiry((item.date_expired for item in page.items), LIST_MAX_AGE)
    await caching.write_entry(cache, page_key, gen, etag, html, ttl=ttl)
    # The pilot's header and "Save this search" go in after the page cache.
    return await account.browse_response(
        templates, request, filters, etag, html, media_type=HTML, max_age=LIST_MAX_AGE
    )


def contract_page_key(contract_id: int, back_query: str) -> str:
    """The contract page's cache key: the page differs only by its "back to results" link."""
    back = hashlib.blake2b(back_query.encode(), digest_size=16).hexdigest()
    return f"contract:page:v1:{contract_id}:{back}"


def _as_if(request: Request, query: str) -> Request:
    """``request`` as if its query string were ``query``: what a page shared by every
    visitor is rendered with, so its login links never carry one visitor's stray
    parameters to the others."""
    return Request({**request.scope, "query_string": query.encode()})


def _watch_context(detail: ContractDetail) -> dict[str, Any]:
    """The context of "Watch this ship": each offered ship type once, the price to prefill."""
    return {
        "watch_types": list({ship.type_id: ship for ship in detail.ships}.values()),
        "watch_price": detail.price_per_ship if detail.type == "item_exchange" else None,
    }


@router.get("/contracts/{contract_id}")
async def contract_page(request: Request, contract_id: str) -> Response:
    """One contract as a page, cached like browse: the rendered page, as a visitor sees it,
    stamped with the ingestion generation for ``DETAIL_MAX_AGE``; a hit is one cache read
    and, for a visitor, no database session. A pilot gets their header and "Watch this
    ship" forms swapped in (accounts.fragments). While the database is unreachable the
    last good copy is served, marked stale (core.stale)."""
    state = get_state(request)
    database, cache = state["database"], state["cache"]
    try:
        filters = _parse(request)
        back_query = filters.query_string()
    except ValidationError:
        # The filters only feed the "back to results" link: a bad one is dropped.
        back_query = ""
    back = "/?" + back_query if back_query else "/"
    if not contract_id.isdigit() or not 1 <= int(contract_id) <= MAX_ID:
        return error_page(
            request,
            422,
            "That is not a contract number",
            [f"contract_id: expected a positive whole number, got {contract_id[:40]!r}"],
            back,
        )
    cid = int(contract_id)
    page_key = contract_page_key(cid, back_query)
    # The page and the contract's JSON in one round trip: the JSON renders a missing page
    # and gives a pilot's watch forms their ship types without a query.
    stale.answer_as(page_key)
    gen, (page_raw, detail_raw) = await caching.read_stamped(
        cache, [page_key, detail_cache_key(cid)]
    )
    page = None if page_raw is None else unpack(page_raw)
    auth = await account.page_auth(request)
    detail = None
    if page is None or auth is not None:
        detail = await detail_model(database, cache, cid, gen, detail_raw)
        if detail is None:
            # Not cached: the contract may arrive with the next sweep.
            return error_page(
                request,
                404,
                "Contract not found",
                [f"No contract {contract_id} has been seen by Hangar Bay."],
                back,
            )
        if page is None:
            page = _render_contract(_as_if(request, back_query), detail, back)
            ttl = detail_ttl(detail, DETAIL_MAX_AGE)
            await caching.write_entry(cache, page_key, gen, *page, ttl=ttl)
    etag, html = page
    return account.shared_page_response(
        templates,
        request,
        auth,
        etag,
        html,
        media_type=HTML,
        max_age=DETAIL_MAX_AGE,
        watch=None if detail is None else _watch_context(detail),
    )


def _render_contract(request: Request, detail: ContractDetail, back: str) -> tuple[str, bytes]:
    """The contract page as a visitor sees it, as (ETag, HTML)."""
    now = utcnow()
    context = {
        "c": detail,
        "offered": [item for item in detail.items if item.is_included],
        "requested": [item for item in detail.items if not item.is_included],
        "back": back,
        "now": now,
        "ago": lambda moment: fmt.ago(moment, now),
        "time_left": lambda moment: fmt.time_left(moment, now),
        "hero": detail.ships[0] if detail.ships else None,
        # The account pieces as a visitor's; a pilot's are swapped in per request.
        "auth": None,
        "here": account.here(request),
        **_watch_context(detail),
    }
    html = render_bytes(request, "contract.html", context)
    return etag_for(html), html


# --- value (issue 12): a ship type's page with its price history ----------------------------


def type_page_key(type_id: int, days: int) -> str:
    return f"market:type-page:v1:{type_id}:{days}"


@router.get("/types/{type_id}")
async def type_page(request: Request, type_id: str) -> Response:
    """Price history chart (server-rendered SVG) and table, market price, live contracts.

    Cached as the contract page is (a visitor's copy per type and ``days``, stamped with
    the generation, which the market pass bumps when it records new days), and served
    stale while the database is unreachable."""
    state = get_state(request)
    database, cache = state["database"], state["cache"]
    days_raw = request.query_params.get("days", str(DEFAULT_DAYS))
    repeated = repeated_problems(request.query_params, "days")
    if repeated:
        return error_page(request, 422, "These parameters are not valid", repeated)
    if not type_id.isdigit() or not 1 <= int(type_id) <= MAX_ID:
        return error_page(
            request,
            422,
            "That is not a type number",
            [f"type_id: expected a positive whole number, got {type_id[:40]!r}"],
        )
    if not days_raw.isdigit() or not 1 <= int(days_raw) <= MAX_DAYS:
        return error_page(
            request, 422, "That is not a number of days", [f"days: from 1 to {MAX_DAYS}"]
        )
    tid, days = int(type_id), int(days_raw)
    key = type_page_key(tid, days)
    stale.answer_as(key)
    gen, page = await caching.read_entry(cache, key)
    if page is None:
        async with database.session() as session:
            info = await market_reads.type_info(session, tid)
            if info is None:
                # Not cached: the type may arrive with the next sweep.
                return error_page(
                    request,
                    404,
                    "Type not found",
                    [f"No type {type_id} has been seen by Hangar Bay."],
                )
            history = await market_reads.price_history(session, tid, days)
            live = await listing.list_page(
                session,
                ContractFilters(type_id=[tid], ships_only=False, sort="price", size=25),
            )
        now = utcnow()
        context = {
            "t": info,
            "days": days,
            "history": history,
            "chart": price_chart(history, fmt.isk),
            "live": ContractPage.model_validate(live),
            "ago": lambda moment: fmt.ago(moment, now),
            "time_left": lambda moment: fmt.time_left(moment, now),
            "browse": "/?" + ContractFilters(type_id=[tid]).query_string(),
        }
        shared = _as_if(request, "" if days == DEFAULT_DAYS else f"days={days}")
        html = render_bytes(shared, "type.html", context)
        page = (etag_for(html), html)
        await caching.write_entry(cache, key, gen, *page, ttl=DETAIL_MAX_AGE)
    auth = await account.page_auth(request)
    return account.shared_page_response(
        templates, request, auth, *page, media_type=HTML, max_age=DETAIL_MAX_AGE
    )
