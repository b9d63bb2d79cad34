"""Error answers every API route can give, for the OpenAPI document.

The edge (core/middleware.py) answers some requests before any route runs: an overlong
URL (414), a client over its rate limit (429, with ``Retry-After``), the database
unreachable (503, with ``Retry-After``). The ``/api/v1/me`` routes add the session and
CSRF answers. Declaring them keeps the document and the behaviour in agreement, which
the schemathesis run in CI (``.ci/fuzz``) checks.
"""

from __future__ import annotations

from typing import Any

_ERROR_BODY = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"error": {"type": "string"}, "detail": {}},
            "required": ["error"],
        }
    }
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _ERROR_BODY}


EDGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    414: _error("The URL is too long (`uri_too_long`)."),
    429: _error("Too many requests from this client; `Retry-After` says when to retry."),
    503: _error("The database is unreachable; `Retry-After` says when to retry."),
}

ME_RESPONSES: dict[int | str, dict[str, Any]] = {
    **EDGE_RESPONSES,
    400: _error("The body is not JSON, or the action needs something set first (`bad_request`)."),
    401: _error("No valid session (`unauthorized`): log in at `/auth/login`."),
    403: _error("Missing or wrong CSRF token (`csrf`) on a state-changing request."),
    404: _error("No such row among this pilot's own (`not_found`)."),
}
