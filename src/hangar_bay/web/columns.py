"""The browse table's columns, per contract type: one definition per column, one list per tab.

A column names the cell it renders (a branch of the row loop in
``templates/browse.html``, which takes its values from ``rows.BrowseRow``), its header
and, when sortable, the sort field and the direction of a first click. Adding a column
to every tab is one :class:`Column` here, one branch in that loop, and its name in the
lists below.
"""

from __future__ import annotations

from dataclasses import dataclass

from hangar_bay.contracts.schemas import ContractFilters


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    sort: str | None = None
    # The sort key a first click asks for ("-reward": highest first).
    first: str | None = None
    numeric: bool = False
    # Hidden below 700 px wide (phones): the row stays readable without scrolling far.
    optional: bool = False
    # Extra CSS class of its cells (the title's width, a link column's minimum).
    css: str = ""

    @property
    def classes(self) -> str:
        parts = ["num" if self.numeric else "", "opt" if self.optional else "", self.css]
        return " ".join(p for p in parts if p)


def _col(
    key: str,
    label: str,
    first: str | None = None,
    *,
    numeric: bool = False,
    optional: bool = False,
    css: str = "",
) -> Column:
    sort = first.lstrip("-") if first else None
    return Column(key, label, sort, first, numeric, optional, css)


COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        _col("what", "Ship", css="what"),
        _col("title", "Title", optional=True, css="title"),
        _col("type", "Type", optional=True),
        _col("price", "Price", "price", numeric=True),
        _col("current_bid", "Current bid", "price", numeric=True),
        _col("bids", "Bids", numeric=True),
        _col("buyout", "Buyout", numeric=True),
        _col("price_per_ship", "Per ship", "price_per_ship", numeric=True, optional=True),
        # Value (F010): the estimate and the discount badge; sorts biggest discount first.
        _col("value", "Value", "-discount", numeric=True, css="value"),
        _col("location", "Location"),
        _col("route", "Route", css="route"),
        _col("region", "Region", optional=True),
        _col("jumps", "Jumps", "jumps", numeric=True),
        _col("reward", "Reward", "-reward", numeric=True),
        _col("collateral", "Collateral", "collateral", numeric=True),
        _col("volume", "Volume", "-volume", numeric=True, optional=True),
        _col("reward_per_m3", "ISK/m³", "-reward_per_m3", numeric=True),
        _col("reward_per_jump", "ISK/jump", "-reward_per_jump", numeric=True),
        _col("days_to_complete", "Days", "days_to_complete", numeric=True, optional=True),
        _col("blueprint", "Blueprint", css="what"),
        _col("runs", "Runs", numeric=True),
        _col("me", "ME", numeric=True),
        _col("te", "TE", numeric=True),
        _col("date_issued", "Issued", "-date_issued", numeric=True, optional=True),
        _col("date_expired", "Time left", "date_expired", numeric=True),
    )
}

LAYOUTS: dict[str, tuple[str, ...]] = {
    "ships": (
        "what", "title", "type", "price", "price_per_ship", "value", "location", "region",
        "volume", "date_issued", "date_expired",
    ),
    "auction": (
        "what", "title", "current_bid", "bids", "buyout", "value", "location", "region",
        "date_issued", "date_expired",
    ),
    "courier": (
        "route", "jumps", "reward", "collateral", "volume", "reward_per_m3",
        "reward_per_jump", "days_to_complete", "date_expired",
    ),
    "blueprints": (
        "blueprint", "runs", "me", "te", "title", "price", "value", "location", "region",
        "date_expired",
    ),
    "loan": (
        "what", "title", "price", "collateral", "location", "region", "volume",
        "date_expired",
    ),
}  # fmt: skip

LAYOUT_NAMES = {
    "ships": "Contracts",
    "auction": "Auctions",
    "courier": "Courier contracts",
    "blueprints": "Blueprint contracts",
    "loan": "Loans",
}


def layout_for(f: ContractFilters) -> str:
    """Which table a view gets: its single contract type's, blueprints', or the general."""
    if f.contract_type == ["courier"]:
        return "courier"
    if f.contract_type == ["auction"]:
        return "auction"
    if f.contract_type == ["loan"]:
        return "loan"
    if f.bpc is not None:
        return "blueprints"
    return "ships"


def columns_for(f: ContractFilters) -> list[Column]:
    return [COLUMNS[key] for key in LAYOUTS[layout_for(f)]]


@dataclass(frozen=True, slots=True)
class Header:
    column: Column
    href: str | None
    # aria-sort: ascending, descending or none (sortable columns only).
    state: str | None


def headers_for(f: ContractFilters, columns: list[Column]) -> list[Header]:
    """Each column's header: the link that sorts by it (or flips the sort) and its state."""
    headers = []
    for column in columns:
        if column.sort is None or column.first is None:
            headers.append(Header(column, None, None))
            continue
        if f.sort_field == column.sort:
            target = column.sort if f.sort_descending else f"-{column.sort}"
            state = "descending" if f.sort_descending else "ascending"
        else:
            target, state = column.first, "none"
        headers.append(Header(column, "/?" + f.query_string(sort=target, page=1), state))
    return headers
