"""ingestion fidelity: courier destinations resolved, item re-checks, name re-checks

Revision ID: ingest02
Revises: value01
Create Date: 2026-11-29 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ingest02"
down_revision: str | None = "value01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_system_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("end_security", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("end_location_name", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column(
                "end_is_structure", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("items_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("items_next_check_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "name_checks",
        sa.Column("entity_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", name=op.f("pk_name_checks")),
    )
    op.create_index(
        op.f("ix_name_checks_next_check_at"), "name_checks", ["next_check_at"], unique=False
    )
    # Couriers stored before this revision have no resolved destination: forget the
    # listing pages' validators, so the next sweep reads every page in full and rewrites
    # the contracts whose locations are not resolved (only those; bids and items keep theirs).
    op.execute(
        sa.text(
            "DELETE FROM esi_pages WHERE url LIKE '/contracts/public/%' "
            "AND url NOT LIKE '/contracts/public/items/%' "
            "AND url NOT LIKE '/contracts/public/bids/%'"
        )
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_name_checks_next_check_at"), table_name="name_checks")
    op.drop_table("name_checks")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_column("items_next_check_at")
        batch_op.drop_column("items_attempts")
        batch_op.drop_column("end_is_structure")
        batch_op.drop_column("end_location_name")
        batch_op.drop_column("end_security")
        batch_op.drop_column("end_system_id")
