"""Browse parameters and response shapes, shared by the JSON API and the web pages.

:class:`ContractFilters` is the single definition of every query parameter. The API
validates it as a FastAPI query-parameter model (so a bad value is a 422 naming the
parameter, and OpenAPI documents each one); the pages validate the very same model
from the raw query string and render a friendly error page instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from functools import cache
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlencode

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from hangar_bay.core.params import REPEATED_MESSAGE
from hangar_bay.core.text import SINGLE_LINE, SINGLE_LINE_SCHEMA, has_control_characters
from hangar_bay.market.flags import FlagCode

ContractType = Literal["item_exchange", "auction", "courier", "loan", "unknown"]
CONTRACT_TYPES: tuple[str, ...] = get_args(ContractType)
SecurityBand = Literal["high", "low", "null", "wormhole", "unknown"]
SortField = Literal[
    "date_issued",
    "date_expired",
    "price",
    "price_per_ship",
    "volume",
    "reward",
    "collateral",
    "reward_per_m3",
    "reward_per_jump",
    "jumps",
    "days_to_complete",
    "contract_id",
    # --- value (F010, issue 12) ---
    "discount",
]
SORT_FIELDS: tuple[str, ...] = get_args(SortField)
# Every field ascending or, with a leading "-", descending: an enum OpenAPI can show.
SortKey = Literal[
    "date_issued",
    "-date_issued",
    "date_expired",
    "-date_expired",
    "price",
    "-price",
    "price_per_ship",
    "-price_per_ship",
    "volume",
    "-volume",
    "reward",
    "-reward",
    "collateral",
    "-collateral",
    "reward_per_m3",
    "-reward_per_m3",
    "reward_per_jump",
    "-reward_per_jump",
    "jumps",
    "-jumps",
    "days_to_complete",
    "-days_to_complete",
    "contract_id",
    "-contract_id",
    # --- value (F010, issue 12): nulls (no firm value) last either way ---
    "discount",
    "-discount",
]

MAX_ID = 2**63 - 1
MAX_PAGE = 10_000
MAX_SIZE = 200
MAX_LIST = 50
MAX_ISK = 1e15

EveId = Annotated[int, Field(ge=1, le=MAX_ID)]
Isk = Annotated[float, Field(ge=0, le=MAX_ISK, allow_inf_nan=False)]

LIST_FIELDS = (
    "type_id",
    "group_id",
    "region_id",
    "security",
    "contract_type",
    "issuer_id",
    "flag",
)
# Parameters that leave the per-type counts unchanged: the order and the window of the
# page, and contract_type, which the counts ignore so each type's tab can show its number.
NOT_COUNTED = frozenset({"sort", "page", "size", "contract_type"})


_REPEATED = PydanticCustomError("repeated", REPEATED_MESSAGE)


_WHOLE_NUMBER_FIELDS = (
    "type_id",
    "group_id",
    "region_id",
    "issuer_id",
    "min_runs",
    "max_runs",
    "min_me",
    "min_te",
    "page",
    "size",
)
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def _blank(value: Any) -> bool:
    """An empty form field: nothing but spaces. Python counts some control characters
    (U+0085, U+2028) as white space too; those are kept, for the control rule to refuse."""
    return isinstance(value, str) and not value.strip() and not has_control_characters(value)


class ContractFilters(BaseModel):
    """Filters, sort and page of a browse view; the same names in the API and the pages."""

    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        json_schema_extra={
            "examples": [
                {"group_id": [419], "region_id": [10000002], "sort": "price"},
                {"type_id": [24698], "security": ["high"], "max_price": 60000000},
            ]
        },
    )

    ships_only: bool = Field(True, description="Only contracts that offer at least one ship.")
    type_id: list[EveId] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="Offers an item of this type (repeatable), e.g. 24698 (Drake).",
    )
    group_id: list[EveId] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="Offers an item of this group / ship class (repeatable), e.g. 26 (Cruiser).",
    )
    region_id: list[EveId] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="Contract region (repeatable), e.g. 10000002 (The Forge).",
    )
    security: list[SecurityBand] = Field(
        default_factory=list,
        max_length=5,
        description="Security band of the start location (repeatable): high is ≥ 0.45, "
        "low above 0 and below 0.45, null 0 or less (k-space), wormhole J-space, unknown "
        "a player structure whose system ESI does not tell.",
    )
    min_price: Isk | None = Field(None, description="Minimum price in ISK.")
    max_price: Isk | None = Field(None, description="Maximum price in ISK.")
    contract_type: list[ContractType] = Field(
        default_factory=list, max_length=5, description="Contract type (repeatable)."
    )
    bpc: Literal["copies", "originals"] | None = Field(
        None, description="Offers a blueprint copy or a blueprint original."
    )
    min_runs: int | None = Field(None, ge=1, le=1_000_000, description="Blueprint copy runs ≥.")
    max_runs: int | None = Field(None, ge=1, le=1_000_000, description="Blueprint copy runs ≤.")
    min_me: int | None = Field(None, ge=0, le=10, description="Blueprint material efficiency ≥.")
    min_te: int | None = Field(None, ge=0, le=20, description="Blueprint time efficiency ≥.")
    hull_only: bool | None = Field(
        None,
        description="Ship contracts only. true: every offered item is a ship (just the "
        "hull); false: offers something besides ships (fitted modules, cargo).",
    )
    issuer_id: list[EveId] = Field(
        default_factory=list, max_length=MAX_LIST, description="Issuing character (repeatable)."
    )
    # The limit sits before the control-character check so its error says "characters".
    q: Annotated[str, StringConstraints(max_length=100), SINGLE_LINE, SINGLE_LINE_SCHEMA] | None = (
        Field(
            None,
            description="Words to find in the title, item names or location name (all must occur).",
        )
    )
    # --- value filters (F010, issue 12); docs/value.md ---
    min_discount: float | None = Field(
        None,
        ge=-100,
        le=1,
        allow_inf_nan=False,
        description="Discount against the estimated value at least this, as a fraction: "
        "0.2 is 20 % below value. Contracts without a firm value never match.",
    )
    flag: list[FlagCode] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="Has any of these scam/mistake flags (repeatable), e.g. bait_price.",
    )
    no_flags: bool = Field(False, description="Hide flagged (suspicious) contracts.")
    # --- end of value filters ---
    sort: SortKey = Field(
        "-date_issued",
        description="Sort field; a leading '-' sorts descending. On the auction tab "
        "(contract_type=auction alone) price sorts by the current bid.",
    )
    page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number, from 1.")
    size: int = Field(50, ge=1, le=MAX_SIZE, description="Page size, at most 200.")

    @model_validator(mode="before")
    @classmethod
    def _drop_blanks(cls, data: Any) -> Any:
        # A GET form submits every field, empty ones as "": an empty field means "any".
        if isinstance(data, dict):
            cleaned: dict[str, Any] = {}
            for key, value in data.items():
                if isinstance(value, list):
                    value = [v for v in value if not _blank(v)]
                    if value:
                        cleaned[key] = value
                elif not _blank(value):
                    cleaned[key] = value
            return cleaned
        return data

    @field_validator(*_WHOLE_NUMBER_FIELDS, mode="before")
    @classmethod
    def _digits(cls, value: Any) -> Any:
        # Pydantic reads "5.0", "5_000" and "+5" as whole numbers; a URL of ours never
        # says them, and the schema says integer: refused, like the API's path ids.
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and not _WHOLE_NUMBER.fullmatch(text):
                raise ValueError("expected a whole number")
        return value

    @field_validator(*LIST_FIELDS)
    @classmethod
    def _canonical_list(cls, value: list[Any]) -> list[Any]:
        # Order and repeats carry no meaning: one canonical form, one cache entry.
        return sorted(set(value))

    @field_validator("q")
    @classmethod
    def _normalise_text(cls, value: str | None) -> str | None:
        if value is None:
            return None
        words = value.lower().split()
        if len(words) > 8:
            raise ValueError("at most 8 words")
        return " ".join(words) or None

    # A range given the wrong way round (min above max) is not an error: it matches
    # nothing, as the OpenAPI document (which cannot relate two parameters) implies.

    @property
    def sort_field(self) -> str:
        return self.sort.lstrip("-")

    @property
    def sort_descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def words(self) -> list[str]:
        return self.q.split() if self.q else []

    def query_pairs(self, **overrides: Any) -> list[tuple[str, str]]:
        """The parameters that differ from the defaults, as (name, value) pairs."""
        values = self.model_dump()
        values.update(overrides)
        defaults = ContractFilters()
        pairs: list[tuple[str, str]] = []
        for name in type(self).model_fields:
            value = values[name]
            if value == getattr(defaults, name) or value is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, bool):
                    pairs.append((name, "true" if item else "false"))
                elif isinstance(item, float) and item.is_integer():
                    pairs.append((name, str(int(item))))
                else:
                    pairs.append((name, str(item)))
        return pairs

    def query_string(self, **overrides: Any) -> str:
        """A canonical query string (without '?') for this view with some values replaced."""
        return urlencode(self.query_pairs(**overrides))

    def cache_key(self) -> str:
        digest = hashlib.blake2b(self.model_dump_json().encode(), digest_size=16)
        return digest.hexdigest()

    def changed(self, ignore: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The fields whose value is not their default, by name (those in ``ignore`` left
        out): what a view filters by, for whoever must judge or count that."""
        default = _default_filters()
        return {
            name: value
            for name in type(self).model_fields
            if name not in ignore and (value := getattr(self, name)) != getattr(default, name)
        }

    def counts_key(self) -> str:
        """Equal for exactly the views whose per-type counts (and so totals) are equal."""
        dumped = self.model_dump_json(exclude=set(NOT_COUNTED))
        return hashlib.blake2b(dumped.encode(), digest_size=16).hexdigest()

    @classmethod
    def from_multi(cls, items: list[tuple[str, str]]) -> ContractFilters:
        """Validate raw query-string pairs (the pages' path); raises ``ValidationError``."""
        data: dict[str, Any] = {}
        repeated: list[InitErrorDetails] = []
        for key, value in items:
            if key in LIST_FIELDS:
                data.setdefault(key, []).append(value)
            elif key in data and key in cls.model_fields:
                # Two values for a one-value parameter: which one was meant is a guess
                # (and the OpenAPI document says one), so neither is taken. One error per
                # parameter, however often it repeats (the answer stays small).
                if all(error["loc"] != (key,) for error in repeated):
                    repeated.append(
                        InitErrorDetails(type=_REPEATED, loc=(key,), input=[data[key], value])
                    )
            else:
                data[key] = value
        if repeated:
            raise ValidationError.from_exception_data(cls.__name__, repeated)
        return cls.model_validate(data)


@cache
def _default_filters() -> ContractFilters:
    return ContractFilters()


# --- responses ------------------------------------------------------------------------


class ShipLine(BaseModel):
    type_id: int
    name: str | None
    group_id: int | None
    group_name: str | None
    quantity: int


class BlueprintLine(BaseModel):
    type_id: int
    name: str | None
    is_copy: bool
    runs: int | None
    material_efficiency: int | None
    time_efficiency: int | None


class FlagLine(BaseModel):
    code: FlagCode
    reason: str


class ContractSummary(BaseModel):
    contract_id: int
    type: str
    title: str
    status: Literal["outstanding", "expired", "ended"]
    region_id: int
    region_name: str | None
    issuer_id: int
    issuer_name: str | None
    date_issued: dt.datetime
    date_expired: dt.datetime
    ended_at: dt.datetime | None
    price: float | None
    buyout: float | None
    collateral: float | None
    reward: float | None
    volume: float | None
    days_to_complete: int | None
    start_location_id: int | None
    start_location_name: str | None
    start_system_id: int | None
    start_system_name: str | None
    start_security: float | None
    start_is_structure: bool
    end_location_id: int | None
    is_ship_contract: bool
    ship_count: int
    price_per_ship: float | None
    ships: list[ShipLine]
    blueprints: list[BlueprintLine]
    offered_count: int = Field(description="Offered item lines (ships, modules, cargo).")
    requested_count: int = Field(description="Item lines the issuer asks for in return.")
    # --- type-aware fields (auctions, couriers) ---
    current_bid: float | None = Field(
        None, description="Auctions: the highest bid in ISK, else the starting price."
    )
    bid_count: int = Field(0, description="Auctions: bids placed so far.")
    end_location_name: str | None = Field(None, description="Couriers: destination name.")
    end_system_id: int | None = Field(None, description="Couriers: destination system.")
    end_system_name: str | None = None
    end_security: float | None = Field(None, description="Couriers: destination security.")
    jumps: int | None = Field(
        None,
        description="Couriers: jumps on the shortest route (ESI /route/); null while "
        "unknown (a player structure, J-space, or not resolved yet).",
    )
    reward_per_m3: float | None = Field(None, description="Couriers: reward / volume, ISK/m³.")
    reward_per_jump: float | None = Field(None, description="Couriers: reward / jumps, ISK.")
    # --- value (F010, issue 12); docs/value.md ---
    estimated_value: float | None = Field(
        None,
        description="ISK: offered minus requested items at ESI market prices; a lower "
        "bound when value_complete is false; null when unknown.",
    )
    value_complete: bool = Field(False, description="Every item had a market price.")
    discount: float | None = Field(
        None,
        description="(value - price) / value (auctions: current bid or starting price); "
        "null unless the value is complete.",
    )
    flags: list[FlagLine] = Field(default_factory=list, description="Scam/mistake flags.")


class ContractPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "total": 1,
                    "page": 1,
                    "size": 50,
                    "pages": 1,
                    "counts": {"item_exchange": 1, "auction": 0, "courier": 0, "loan": 0},
                    "items": [
                        {
                            "contract_id": 190000001,
                            "type": "item_exchange",
                            "title": "Drake, fitted",
                            "status": "outstanding",
                            "region_id": 10000002,
                            "region_name": "The Forge",
                            "price": 55000000.0,
                            "ships": [
                                {
                                    "type_id": 24698,
                                    "name": "Drake",
                                    "group_id": 419,
                                    "group_name": "Combat Battlecruiser",
                                    "quantity": 1,
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )

    total: int
    page: int
    size: int
    pages: int
    counts: dict[str, int] = Field(
        description="Contracts per contract type for the current filters (ignoring contract_type)."
    )
    items: list[ContractSummary]


class ItemLine(BaseModel):
    record_id: int
    type_id: int
    type_name: str | None
    group_id: int | None
    group_name: str | None
    category_id: int | None
    quantity: int
    is_included: bool
    is_singleton: bool
    is_blueprint_copy: bool | None
    material_efficiency: int | None
    time_efficiency: int | None
    runs: int | None
    # --- value breakdown (F010, issue 12) ---
    unit_price: float | None = Field(None, description="ISK per unit; null when unknown.")
    price_source: Literal["average", "adjusted"] | None = None
    line_value: float | None = Field(None, description="quantity x unit_price, ISK.")


class BidLine(BaseModel):
    bid_id: int
    date_bid: dt.datetime
    amount: float


class ContractDetail(ContractSummary):
    issuer_corporation_id: int
    issuer_corporation_name: str | None
    for_corporation: bool
    items_status: str
    items: list[ItemLine] = Field(description="Every item, offered (is_included) and requested.")
    bids: list[BidLine]
    buyout_discount: float | None = Field(
        None, description="Auctions: (value - buyout) / value; null without a firm value."
    )


class TaxonomyType(BaseModel):
    type_id: int
    name: str
    contracts: int = Field(description="Live contracts offering this type.")


class TaxonomyGroup(BaseModel):
    group_id: int
    name: str
    contracts: int
    types: list[TaxonomyType]


class Taxonomy(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "groups": [
                        {
                            "group_id": 25,
                            "name": "Frigate",
                            "contracts": 1,
                            "types": [{"type_id": 587, "name": "Rifter", "contracts": 1}],
                        }
                    ]
                }
            ]
        }
    )

    groups: list[TaxonomyGroup]


class RegionOption(BaseModel):
    region_id: int
    name: str


class RegionFreshness(BaseModel):
    region_id: int
    name: str | None
    last_complete_at: dt.datetime | None
    last_outcome: str | None
    contracts_live: int
    ship_contracts_live: int
