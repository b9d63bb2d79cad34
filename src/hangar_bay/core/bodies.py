"""Request bodies read strictly, for every route of a router built with
``route_class=BodyRoute``: what a client sent is taken as it is or refused, never
quietly changed.

* A form (``application/x-www-form-urlencoded``) whose field name or value is not
  UTF-8 once its percent-escapes are undone (``name=%FF%FE``): 422 naming the field.
  Starlette's parser would store it with U+FFFD replacement characters, and read raw
  (unescaped) non-ASCII bytes as Latin-1.
* A JSON body with an object that has one key twice (``{"name": "a", "name": "b"}``):
  422 naming the key. ``json.loads`` would keep the last copy.

Both answer as every validation error does: ``{"error": "validation_error", "detail":
[{"loc": ["body", <name>], "msg": ..., "type": ...}]}`` for the API, the friendly HTML
page naming the field for pages. The checks run when the body is read: for JSON before
the route's dependencies, as FastAPI's own "JSON decode error"; for forms at the first
read, which the form routes do after their session check (a visitor still gets the 401).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import unquote_to_bytes

import python_multipart
from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from hangar_bay.core.params import REPEATED_TYPE

URLENCODED = "application/x-www-form-urlencoded"
NOT_UTF8_MESSAGE = "Value is not valid UTF-8 text"
REPEATED_KEY_MESSAGE = "given more than once; a key may appear once in an object"
NOT_UTF8_TYPE = "unicode_decode"


class InvalidBody(HTTPException):
    """A 422 naming the body's fields (``detail``: FastAPI-style error items).

    An ``HTTPException``: FastAPI turns any other exception raised while it reads a body
    into a 400 "There was an error parsing the body"; the error handlers render a 422
    as ``validation_error``."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(status_code=422)
        # Starlette types ``detail`` as text; the handlers render these error items as
        # they render FastAPI's validation errors.
        self.detail: Any = errors


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _RepeatedKey(key)
        obj[key] = value
    return obj


def loads_unique(body: bytes) -> Any:
    """``body`` as JSON, as ``json.loads`` reads it, except that an object with a key
    twice (at any depth) raises :class:`InvalidBody` naming the key
    (``loc`` ``["body", key]``). Malformed JSON raises ``json.JSONDecodeError``."""
    try:
        return json.loads(body, object_pairs_hook=_unique_keys)
    except _RepeatedKey as exc:
        raise InvalidBody(
            [
                {
                    "loc": ["body", exc.key],
                    "msg": REPEATED_KEY_MESSAGE,
                    "type": REPEATED_TYPE,
                }
            ]
        ) from None


def _text(raw: bytes) -> str | None:
    """A form field's name or value: ``+`` is a space, percent-escapes undone, then
    UTF-8; ``None`` when the bytes are not UTF-8."""
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return None


def parse_urlencoded(body: bytes, *, max_fields: int | float = 1000) -> FormData:
    """A urlencoded form body as Starlette's ``FormData`` (fields split as Starlette
    splits them), every name and value decoded as UTF-8. Raises :class:`InvalidBody`
    naming each field whose name or value is not UTF-8, or (400) past ``max_fields``."""
    items: list[tuple[str, str | Any]] = []
    bad: list[str] = []
    name = bytearray()
    value = bytearray()

    def on_field_start() -> None:
        name.clear()
        value.clear()

    def on_field_name(data: bytes, start: int, end: int) -> None:
        name.extend(data[start:end])

    def on_field_data(data: bytes, start: int, end: int) -> None:
        value.extend(data[start:end])

    def on_field_end() -> None:
        if len(items) + len(bad) >= max_fields:
            raise HTTPException(400, f"Too many fields. Maximum number of fields is {max_fields}.")
        key = _text(bytes(name))
        text = _text(bytes(value))
        if key is None or text is None:
            # A name that is not UTF-8 is named as best it can be.
            shown = unquote_to_bytes(bytes(name)).decode(errors="replace")
            bad.append(key if key is not None else shown)
        else:
            items.append((key, text))

    parser = python_multipart.QuerystringParser(
        {
            "on_field_start": on_field_start,
            "on_field_name": on_field_name,
            "on_field_data": on_field_data,
            "on_field_end": on_field_end,
        }
    )
    parser.write(body)
    parser.finalize()
    if bad:
        raise InvalidBody(
            [
                {"loc": ["body", field], "msg": NOT_UTF8_MESSAGE, "type": NOT_UTF8_TYPE}
                for field in dict.fromkeys(bad)
            ]
        )
    return FormData(items)


class StrictBodyRequest(Request):
    """A request whose ``json()`` refuses repeated keys and whose ``form()`` refuses a
    urlencoded field that is not UTF-8 (multipart forms are left to Starlette)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_unique(await self.body())
        return self._json

    async def _get_form(
        self,
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> FormData:
        if self._form is None:
            content_type = self.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type == URLENCODED:
                self._form = parse_urlencoded(await self.body(), max_fields=max_fields)
        return await super()._get_form(
            max_files=max_files, max_fields=max_fields, max_part_size=max_part_size
        )


class BodyRoute(APIRoute):
    """The route class of every router whose routes read a body: the endpoint, its
    dependencies and FastAPI's body parsing see a :class:`StrictBodyRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictBodyRequest(request.scope, request.receive))

        return strict
