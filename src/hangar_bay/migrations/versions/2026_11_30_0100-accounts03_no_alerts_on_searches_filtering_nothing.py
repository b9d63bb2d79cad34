"""no alerts on saved searches that filter nothing

Revision ID: accounts03
Revises: ingest02
Create Date: 2026-11-30 01:00:00

Saved searches may no longer have alerts on when their query filters nothing (every
contract in New Eden would be an alert); the API and forms refuse it from now on. This
switches alerts off on the searches saved that way before. A data change only: the
downgrade leaves them off (which searches had them on is not kept).
"""

from collections.abc import Sequence
from urllib.parse import parse_qsl

import sqlalchemy as sa
from alembic import op

revision: str = "accounts03"
down_revision: str | None = "ingest02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rule as it stands at this revision (accounts/searches.py:filters_nothing), written
# out so this migration keeps meaning the same whatever the code becomes: stored queries
# are normalised (defaults left out), so a query filters nothing when it names nothing
# but these, or names a parameter with a blank value.
_NOT_NARROWING = frozenset({"sort", "page", "size", "ships_only"})
_BATCH = 500

saved_searches = sa.table(
    "saved_searches",
    sa.column("id", sa.BigInteger()),
    sa.column("query", sa.Text()),
    sa.column("alerts", sa.Boolean()),
)


def _filters_nothing(query: str) -> bool:
    names = {name for name, value in parse_qsl(query) if value.strip()}
    return not (names - _NOT_NARROWING)


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(saved_searches.c.id, saved_searches.c.query).where(
            saved_searches.c.alerts.is_(True)
        )
    )
    ids = [row_id for row_id, query in rows if _filters_nothing(query or "")]
    for start in range(0, len(ids), _BATCH):
        connection.execute(
            saved_searches.update()
            .where(saved_searches.c.id.in_(ids[start : start + _BATCH]))
            .values(alerts=False)
        )


def downgrade() -> None:
    pass
