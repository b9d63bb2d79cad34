"""A contract's list representation (:class:`schemas.ContractSummary`) as plain data,
from an ORM object or a row carrying its columns: the shared part of the list and the
detail, and the type-aware fields of auctions and couriers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from hangar_bay.contracts.query import SHIP_CATEGORY
from hangar_bay.market.flags import described as described_flags
from hangar_bay.models import as_utc


def _status(contract: Any, now: dt.datetime) -> str:
    if contract.ended_at is not None:
        return "ended"
    if as_utc(contract.date_expired) <= now:
        return "expired"
    return "outstanding"


def summary_fields(
    contract: Any,
    *,
    now: dt.datetime,
    region_name: str | None,
    issuer_name: str | None,
    system_name: str | None,
    items: Sequence[dict[str, Any]],
    end: Any = None,
) -> dict[str, Any]:
    """The list representation of a contract (an ORM object or a row with its columns).

    Plain dicts, not models: a page holds hundreds of item lines and building a model
    for each costs more than the SQL. The shapes are those of :mod:`schemas`, which
    validates them wherever a model is needed.
    """
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
    price_per_ship = (
        contract.price / contract.ship_count
        if contract.price is not None and contract.ship_count
        else None
    )
    return {
        "contract_id": contract.contract_id,
        "type": contract.type,
        "title": contract.title or "",
        "status": _status(contract, now),
        "region_id": contract.region_id,
        "region_name": region_name,
        "issuer_id": contract.issuer_id,
        "issuer_name": issuer_name,
        "date_issued": as_utc(contract.date_issued),
        "date_expired": as_utc(contract.date_expired),
        "ended_at": as_utc(contract.ended_at) if contract.ended_at else None,
        "price": contract.price,
        "buyout": contract.buyout,
        "collateral": contract.collateral,
        "reward": contract.reward,
        "volume": contract.volume,
        "days_to_complete": contract.days_to_complete,
        "start_location_id": contract.start_location_id,
        "start_location_name": contract.start_location_name,
        "start_system_id": contract.start_system_id,
        "start_system_name": system_name,
        "start_security": contract.start_security,
        "start_is_structure": contract.start_is_structure,
        "end_location_id": contract.end_location_id,
        "is_ship_contract": contract.is_ship_contract,
        "ship_count": contract.ship_count,
        "price_per_ship": price_per_ship,
        "ships": (
            sorted(ships.values(), key=lambda s: (-s["quantity"], s["name"] or ""))
            if len(ships) > 1
            else list(ships.values())
        ),
        "blueprints": blueprints,
        "offered_count": offered,
        "requested_count": requested,
        **type_fields(contract, end),
        # --- value (F010); docs/value.md ---
        "estimated_value": contract.estimated_value,
        "value_complete": bool(contract.value_complete),
        "discount": contract.discount,
        "flags": described_flags(contract.flags),
    }


def type_fields(contract: Any, end: Any) -> dict[str, Any]:
    """The auction and courier fields of a summary. The destination's station, system and
    security are stored on the contract by ingestion; ``end`` is a row carrying the
    destination system's ``end_system_name`` and the route's ``jumps``, or ``None``."""
    is_auction = contract.type == "auction"
    jumps = getattr(end, "jumps", None)
    reward, volume = contract.reward, contract.volume
    return {
        "current_bid": (
            contract.highest_bid if contract.highest_bid is not None else contract.price
        )
        if is_auction
        else None,
        "bid_count": contract.bid_count or 0,
        "end_location_name": contract.end_location_name,
        "end_system_id": contract.end_system_id,
        "end_system_name": getattr(end, "end_system_name", None),
        "end_security": contract.end_security,
        "jumps": jumps,
        "reward_per_m3": reward / volume if reward is not None and volume else None,
        "reward_per_jump": reward / jumps if reward is not None and jumps else None,
    }
