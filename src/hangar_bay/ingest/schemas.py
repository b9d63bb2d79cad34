"""ESI payloads as pydantic models. ESI is untrusted input: a row that does not fit is
logged and skipped by the caller, never written half-understood."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, NotRequired, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

# pydantic needs typing_extensions' TypedDict before Python 3.12.
from typing_extensions import TypedDict

from hangar_bay.core.logging import get_logger
from hangar_bay.models import as_utc

log = get_logger(__name__)

Id = int  # 64-bit in the database; Python ints are unbounded.


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def only_where_meaningful(data: dict[str, Any]) -> dict[str, Any]:
    """A listing row with the amounts ESI sent as 0 (or left out) where its type has no
    use for them set to ``None``.

    ESI documents buyout for auctions, collateral and reward for couriers (EVE also asks
    collateral of loans), price for item exchanges and auctions; outside those, and for
    an auction without a buyout, it sends 0 or nothing. Stored as null, so "no buyout"
    never reads as a buyout of 0 ISK. A non-zero amount is kept whatever the type: an
    item exchange can pay its acceptor a reward (a "want to buy" contract), and that
    ISK is part of the deal.
    """
    kind = data.get("type")
    data = dict(data)
    if not data.get("buyout"):
        data["buyout"] = None
    if kind != "courier":
        if not data.get("reward"):
            data["reward"] = None
        if kind != "loan" and not data.get("collateral"):
            data["collateral"] = None
    elif not data.get("price"):
        data["price"] = None
    return data


class ContractRow(_Row):
    contract_id: Id = Field(gt=0)
    issuer_id: Id
    issuer_corporation_id: Id
    type: str
    date_issued: dt.datetime
    date_expired: dt.datetime
    price: float | None = None
    buyout: float | None = None
    collateral: float | None = None
    reward: float | None = None
    days_to_complete: int | None = None
    start_location_id: Id | None = None
    end_location_id: Id | None = None
    for_corporation: bool = False
    title: str = ""
    volume: float | None = None

    @field_validator("date_issued", "date_expired")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        return as_utc(value).astimezone(dt.UTC)

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        return value if value in CONTRACT_TYPES else "unknown"

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: Any) -> Any:
        return "" if value is None else value

    @model_validator(mode="before")
    @classmethod
    def _only_where_meaningful(cls, data: Any) -> Any:
        return only_where_meaningful(data) if isinstance(data, dict) else data

    @property
    def has_items(self) -> bool:
        return self.type in ("item_exchange", "auction")


CONTRACT_TYPES = frozenset({"unknown", "item_exchange", "auction", "courier", "loan"})


class ItemRow(_Row):
    record_id: Id
    type_id: Id
    quantity: int
    is_included: bool
    is_singleton: bool = False
    item_id: Id | None = None
    is_blueprint_copy: bool | None = None
    material_efficiency: int | None = None
    time_efficiency: int | None = None
    runs: int | None = None


class ItemDict(TypedDict):
    """A contract item as plain data: items are the bulk of ingestion (about ten per
    contract), so they are validated as one list into dicts, not one model per row."""

    record_id: int
    type_id: int
    quantity: int
    is_included: bool
    is_singleton: NotRequired[bool]
    item_id: NotRequired[int | None]
    is_blueprint_copy: NotRequired[bool | None]
    material_efficiency: NotRequired[int | None]
    time_efficiency: NotRequired[int | None]
    runs: NotRequired[int | None]


_ITEM = TypeAdapter(ItemDict)
_ITEMS = TypeAdapter(list[ItemDict])


def parse_items(data: Any) -> tuple[list[ItemDict], list[Any]]:
    """Valid item rows and the raw rows that were not (already logged)."""
    try:
        return _ITEMS.validate_python(data), []
    except ValidationError:
        pass
    if not isinstance(data, list):
        log.warning("esi_malformed_payload", what="item", kind=type(data).__name__)
        return [], [data]
    good: list[ItemDict] = []
    bad: list[Any] = []
    for raw in data:
        try:
            good.append(_ITEM.validate_python(raw))
        except ValidationError as exc:
            bad.append(raw)
            log.warning("esi_malformed_row", what="item", error=str(exc)[:300])
    return good, bad


class BidRow(_Row):
    bid_id: Id
    date_bid: dt.datetime
    amount: float

    @field_validator("date_bid")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        return as_utc(value).astimezone(dt.UTC)


class TypeInfo(_Row):
    type_id: Id
    name: str
    group_id: Id
    published: bool = True
    volume: float | None = None
    packaged_volume: float | None = None


class GroupInfo(_Row):
    group_id: Id
    name: str
    category_id: Id
    published: bool = True


class CategoryInfo(_Row):
    category_id: Id
    name: str
    published: bool = True


class StationInfo(_Row):
    station_id: Id
    name: str
    system_id: Id


class SystemInfo(_Row):
    system_id: Id
    name: str
    security_status: float
    constellation_id: Id | None = None


class ConstellationInfo(_Row):
    constellation_id: Id
    region_id: Id


class NameRow(_Row):
    id: Id
    name: str
    category: str


M = TypeVar("M", bound=_Row)


def parse_rows(model: type[M], data: Any, *, what: str) -> tuple[list[M], list[Any]]:
    """Valid rows, and the raw rows that were not (already logged)."""
    if not isinstance(data, list):
        log.warning("esi_malformed_payload", what=what, kind=type(data).__name__)
        return [], [data]
    good: list[M] = []
    bad: list[Any] = []
    for raw in data:
        try:
            good.append(model.model_validate(raw))
        except ValidationError as exc:
            bad.append(raw)
            log.warning("esi_malformed_row", what=what, error=str(exc)[:300])
    return good, bad


def parse_one(model: type[M], data: Any, *, what: str) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        log.warning("esi_malformed_row", what=what, error=str(exc)[:300])
        return None


def raw_ids(rows: Iterable[Any], key: str) -> set[int]:
    """Ids still readable from rows that failed validation (to keep them alive)."""
    found: set[int] = set()
    for raw in rows:
        if isinstance(raw, dict):
            value = raw.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                found.add(value)
    return found
