"""Plain ASGI middleware: the request's one pass through the edge.

In order: request id; the edge defences (a URL too long is 414, a control character or
bytes that are not UTF-8 in the query string a 422 naming the parameter, the client's
``read``/``auth``/``write`` rate-limit budget); ``HEAD`` answered as a bodiless ``GET``;
security headers on every answer; an unreachable database turned into the view's last
good answer (marked stale) or a 503 with ``Retry-After``; any other unexpected error
into a 500 carrying the request id; every error answer (4xx/5xx) made ``Cache-Control:
no-store`` and, for an HTML page, ``Vary: Cookie``; the request's pilot put into the
header of an HTML error page (see :meth:`RequestContextMiddleware._pilot_error_page`);
then the access log line and the HTTP metrics.

Written against ASGI directly (not ``BaseHTTPMiddleware``) so streaming responses,
background tasks and context variables behave normally, and so a request pays for one
layer, not one per concern.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hangar_bay.core import stale
from hangar_bay.core.errors import (
    DATABASE_RETRY_AFTER,
    ContentTooLarge,
    HangarError,
    InvalidInput,
    PilotPage,
    UriTooLong,
    error_parts,
    internal_error_detail,
    is_database_unavailable,
)
from hangar_bay.core.logging import get_logger, log_access
from hangar_bay.core.metrics import Metrics
from hangar_bay.core.ratelimit import RateLimiter, client_address, client_key
from hangar_bay.core.request_id import (
    REQUEST_ID_HEADER,
    accept_or_generate,
    reset_request_id,
    set_request_id,
)
from hangar_bay.core.request_state import RequestState, current_request
from hangar_bay.core.text import (
    CONTROL_MESSAGE,
    UTF8_MESSAGE,
    control_character_fields,
    invalid_utf8_fields,
)
from hangar_bay.settings import Environment, Settings

access_log = get_logger("hangar_bay.access")
_REQUEST_ID = REQUEST_ID_HEADER.encode()
_STALE_BANNER = (
    b'<p class="notice stale" role="status">The database is briefly unreachable: this is '
    b"the last copy of this page, from before it went away. It will refresh by itself.</p>"
)
_MAIN_TAG = re.compile(rb"<main\b[^>]*>")


def security_headers(settings: Settings, *, docs: bool = False) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries. ``docs``: the API explorer's variant, which also
    lets styles be set inline (its widgets do so); scripts stay ``'self'`` only."""
    style = "'self' 'unsafe-inline'" if docs else "'self'"
    # Redoc runs its search in a worker it builds from a blob.
    worker = "; worker-src 'self' blob:" if docs else ""
    form_action = f"'self' {settings.sso_base_url.rstrip('/')}"
    csp = (
        "default-src 'self'; "
        "script-src 'self'; "
        f"style-src {style}; "
        "img-src 'self' data: https://images.evetech.net; "
        "connect-src 'self'; "
        "font-src 'self'; "
        "object-src 'none'; "
        "base-uri 'none'; "
        f"form-action {form_action}; "
        "frame-ancestors 'none'"
        f"{worker}"
    )
    headers = [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (
            b"permissions-policy",
            b"camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
        ),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if settings.environment is Environment.PRODUCTION:
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return headers


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        name == b"content-type" and value.startswith(b"text/html") for name, value in headers
    )


def _error_cache_headers(
    headers: list[tuple[bytes, bytes]], *, html: bool
) -> list[tuple[bytes, bytes]]:
    """An error answer's ``headers`` with ``Cache-Control: no-store`` (unless they
    already say ``no-store``) and, for an HTML page, ``Cookie`` in ``Vary``.

    An error is never worth keeping: a shared cache holding a 404 or a 503 would keep
    serving it after the contract arrives or the database is back. An HTML error page
    also differs by cookie (a logged-in pilot's carries their header and CSRF token,
    :meth:`RequestContextMiddleware._pilot_error_page`), so any cache that keeps it
    anyway must key it by cookie, as every other page is."""
    if not any(b"no-store" in value.lower() for name, value in headers if name == b"cache-control"):
        headers = [(name, value) for name, value in headers if name != b"cache-control"]
        headers.append((b"cache-control", b"no-store"))
    if html:
        vary = [value for name, value in headers if name == b"vary"]
        parts = {part.strip().lower() for value in vary for part in value.split(b",")}
        if not parts & {b"cookie", b"*"}:
            headers = [(name, value) for name, value in headers if name != b"vary"]
            headers.append((b"vary", b", ".join([*vary, b"Cookie"])))
    return headers


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    # Unmatched paths are grouped so a scanner cannot blow up the metric's cardinality.
    return path if isinstance(path, str) else "<unmatched>"


# Every body the app takes (a saved search, a watch entry, a form) is well under a
# kilobyte: a larger one is refused (413) before the app reads it, whether it says its
# length (Content-Length) or not (chunked: read here, up to the limit, then replayed).
MAX_BODY = 64 * 1024
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOO_LARGE = f"the request body is larger than {MAX_BODY} bytes"


def _says_length(scope: Scope) -> bool:
    return any(name == b"content-length" for name, _ in scope["headers"])


async def _read_unsized_body(receive: Receive) -> Receive | None:
    """Read a body sent without a length; ``None`` when it passes ``MAX_BODY``, else a
    ``receive`` that hands the app the same body."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away: the app will see it on its own receive
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        settings: Settings,
        limiter: RateLimiter,
        pilot_page: PilotPage | None = None,
    ) -> None:
        self.app = app
        self.pilot_page = pilot_page
        self.metrics = metrics
        self.limiter = limiter
        self.max_url = settings.max_url_length
        self.headers = security_headers(settings)
        self.docs_headers = security_headers(settings, docs=True)
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        incoming = None
        for name, value in scope["headers"]:
            if name == _REQUEST_ID:
                incoming = value.decode("latin-1")
                break
        request_id = accept_or_generate(incoming)
        token = set_request_id(request_id)
        started = time.perf_counter()
        method = scope["method"]
        is_head = method == "HEAD"
        if is_head:
            # Uptime monitors use HEAD: answer it as the GET it stands for, without a body.
            scope = {**scope, "method": "GET"}
        path: str = scope["path"]
        is_docs = path.startswith(("/docs", "/redoc"))
        extra = self.docs_headers if is_docs else self.headers
        limiter = self.limiter
        request = RequestState(
            client=client_key(client_address(scope, limiter.trusted)), limiter=limiter
        )
        state_token = current_request.set(request)
        status = 500
        response_started = False
        body_sent = False
        # Off for the answers that must not touch the database: the edge's refusals and
        # the database-unavailable 503 (the session could not be read anyway).
        pilot_pages = self.pilot_page is not None and not is_head
        held: list[Message] = []

        async def send_wrapped(message: Message) -> None:
            nonlocal status, response_started, body_sent
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((_REQUEST_ID, request_id.encode()))
                headers.extend(extra)
                if request.headers:
                    headers.extend(request.headers)
                if status >= 400:
                    html = _is_html(headers)
                    headers = _error_cache_headers(headers, html=html)
                    if pilot_pages and html:
                        held.append({**message, "headers": headers})  # sent with its body
                        return
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and held:
                held.append(message)
                if not message.get("more_body", False):
                    for part in await self._pilot_error_page(scope, held):
                        await send(part)
                return
            elif message["type"] == "http.response.body" and is_head:
                if body_sent or message.get("more_body", False):
                    return
                body_sent = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        async def answer(
            status_code: int, code: str, detail: Any, headers: list[tuple[str, str]]
        ) -> None:
            # Refusals come before routing; later errors know their route.
            body, raw = error_parts(
                scope, status_code, code, detail, headers, before_routing="route" not in scope
            )
            await send_wrapped(
                {"type": "http.response.start", "status": status_code, "headers": raw}
            )
            await send_wrapped({"type": "http.response.body", "body": body})

        try:
            refusal = await self._edge(scope, request)
            if refusal is not None:
                pilot_pages = False
                await answer(
                    refusal.status_code, refusal.code, refusal.detail, list(refusal.headers.items())
                )
            else:
                if not _says_length(scope) and method in _WITH_BODY:
                    sized = await _read_unsized_body(receive)
                    if sized is None:
                        pilot_pages = False
                        await answer(413, ContentTooLarge.code, TOO_LARGE, [])
                        return
                    receive = sized
                await self.app(scope, receive, send_wrapped)
        except Exception as exc:
            if response_started:
                access_log.exception("unhandled_error", exc_type=type(exc).__name__)
                raise
            if is_database_unavailable(exc):
                served = await self._serve_stale(scope, request, send_wrapped)
                access_log.warning(
                    "database_unavailable",
                    error=f"{type(exc).__name__}: {exc}"[:300],
                    served="stale" if served else "503",
                )
                self.metrics.database_unavailable.labels("stale" if served else "503").inc()
                if not served:
                    pilot_pages = False
                    await answer(
                        503,
                        "database_unavailable",
                        "the database is unreachable; try again shortly",
                        [("Retry-After", str(DATABASE_RETRY_AFTER))],
                    )
            else:
                # Handled here, not by Starlette's outermost handler, so the 500 still
                # carries the request id and the log line is bound to it.
                access_log.exception("unhandled_error", exc_type=type(exc).__name__)
                await answer(500, "internal_error", internal_error_detail(), [])
        finally:
            duration = time.perf_counter() - started
            route = _route_template(scope)
            self._count(method, route, status, duration)
            log_access(method, route, path, status, round(duration * 1000, 2))
            current_request.reset(state_token)
            reset_request_id(token)

    async def _pilot_error_page(self, scope: Scope, held: list[Message]) -> list[Message]:
        """An HTML error page (``held``: its start message, then its body) as the
        request's pilot sees it: their name in the header, as on every other page, and
        ``Cache-Control: private, no-store`` so no shared cache keeps it. The page as it
        was for a visitor, or when the session cannot be read (the pilot then shows as
        logged out). Pages are rendered, and anything cached, as a visitor sees them."""
        start, parts = held[0], held[1:]
        assert self.pilot_page is not None
        body = b"".join(part.get("body", b"") for part in parts)
        personal = await self.pilot_page(scope, body)
        if personal is None:
            return held
        # The visitor's page already says Vary: Cookie (_error_cache_headers).
        headers = [
            (name, value)
            for name, value in start["headers"]
            if name not in (b"content-length", b"cache-control")
        ]
        headers += [
            (b"content-length", str(len(personal)).encode()),
            (b"cache-control", b"private, no-store"),
        ]
        return [
            {**start, "headers": headers},
            {"type": "http.response.body", "body": personal, "more_body": False},
        ]

    def _count(self, method: str, route: str, status: int, duration: float) -> None:
        # The labelled children are looked up once per (method, route, status): labels()
        # takes a lock and builds a key every time.
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.metrics.http_requests.labels(method, route, str(status)),
                self.metrics.http_latency.labels(method, route),
            )
            if len(self._children) < 10_000:
                self._children[key] = children
        children[0].inc()
        children[1].observe(duration)

    async def _edge(self, scope: Scope, request: RequestState) -> HangarError | None:
        """The refusal for a request the edge defences stop, or None to let it through."""
        query: bytes = scope["query_string"]
        if len(scope["path"]) + len(query) > self.max_url:
            return UriTooLong(f"the URL is longer than {self.max_url} characters")
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > MAX_BODY):
                return ContentTooLarge(TOO_LARGE)
        problems = [
            {"loc": ["query", name], "msg": f"Value {message}", "type": "value_error"}
            for message, names in (
                (CONTROL_MESSAGE, control_character_fields(query)),
                (UTF8_MESSAGE, invalid_utf8_fields(query)),
            )
            for name in names
        ]
        if problems:
            return InvalidInput(problems)
        limiter = self.limiter
        if not limiter.enabled:
            return None
        budget = limiter.request_budget(scope["method"], scope["path"])
        tokens = await limiter.take(budget, request.client)
        if not tokens.allowed:
            return limiter.refused(budget, tokens)
        if budget is not limiter.read:
            request.headers = budget.headers(tokens)
        return None

    async def _serve_stale(self, scope: Scope, request: RequestState, send: Send) -> bool:
        """Answer with the view's last good copy; False when there is none to serve."""
        if request.cache_key is None or scope["method"] != "GET":
            return False
        cache = scope.get("state", {}).get("cache")
        if cache is None:
            return False
        kept = await stale.recall(cache, request.cache_key)
        if kept is None:
            return False
        etag, body, age, media_type = kept
        if media_type is not None:
            media = media_type.encode()
        elif body.lstrip()[:1] == b"<":
            body = _MAIN_TAG.sub(lambda m: m.group(0) + _STALE_BANNER, body, count=1)
            media = b"text/html; charset=utf-8"
        else:
            media = b"application/json"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", media),
                    (b"content-length", str(len(body)).encode()),
                    (b"etag", etag.encode()),
                    (b"cache-control", b"no-cache"),
                    (b"age", str(age).encode()),
                    (b"warning", b'110 - "Response is Stale"'),
                    (b"retry-after", str(DATABASE_RETRY_AFTER).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return True
