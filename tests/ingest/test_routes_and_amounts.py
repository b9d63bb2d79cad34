"""What a sweep writes for type-aware browsing: courier routes (jumps per system pair),
an auction's highest bid and bid count, and null for amounts ESI gives no meaning."""

from __future__ import annotations

from sqlalchemy import func, select

from esi_sim.routes import route_between
from esi_sim.testing import RunningSimulator
from hangar_bay.core.database import Database
from hangar_bay.ingest.once import run_once
from hangar_bay.models import Contract, ContractBid, Route, Station
from hangar_bay.settings import Settings


async def test_sweep_fills_courier_routes_once(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    assert (await run_once(ingest_settings, show_progress=False)).ok
    # Destination stations are resolved by ingestion's universe step (issue 9); until
    # then, the test stores the ones it needs, as that step would.
    geo = sim.sim.geo
    async with database.session() as session:
        known = set(await session.scalars(select(Station.station_id)))
        ends = set(
            await session.scalars(
                select(Contract.end_location_id).where(Contract.type == "courier")
            )
        )
        session.add_all(
            Station(
                station_id=sid, name=geo.stations[sid].name, system_id=geo.stations[sid].system_id
            )
            for sid in ends - known
            if sid in geo.stations
        )
    assert (await run_once(ingest_settings, show_progress=False)).ok
    async with database.sessionmaker() as session:
        pairs = set(
            (
                await session.execute(
                    select(Contract.start_system_id, Station.system_id)
                    .join(Station, Station.station_id == Contract.end_location_id)
                    .where(Contract.type == "courier", Contract.start_system_id.is_not(None))
                )
            ).all()
        )
        routes = {
            (r.origin_system_id, r.destination_system_id): r.jumps
            for r in (await session.scalars(select(Route))).all()
        }
    assert pairs, "the tiny universe has couriers between known systems"
    assert pairs <= routes.keys()
    for (origin, destination), jumps in routes.items():
        path = route_between(sim.sim.geo, origin, destination)
        assert jumps == (None if path is None else len(path) - 1)

    sim.sim.reset_stats()
    assert (await run_once(ingest_settings, show_progress=False)).ok
    # Every pair is known: no route is asked again.
    assert "route" not in sim.sim.stats.as_dict()["by_route"]


async def test_bid_summary_and_null_amounts(
    database: Database, ingest_settings: Settings, sim: RunningSimulator
) -> None:
    assert (await run_once(ingest_settings, show_progress=False)).ok
    async with database.sessionmaker() as session:
        bids = {
            cid: (top, n)
            for cid, top, n in await session.execute(
                select(
                    ContractBid.contract_id, func.max(ContractBid.amount), func.count()
                ).group_by(ContractBid.contract_id)
            )
        }
        contracts = (await session.scalars(select(Contract))).all()
    assert bids, "the tiny universe has auctions with bids"
    for c in contracts:
        top, count = bids.get(c.contract_id, (None, 0))
        assert (c.highest_bid, c.bid_count) == (top, count)
        if c.type != "auction":
            assert c.buyout is None
        if c.type != "courier":
            # Null unless ESI sent a real amount (an item exchange may pay a reward).
            assert c.reward is None or c.reward > 0
        if c.type in ("item_exchange", "auction"):
            assert c.collateral is None
        if c.type == "courier":
            assert c.price is None
            assert c.reward is not None


def test_amounts_a_type_has_no_use_for_are_null_only_when_zero() -> None:
    from hangar_bay.ingest.schemas import only_where_meaningful

    base = {"type": "item_exchange", "price": 0.0, "buyout": 0.0, "collateral": 0.0}
    # A "want to buy" item exchange pays a reward: kept.
    assert only_where_meaningful({**base, "reward": 25_900_000.0})["reward"] == 25_900_000.0
    row = only_where_meaningful({**base, "reward": 0.0})
    assert (row["reward"], row["buyout"], row["collateral"], row["price"]) == (
        None,
        None,
        None,
        0.0,
    )
    courier = only_where_meaningful({"type": "courier", "price": 0.0, "reward": 0.0})
    assert (courier["price"], courier["reward"]) == (None, 0.0)
    auction = only_where_meaningful({"type": "auction", "price": 1e6, "buyout": 0.0})
    assert auction["buyout"] is None
    loan = only_where_meaningful({"type": "loan", "collateral": 0.0})
    assert loan["collateral"] == 0.0
