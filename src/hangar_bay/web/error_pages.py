"""The friendly HTML error page, for :mod:`hangar_bay.core.errors` to render, and the
page routes' answer to an id in their path that is not a number.

Pages (and browsers on unknown paths) get this instead of the API's JSON error; the
status code is the same either way. Every error page is rendered as a visitor sees it;
the request middleware then puts the pilot's header in (:func:`with_pilot`).
"""

from __future__ import annotations

from fastapi import Request, Response
from starlette.types import Scope

from hangar_bay.accounts import fragments
from hangar_bay.contracts.schemas import MAX_ID
from hangar_bay.core.errors import error_line
from hangar_bay.core.logging import get_logger
from hangar_bay.web.router import error_page, templates

log = get_logger(__name__)


def render_error_page(status_code: int, title: str, problems: list[str]) -> bytes:
    """A complete HTML page naming what went wrong; ``problems`` are shown as a list."""
    template = templates.get_template("error.html")
    return template.render(
        title=title, problems=problems, back="/", status_code=status_code
    ).encode()


async def with_pilot(scope: Scope, body: bytes) -> bytes | None:
    """The error page ``body`` (HTML, as a visitor sees it) with the header of the
    request's pilot (name, portrait, logout form), as every other page shows it; the
    request middleware's :data:`~hangar_bay.core.errors.PilotPage`.

    ``None`` for a visitor (no session cookie: no database read) and when the session
    cannot be read (the database is down or the client's ``query`` budget is spent,
    say): the page is then served as it is, logged out, never turned into a 500."""
    request = Request(scope)
    try:
        auth = await fragments.page_auth(request)
    except Exception as exc:
        log.info("error_page_session_unreadable", error=error_line(exc))
        return None
    if auth is None:
        return None
    personal, _ = fragments.personalise(templates, request, auth, body, "")
    return personal


def path_id(raw: str) -> int | None:
    """A row id taken from a page's path as text: the number when it is a whole number
    from 1 to 2**63 - 1 (a database bigint, the API's bound), else ``None``."""
    if not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def bad_path_id(request: Request, field: str, raw: str, title: str, back: str = "/") -> Response:
    """The 422 page for a path id that is not a number (where the JSON API answers its
    own 422), naming the field as ``GET /contracts/abc`` does."""
    problem = f"{field}: expected a positive whole number, got {raw[:40]!r}"
    return error_page(request, 422, title, [problem], back)
