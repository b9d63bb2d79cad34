"""Every table, in one module, so Alembic's autogenerate and ``alembic check`` see them all.

Ids from ESI are 64-bit (``BigInteger``). Relationships are ``lazy="raise"``: a query
that needs related rows must say so, which keeps N+1 queries out of the request path.
"""

from __future__ import annotations

import datetime as dt
from typing import overload

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes even for timezone-aware columns; they are UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow, onupdate=utcnow
    )


# --- accounts -------------------------------------------------------------------------


class User(TimestampMixin, Base):
    """An EVE character that logged in through EVE SSO."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    character_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    character_name: Mapped[str] = mapped_column(String(100))
    # EVE changes the owner hash when a character is sold: a new hash is a new owner.
    owner_hash: Mapped[str] = mapped_column(String(255))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# --- the static universe, resolved from ESI and kept ----------------------------------


class Region(Base):
    __tablename__ = "regions"

    region_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))


class SolarSystem(Base):
    __tablename__ = "systems"

    system_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    constellation_id: Mapped[int | None] = mapped_column(BigInteger)
    region_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    security_status: Mapped[float] = mapped_column(Double)


class Station(Base):
    __tablename__ = "stations"

    station_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    system_id: Mapped[int] = mapped_column(BigInteger)


class ItemCategory(Base):
    __tablename__ = "item_categories"

    category_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    published: Mapped[bool] = mapped_column(Boolean, default=True)


class ItemGroup(Base):
    __tablename__ = "item_groups"

    group_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int] = mapped_column(BigInteger, index=True)
    published: Mapped[bool] = mapped_column(Boolean, default=True)


class ItemType(Base):
    __tablename__ = "item_types"

    type_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(300))
    group_id: Mapped[int] = mapped_column(BigInteger, index=True)
    # Denormalised from the group: "is this a ship?" is asked for every contract item.
    category_id: Mapped[int] = mapped_column(BigInteger, index=True)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    volume: Mapped[float | None] = mapped_column(Double)
    packaged_volume: Mapped[float | None] = mapped_column(Double)


class EntityName(Base):
    """Names of characters, corporations and other entities from ``POST /universe/names/``."""

    __tablename__ = "entity_names"

    entity_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))


# --- contracts --------------------------------------------------------------------------


class Contract(Base):
    """A public contract as ESI lists it, plus what ingestion derives from it."""

    __tablename__ = "contracts"

    contract_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    region_id: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(20))
    issuer_id: Mapped[int] = mapped_column(BigInteger)
    issuer_corporation_id: Mapped[int] = mapped_column(BigInteger)
    for_corporation: Mapped[bool] = mapped_column(Boolean, default=False)
    date_issued: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    date_expired: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    days_to_complete: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[float | None] = mapped_column(Double)
    buyout: Mapped[float | None] = mapped_column(Double)
    collateral: Mapped[float | None] = mapped_column(Double)
    reward: Mapped[float | None] = mapped_column(Double)
    volume: Mapped[float | None] = mapped_column(Double)
    title: Mapped[str] = mapped_column(Text, default="")
    start_location_id: Mapped[int | None] = mapped_column(BigInteger)
    end_location_id: Mapped[int | None] = mapped_column(BigInteger)

    # Derived by ingestion.
    start_system_id: Mapped[int | None] = mapped_column(BigInteger)
    start_security: Mapped[float | None] = mapped_column(Double)
    start_location_name: Mapped[str | None] = mapped_column(String(200))
    start_is_structure: Mapped[bool] = mapped_column(Boolean, default=False)
    # The same for a courier's destination.
    end_system_id: Mapped[int | None] = mapped_column(BigInteger)
    end_security: Mapped[float | None] = mapped_column(Double)
    end_location_name: Mapped[str | None] = mapped_column(String(200))
    end_is_structure: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    # pending → fetched | gone (204) | forbidden (403/404) | none (courier/loan).
    # gone/forbidden while still listed: hidden (ended_at set, most likely accepted) and
    # asked again from items_next_check_at on, at a growing interval.
    items_status: Mapped[str] = mapped_column(String(12), default="pending")
    # Item fetches that ended without an answer to keep (failed after the in-pass
    # retries, or "not available"), and when to ask next (None: at once).
    items_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    items_next_check_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    is_ship_contract: Mapped[bool] = mapped_column(Boolean, default=False)
    ship_count: Mapped[int] = mapped_column(Integer, default=0)
    # Text search haystack: title, item names, location name (lower-cased).
    search_text: Mapped[str] = mapped_column(Text, default="")

    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set when a complete sweep no longer lists the contract (accepted, deleted, expired).
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    items: Mapped[list[ContractItem]] = relationship(
        back_populates="contract", lazy="raise", cascade="all, delete-orphan"
    )
    bids: Mapped[list[ContractBid]] = relationship(
        back_populates="contract", lazy="raise", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_contracts_region_ended", "region_id", "ended_at"),
        Index("ix_contracts_ship_issued", "is_ship_contract", "date_issued"),
        Index("ix_contracts_items_status", "items_status"),
        Index("ix_contracts_price", "price"),
        Index("ix_contracts_date_expired", "date_expired"),
        # Browse filters and sorts (hangar_bay.contracts.service).
        Index("ix_contracts_issuer_id", "issuer_id"),
        Index("ix_contracts_volume", "volume"),
        Index("ix_contracts_ship_security", "is_ship_contract", "start_security"),
        # Ships are a minority: leading with is_ship_contract keeps the default (ships
        # only) view's scans to ship rows. The first covers the per-type counts of live
        # contracts (an index-only scan, contract_id included for the item filters' semi
        # join); the second the time-left sort, in index order.
        Index(
            "ix_contracts_ship_live_ids",
            "is_ship_contract",
            "ended_at",
            "date_expired",
            "type",
            "contract_id",
            # The class view's page sorts by it: index-only instead of a heap row each.
            postgresql_include=["date_issued"],
        ),
        Index("ix_contracts_ship_expired", "is_ship_contract", "date_expired", "contract_id"),
        Index("ix_contracts_ship_price", "is_ship_contract", "price"),
        Index("ix_contracts_ship_volume", "is_ship_contract", "volume"),
        Index("ix_contracts_ship_region", "is_ship_contract", "region_id"),
        # The same for views of every contract (ships_only=false); the second covers the
        # live test too, so a deep page skips its rows in the index alone.
        Index("ix_contracts_live", "ended_at", "date_expired", "type"),
        Index("ix_contracts_issued_live", "date_issued", "contract_id", "ended_at", "date_expired"),
        # Substring search: a trigram GIN index on PostgreSQL. SQLite cannot use an index
        # for LIKE '%term%', so there the index is partial over no rows and costs nothing.
        Index(
            "ix_contracts_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            sqlite_where=text("0"),
        ),
    )


class ContractItem(Base):
    __tablename__ = "contract_items"

    contract_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("contracts.contract_id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type_id: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    is_included: Mapped[bool] = mapped_column(Boolean)
    is_singleton: Mapped[bool] = mapped_column(Boolean, default=False)
    item_id: Mapped[int | None] = mapped_column(BigInteger)
    is_blueprint_copy: Mapped[bool | None] = mapped_column(Boolean)
    material_efficiency: Mapped[int | None] = mapped_column(Integer)
    time_efficiency: Mapped[int | None] = mapped_column(Integer)
    runs: Mapped[int | None] = mapped_column(Integer)

    contract: Mapped[Contract] = relationship(back_populates="items", lazy="raise")

    __table_args__ = (
        Index("ix_contract_items_type_contract", "type_id", "contract_id"),
        # Blueprint filters (copies/originals, runs, ME, TE) look for the few items that
        # are blueprints (ESI always sends runs for those, -1 on originals).
        Index(
            "ix_contract_items_blueprints",
            "contract_id",
            postgresql_where=text("runs IS NOT NULL"),
            sqlite_where=text("runs IS NOT NULL"),
        ),
    )


class ContractBid(Base):
    __tablename__ = "contract_bids"

    bid_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    contract_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("contracts.contract_id", ondelete="CASCADE"), index=True
    )
    date_bid: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    amount: Mapped[float] = mapped_column(Double)

    contract: Mapped[Contract] = relationship(back_populates="bids", lazy="raise")


# --- ingestion bookkeeping ----------------------------------------------------------------


class NameCheck(Base):
    """An id ``POST /universe/names/`` refused (unknown to ESI for now, e.g. a character
    created minutes ago): asked again from ``next_check_at`` on, at a growing interval.
    In the database so restarts and every worker share it."""

    __tablename__ = "name_checks"

    entity_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    next_check_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class EsiPage(Base):
    """Conditional-request state of one ESI page, so a restart does not refetch it early."""

    __tablename__ = "esi_pages"

    url: Mapped[str] = mapped_column(String(400), primary_key=True)
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # What a 304 stands for: the ids the page held when it was last fetched in full.
    payload: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RegionStatus(Base):
    """Freshness of one region's data: the last sweep, its outcome and counts."""

    __tablename__ = "region_status"

    region_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_complete_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_outcome: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str | None] = mapped_column(Text)
    next_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    contracts_live: Mapped[int] = mapped_column(Integer, default=0)
    ship_contracts_live: Mapped[int] = mapped_column(Integer, default=0)
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    last_duration_seconds: Mapped[float | None] = mapped_column(Double)
