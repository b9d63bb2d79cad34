"""A contract's estimated value and discount, as pure functions of its items and prices.

Value (ISK) = Σ quantity x unit price of the offered items - the same for the requested
items. The unit price is ESI's ``average_price``, else its ``adjusted_price``, else
unknown. A blueprint copy is unknown whatever the market says: ESI's prices are those
of originals. The value is *complete* only when every item has a price. See docs/value.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

SHIP_CATEGORY = 6
BLUEPRINT_CATEGORY = 9
SKIN_CATEGORY = 91

PriceSource = Literal["average", "adjusted"]


@dataclass(frozen=True)
class ValuedItem:
    """One contract item with what valuation needs to know about its type."""

    type_id: int
    quantity: int
    is_included: bool
    category_id: int | None = None
    name: str | None = None
    is_blueprint_copy: bool | None = None
    runs: int | None = None
    average_price: float | None = None
    adjusted_price: float | None = None

    @property
    def is_copy(self) -> bool:
        # ESI may leave is_blueprint_copy out; a copy has runs ≥ 1 (originals have -1).
        return bool(self.is_blueprint_copy) or (self.runs is not None and self.runs > 0)

    @property
    def is_ship(self) -> bool:
        return self.category_id == SHIP_CATEGORY


def unit_price(item: ValuedItem) -> tuple[float | None, PriceSource | None]:
    """ISK per unit and where it came from; ``(None, None)`` when unknown."""
    if item.is_copy:
        return None, None
    if item.average_price is not None and item.average_price > 0:
        return item.average_price, "average"
    if item.adjusted_price is not None and item.adjusted_price > 0:
        return item.adjusted_price, "adjusted"
    return None, None


@dataclass(frozen=True)
class Valuation:
    """``value``: the estimate in ISK (a lower bound when not ``complete``), or None
    when no item could be priced or the items are unknown."""

    value: float | None
    complete: bool


def estimate(items: Sequence[ValuedItem]) -> Valuation:
    """Offered minus requested at market prices. No items: unknown (not zero)."""
    if not items:
        return Valuation(None, False)
    total = 0.0
    priced = 0
    for item in items:
        price, _ = unit_price(item)
        if price is None:
            continue
        priced += 1
        line = price * item.quantity
        total += line if item.is_included else -line
    if priced == 0:
        return Valuation(None, False)
    return Valuation(total, priced == len(items))


def cost(
    contract_type: str,
    *,
    price: float | None,
    reward: float | None = None,
    current_bid: float | None = None,
) -> float | None:
    """What the acceptor pays, in ISK: an item exchange's price less any reward the issuer
    pays; an auction's current bid, or its starting price before the first bid. None for
    couriers and loans, which have no value to compare with."""
    if contract_type == "item_exchange":
        return (price or 0.0) - (reward or 0.0)
    if contract_type == "auction":
        return max(current_bid or 0.0, price or 0.0)
    return None


def discount(valuation: Valuation, paid: float | None) -> float | None:
    """(value - cost) / value: 0.25 is a quarter below value, -1.0 twice the value.
    None unless the value is complete and positive and there is a cost."""
    if paid is None or not valuation.complete or valuation.value is None:
        return None
    if valuation.value <= 0:
        return None
    return (valuation.value - paid) / valuation.value
