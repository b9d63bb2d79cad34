"""A contract's list representation (:class:`schemas.ContractSummary`) as plain data,
from a row of the list statement or an ORM object: the shared part of the list and the
detail, and the type-aware fields of auctions and couriers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Row

from hangar_bay.contracts.query import SHIP_CATEGORY
from hangar_bay.market.flags import described as described_flags
from hangar_bay.models import as_utc

# The contract columns a summary is made of, named as in the API. Ingestion's bookkeeping
# columns and the wide search_text are not among them. highest_bid only feeds current_bid.
SUMMARY_COLUMNS = (
    "contract_id",
    "type",
    "title",
    "region_id",
    "issuer_id",
    "date_issued",
    "date_expired",
    "ended_at",
    "price",
    "buyout",
    "collateral",
    "reward",
    "volume",
    "days_to_complete",
    "start_location_id",
    "start_location_name",
    "start_system_id",
    "start_security",
    "start_is_structure",
    "end_location_id",
    "end_location_name",
    "end_system_id",
    "end_security",
    "is_ship_contract",
    "ship_count",
    "highest_bid",
    "bid_count",
    "estimated_value",
    "value_complete",
    "discount",
    "flags",
)
# What a summary names beside the contract's own columns: joined in by the list
# statement, passed in by the detail.
NAME_COLUMNS = ("region_name", "issuer_name", "start_system_name", "end_system_name", "jumps")
# The list statement's column of the item lines a summary shows (JSON), read into
# ``items`` by the caller and not itself part of a summary.
SHOWN_LINES = "shown_lines"


def _lines(items: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[Any], int, int]:
    """Ships (one line per type), blueprints, and the numbers of offered and requested
    items, from a contract's items."""
    ships: dict[int, dict[str, Any]] = {}
    blueprints: list[dict[str, Any]] = []
    offered = requested = 0
    for item in items:
        if not item["is_included"]:
            requested += 1
            continue
        offered += 1
        if item["category_id"] == SHIP_CATEGORY:
            line = ships.get(item["type_id"])
            if line is None:
                ships[item["type_id"]] = {
                    "type_id": item["type_id"],
                    "name": item["type_name"],
                    "group_id": item["group_id"],
                    "group_name": item["group_name"],
                    "quantity": item["quantity"],
                }
            else:
                line["quantity"] += item["quantity"]
        if item["is_blueprint_copy"] is not None or item["runs"] is not None:
            blueprints.append(
                {
                    "type_id": item["type_id"],
                    "name": item["type_name"],
                    "is_copy": bool(item["is_blueprint_copy"]) or (item["runs"] or -1) > 0,
                    "runs": item["runs"],
                    "material_efficiency": item["material_efficiency"],
                    "time_efficiency": item["time_efficiency"],
                }
            )
    ordered = (
        sorted(ships.values(), key=lambda s: (-s["quantity"], s["name"] or ""))
        if len(ships) > 1
        else list(ships.values())
    )
    return ordered, blueprints, offered, requested


def summary_fields(
    contract: Any,
    *,
    now: dt.datetime,
    items: Sequence[Mapping[str, Any]],
    names: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The list representation of a contract, as a dict of :class:`schemas.ContractSummary`.

    ``contract`` is either
    * a row carrying :data:`SUMMARY_COLUMNS`, :data:`NAME_COLUMNS`, ``offered_count``,
      ``requested_count`` and :data:`SHOWN_LINES` (the list statement, ``service``);
      ``items`` are then only the lines a summary shows (offered ships and blueprints),
      which spares a list its module lines; or
    * an ORM ``Contract`` with its :data:`NAME_COLUMNS` in ``names`` and every item in
      ``items`` (the detail), counted here.

    Plain dicts, not models: a page holds dozens of summaries and building a model for
    each costs more than the SQL (a row is taken whole, in C, by ``_asdict``). The
    shapes are those of :mod:`schemas`, which validates them wherever a model is needed.
    """
    ships, blueprints, offered, requested = _lines(items)
    if isinstance(contract, Row):
        s = contract._asdict()
        del s[SHOWN_LINES]
    else:
        s = {name: getattr(contract, name) for name in SUMMARY_COLUMNS}
        s.update(names or dict.fromkeys(NAME_COLUMNS))
        s["offered_count"], s["requested_count"] = offered, requested
    s["title"] = s["title"] or ""
    expired = s["date_expired"] = as_utc(s["date_expired"])
    s["date_issued"] = as_utc(s["date_issued"])
    if s["ended_at"] is not None:
        s["ended_at"] = as_utc(s["ended_at"])
        s["status"] = "ended"
    else:
        s["status"] = "expired" if expired <= now else "outstanding"
    price, ship_count = s["price"], s["ship_count"]
    s["price_per_ship"] = price / ship_count if price is not None and ship_count else None
    s["ships"] = ships
    s["blueprints"] = blueprints
    # Auctions and couriers (issue 13): the current bid is the highest, or the starting
    # price before the first bid.
    highest_bid = s.pop("highest_bid")
    s["current_bid"] = (
        (highest_bid if highest_bid is not None else price) if s["type"] == "auction" else None
    )
    s["bid_count"] = s["bid_count"] or 0
    reward, volume, jumps = s["reward"], s["volume"], s["jumps"]
    s["reward_per_m3"] = reward / volume if reward is not None and volume else None
    s["reward_per_jump"] = reward / jumps if reward is not None and jumps else None
    # Value (issue 12, docs/value.md).
    s["value_complete"] = bool(s["value_complete"])
    s["flags"] = described_flags(s["flags"])
    return s
