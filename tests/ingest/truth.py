"""Comparing the database with the simulator's ground truth."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from hangar_bay.core.database import Database
from hangar_bay.ingest.schemas import only_where_meaningful
from hangar_bay.models import Contract, ContractBid, ContractItem, EntityName, RegionStatus

FIELDS = (
    "type",
    "issuer_id",
    "issuer_corporation_id",
    "for_corporation",
    "days_to_complete",
    "price",
    "buyout",
    "collateral",
    "reward",
    "volume",
    "start_location_id",
    "end_location_id",
)
ITEM_FIELDS = (
    "record_id",
    "type_id",
    "quantity",
    "is_included",
    "item_id",
    "is_blueprint_copy",
    "material_efficiency",
    "time_efficiency",
    "runs",
)


def _time(value: str | dt.datetime) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def database_state(database: Database) -> dict[str, Any]:
    async with database.sessionmaker() as session:
        contracts = {c.contract_id: c for c in (await session.execute(select(Contract))).scalars()}
        items: dict[int, list[tuple[Any, ...]]] = {}
        for item in (await session.execute(select(ContractItem))).scalars():
            items.setdefault(item.contract_id, []).append(
                tuple(getattr(item, f) for f in ITEM_FIELDS)
            )
        bids: dict[int, set[int]] = {}
        for bid in (await session.execute(select(ContractBid))).scalars():
            bids.setdefault(bid.contract_id, set()).add(bid.bid_id)
        names = dict((await session.execute(select(EntityName.entity_id, EntityName.name))).all())
    return {"contracts": contracts, "items": items, "bids": bids, "names": names}


def truth_item(raw: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(raw.get(f) for f in ITEM_FIELDS)


def ground_truth(sim: Any, regions: Iterable[int] | None = None) -> dict[str, Any]:
    """What a complete sweep sees now, and which of those contracts have not ended yet
    (ESI answers 204 for the items of the others, so their items cannot be known)."""
    wanted = list(regions) if regions is not None else None
    truth: dict[str, Any] = sim.ground_truth(region_ids=wanted)
    live = sim.ground_truth(live_only=True, region_ids=wanted)
    truth["live_ids"] = {c["contract_id"] for c in live["contracts"]}
    return truth


def browse_live(truth: dict[str, Any], sim: Any) -> int:
    """Listed contracts not past their date_expired: what browse and the region counts
    call live."""
    now = dt.datetime.fromtimestamp(sim.now(), dt.UTC)
    return sum(1 for c in truth["contracts"] if _time(c["date_expired"]) > now)


def mismatches(
    state: dict[str, Any], truth: dict[str, Any], regions: Iterable[int] | None = None
) -> list[str]:
    """Every difference between the database and the ground truth (empty: exact)."""
    wanted = set(regions) if regions is not None else None
    ended_since: set[int] = {c["contract_id"] for c in truth["contracts"]} - truth.get(
        "live_ids", {c["contract_id"] for c in truth["contracts"]}
    )
    expected = {
        c["contract_id"]: c
        for c in truth["contracts"]
        if wanted is None or c["region_id"] in wanted
    }
    contracts: dict[int, Contract] = state["contracts"]
    live = {
        cid: c
        for cid, c in contracts.items()
        if c.ended_at is None and (wanted is None or c.region_id in wanted)
    }
    problems: list[str] = []
    # Ended after the listing was cut: ESI answers 204 for its items, so it is hidden
    # (most likely accepted) although the listing still holds it.
    hidden = {
        cid
        for cid in ended_since & expected.keys()
        if cid in contracts
        and contracts[cid].ended_at is not None
        and contracts[cid].items_status in ("gone", "forbidden")
    }
    shown_hidden = {cid for cid, c in live.items() if c.items_status in ("gone", "forbidden")}
    if shown_hidden:
        problems.append(f"{len(shown_hidden)} contracts with unavailable items shown")
    expected = {cid: c for cid, c in expected.items() if cid not in hidden}
    missing = expected.keys() - live.keys()
    extra = live.keys() - expected.keys()
    if missing:
        problems.append(f"{len(missing)} live contracts missing, e.g. {sorted(missing)[:5]}")
    if extra:
        problems.append(f"{len(extra)} contracts live but not listed, e.g. {sorted(extra)[:5]}")
    for cid in sorted(expected.keys() & live.keys()):
        # Ingestion keeps only the amounts ESI documents for the type (None elsewhere).
        want, got = only_where_meaningful(expected[cid]), live[cid]
        for f in FIELDS:
            if want.get(f) != getattr(got, f):
                problems.append(f"{cid}.{f}: {getattr(got, f)!r} != {want.get(f)!r}")
        if (want.get("title") or "") != got.title:
            problems.append(f"{cid}.title differs")
        if got.region_id != want["region_id"]:
            problems.append(f"{cid}.region_id differs")
        for f in ("date_issued", "date_expired"):
            if _time(getattr(got, f)) != _time(want[f]):
                problems.append(f"{cid}.{f} differs")
        if got.start_is_structure:
            if got.start_location_name is not None:
                problems.append(f"{cid}: structure has a name")
        else:
            if got.start_system_id != want["start_system_id"]:
                problems.append(f"{cid}.start_system_id {got.start_system_id}")
            if got.start_location_name != want["start_location_name"]:
                problems.append(f"{cid}.start_location_name {got.start_location_name!r}")
            ws, gs = want["start_security_status"], got.start_security
            if (ws is None) != (gs is None) or (ws is not None and abs(ws - gs) > 1e-9):
                problems.append(f"{cid}.start_security {gs} != {ws}")
        if "end_system_id" in want and not got.end_is_structure:
            # A courier's destination, resolved as the start is.
            if got.end_system_id != want["end_system_id"]:
                problems.append(f"{cid}.end_system_id {got.end_system_id}")
            if got.end_location_name != want["end_location_name"]:
                problems.append(f"{cid}.end_location_name {got.end_location_name!r}")
            we, ge = want["end_security_status"], got.end_security
            if (we is None) != (ge is None) or (we is not None and abs(we - ge) > 1e-9):
                problems.append(f"{cid}.end_security {ge} != {we}")
        if cid in ended_since and got.items_status in ("gone", "pending"):
            # Ended after the listing was cut: ESI no longer serves its items (and past
            # its date_expired they are not even asked for).
            pass
        elif want["type"] in ("item_exchange", "auction"):
            if got.items_status != "fetched":
                problems.append(f"{cid}.items_status {got.items_status}")
            if got.is_ship_contract != want["is_ship_contract"]:
                problems.append(f"{cid}.is_ship_contract {got.is_ship_contract}")
            got_items = Counter(state["items"].get(cid, []))
            want_items = Counter(truth_item(i) for i in want["items"])
            if got_items != want_items:
                problems.append(f"{cid}: items differ ({len(got_items)} vs {len(want_items)})")
            if want["type"] == "auction":
                want_bids = {b["bid_id"] for b in want["bids"]}
                if state["bids"].get(cid, set()) != want_bids:
                    problems.append(f"{cid}: bids differ")
        else:
            if got.items_status != "none" or got.is_ship_contract:
                problems.append(f"{cid}: {want['type']} has items status {got.items_status}")
        if want.get("issuer_name") and state["names"].get(got.issuer_id) != want["issuer_name"]:
            problems.append(f"{cid}: issuer name {state['names'].get(got.issuer_id)!r}")
    return problems


def duplicate_free(state: dict[str, Any]) -> bool:
    return all(len(set(rows)) == len(rows) for rows in state["items"].values())


async def wait_complete(database: Database, regions: int, timeout: float) -> None:
    """Poll region_status until `regions` regions report a complete sweep."""
    complete = 0
    for _ in range(int(timeout / 0.5)):
        async with database.sessionmaker() as session:
            complete = int(
                await session.scalar(
                    select(func.count())
                    .select_from(RegionStatus)
                    .where(RegionStatus.last_outcome == "complete")
                )
                or 0
            )
        if complete >= regions:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"only {complete}/{regions} regions complete after {timeout}s")
