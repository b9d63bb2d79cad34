"""One exception hierarchy for everything the app refuses on purpose, one renderer for all.

API errors are JSON ``{"error": "<code>", "detail": ...}``. Validation errors stay
422 with the offending fields. Anything unexpected becomes a 500 that carries the
request id and nothing internal; the traceback goes to the log, not to the client.

Pages get the same status codes as a friendly HTML page instead (:func:`wants_html`
decides): the web UI's routes, and any other path outside the machine-facing prefixes
when a browser asks. The HTML itself comes from a renderer the app registers
(:func:`set_html_renderer`), so this module does not depend on the web package.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from hangar_bay.core.request_id import current_request_id

JSON_MEDIA = "application/json"
HTML_MEDIA = "text/html; charset=utf-8"


class HangarError(Exception):
    """Base of every error the app raises deliberately."""

    status_code = 500
    code = "internal_error"

    def __init__(self, detail: Any = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class NotFound(HangarError):
    status_code = 404
    code = "not_found"


class BadRequest(HangarError):
    status_code = 400
    code = "bad_request"


class Unauthorized(HangarError):
    status_code = 401
    code = "unauthorized"


class Forbidden(HangarError):
    status_code = 403
    code = "forbidden"


class Conflict(HangarError):
    status_code = 409
    code = "conflict"


class ContentTooLarge(HangarError):
    status_code = 413
    code = "content_too_large"


class UriTooLong(HangarError):
    status_code = 414
    code = "uri_too_long"


class InvalidInput(HangarError):
    """A 422 raised outside FastAPI's validation; ``detail`` lists the fields like it."""

    status_code = 422
    code = "validation_error"


class TooManyRequests(HangarError):
    status_code = 429
    code = "too_many_requests"


class ServiceUnavailable(HangarError):
    status_code = 503
    code = "service_unavailable"


# Seconds a client is asked to wait before retrying while the database is unreachable.
DATABASE_RETRY_AFTER = 5


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached; raised for any connection-level failure."""

    code = "database_unavailable"


def error_body(code: str, detail: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail}


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    # core.bodies.InvalidBody: a body refused while FastAPI reads it, fields named as
    # in every other validation error.
    422: "validation_error",
    429: "too_many_requests",
}


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means "the database cannot be reached" rather than a bug.

    Covers a refused or dropped connection (raised bare by asyncpg at connect time), a
    pool or connect timeout, a connection SQLAlchemy invalidated, and SQLite's "unable
    to open database file". Query errors (bad SQL, constraint violations) are not.
    """
    from sqlalchemy import exc as sa

    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror | sa.TimeoutError):
        return True
    if isinstance(exc, sa.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa.InterfaceError):
            return True
        if isinstance(exc, sa.OperationalError):
            return True
        return is_database_unavailable(exc.orig) if exc.orig is not None else False
    try:
        import asyncpg  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - asyncpg ships with the app
        return False
    return isinstance(
        exc,
        asyncpg.PostgresConnectionError
        | asyncpg.exceptions.CannotConnectNowError
        | asyncpg.exceptions.TooManyConnectionsError
        | asyncpg.InterfaceError,
    )


def error_line(exc: BaseException, limit: int = 200) -> str:
    """``"<ExceptionType>: <first line of its message>"``, cut to ``limit`` characters.

    For log lines and operator messages that name a failure without its traceback (a
    lost database is a condition to report, not a bug to debug)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:limit]


def log_failure(logger: Any, event: str, exc: BaseException, **fields: Any) -> None:
    """Log a background task's failure: one warning line (``database_unavailable``
    and :func:`error_line`) when the database is unreachable, which repeats every cycle
    of an outage and needs no traceback; the full traceback for anything else."""
    if is_database_unavailable(exc):
        logger.warning(event, reason="database_unavailable", error=error_line(exc), **fields)
    else:
        logger.error(event, exc_info=exc, **fields)


# --- choosing and rendering the format ---------------------------------------------------

# Machine-facing paths answer errors in JSON whoever asks.
JSON_PREFIXES = (
    "/api/",
    "/health",
    "/ready",
    "/metrics",
    "/openapi.json",
    "/feeds/",
    "/static/",
    "/docs",
    "/redoc",
)


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return b""


def wants_html(scope: Scope, *, before_routing: bool = False) -> bool:
    """HTML for pages and for browsers elsewhere; JSON for the API and for programs.

    A page is a route left out of the OpenAPI document (the web UI's routes are); on
    any other path outside the machine-facing prefixes, an ``Accept`` naming
    ``text/html`` (a browser) decides. ``before_routing``: the middleware refuses the
    request before any route is known; every path outside those prefixes is then
    taken for a page.
    """
    path: str = scope.get("path", "")
    if path.startswith(JSON_PREFIXES):
        return False
    if before_routing:
        return True
    route = scope.get("route")
    if route is not None and getattr(route, "include_in_schema", True) is False:
        return True
    return b"text/html" in _header(scope, b"accept")


HtmlRenderer = Callable[[int, str, list[str]], bytes]
# An HTML error page as a visitor sees it -> the same page with the request's pilot in
# its header, or None (a visitor, or a session that cannot be read). Never raises.
PilotPage = Callable[[Scope, bytes], Awaitable[bytes | None]]
_html_renderer: HtmlRenderer | None = None

_TITLES = {
    400: "That request could not be understood",
    401: "Please log in",
    403: "That is not yours to see",
    404: "Page not found",
    405: "That method is not allowed here",
    414: "That address is too long",
    422: "These parameters are not valid",
    429: "Too many requests: please slow down",
    500: "Something went wrong on our side",
    503: "Hangar Bay is briefly unavailable",
}


def set_html_renderer(renderer: HtmlRenderer | None) -> None:
    """Register the function that turns (status, title, problems) into an HTML page."""
    global _html_renderer
    _html_renderer = renderer


def _problems(detail: Any) -> list[str]:
    if isinstance(detail, list):
        problems = []
        for item in detail:
            if isinstance(item, dict) and "loc" in item:
                # Only the leading location goes: a field may be called "query" itself.
                loc = [str(part) for part in item["loc"]]
                if loc and loc[0] in ("query", "body", "path", "form"):
                    loc = loc[1:]
                problems.append(f"{'.'.join(loc) or 'request'}: {item.get('msg', 'invalid')}")
            else:
                problems.append(str(item))
        return problems
    if isinstance(detail, dict):
        if "request_id" in detail:
            return [f"Request id {detail['request_id']} (quote it if you report this)."]
        return [f"{key}: {value}" for key, value in detail.items()]
    return [str(detail)] if detail else []


def error_parts(
    scope: Scope,
    status: int,
    code: str,
    detail: Any,
    headers: Iterable[tuple[str, str]] = (),
    *,
    before_routing: bool = False,
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The body and headers of an error answer in the format ``scope`` calls for."""
    renderer = _html_renderer
    if renderer is not None and wants_html(scope, before_routing=before_routing):
        title = _TITLES.get(status, "Something went wrong")
        body = renderer(status, title, _problems(detail))
        media = HTML_MEDIA
    else:
        body = orjson.dumps(error_body(code, detail))
        media = JSON_MEDIA
    raw = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]
    raw.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers)
    return body, raw


def error_response(
    scope: Scope, status: int, code: str, detail: Any, headers: Mapping[str, str] | None = None
) -> Response:
    body, raw = error_parts(scope, status, code, detail, (headers or {}).items())
    response = Response(body, status_code=status)
    response.raw_headers = raw
    return response


def internal_error_detail() -> dict[str, Any]:
    return {"request_id": current_request_id()}


async def _hangar_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HangarError)
    return error_response(request.scope, exc.status_code, exc.code, exc.detail, exc.headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(scope: Scope) -> str:
    """Every method some route at this path accepts. Starlette's 405 names only the
    first route that matched the path, but GET and POST of one URL are often two routes
    (and included routers hide theirs), so ask each route about each method."""
    routes = getattr(getattr(scope.get("app"), "router", None), "routes", [])
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = exc.headers
    if exc.status_code == 405:
        allowed = _allowed_methods(request.scope)
        if allowed:
            headers = {**(headers or {}), "Allow": allowed}
    return error_response(request.scope, exc.status_code, code, exc.detail, headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]} for err in exc.errors()
    ]
    return error_response(request.scope, 422, "validation_error", fields)


def install_error_handlers(app: FastAPI, html: HtmlRenderer | None = None) -> None:
    set_html_renderer(html)
    app.add_exception_handler(HangarError, _hangar_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # Unexpected exceptions (and an unreachable database) are answered by
    # RequestContextMiddleware, which still knows the request id when they surface.
