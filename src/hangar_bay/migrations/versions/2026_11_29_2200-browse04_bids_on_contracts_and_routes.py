"""browse04: an auction's highest bid and bid count on its contract; routes between systems;
an index for the courier and auction tabs

Revision ID: browse04
Revises: alerts01
Create Date: 2026-11-29 22:00:00

Existing buyout/collateral/reward values of 0.0 that ESI may have omitted stay as they
are: the stored row cannot tell an omitted field from a real zero. New sweeps write null
(ingest.schemas.ContractRow).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "browse04"
down_revision: str | None = "alerts01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contracts") as batch:
        batch.add_column(sa.Column("highest_bid", sa.Double(), nullable=True))
        batch.add_column(sa.Column("bid_count", sa.Integer(), server_default="0", nullable=False))
    # The bids already stored decide both columns.
    op.execute(
        "UPDATE contracts SET "
        "highest_bid = (SELECT max(b.amount) FROM contract_bids b "
        "WHERE b.contract_id = contracts.contract_id), "
        "bid_count = (SELECT count(*) FROM contract_bids b "
        "WHERE b.contract_id = contracts.contract_id) "
        "WHERE contracts.type = 'auction'"
    )
    with op.batch_alter_table("contracts") as batch:
        batch.create_index(
            "ix_contracts_courier_auction_live",
            ["type", "ended_at", "date_expired", "contract_id"],
            unique=False,
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
            postgresql_where=sa.text("type IN ('courier', 'auction')"),
            sqlite_where=sa.text("type IN ('courier', 'auction')"),
        )
    op.create_table(
        "routes",
        sa.Column("origin_system_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("destination_system_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("jumps", sa.Integer(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "origin_system_id", "destination_system_id", name=op.f("pk_routes")
        ),
    )


def downgrade() -> None:
    op.drop_table("routes")
    with op.batch_alter_table("contracts") as batch:
        batch.drop_index("ix_contracts_courier_auction_live")
        batch.drop_column("bid_count")
        batch.drop_column("highest_bid")
