"""Scam and mistake flags (F010): each a small pure function of a contract's facts.

Thresholds live here and nowhere else (docs/value.md explains them). A flag is a hint
for a pilot to look twice, not a verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from hangar_bay.market.titles import TypeNames, fold
from hangar_bay.market.value import BLUEPRINT_CATEGORY, SKIN_CATEGORY, ValuedItem

# bait_price: an item exchange asking less than this share of a complete value.
BAIT_RATIO = 0.40
# overpriced: asking more than this many times a complete value.
OVERPRICED_RATIO = 3.0
# Title words that claim a blueprint original.
ORIGINAL_WORDS = frozenset({"bpo", "bpos", "original", "originals"})

FlagCode = Literal[
    "asks_items",
    "asks_ship",
    "skin_not_ship",
    "title_mismatch",
    "bait_price",
    "overpriced",
    "bpc_as_bpo",
]
FLAG_CODES: tuple[str, ...] = get_args(FlagCode)

REASONS: dict[str, str] = {
    "asks_items": "The issuer asks for items in return, not only ISK.",
    "asks_ship": "A ship is requested and none offered: accepting gives a ship away.",
    "skin_not_ship": "The title names a ship, but only SKINs are offered.",
    "title_mismatch": "The title names a ship type that the contract does not offer.",
    "bait_price": f"The price is below {BAIT_RATIO:.0%} of the estimated value.",
    "overpriced": f"The price is more than {OVERPRICED_RATIO:g}x the estimated value.",
    "bpc_as_bpo": "The title says blueprint original, but the blueprints are copies.",
}


@dataclass(frozen=True)
class ContractFacts:
    """What the flags look at. ``cost`` and ``value`` in ISK (see :mod:`.value`)."""

    type: str
    title: str
    items: Sequence[ValuedItem]
    value: float | None = None
    value_complete: bool = False
    cost: float | None = None
    names: TypeNames | None = field(default=None, compare=False)

    @property
    def offered(self) -> list[ValuedItem]:
        return [i for i in self.items if i.is_included]

    @property
    def requested(self) -> list[ValuedItem]:
        return [i for i in self.items if not i.is_included]

    def ships_named(self) -> list[int]:
        return self.names.ships_named(self.title) if self.names and self.title else []


def asks_items(c: ContractFacts) -> bool:
    return bool(c.requested)


def asks_ship(c: ContractFacts) -> bool:
    # A ship for a ship is a trade; a ship for no ship is the want-to-buy trap.
    return any(i.is_ship for i in c.requested) and not any(i.is_ship for i in c.offered)


def skin_not_ship(c: ContractFacts) -> bool:
    offered = c.offered
    return (
        bool(offered)
        and all(i.category_id == SKIN_CATEGORY for i in offered)
        and bool(c.ships_named())
    )


def title_mismatch(c: ContractFacts) -> bool:
    if skin_not_ship(c):
        # The sharper flag says it already.
        return False
    present = {i.type_id for i in c.items}
    return any(t not in present for t in c.ships_named())


def _firm(c: ContractFacts) -> tuple[float, float] | None:
    if c.type != "item_exchange" or not c.value_complete or c.cost is None:
        return None
    if c.value is None or c.value <= 0:
        return None
    return c.value, c.cost


def bait_price(c: ContractFacts) -> bool:
    firm = _firm(c)
    return firm is not None and firm[1] < BAIT_RATIO * firm[0]


def overpriced(c: ContractFacts) -> bool:
    firm = _firm(c)
    return firm is not None and firm[1] > OVERPRICED_RATIO * firm[0]


def bpc_as_bpo(c: ContractFacts) -> bool:
    if not ORIGINAL_WORDS.intersection(fold(c.title)):
        return False
    blueprints = [
        i
        for i in c.offered
        if i.category_id == BLUEPRINT_CATEGORY or i.is_blueprint_copy is not None
    ]
    return bool(blueprints) and all(i.is_copy for i in blueprints)


CHECKS: dict[str, Callable[[ContractFacts], bool]] = {
    "asks_items": asks_items,
    "asks_ship": asks_ship,
    "skin_not_ship": skin_not_ship,
    "title_mismatch": title_mismatch,
    "bait_price": bait_price,
    "overpriced": overpriced,
    "bpc_as_bpo": bpc_as_bpo,
}


def flags_for(c: ContractFacts) -> list[str]:
    """Every flag that applies, in the order of :data:`FLAG_CODES`."""
    if c.type not in ("item_exchange", "auction"):
        return []
    return [code for code, check in CHECKS.items() if check(c)]


def encode(codes: Sequence[str]) -> str:
    """Codes as stored in ``contracts.flags``: ",a,b," (one LIKE finds one), "" for none."""
    return f",{','.join(codes)}," if codes else ""


def decode(stored: str | None) -> list[str]:
    return [code for code in (stored or "").split(",") if code]


def described(stored: str | None) -> list[dict[str, str]]:
    """The API shape: ``[{"code", "reason"}]``."""
    return [{"code": code, "reason": REASONS.get(code, code)} for code in decode(stored)]
