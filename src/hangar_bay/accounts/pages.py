"""The pilot's pages: ``GET /me`` and the forms behind "Save this search", "Watch this
ship" and the ``/me`` lists. Every form works without JavaScript and carries the
session's CSRF token (``csrf_token``); a missing or wrong one is a 403 page and changes
nothing. Success is a 303 back to ``/me``; bad input, a row id in the path that is not
a number included, is a 422 page naming the field.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from hangar_bay.accounts import searches, watchlist
from hangar_bay.accounts.auth import csrf_refused
from hangar_bay.accounts.deps import Auth, AuthDep, csrf_matches, csrf_token_sent
from hangar_bay.accounts.errors import Invalid
from hangar_bay.accounts.fragments import page_cache_headers, personalise
from hangar_bay.accounts.schemas import (
    MAX_SEARCHES,
    MAX_WATCH_ENTRIES,
    SearchIn,
    SearchPatch,
    WatchIn,
    WatchPatch,
)
from hangar_bay.alerts.service import get_settings as get_alert_settings
from hangar_bay.contracts import caching, service
from hangar_bay.contracts.schemas import Taxonomy
from hangar_bay.core.bodies import BodyRoute
from hangar_bay.core.params import repeated_problems
from hangar_bay.core.state import CacheDep, SessionDep, SettingsDep
from hangar_bay.web.error_pages import bad_path_id, path_id
from hangar_bay.web.router import HTML, error_page, render_bytes, templates

router = APIRouter(tags=["web"], include_in_schema=False, route_class=BodyRoute)
M = TypeVar("M", bound=BaseModel)

NOTICES = {
    "search-saved": "Search saved.",
    "search-renamed": "Search renamed.",
    "search-alerts": "Alerts switched.",
    "search-deleted": "Search deleted.",
    "watch-added": "Ship type added to your watchlist.",
    "watch-saved": "Watch entry saved.",
    "watch-deleted": "Watch entry deleted.",
}


def _done(notice: str, anchor: str) -> Response:
    return RedirectResponse(f"/me?done={notice}#{anchor}", status_code=303)


def _login_first(request: Request) -> Response:
    return error_page(
        request,
        401,
        "Log in first",
        ["Your session has ended. Log in with EVE Online and try again."],
        back="/auth/login?next=/me",
    )


def _problems(exc: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in err['loc']) or 'form'}: {err['msg']}" for err in exc.errors()
    ]


async def _checked_form(request: Request, auth: Auth | None) -> FormData | Response:
    """The form, or the response refusing it (no session: 401; bad CSRF token: 403)."""
    if auth is None:
        return _login_first(request)
    # The same reading as every other unsafe route: the header, else one form field.
    if not csrf_matches(await csrf_token_sent(request), auth):
        return csrf_refused(request)
    return await request.form()


def _fields(form: FormData, *names: str) -> dict[str, Any] | list[str]:
    """The named fields that were sent, blanks as ``None`` (an empty input means "none"),
    or the problems naming each field sent more than once: which copy was meant is a
    guess, so neither is taken."""
    if problems := repeated_problems(form, *names):
        return problems
    out: dict[str, Any] = {}
    for name in names:
        if name in form:
            value = form[name]
            text = value.strip() if isinstance(value, str) else ""
            out[name] = text or None
    return out


# Thousands grouped by commas, spaces or underscores, as people paste ISK amounts
# ("60,000,000", "60 000 000"); anything else ("1,5", "1,2,3") is left for the model to
# refuse rather than read as another number.
_GROUPED_ISK = re.compile(r"\d{1,3}(?:([,_ ])\d{3})(?:\1\d{3})*(?:\.\d+)?")


def _isk(fields: dict[str, Any]) -> dict[str, Any]:
    price = fields.get("max_price")
    if isinstance(price, str) and _GROUPED_ISK.fullmatch(price):
        fields["max_price"] = re.sub(r"[,_ ]", "", price)
    return fields


def _no_search(request: Request) -> Response:
    return error_page(request, 404, "No such saved search", ["It may have been deleted."], "/me")


def _no_entry(request: Request) -> Response:
    return error_page(request, 404, "No such watch entry", ["It may have been deleted."], "/me")


def _invalid(request: Request, problems: list[str]) -> Response:
    return error_page(request, 422, "That could not be saved", problems, back="/me")


def _parse(model: type[M], data: dict[str, Any], *, text: bool = False) -> M | list[str]:
    """``data`` as ``model``, or the problems naming each bad field. ``text``: the numbers
    come as a form's text ("587"), which the JSON API's strict models refuse."""
    try:
        return model.model_validate(data, strict=False if text else None)
    except ValidationError as exc:
        return _problems(exc)


@router.get("/me")
async def me_page(
    request: Request,
    auth: AuthDep,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    done: str = "",
) -> Response:
    """The pilot's saved searches and watchlist; visitors are sent to log in."""
    if auth is None:
        return RedirectResponse("/auth/login?next=/me", status_code=303)
    user_id = auth.user.id
    taxonomy = await caching.cached_model(
        cache, caching.TAXONOMY_KEY, Taxonomy, lambda: service.taxonomy(session)
    )
    saved = await searches.list_searches(session, cache, user_id)
    context = {
        "auth": auth,
        "notice": NOTICES.get(done),
        "searches": saved,
        # Alerts are offered only for searches that filter something (searches.py).
        "can_alert": {
            s.id for s in saved if not searches.filters_nothing(searches.parse_query(s.query))
        },
        "watch": await watchlist.list_entries(session, cache, user_id),
        "regions": await service.region_options(session),
        "ship_types": taxonomy.groups,
        "search_limit": MAX_SEARCHES,
        "watch_limit": MAX_WATCH_ENTRIES,
        # Alerts (F007): the Discord settings form.
        "alert_settings": await get_alert_settings(
            session, user_id, settings.discord_webhook_origins
        ),
    }
    html = render_bytes(request, "me.html", context)
    body, _ = personalise(templates, request, auth, html, '""')
    response = page_cache_headers(Response(body, media_type=HTML), auth)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@router.post("/me/searches")
async def save_search(request: Request, auth: AuthDep, session: SessionDep) -> Response:
    """ "Save this search": fields ``name``, ``query`` (the browse query string) and the
    checkbox ``alerts`` (``true`` when ticked, absent otherwise)."""
    form = await _checked_form(request, auth)
    if isinstance(form, Response):
        return form
    assert auth is not None
    fields = _fields(form, "name", "query", "alerts")
    if isinstance(fields, list):
        return _invalid(request, fields)
    alerts = fields.pop("alerts", None)
    data: dict[str, Any] = {k: v or "" for k, v in fields.items()}
    if alerts is not None:
        # Anything but "true" reaches the strict model as it came and is refused there,
        # naming the field.
        data["alerts"] = True if alerts == "true" else alerts
    body = _parse(SearchIn, data)
    if isinstance(body, list):
        return _invalid(request, body)
    try:
        await searches.create_search(session, auth.user.id, body)
    except Invalid as exc:
        return _invalid(request, exc.problems)
    return _done("search-saved", "searches")


@router.post("/me/searches/{search_id}/{action}")
async def change_search(
    request: Request, search_id: str, action: str, auth: AuthDep, session: SessionDep
) -> Response:
    """``rename`` (field ``name``), ``alerts`` (field ``alerts``: true/false) or
    ``delete``; a 422 page when ``search_id`` is not a number, 404 unless the search is
    yours (or for another action)."""
    form = await _checked_form(request, auth)
    if isinstance(form, Response):
        return form
    assert auth is not None
    if action not in ("rename", "alerts", "delete"):
        return _no_search(request)
    row_id = path_id(search_id)
    if row_id is None:
        return bad_path_id(request, "search_id", search_id, "That is not a search number", "/me")
    row = await searches.get_search(session, auth.user.id, row_id)
    if row is None:
        return _no_search(request)
    if action == "delete":
        await searches.delete_search(session, row)
        return _done("search-deleted", "searches")
    wanted = "name" if action == "rename" else "alerts"
    fields = _fields(form, wanted)
    if isinstance(fields, list):
        return _invalid(request, fields)
    value: object = fields.get(wanted) or ""
    if wanted == "alerts":
        # A form says "true"/"false"; JSON must send a real boolean (the schema is strict).
        value = {"true": True, "false": False}.get(str(value), value)
    patch = _parse(SearchPatch, {wanted: value})
    if isinstance(patch, list):
        return _invalid(request, patch)
    await searches.update_search(session, row, patch)
    return _done("search-renamed" if action == "rename" else "search-alerts", "searches")


@router.post("/me/watchlist")
async def add_watch(request: Request, auth: AuthDep, session: SessionDep) -> Response:
    """ "Watch this ship": ``type_id``, optional ``max_price`` (ISK), ``region_id``, ``note``."""
    form = await _checked_form(request, auth)
    if isinstance(form, Response):
        return form
    assert auth is not None
    fields = _fields(form, "type_id", "max_price", "region_id", "note")
    if isinstance(fields, list):
        return _invalid(request, fields)
    body = _parse(WatchIn, _isk(fields), text=True)
    if isinstance(body, list):
        return _invalid(request, body)
    try:
        await watchlist.create_entry(session, auth.user.id, body)
    except Invalid as exc:
        return _invalid(request, exc.problems)
    return _done("watch-added", "watchlist")


@router.post("/me/watchlist/{entry_id}/{action}")
async def change_watch(
    request: Request, entry_id: str, action: str, auth: AuthDep, session: SessionDep
) -> Response:
    """``edit`` (``max_price``, ``region_id``, ``note``; blank clears) or ``delete``; a
    422 page when ``entry_id`` is not a number, 404 unless the entry is yours (or for
    another action)."""
    form = await _checked_form(request, auth)
    if isinstance(form, Response):
        return form
    assert auth is not None
    if action not in ("edit", "delete"):
        return _no_entry(request)
    row_id = path_id(entry_id)
    if row_id is None:
        return bad_path_id(request, "entry_id", entry_id, "That is not an entry number", "/me")
    row = await watchlist.get_entry(session, auth.user.id, row_id)
    if row is None:
        return _no_entry(request)
    if action == "delete":
        await watchlist.delete_entry(session, row)
        return _done("watch-deleted", "watchlist")
    fields = _fields(form, "max_price", "region_id", "note")
    if isinstance(fields, list):
        return _invalid(request, fields)
    patch = _parse(WatchPatch, _isk(fields), text=True)
    if isinstance(patch, list):
        return _invalid(request, patch)
    try:
        await watchlist.update_entry(session, row, patch)
    except Invalid as exc:
        return _invalid(request, exc.problems)
    return _done("watch-saved", "watchlist")
