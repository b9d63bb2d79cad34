"""Value, discount and each flag, both ways, on hand-made contracts (pure functions)."""

from __future__ import annotations

import pytest

from hangar_bay.market import flags
from hangar_bay.market.flags import ContractFacts
from hangar_bay.market.titles import TypeNames, fold
from hangar_bay.market.value import (
    BLUEPRINT_CATEGORY,
    SHIP_CATEGORY,
    SKIN_CATEGORY,
    Valuation,
    ValuedItem,
    cost,
    discount,
    estimate,
    unit_price,
)

MODULE = 7
DRAKE, DRAKE_NI, RAVEN, RIFTER = 24698, 33153, 638, 587
DRAKE_BP, DRAKE_SKIN, AUTOCANNON = 24699, 900001, 2873

NAMES = TypeNames(
    {
        DRAKE: "Drake",
        DRAKE_NI: "Drake Navy Issue",
        RAVEN: "Raven",
        RIFTER: "Rifter",
        DRAKE_BP: "Drake Blueprint",
        DRAKE_SKIN: "Drake Sentinel SKIN",
        AUTOCANNON: "200mm AutoCannon I",
    },
    ship_ids=[DRAKE, DRAKE_NI, RAVEN, RIFTER],
)


def ship(type_id: int = DRAKE, quantity: int = 1, *, included: bool = True) -> ValuedItem:
    return ValuedItem(
        type_id, quantity, included, SHIP_CATEGORY, average_price=50e6, adjusted_price=48e6
    )


def module(quantity: int = 1, price: float | None = 1e6) -> ValuedItem:
    return ValuedItem(AUTOCANNON, quantity, True, MODULE, average_price=price)


def bpc(runs: int = 10) -> ValuedItem:
    return ValuedItem(
        DRAKE_BP, 1, True, BLUEPRINT_CATEGORY, is_blueprint_copy=True, runs=runs,
        adjusted_price=300e6,
    )  # fmt: skip


def bpo() -> ValuedItem:
    return ValuedItem(
        DRAKE_BP, 1, True, BLUEPRINT_CATEGORY, is_blueprint_copy=False, runs=-1,
        adjusted_price=300e6,
    )  # fmt: skip


def skin() -> ValuedItem:
    return ValuedItem(DRAKE_SKIN, 1, True, SKIN_CATEGORY, adjusted_price=2e6)


def facts(items: list[ValuedItem], *, title: str = "", price: float = 50e6) -> ContractFacts:
    valuation = estimate(items)
    return ContractFacts(
        type="item_exchange",
        title=title,
        items=items,
        value=valuation.value,
        value_complete=valuation.complete,
        cost=cost("item_exchange", price=price),
        names=NAMES,
    )


# --- value ----------------------------------------------------------------------------------


def test_fitted_ship_is_hull_plus_modules() -> None:
    v = estimate([ship(), module(3)])
    assert v == Valuation(53e6, True)
    assert discount(v, 40e6) == pytest.approx(13 / 53)


def test_requested_items_are_subtracted() -> None:
    v = estimate([ship(), ship(RAVEN, included=False), module(2)])
    assert v.value == pytest.approx(2e6)
    assert v.complete


def test_average_then_adjusted_then_unknown() -> None:
    assert unit_price(ValuedItem(1, 1, True, average_price=5.0, adjusted_price=4.0)) == (
        5.0,
        "average",
    )
    assert unit_price(ValuedItem(1, 1, True, adjusted_price=4.0)) == (4.0, "adjusted")
    assert unit_price(ValuedItem(1, 1, True)) == (None, None)


def test_blueprint_copy_is_unknown_not_the_original() -> None:
    assert unit_price(bpc()) == (None, None)
    assert unit_price(ValuedItem(DRAKE_BP, 1, True, runs=5, adjusted_price=1.0))[0] is None
    assert estimate([bpc()]) == Valuation(None, False)
    assert estimate([bpo()]) == Valuation(300e6, True)


def test_skin_has_its_own_price() -> None:
    assert estimate([skin()]) == Valuation(2e6, True)


def test_unknown_price_makes_a_partial_value_and_no_discount() -> None:
    v = estimate([ship(), module(price=None)])
    assert v == Valuation(50e6, False)
    assert discount(v, 10e6) is None


def test_no_items_is_unknown() -> None:
    assert estimate([]) == Valuation(None, False)
    assert discount(Valuation(None, False), 1.0) is None


def test_costs_by_contract_type() -> None:
    assert cost("item_exchange", price=10.0, reward=4.0) == 6.0
    assert cost("auction", price=10.0, current_bid=None) == 10.0
    assert cost("auction", price=10.0, current_bid=25.0) == 25.0
    assert cost("courier", price=0.0, reward=5.0) is None
    # A negative or zero value has no meaningful discount.
    assert discount(Valuation(-5.0, True), 1.0) is None


# --- titles ---------------------------------------------------------------------------------


def test_titles_fold_case_punctuation_and_take_the_longest_name() -> None:
    assert fold("DRAKE!!  navy-issue") == ["drake", "navy", "issue"]
    assert NAMES.ships_named("cheap DRAKE, fitted") == [DRAKE]
    assert NAMES.ships_named("Drake Navy Issue for sale") == [DRAKE_NI]
    assert NAMES.ships_named("Drakes galore") == []  # word boundaries
    assert NAMES.ships_named("Drake Blueprint") == []
    assert NAMES.ships_named("Drake BPC x10") == []
    assert NAMES.ships_named("raven/drake") == [RAVEN, DRAKE]


# --- flags, each both ways ---------------------------------------------------------------------


def test_asks_items() -> None:
    assert flags.asks_items(facts([ship(), ValuedItem(AUTOCANNON, 1, False, MODULE)]))
    assert not flags.asks_items(facts([ship()]))


def test_asks_ship() -> None:
    assert flags.asks_ship(facts([module(), ship(included=False)]))
    assert not flags.asks_ship(facts([ship(), ValuedItem(AUTOCANNON, 1, False, MODULE)]))
    # A ship for a ship is a trade.
    assert not flags.asks_ship(facts([ship(), ship(RAVEN, included=False)]))


def test_skin_not_ship() -> None:
    assert flags.skin_not_ship(facts([skin()], title="Drake"))
    assert not flags.skin_not_ship(facts([skin()], title="Drake Sentinel SKIN"))
    assert not flags.skin_not_ship(facts([ship(), skin()], title="Drake"))


def test_title_mismatch() -> None:
    assert flags.title_mismatch(facts([ship(RAVEN)], title="Drake fitted"))
    assert not flags.title_mismatch(facts([ship()], title="Drake fitted"))
    assert not flags.title_mismatch(facts([ship()], title="moving out"))
    # The SKIN case has its own flag.
    assert not flags.title_mismatch(facts([skin()], title="Drake"))


def test_bait_price() -> None:
    assert flags.bait_price(facts([ship()], price=19e6))
    assert not flags.bait_price(facts([ship()], price=21e6))
    # No firm value, no bait.
    assert not flags.bait_price(facts([ship(), module(price=None)], price=1.0))


def test_overpriced() -> None:
    assert flags.overpriced(facts([ship()], price=151e6))
    assert not flags.overpriced(facts([ship()], price=149e6))


def test_bpc_as_bpo() -> None:
    assert flags.bpc_as_bpo(facts([bpc()], title="Drake BPO"))
    assert flags.bpc_as_bpo(facts([bpc()], title="drake blueprint ORIGINAL"))
    assert not flags.bpc_as_bpo(facts([bpo()], title="Drake BPO"))
    assert not flags.bpc_as_bpo(facts([bpc()], title="Drake BPC 10 runs"))


def test_flags_for_lists_codes_in_order_and_skips_couriers() -> None:
    scam = facts([skin(), ship(RAVEN, included=False)], title="Drake", price=1e6)
    assert flags.flags_for(scam) == ["asks_items", "asks_ship", "skin_not_ship"]
    courier = ContractFacts(type="courier", title="Drake", items=[], names=NAMES)
    assert flags.flags_for(courier) == []
    assert flags.encode(["a", "b"]) == ",a,b,"
    assert flags.decode(",a,b,") == ["a", "b"]
    assert flags.encode([]) == ""
    assert flags.decode("") == []
    assert flags.described(",bait_price,")[0]["reason"].startswith("The price is below 40%")
