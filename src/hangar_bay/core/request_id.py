"""The request id: taken from a well-formed ``X-Request-ID`` or generated, per request."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar

REQUEST_ID_HEADER = "x-request-id"
# Accept what proxies and clients commonly send; refuse anything that could forge log lines.
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def accept_or_generate(candidate: str | None) -> str:
    if candidate and _WELL_FORMED.match(candidate):
        return candidate
    # 128 random bits as 32 hex digits, like uuid4().hex without building a UUID.
    return os.urandom(16).hex()


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> object:
    return _request_id.set(value)


def reset_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]
