"""Request and response bodies of the accounts API (``/api/v1/me``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from hangar_bay.contracts.schemas import EveId, Isk
from hangar_bay.core.text import SINGLE_LINE, SINGLE_LINE_SCHEMA

MAX_SEARCHES = 100
MAX_WATCH_ENTRIES = 500
MAX_QUERY_LENGTH = 2000


# As core.text.SafeText: a control character (a NUL, which PostgreSQL refuses) is a 422
# naming the field, not a 500 or a stored oddity. Spelt out here because the length
# limits must come before the check (after it, pydantic skips min_length and calls
# characters "items"). Notes are one line (the forms' <input>).
SAFE_TEXT = SINGLE_LINE
SAFE_PATTERN = SINGLE_LINE_SCHEMA
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
    SAFE_TEXT,
    SAFE_PATTERN,
]
Note = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), SAFE_TEXT, SAFE_PATTERN
]
Query = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_QUERY_LENGTH),
    SAFE_TEXT,
    SAFE_PATTERN,
]


def _not_bool(value: object) -> object:
    # JSON true is not the number 1: said in words rather than pydantic's "valid integer".
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


Id = Annotated[EveId, BeforeValidator(_not_bool)]
Price = Annotated[Isk, BeforeValidator(_not_bool)]

# The JSON bodies are strict: an id is a JSON integer (not "587", 587.5 or 587.0, not
# true), a price a JSON number (not "60000000"), a switch a JSON boolean, as the OpenAPI
# document says; lax parsing would quietly turn what a client got wrong into some other
# value. The pages' forms, whose fields are all text, validate the same models with
# strict=False (accounts/pages.py).
STRICT_BODY = ConfigDict(extra="forbid", strict=True)


class Me(BaseModel):
    character_id: int
    character_name: str
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every unsafe request.")


class SearchIn(BaseModel):
    """A browse URL to keep. ``query`` is its query string (with or without a leading
    ``?`` or ``/?``); it is validated like the browse page's and stored normalised."""

    model_config = STRICT_BODY

    name: Name
    query: Query = Field(description='The browse query string; "" means every contract.')
    alerts: StrictBool = Field(
        False,
        description="Alert on new matches; needs a query that filters something "
        "(422 naming alerts otherwise).",
    )


class SearchPatch(BaseModel):
    """Any subset of a saved search's fields (none of them may be ``null``)."""

    model_config = STRICT_BODY

    name: Name | None = None
    query: Query | None = None
    alerts: StrictBool | None = None

    @field_validator("name", "query", "alerts")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only a value sent explicitly is validated: leaving a field out keeps it.
        if value is None:
            raise ValueError("must not be null; leave the field out to keep it")
        return value


class SearchOut(BaseModel):
    id: int
    name: str
    query: str = Field(description="The normalised browse query string (no '?').")
    url: str = Field(description="The browse page of this search.")
    alerts: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    total: int = Field(description="Live contracts matching now.")


class SearchList(BaseModel):
    items: list[SearchOut]
    limit: int = MAX_SEARCHES


class WatchIn(BaseModel):
    """A ship type to watch, optionally under a price (ISK) and in one region."""

    model_config = STRICT_BODY

    type_id: Id
    max_price: Price | None = None
    note: Note | None = None
    region_id: Id | None = None


class WatchPatch(BaseModel):
    """Any subset of a watch entry's fields; ``null`` clears max_price, note or region."""

    model_config = STRICT_BODY

    type_id: Id | None = None
    max_price: Price | None = None
    note: Note | None = None
    region_id: Id | None = None


class WatchOut(BaseModel):
    id: int
    type_id: int
    type_name: str
    max_price: float | None = Field(description="ISK; null means any price.")
    region_id: int | None
    region_name: str | None
    note: str | None
    url: str = Field(description="The browse page of the matching contracts.")
    matches: int = Field(description="Live contracts offering this type within the limits.")
    created_at: dt.datetime
    updated_at: dt.datetime


class WatchList(BaseModel):
    items: list[WatchOut]
    limit: int = MAX_WATCH_ENTRIES
