"""Untrusted text: refuse control characters before they reach a query or a template.

PostgreSQL refuses a NUL byte in text (the driver raises, which used to surface as a
500), and no other C0 control character or DEL belongs in a search box or a form field.
Two reusable pieces:

* :data:`SafeText` / :data:`SafeMultilineText`: pydantic string types for schemas and
  forms; a bad value is a validation error naming the field, and OpenAPI documents the
  rule as a ``pattern`` so generated clients (and schemathesis) know it.
* :func:`control_character_fields` and :func:`invalid_utf8_fields`: the query-string
  guards the middleware runs on every request, so a parameter nobody declared with
  these types is covered too.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import parse_qsl

from pydantic import AfterValidator, Field

# C0 controls, DEL and the C1 controls (U+0080-U+009F: NEL, CSI, ...). Single-line text
# refuses them all and Unicode's line and paragraph separators too; multi-line text
# allows tab, line feed and carriage return.
SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
MULTILINE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
_SINGLE_LINE_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MULTILINE_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_MESSAGE = "must not contain control characters (such as NUL)"

# A percent-escape of a C0 control or DEL, or such a byte sent raw.
_ESCAPED_CONTROL = re.compile(rb"%(?:[01][0-9a-fA-F]|7[fF])|[\x00-\x1f\x7f]")
# A percent-escape of a byte from 0x80 up: with a raw such byte, the only way a query
# string can hold text that is not UTF-8 (ASCII alone always is).
_ESCAPED_HIGH_BYTE = re.compile(rb"%[89a-fA-F][0-9a-fA-F]")
UTF8_MESSAGE = "must be UTF-8 text: its bytes (percent-escaped or raw) are not valid UTF-8"


def _single_line(value: str) -> str:
    if _SINGLE_LINE_BAD.search(value):
        raise ValueError(CONTROL_MESSAGE)
    return value


def _multiline(value: str) -> str:
    if _MULTILINE_BAD.search(value):
        raise ValueError(CONTROL_MESSAGE)
    return value


# The two halves of SafeText, for types that need length limits: write
# ``Annotated[str, StringConstraints(max_length=N), SINGLE_LINE, SINGLE_LINE_SCHEMA]``.
# A limit given after the check (``SafeText`` with ``Field(max_length=N)``) is applied by
# pydantic as a generic length check whose error speaks of "items"; placed before it,
# it stays a string limit ("at most N characters") and runs first.
SINGLE_LINE = AfterValidator(_single_line)
SINGLE_LINE_SCHEMA = Field(json_schema_extra={"pattern": SINGLE_LINE_PATTERN})

SafeText = Annotated[str, SINGLE_LINE, SINGLE_LINE_SCHEMA]
"""A one-line text value (search words, names): no control characters at all. Without
length limits: see :data:`SINGLE_LINE` for a limited one."""

SafeMultilineText = Annotated[
    str, AfterValidator(_multiline), Field(json_schema_extra={"pattern": MULTILINE_PATTERN})
]
"""Free text from a textarea (notes): tab and line breaks allowed, other controls not."""


def has_control_characters(value: str) -> bool:
    return _SINGLE_LINE_BAD.search(value) is not None


def control_character_fields(query_string: bytes) -> list[str]:
    """Names of query parameters whose name or value holds a control character.

    Cheap when there is none (one regular-expression scan of the raw bytes), which is
    every ordinary request. A parameter whose *name* is bad is reported by its printable
    form, so the answer never echoes the control character back.
    """
    if not _ESCAPED_CONTROL.search(query_string):
        return []
    names: list[str] = []
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
    for name, value in pairs:
        if _SINGLE_LINE_BAD.search(value) or _SINGLE_LINE_BAD.search(name):
            printable = _SINGLE_LINE_BAD.sub("?", name)[:64]
            if printable not in names:
                names.append(printable)
    return names


def invalid_utf8_fields(query_string: bytes) -> list[str]:
    """Names of query parameters whose name or value, once percent-decoded, is not
    valid UTF-8 (``q=%FF%FE``, a cut sequence such as ``q=%C3``, an overlong or
    surrogate one). Starlette would decode them to U+FFFD and search for that.

    Cheap for every ASCII-only query string, escapes of ASCII bytes included; only
    one with an escape of a byte from 0x80 up (``%C3%A9``, Cyrillic...) or a raw such
    byte is decoded pair by pair. A parameter whose *name* is bad is reported with
    U+FFFD for the bad bytes and ``?`` for control characters.
    """
    # isascii and ``in`` run in C: this runs on every request, cached ones included.
    if query_string.isascii() and (
        b"%" not in query_string or not _ESCAPED_HIGH_BYTE.search(query_string)
    ):
        return []
    names: list[str] = []
    # Latin-1 maps byte n to U+00n both ways, so each pair comes back as its bytes.
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    for name, value in pairs:
        raw_name = name.encode("latin-1")
        try:
            raw_name.decode("utf-8")
            value.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            printable = _SINGLE_LINE_BAD.sub("?", raw_name.decode("utf-8", "replace"))[:64]
            if printable not in names:
                names.append(printable)
    return names
