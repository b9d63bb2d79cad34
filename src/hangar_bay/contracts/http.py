"""HTTP caching for browse responses: a strong ETag on the body and a short max-age.

A cached response is stored *packed*: its ETag, a newline, then the body bytes
(:func:`pack`). A cache hit is then bytes out: no re-serialisation and no re-hashing,
and a client revalidating an unchanged view gets a 304 decided from the ETag alone.
"""

from __future__ import annotations

import hashlib

from fastapi import Request, Response

LIST_MAX_AGE = 30
DETAIL_MAX_AGE = 60


def etag_for(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def pack(body: bytes, etag: str | None = None) -> bytes:
    """``body`` with its ETag in front, as it is stored in the cache."""
    return (etag or etag_for(body)).encode() + b"\n" + body


def unpack(entry: bytes) -> tuple[str, bytes] | None:
    """(ETag, body) of a packed entry; ``None`` when it is not one (a foreign value)."""
    etag, sep, body = entry.partition(b"\n")
    if not sep or not etag.startswith(b'"') or not etag.endswith(b'"'):
        return None
    return etag.decode("ascii", "replace"), body


def _matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return etag in candidates or "*" in candidates


def etag_response(
    request: Request, etag: str, body: bytes, *, media_type: str, max_age: int
) -> Response:
    """A 200 with ``body``, or a bodiless 304 when the client already holds ``etag``."""
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if _matches(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def cached_response(
    request: Request, body: bytes, *, media_type: str, max_age: int, status_code: int = 200
) -> Response:
    if status_code == 200:
        return etag_response(request, etag_for(body), body, media_type=media_type, max_age=max_age)
    headers = {"ETag": etag_for(body), "Cache-Control": f"public, max-age={max_age}"}
    return Response(body, status_code=status_code, media_type=media_type, headers=headers)
