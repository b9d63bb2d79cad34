"""Request and response bodies of the accounts API (``/api/v1/me``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from hangar_bay.contracts.schemas import EveId, Isk
from hangar_bay.core.text import CONTROL_MESSAGE, SINGLE_LINE_PATTERN, has_control_characters

MAX_SEARCHES = 100
MAX_WATCH_ENTRIES = 500
MAX_QUERY_LENGTH = 2000


def _no_controls(value: str) -> str:
    if has_control_characters(value):
        raise ValueError(CONTROL_MESSAGE)
    return value


# As core.text.SafeText: a control character (a NUL, which PostgreSQL refuses) is a 422
# naming the field, not a 500 or a stored oddity. Spelt out here because the length
# limits must come before the check (after it, pydantic skips min_length). Notes are
# one line (the forms' <input>).
SAFE_TEXT = AfterValidator(_no_controls)
SAFE_PATTERN = Field(json_schema_extra={"pattern": SINGLE_LINE_PATTERN})
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
    # JSON true is not the number 1; forms still send digits as text.
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


Id = Annotated[EveId, BeforeValidator(_not_bool)]
Price = Annotated[Isk, BeforeValidator(_not_bool)]


class Me(BaseModel):
    character_id: int
    character_name: str
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every unsafe request.")


class SearchIn(BaseModel):
    """A browse URL to keep. ``query`` is its query string (with or without a leading
    ``?`` or ``/?``); it is validated like the browse page's and stored normalised."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    query: Query = Field(description='The browse query string; "" means every contract.')
    alerts: StrictBool = False


class SearchPatch(BaseModel):
    """Any subset of a saved search's fields (none of them may be ``null``)."""

    model_config = ConfigDict(extra="forbid")

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

    model_config = ConfigDict(extra="forbid")

    type_id: Id
    max_price: Price | None = None
    note: Note | None = None
    region_id: Id | None = None


class WatchPatch(BaseModel):
    """Any subset of a watch entry's fields; ``null`` clears max_price, note or region."""

    model_config = ConfigDict(extra="forbid")

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
