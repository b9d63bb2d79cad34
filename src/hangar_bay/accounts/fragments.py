"""Per-pilot pieces of otherwise shared pages.

Pages are rendered, and cached, as a visitor sees them: the account pieces (the header's
"Log in with EVE Online", the browse page's "Log in to save this search", the contract
page's "Log in to watch ...") sit between ``<!--hb:NAME-->`` and ``<!--/hb:NAME-->``
markers. A visitor's response is the cached page as it is (same bytes, same ETag, no
extra work on the hot path). A logged-in pilot's response gets those pieces swapped for
theirs (name, portrait, logout form, "Save this search" and "Watch this ship" with the
CSRF token), an ETag over the result, and ``Cache-Control: private, no-cache``, so no
shared cache ever keeps it. Every page says ``Vary: Cookie``, so browsers fetch again
after a login or logout instead of showing the other state from their cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request, Response
from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.accounts.deps import Auth, get_auth
from hangar_bay.accounts.searches import filters_nothing
from hangar_bay.accounts.sessions import SESSION_COOKIE
from hangar_bay.contracts.http import etag_for, etag_response
from hangar_bay.contracts.schemas import ContractFilters
from hangar_bay.core.state import get_state
from hangar_bay.models import ItemType

ACCOUNT_SLOT = "account"
SAVE_SLOT = "save-search"
WATCH_SLOT = "watch"


def here(request: Request) -> str:
    """This page's path and query: where a login started from here should return."""
    query = request.url.query
    return request.url.path + ("?" + query if query else "")


def _splice(body: bytes, name: str, fragment: bytes) -> bytes:
    start_marker = f"<!--hb:{name}-->".encode()
    end_marker = f"<!--/hb:{name}-->".encode()
    start = body.find(start_marker)
    end = body.find(end_marker, start)
    if start < 0 or end < 0:
        return body
    return body[: start + len(start_marker)] + fragment + body[end:]


def personalise(
    env: Environment,
    request: Request,
    auth: Auth | None,
    body: bytes,
    etag: str,
    *,
    save_query: str | None = None,
    single_type: tuple[int, str] | None = None,
    can_alert: bool = False,
) -> tuple[bytes, str]:
    """``body`` as this request's pilot sees it, and the ETag to send. A visitor gets
    ``body`` and ``etag`` unchanged. ``can_alert``: "Save this search" offers alerts
    (the view filters something)."""
    if auth is None:
        return body, etag
    macros = env.get_template("_account.html").module
    next_path = here(request)
    header = macros.header(auth, next_path)  # type: ignore[attr-defined]
    body = _splice(body, ACCOUNT_SLOT, str(header).encode())
    if save_query is not None:
        save = macros.save_search(auth, save_query, next_path, single_type, can_alert)  # type: ignore[attr-defined]
        body = _splice(body, SAVE_SLOT, str(save).encode())
    return body, etag_for(body)


def page_cache_headers(response: Response, auth: Auth | None) -> Response:
    """A pilot's page is theirs alone; a visitor's keeps its public caching."""
    response.headers["Vary"] = "Cookie"
    if auth is not None:
        response.headers["Cache-Control"] = "private, no-cache"
    return response


async def page_auth(request: Request, session: AsyncSession | None = None) -> Auth | None:
    """The pilot of a page request (``None`` for visitors, without touching the
    database). Pages that have no request session get a short one of their own."""
    if not request.cookies.get(SESSION_COOKIE):
        return None
    if session is not None:
        return await get_auth(request, session)
    async with get_state(request)["database"].session() as own:
        return await get_auth(request, own)


async def browse_response(
    env: Environment,
    request: Request,
    filters: ContractFilters,
    etag: str,
    html: bytes,
    *,
    media_type: str,
    max_age: int,
) -> Response:
    """The browse page (cached, shared ``html``) for this request: the pilot's header,
    "Save this search" and, for a one-type view, "Watch this ship type"."""
    auth = await page_auth(request)
    single_type = None
    if auth is not None and len(filters.type_id) == 1:
        type_id = filters.type_id[0]
        async with get_state(request)["database"].session() as session:
            name = await session.scalar(select(ItemType.name).where(ItemType.type_id == type_id))
        single_type = (type_id, name or f"Type {type_id}")
    body, etag = personalise(
        env,
        request,
        auth,
        html,
        etag,
        # Built for a pilot only: a visitor's page (the cached, busiest case) has none.
        save_query=filters.query_string(page=1) if auth is not None else None,
        single_type=single_type,
        can_alert=not filters_nothing(filters),
    )
    response = etag_response(request, etag, body, media_type=media_type, max_age=max_age)
    return page_cache_headers(response, auth)


def shared_page_response(
    env: Environment,
    request: Request,
    auth: Auth | None,
    etag: str,
    html: bytes,
    *,
    media_type: str,
    max_age: int,
    watch: Mapping[str, Any] | None = None,
) -> Response:
    """A page cached for every visitor (``html``, ``etag``) as this request sees it: a
    pilot's header, and with ``watch`` (``_watch.html``'s ``watch_types`` and
    ``watch_price``) their "Watch this ship" forms in the page's watch slot."""
    if auth is not None and watch is not None:
        forms = env.get_template("_watch.html").render(auth=auth, here=here(request), **watch)
        html = _splice(html, WATCH_SLOT, forms.encode())
    body, etag = personalise(env, request, auth, html, etag)
    response = etag_response(request, etag, body, media_type=media_type, max_age=max_age)
    return page_cache_headers(response, auth)
