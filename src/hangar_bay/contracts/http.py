"""HTTP caching for browse responses: a strong ETag on the body and a short max-age.

The body is already in hand (often straight from the cache), so hashing it is cheap
and a client revalidating an unchanged view gets a 304 with no body at all.
"""

from __future__ import annotations

import hashlib

from fastapi import Request, Response

LIST_MAX_AGE = 30
DETAIL_MAX_AGE = 60


def etag_for(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return etag in candidates or "*" in candidates


def cached_response(
    request: Request, body: bytes, *, media_type: str, max_age: int, status_code: int = 200
) -> Response:
    etag = etag_for(body)
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if status_code == 200 and _matches(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, status_code=status_code, media_type=media_type, headers=headers)
