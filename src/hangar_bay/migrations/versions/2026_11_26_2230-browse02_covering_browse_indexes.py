"""covering browse indexes: ship counts with contract_id, time-left sort, deep pages

Revision ID: browse02
Revises: browse01
Create Date: 2026-11-26 22:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "browse02"
down_revision: str | None = "browse01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        # Replaces ix_contracts_ship_live: the same columns plus contract_id, so the
        # counts of a ship-class or type view are an index-only scan.
        batch_op.drop_index("ix_contracts_ship_live")
        batch_op.create_index(
            "ix_contracts_ship_live_ids",
            ["is_ship_contract", "ended_at", "date_expired", "type", "contract_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_contracts_ship_expired",
            ["is_ship_contract", "date_expired", "contract_id"],
            unique=False,
        )
        # Replaces ix_contracts_date_issued: sorted and covering the live test.
        batch_op.drop_index("ix_contracts_date_issued")
        batch_op.create_index(
            "ix_contracts_issued_live",
            ["date_issued", "contract_id", "ended_at", "date_expired"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_index("ix_contracts_issued_live")
        batch_op.create_index("ix_contracts_date_issued", ["date_issued"], unique=False)
        batch_op.drop_index("ix_contracts_ship_expired")
        batch_op.drop_index("ix_contracts_ship_live_ids")
        batch_op.create_index(
            "ix_contracts_ship_live",
            ["is_ship_contract", "ended_at", "date_expired", "type"],
            unique=False,
        )
