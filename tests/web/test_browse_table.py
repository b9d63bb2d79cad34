"""The browse table's markup, pinned: the same contracts give the same bytes.

The rows are rendered in process (``browse_context`` + ``browse.html``, no database)
from hand-made summaries covering every cell's branches, as of a fixed moment, and the
``<table class="results">`` of each layout is compared with a file in ``golden/``. The
files were rendered by the templates before the rows were computed in Python
(``web/rows.py``: one Jinja macro call per cell until then), so a difference is a change
in what pilots see. If a change is meant, rewrite them and review the diff:

    HANGAR_UPDATE_GOLDEN=1 .venv/bin/pytest -q -p no:cacheprovider tests/web/test_browse_table.py
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from hangar_bay.contracts.schemas import ContractFilters, ContractPage, Taxonomy
from hangar_bay.market.flags import REASONS
from hangar_bay.web.router import browse_context, render_bytes
from tests.contracts.factories import (
    AMAMAKE,
    AMARR,
    AMARR_8,
    DRAKE,
    FORGE,
    HED_GP,
    J_SPACE,
    J_SPACE_LOCATION,
    JITA,
    JITA_4_4,
    RIFTER,
    RIFTER_BP,
    STRUCTURE,
    VEXOR,
)

GOLDEN = Path(__file__).parent / "golden"
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
HOSTILE = "<script>alert('x')</script> & friends"
LAYOUTS = {
    "ships": ContractFilters(ships_only=False),
    "auction": ContractFilters(contract_type=["auction"]),
    "courier": ContractFilters(contract_type=["courier"], ships_only=False),
    "blueprints": ContractFilters(bpc="copies", ships_only=False),
    "loan": ContractFilters(contract_type=["loan"], ships_only=False, q="a&b"),
}


def ship(type_id: int, name: str | None, quantity: int = 1) -> dict[str, Any]:
    return {
        "type_id": type_id,
        "name": name,
        "group_id": 25,
        "group_name": "Frigate",
        "quantity": quantity,
    }


def blueprint(name: str | None, *, copy: bool, runs: int | None) -> dict[str, Any]:
    return {
        "type_id": RIFTER_BP,
        "name": name,
        "is_copy": copy,
        "runs": runs,
        "material_efficiency": 10,
        "time_efficiency": None if runs is None else 20,
    }


def summary(contract_id: int, **fields: Any) -> dict[str, Any]:
    """An item exchange of one Rifter at Jita 4-4, with ``fields`` changed."""
    base: dict[str, Any] = {
        "contract_id": contract_id,
        "type": "item_exchange",
        "title": "",
        "status": "outstanding",
        "region_id": FORGE,
        "region_name": "The Forge",
        "issuer_id": 2112625428,
        "issuer_name": "Issuer",
        "date_issued": NOW - dt.timedelta(hours=3, minutes=5),
        "date_expired": NOW + dt.timedelta(days=2, hours=4),
        "ended_at": None,
        "price": 12_500_000.0,
        "buyout": None,
        "collateral": None,
        "reward": None,
        "volume": 27_289.0,
        "days_to_complete": None,
        "start_location_id": JITA_4_4,
        "start_location_name": "Jita IV - Moon 4 - Caldari Navy Assembly Plant",
        "start_system_id": JITA,
        "start_system_name": "Jita",
        "start_security": 0.9459,
        "start_is_structure": False,
        "end_location_id": None,
        "is_ship_contract": True,
        "ship_count": 1,
        "price_per_ship": 12_500_000.0,
        "ships": [ship(RIFTER, "Rifter")],
        "blueprints": [],
        "offered_count": 1,
        "requested_count": 0,
        "estimated_value": 16_000_000.0,
        "value_complete": True,
        "discount": 0.21875,
        "flags": [],
    }
    return base | fields


def contracts() -> list[dict[str, Any]]:
    """One contract per case a cell tells apart."""
    structure = {
        "start_location_id": STRUCTURE,
        "start_location_name": None,
        "start_system_id": None,
        "start_system_name": None,
        "start_security": None,
        "start_is_structure": True,
    }
    courier = {
        "type": "courier",
        "price": None,
        "reward": 5_000_000.0,
        "collateral": 100_000_000.0,
        "volume": 12_000.0,
        "days_to_complete": 7,
        "is_ship_contract": False,
        "ship_count": 0,
        "price_per_ship": None,
        "ships": [],
        "offered_count": 0,
        "estimated_value": None,
        "value_complete": False,
        "discount": None,
    }
    return [
        # A hostile title with a flag; a complete value well below the price.
        summary(
            190_000_001,
            title=HOSTILE,
            flags=[{"code": "bait_price", "reason": REASONS["bait_price"]}],
        ),
        # Two hulls and more items, asking for items back, in a player structure whose
        # security nobody knows; a partial value and no discount.
        summary(
            190_000_002,
            title="Drakes & a Rifter",
            ships=[ship(DRAKE, "Drake", 2), ship(RIFTER, None)],
            ship_count=3,
            price_per_ship=50_000_000.0,
            price=150_000_000.0,
            offered_count=5,
            requested_count=1,
            estimated_value=98_000_000.0,
            value_complete=False,
            discount=None,
            **structure,
        ),
        # An auction with bids, above its value, in low-sec.
        summary(
            190_000_003,
            type="auction",
            ships=[ship(VEXOR, "Vexor")],
            price=8_000_000.0,
            current_bid=11_000_000.0,
            bid_count=3,
            buyout=20_000_000.0,
            discount=-0.1,
            start_system_id=AMAMAKE,
            start_system_name="Amamake",
            start_security=0.4,
            start_location_name="Amamake II - Boundless Creation Factory",
        ),
        # An auction without bids and without a value, in null-sec, at value.
        summary(
            190_000_004,
            type="auction",
            current_bid=12_500_000.0,
            estimated_value=None,
            discount=0.002,
            start_system_id=HED_GP,
            start_system_name="HED-GP",
            start_security=-0.38,
        ),
        # A courier Jita → Amarr with its route, and one to a player structure.
        summary(
            190_000_005,
            title="Haul <b>fast</b> & safe",
            end_location_id=AMARR_8,
            end_location_name="Amarr VIII (Oris) - Emperor Family Academy",
            end_system_id=AMARR,
            end_system_name="Amarr",
            end_security=1.0,
            jumps=9,
            reward_per_m3=416.67,
            reward_per_jump=555_555.56,
            **courier,
        ),
        summary(190_000_006, end_location_id=STRUCTURE, **courier | structure),
        # A blueprint copy with in-game markup in the title; an original among two.
        summary(
            190_000_007,
            title="<url=showinfo:691>Rifter BPC</url> &amp; more",
            ships=[],
            ship_count=0,
            price_per_ship=None,
            is_ship_contract=False,
            blueprints=[blueprint("Rifter Blueprint", copy=True, runs=10)],
        ),
        summary(
            190_000_008,
            ships=[],
            ship_count=0,
            price_per_ship=None,
            is_ship_contract=False,
            offered_count=2,
            blueprints=[
                blueprint("Rifter Blueprint", copy=False, runs=-1),
                blueprint(None, copy=True, runs=None),
            ],
        ),
        # A known structure in J-space: the wormhole badge.
        summary(
            190_000_009,
            start_location_id=J_SPACE_LOCATION,
            start_location_name="J100820 - Home Astrahus",
            start_system_id=J_SPACE,
            start_system_name="J100820",
            start_security=-1.0,
            start_is_structure=True,
            region_id=11000001,
            region_name=None,
        ),
        # No ship, a long hostile title (cut to 40 characters), several items.
        summary(
            190_000_010,
            title="Everything must go & " + HOSTILE + " and more words after that",
            ships=[],
            ship_count=0,
            price_per_ship=None,
            is_ship_contract=False,
            offered_count=7,
        ),
        # A loan with no title and nothing priced: named by type and id; expired.
        summary(
            190_000_011,
            type="loan",
            collateral=1_000_000_000.0,
            ships=[],
            ship_count=0,
            price_per_ship=None,
            is_ship_contract=False,
            offered_count=1,
            estimated_value=None,
            discount=None,
            date_expired=NOW - dt.timedelta(minutes=1),
            date_issued=NOW + dt.timedelta(seconds=30),
        ),
    ]


def results_table(layout: str, items: list[dict[str, Any]] | None = None) -> str:
    """The ``<table class="results">`` of ``layout`` with ``items`` (default: contracts())."""
    filters = LAYOUTS[layout]
    items = contracts() if items is None else items
    page = ContractPage.model_validate(
        {
            "total": len(items),
            "page": 1,
            "size": filters.size,
            "pages": 1,
            "counts": {"item_exchange": 6, "auction": 2, "courier": 2, "loan": 1},
            "items": items,
        }
    )
    context = browse_context(
        filters,
        page,
        taxonomy=Taxonomy(groups=[]),
        regions=[],
        freshness=[],
        now=NOW,
        ingestion_off=False,
    )
    query = context["query"]
    scope = {"type": "http", "path": "/", "query_string": query.encode(), "headers": []}
    html = render_bytes(Request(scope), "browse.html", context).decode()
    match = re.search(r'<table class="results.*?</table>\n', html, re.S)
    assert match is not None
    return match.group(0)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_results_table_is_rendered_as_before(layout: str) -> None:
    table = results_table(layout)
    golden = GOLDEN / f"browse_{layout}.html"
    if os.environ.get("HANGAR_UPDATE_GOLDEN"):
        golden.write_text(table, encoding="utf-8")
    assert table == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_untrusted_text_in_the_table_is_escaped(layout: str) -> None:
    table = results_table(layout)
    text = re.sub(r"<[^>]*>", "", table)
    # No markup from a title or name survives as markup, in any layout's cells.
    assert "<script" not in table
    assert "<b>" not in table
    # Every ampersand in the text is an entity's (titles carry "&" and "&amp;").
    assert re.findall(r"&(?!amp;|lt;|gt;|#39;|#34;|quot;)", text) == []
    if layout in {"ships", "auction", "loan"}:
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; friends" in table


def test_the_cells_say_what_the_contract_is() -> None:
    rows = re.findall(r"<tr>(.*?)</tr>", results_table("ships").split("<tbody>")[1], re.S)
    cells = [
        [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", td)).strip() for td in re.findall(
            r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in rows
    ]  # fmt: skip
    what = [row[0] for row in cells]
    assert what[1] == "Drake ×2 +1 ship +3 items wants 1 price history of Drake"  # noqa: RUF001
    assert what[5] == "Courier to a player structure"
    assert what[6].startswith("Rifter Blueprint")
    assert what[9] == "Everything must go &amp;... 7 items"
    assert what[10] == "Loan 190000011"
    # Security: unknown in a player structure, WH in J-space, one decimal elsewhere.
    location = [row[6] for row in cells]
    assert location[:4] == [
        "0.9 Jita",
        "? Player structure",
        "0.4 Amamake",
        "-0.4 HED-GP",
    ]
    assert location[8] == "WH J100820"
    assert [row[10] for row in cells][10] == "expired"


def test_an_unnamed_blueprint_is_named_by_its_type_not_none() -> None:
    # A blueprint whose type ingestion has not named yet (the items' type join is outer).
    unnamed = summary(
        190_000_012,
        ships=[],
        ship_count=0,
        price_per_ship=None,
        is_ship_contract=False,
        blueprints=[blueprint(None, copy=True, runs=3)],
    )
    table = results_table("ships", [unnamed])
    assert f">Type {RIFTER_BP}</a>" in table
    assert "None" not in table
