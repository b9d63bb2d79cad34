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
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
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
    """One owner of an EVE character that logged in through EVE SSO.

    EVE changes the owner hash when a character is sold, so a row is a (character, owner
    hash) pair: the buyer logging in gets a new row and starts with nothing, while the
    seller's rows (saved searches, watch entries) stay with the old row, out of reach.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    character_id: Mapped[int] = mapped_column(BigInteger, index=True)
    character_name: Mapped[str] = mapped_column(String(100))
    owner_hash: Mapped[str] = mapped_column(String(255))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("character_id", "owner_hash", name="uq_users_character_owner"),
    )


class SavedSearch(TimestampMixin, Base):
    """A named browse URL (F005); ``query`` is the normalised browse query string."""

    __tablename__ = "saved_searches"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[str] = mapped_column(Text, default="")
    # Alerts (F007) match new contracts against searches with this on.
    alerts: Mapped[bool] = mapped_column(Boolean, default=False)


class WatchEntry(TimestampMixin, Base):
    """A ship type a pilot watches (F006), optionally under a price (ISK) and in a region."""

    __tablename__ = "watch_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    type_id: Mapped[int] = mapped_column(BigInteger)
    max_price: Mapped[float | None] = mapped_column(Double)
    region_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(500))

    # The matcher looks entries up by the ship types a sweep brought in.
    __table_args__ = (Index("ix_watch_entries_type_id", "type_id"),)


class UserSession(Base):
    """A logged-in browser. The cookie holds a random token; only its SHA-256 is stored,
    so a copy of the table logs nobody in. Idle sessions expire (``last_seen_at``)."""

    __tablename__ = "user_sessions"

    # Hex SHA-256 of the cookie's token.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow
    )
    last_seen_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow, index=True
    )


# --- alerts (F007) -----------------------------------------------------------------------


class Notification(Base):
    """One thing to tell a pilot: a contract matched one of their sources, or a notice.

    ``kind`` is ``watch`` (``source_id`` a watch entry) or ``search`` (a saved search),
    with ``contract_id`` set; or ``notice`` (a message from Hangar Bay itself, such as a
    Discord webhook turned off), with ``message`` and no contract. The unique constraint
    makes matching idempotent: one notification per (user, contract, source), ever.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    # No foreign key: a sweep can bring tens of thousands of matches, and a per-row
    # check against contracts doubles their insert cost; contracts outlive their
    # notifications anyway (90-day retention against 30).
    contract_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))
    source_id: Mapped[int] = mapped_column(BigInteger, default=0)
    # The source's name when it matched (the source may be renamed or deleted later).
    source_name: Mapped[str] = mapped_column(String(80), default="")
    message: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint(
            "user_id", "contract_id", "kind", "source_id", name="uq_notifications_source"
        ),
        # The list and the bell's unread count (a user's rows, by the leading user_id).
        Index("ix_notifications_user_created", "user_id", "created_at"),
        Index("ix_notifications_created_at", "created_at"),
    )


class AlertOutbox(Base):
    """A notification waiting for (or done with) delivery to its user's Discord webhook.

    Written in the transaction that writes the notification, so a crash never loses
    one; ``status`` goes ``pending`` → ``sent`` | ``failed``. A sender claims rows
    (``claimed_until``) before posting, so several senders never post one row twice.
    """

    __tablename__ = "alert_outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("notifications.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claim: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_alert_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_alert_outbox_user_status", "user_id", "status"),
    )


class AlertSettings(Base):
    """A pilot's alert delivery settings: the optional Discord webhook."""

    __tablename__ = "alert_settings"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    discord_webhook_url: Mapped[str | None] = mapped_column(String(300))
    discord_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why delivery stopped (Discord answered 401/404), shown on /me.
    discord_disabled_reason: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


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
    # Auctions: the highest bid (ISK, null without bids) and the number of bids, written
    # with the bids (ingest.bids.save_bids) so a list and its sort need no aggregate.
    highest_bid: Mapped[float | None] = mapped_column(Double)
    bid_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set when a complete sweep no longer lists the contract (accepted, deleted, expired).
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Set once the alerts matcher has dealt with the contract (matched it when it was
    # live with its items settled, or skipped it because it ended first): the matcher's
    # persistent "processed" marker, whichever sweep pass settled the contract.
    alerts_matched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    # Value (F010), written by hangar_bay.market.valuation after items or prices change.
    # ISK: offered items minus requested items at ESI's market prices; partial (and then
    # value_complete is false) when some item has no price.
    estimated_value: Mapped[float | None] = mapped_column(Double)
    value_complete: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # (value - price) / value; null unless the value is complete and positive.
    discount: Mapped[float | None] = mapped_column(Double)
    # Flag codes as ",code,code," (so one LIKE finds a code), "" for none.
    flags: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # When the value was last computed; null: items or prices changed since (or never).
    valued_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

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
        # Browse filters and sorts (hangar_bay.contracts.query and .listing).
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
        # The courier and auction tabs sort their live rows by reward, reward per m³,
        # jumps (via the systems), collateral or the current bid: an index-only scan of
        # those types' rows instead of a scan of every contract. Partial, so the
        # other 64 % of contracts (item exchanges, loans) do not pay for it on writes.
        Index(
            "ix_contracts_courier_auction_live",
            "type",
            "ended_at",
            "date_expired",
            "contract_id",
            postgresql_include=[
                "reward",
                "volume",
                "collateral",
                "days_to_complete",
                "price",
                "highest_bid",
                "start_system_id",
                "end_location_id",
                "date_issued",
            ],
            postgresql_where=text("type IN ('courier', 'auction')"),
            sqlite_where=text("type IN ('courier', 'auction')"),
        ),
        # The discount sort (F010), ships and all contracts; contract_id is its tie-break.
        Index("ix_contracts_ship_discount", "is_ship_contract", "discount", "contract_id"),
        Index("ix_contracts_discount", "discount", "contract_id"),
        # PostgreSQL cannot read the index above backwards for DESC NULLS LAST (the
        # -discount sort); SQLite has no NULLS LAST in indexes and sorts the few rows.
        Index(
            "ix_contracts_ship_discount_desc",
            "is_ship_contract",
            text("discount DESC NULLS LAST"),
            text("contract_id DESC"),
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_contracts_discount_desc",
            text("discount DESC NULLS LAST"),
            text("contract_id DESC"),
        ).ddl_if(dialect="postgresql"),
        # The valuation pass looks for contracts never valued (or valued before a change).
        Index("ix_contracts_valued_at", "valued_at"),
        # The matcher's work list: the few contracts not yet matched (a partial index
        # over nearly no rows, whatever the size of the table).
        Index(
            "ix_contracts_alerts_unmatched",
            "contract_id",
            postgresql_where=text("alerts_matched_at IS NULL"),
            sqlite_where=text("alerts_matched_at IS NULL"),
        ),
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


class Route(Base):
    """Jumps between two solar systems (ESI ``GET /route/{origin}/{destination}/``,
    shortest), filled for courier contracts after sweeps; ``jumps`` is null when ESI
    knows no route (J-space)."""

    __tablename__ = "routes"

    origin_system_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    destination_system_id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False
    )
    jumps: Mapped[int | None] = mapped_column(Integer)
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


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


# --- market: prices, price history (F010, F011) ---------------------------------------


class MarketPrice(Base):
    """One row of ``GET /markets/prices/``: ESI's prices for a type, in ISK."""

    __tablename__ = "market_prices"

    type_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    average_price: Mapped[float | None] = mapped_column(Double)
    adjusted_price: Mapped[float | None] = mapped_column(Double)
    # When these prices were stored (the last refresh that brought new prices).
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PriceObservation(Base):
    """One ship contract that ever lived (F011), kept after the contract is gone.

    ``type_id`` is the contract's main ship (the one offered in the greatest quantity);
    ``single_hull``: an item exchange offering exactly one ship and nothing else, and
    asking for nothing: the contracts whose price is the price of a hull.
    """

    __tablename__ = "price_observations"

    contract_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type_id: Mapped[int] = mapped_column(BigInteger)
    region_id: Mapped[int] = mapped_column(BigInteger)
    ship_count: Mapped[int] = mapped_column(Integer)
    price_per_ship: Mapped[float | None] = mapped_column(Double)
    single_hull: Mapped[bool] = mapped_column(Boolean, default=False)
    date_issued: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_price_observations_type_issued", "type_id", "date_issued"),)


class PriceDaily(Base):
    """Daily price aggregates per ship type over single-hull item exchanges, by the UTC
    day the contracts were issued (ISK per ship)."""

    __tablename__ = "price_daily"

    type_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    min: Mapped[float] = mapped_column(Double)
    p25: Mapped[float] = mapped_column(Double)
    median: Mapped[float] = mapped_column(Double)
    p75: Mapped[float] = mapped_column(Double)


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
