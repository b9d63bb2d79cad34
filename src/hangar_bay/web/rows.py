"""The browse table's rows: each contract's display values, worked out once in Python.

The results table is most of what rendering ``/`` costs on a cache miss (50 to 200 rows
of about ten cells). Cells used to be one Jinja macro call each, and macros inside
those: the call machinery cost more than the cells' text. Now ``browse.html`` places
these values in markup inline, one branch per column, and whatever takes more than a
single filter call (labels, security badges, the value and discount, blueprint details)
is a property here. Properties are computed when a cell reads them, so a row pays only
for its layout's columns. The values are plain text: the template escapes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from hangar_bay.contracts.schemas import BlueprintLine, ContractSummary, ShipLine
from hangar_bay.web import format as fmt
from hangar_bay.web.columns import Column


class BrowseRow:
    """One contract of the browse table. ``c`` is the summary itself (plain fields are
    read from it directly); ``link`` its contract page, carrying the view's query."""

    __slots__ = ("c", "link", "now")

    def __init__(self, c: ContractSummary, link: str, now: dt.datetime) -> None:
        self.c = c
        self.link = link
        self.now = now

    @property
    def what(self) -> str:
        """The "Ship"/"Contract" cell's link text: the first ship line (with quantity and
        how many more ships), else the first blueprint, the courier's destination, the
        title cut to 40 characters, or the type and id. An unnamed item type reads
        "Type 587"."""
        c = self.c
        if c.ships:
            first = c.ships[0]
            label = first.name or f"Type {first.type_id}"
            if first.quantity > 1:
                label += f" ×{first.quantity}"  # noqa: RUF001 (as the game writes it)
            more = c.ship_count - first.quantity
            if len(c.ships) > 1 and more > 0:
                label += f" +{more} ship{'s' if more > 1 else ''}"
            return label
        if c.blueprints:
            # Named like a ship line while ingestion has not named its type yet.
            first_bp = c.blueprints[0]
            return first_bp.name or f"Type {first_bp.type_id}"
        if c.type == "courier":
            if c.end_system_name:
                return f"Courier to {c.end_system_name}"
            far = "a player structure" if fmt.structure_id(c.end_location_id) else "a station"
            return f"Courier to {far}"
        if c.title:
            return fmt.shorten(fmt.game_text(c.title), 40)
        return f"{fmt.contract_type_label(c.type)} {c.contract_id}"

    @property
    def items_note(self) -> str:
        """Offered item lines beyond the ships ("+6 items"), or all of them when there is no
        ship and more than one ("7 items"); empty otherwise."""
        c = self.c
        if c.ships:
            extra = c.offered_count - len(c.ships)
            return f"+{extra} items" if extra > 0 else ""
        return f"{c.offered_count} items" if c.offered_count > 1 else ""

    @property
    def first_ship(self) -> ShipLine | None:
        return self.c.ships[0] if self.c.ships else None

    @property
    def title(self) -> str:
        return fmt.game_text(self.c.title)

    @property
    def type_label(self) -> str:
        return fmt.contract_type_label(self.c.type).strip()

    @property
    def region(self) -> str:
        return (self.c.region_name or str(self.c.region_id)).strip()

    @property
    def start_security(self) -> fmt.SecurityBadge:
        return fmt.security_badge(self.c.start_security, self.c.start_system_id)

    @property
    def end_security(self) -> fmt.SecurityBadge:
        return fmt.security_badge(self.c.end_security, self.c.end_system_id)

    @property
    def location(self) -> str:
        """Where the contract is: its system (else station) name, or "Player structure";
        without trailing blanks, so empty only for a name of blanks."""
        c = self.c
        if c.start_is_structure and not c.start_location_name:
            return "Player structure"
        return (c.start_system_name or c.start_location_name or "—").rstrip()

    @property
    def start_place(self) -> str:
        """A courier's origin as its route shows it (beside the security badge)."""
        return _place(self.c.start_system_name, self.c.start_is_structure)

    @property
    def end_place(self) -> str:
        return _place(self.c.end_system_name, fmt.structure_id(self.c.end_location_id))

    @property
    def value_title(self) -> str:
        """The value's tooltip: whether the estimate is complete, and the full amount."""
        c = self.c
        kind = (
            "Estimated value" if c.value_complete else "Partial estimate: some items have no price"
        )
        return f"{kind} {fmt.isk_full(c.estimated_value)}"

    @property
    def value_text(self) -> str:
        """The estimate, compact; "≥ " before it when some items had no price."""
        return ("" if self.c.value_complete else "≥ ") + fmt.isk(self.c.estimated_value)

    @property
    def discount(self) -> fmt.DiscountBadge | None:
        return None if self.c.discount is None else fmt.discount_badge(self.c.discount)

    @property
    def issued(self) -> str:
        """How long ago the contract was issued ("3h 5m ago")."""
        return fmt.ago(self.c.date_issued, self.now)

    @property
    def time_left(self) -> str:
        """Time until it expires ("2d 4h"), or "expired"."""
        return fmt.time_left(self.c.date_expired, self.now)

    @property
    def blueprint(self) -> BlueprintLine | None:
        return self.c.blueprints[0] if self.c.blueprints else None

    @property
    def blueprint_label(self) -> str:
        """The "Blueprint" cell's link text: the first blueprint's name, else the title,
        else the contract id."""
        b = self.blueprint
        if b is not None and b.name:
            return b.name
        return fmt.game_text(self.c.title) or f"Contract {self.c.contract_id}"

    @property
    def runs(self) -> str:
        """A copy's runs, "∞" for an original, "—" when not known."""
        b = self.blueprint
        if b is None or b.runs is None:
            return "—"
        return str(b.runs) if b.is_copy else "∞"

    @property
    def material_efficiency(self) -> str:
        b = self.blueprint
        return "—" if b is None or b.material_efficiency is None else str(b.material_efficiency)

    @property
    def time_efficiency(self) -> str:
        b = self.blueprint
        return "—" if b is None or b.time_efficiency is None else str(b.time_efficiency)


def _place(system_name: str | None, is_structure: bool) -> str:
    if system_name:
        return system_name
    return "Player structure" if is_structure else "station not resolved yet"


def browse_rows(items: Iterable[ContractSummary], query: str, now: dt.datetime) -> list[BrowseRow]:
    """The page's contracts as table rows. ``query`` (the view's canonical query string,
    without "?") is carried by each contract link, so the contract page links back;
    relative times are as of ``now`` (UTC)."""
    suffix = "?" + query if query else ""
    return [BrowseRow(c, f"/contracts/{c.contract_id}{suffix}", now) for c in items]


def row_cells(columns: Iterable[Column]) -> list[tuple[str, str]]:
    """Each column's key and its cells' CSS classes, worked out once per page."""
    return [(column.key, column.classes) for column in columns]
