"""One exception hierarchy for everything the app refuses on purpose, one handler for all.

API errors are JSON ``{"error": "<code>", "detail": ...}``. Validation errors stay
422 with the offending fields. Anything unexpected becomes a 500 that carries the
request id and nothing internal; the traceback goes to the log, not to the client.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class HangarError(Exception):
    """Base of every error the app raises deliberately."""

    status_code = 500
    code = "internal_error"

    def __init__(self, detail: Any = None) -> None:
        super().__init__(detail)
        self.detail = detail


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


class ServiceUnavailable(HangarError):
    status_code = 503
    code = "service_unavailable"


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
    415: "unsupported_media_type",
    429: "too_many_requests",
}


async def _hangar_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HangarError)
    return JSONResponse(error_body(exc.code, exc.detail), status_code=exc.status_code)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, exc.detail), status_code=exc.status_code, headers=exc.headers
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]} for err in exc.errors()
    ]
    return JSONResponse(error_body("validation_error", fields), status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HangarError, _hangar_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # Unexpected exceptions are turned into a 500 by RequestContextMiddleware, which
    # still knows the request id when they surface.
