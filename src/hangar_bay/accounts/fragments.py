"""Per-pilot pieces of otherwise shared pages.

Pages carry HTML-comment slots (:data:`ACCOUNT_SLOT` in the header,
:data:`SAVE_SLOT` on the browse page) and are cached without anything personal in them.
Each response then gets its pilot's fragments (name, portrait, logout form, "Save this
search" with the CSRF token, or a login link for visitors) put into the slots. The ETag
is computed over the final body, and a logged-in pilot's page
is ``private, no-cache`` so no shared cache ever keeps it. ``Vary: Cookie`` makes
browsers fetch again after a login or logout instead of showing the other state.
"""

from __future__ import annotations

from fastapi import Request, Response
from jinja2 import Environment

from hangar_bay.accounts.deps import Auth
from hangar_bay.contracts.http import etag_for

ACCOUNT_SLOT = b"<!--hb:account-->"
SAVE_SLOT = b"<!--hb:save-search-->"


def here(request: Request) -> str:
    """This page's path and query: where a login started from here should return."""
    query = request.url.query
    return request.url.path + ("?" + query if query else "")


def personalise(
    env: Environment,
    request: Request,
    auth: Auth | None,
    body: bytes,
    etag: str,
    *,
    save_query: str | None = None,
    single_type: tuple[int, str] | None = None,
) -> tuple[bytes, str]:
    """``body`` with its slots filled for this request, and the ETag to send (of the
    final body: pages differ per pilot, and a visitor's page per login link)."""
    macros = env.get_template("_account.html").module
    next_path = here(request)
    parts = {ACCOUNT_SLOT: str(macros.header(auth, next_path)).encode()}  # type: ignore[attr-defined]
    if save_query is not None:
        parts[SAVE_SLOT] = str(
            macros.save_search(auth, save_query, next_path, single_type)  # type: ignore[attr-defined]
        ).encode()
    changed = False
    for slot, fragment in parts.items():
        if slot in body:
            body = body.replace(slot, fragment, 1)
            changed = True
    return body, etag_for(body) if changed else etag


def page_cache_headers(response: Response, auth: Auth | None) -> Response:
    """A pilot's page is theirs alone; a visitor's keeps its public caching."""
    response.headers["Vary"] = "Cookie"
    if auth is not None:
        response.headers["Cache-Control"] = "private, no-cache"
    return response
