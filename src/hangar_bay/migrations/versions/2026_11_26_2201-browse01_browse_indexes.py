"""browse indexes: ship-first filter/sort indexes, issuer, volume, blueprints, trigram search

Revision ID: browse01
Revises: 8a6000dbe6c1
Create Date: 2026-11-26 22:01:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "browse01"
down_revision: str | None = "8a6000dbe6c1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.create_index("ix_contracts_issuer_id", ["issuer_id"], unique=False)
        batch_op.create_index("ix_contracts_volume", ["volume"], unique=False)
        batch_op.create_index(
            "ix_contracts_ship_security", ["is_ship_contract", "start_security"], unique=False
        )
        batch_op.create_index(
            "ix_contracts_ship_live",
            ["is_ship_contract", "ended_at", "date_expired", "type"],
            unique=False,
        )
        batch_op.create_index(
            "ix_contracts_ship_price", ["is_ship_contract", "price"], unique=False
        )
        batch_op.create_index(
            "ix_contracts_ship_volume", ["is_ship_contract", "volume"], unique=False
        )
        batch_op.create_index(
            "ix_contracts_ship_region", ["is_ship_contract", "region_id"], unique=False
        )
        batch_op.create_index(
            "ix_contracts_live", ["ended_at", "date_expired", "type"], unique=False
        )
        batch_op.create_index("ix_contracts_date_issued", ["date_issued"], unique=False)
    with op.batch_alter_table("contract_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contract_items_blueprints",
            ["contract_id"],
            unique=False,
            postgresql_where=sa.text("runs IS NOT NULL"),
            sqlite_where=sa.text("runs IS NOT NULL"),
        )
    if postgres:
        op.create_index(
            "ix_contracts_search_trgm",
            "contracts",
            ["search_text"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        )
    else:
        # LIKE '%term%' cannot use a B-tree: an index over no rows keeps the schema in
        # step with the models at no cost.
        op.create_index(
            "ix_contracts_search_trgm",
            "contracts",
            ["search_text"],
            unique=False,
            sqlite_where=sa.text("0"),
        )


def downgrade() -> None:
    op.drop_index("ix_contracts_search_trgm", table_name="contracts")
    with op.batch_alter_table("contract_items", schema=None) as batch_op:
        batch_op.drop_index("ix_contract_items_blueprints")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_index("ix_contracts_date_issued")
        batch_op.drop_index("ix_contracts_live")
        batch_op.drop_index("ix_contracts_ship_region")
        batch_op.drop_index("ix_contracts_ship_volume")
        batch_op.drop_index("ix_contracts_ship_price")
        batch_op.drop_index("ix_contracts_ship_live")
        batch_op.drop_index("ix_contracts_ship_security")
        batch_op.drop_index("ix_contracts_volume")
        batch_op.drop_index("ix_contracts_issuer_id")
