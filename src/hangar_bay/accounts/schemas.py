"""Request and response bodies of the accounts API (``/api/v1/me``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hangar_bay.contracts.schemas import EveId, Isk

MAX_SEARCHES = 100
MAX_WATCH_ENTRIES = 500
MAX_QUERY_LENGTH = 2000

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Query = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_QUERY_LENGTH)]


class Me(BaseModel):
    character_id: int
    character_name: str
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every unsafe request.")


class SearchIn(BaseModel):
    """A browse URL to keep. ``query`` is its query string (with or without a leading
    ``?`` or ``/?``); it is validated like the browse page's and stored normalised."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    query: Query = ""
    alerts: bool = False


class SearchPatch(BaseModel):
    """Any subset of a saved search's fields."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    query: Query | None = None
    alerts: bool | None = None


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

    type_id: EveId
    max_price: Isk | None = None
    note: Note | None = None
    region_id: EveId | None = None


class WatchPatch(BaseModel):
    """Any subset of a watch entry's fields; ``null`` clears max_price, note or region."""

    model_config = ConfigDict(extra="forbid")

    type_id: EveId | None = None
    max_price: Isk | None = None
    note: Note | None = None
    region_id: EveId | None = None


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
