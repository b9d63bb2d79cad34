"""no alerts on saved searches whose filters exclude nothing

Revision ID: accounts04
Revises: accounts03
Create Date: 2026-11-30 02:00:00

The rule of accounts03 (no alerts on a search that filters nothing) now also counts as
no filter a filter that cannot exclude a contract: every contract type listed, every
security band listed, a minimum price of 0. The API and forms refuse alerts on such a
search from now on; this switches alerts off on the searches saved that way before. A
data change only: the downgrade leaves them off (which searches had them on is not kept).
"""

from collections.abc import Sequence
from urllib.parse import parse_qsl

import sqlalchemy as sa
from alembic import op

revision: str = "accounts04"
down_revision: str | None = "accounts03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rule as it stands at this revision (accounts/searches.py:filters_nothing), written
# out so this migration keeps meaning the same whatever the code becomes. Stored queries
# are normalised (defaults left out, lists in a canonical order).
_NOT_NARROWING = frozenset({"sort", "page", "size", "ships_only"})
_COMPLETE_LISTS = {
    "contract_type": frozenset({"item_exchange", "auction", "courier", "loan", "unknown"}),
    "security": frozenset({"high", "low", "null", "wormhole", "unknown"}),
}
_BATCH = 500

saved_searches = sa.table(
    "saved_searches",
    sa.column("id", sa.BigInteger()),
    sa.column("query", sa.Text()),
    sa.column("alerts", sa.Boolean()),
)


def _no_minimum(values: list[str]) -> bool:
    try:
        return all(float(value) <= 0 for value in values)
    except ValueError:
        return False


def _filters_nothing(query: str) -> bool:
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(query):
        if value.strip():
            values.setdefault(name, []).append(value)
    for name, given in values.items():
        if name in _NOT_NARROWING:
            continue
        if name in _COMPLETE_LISTS and _COMPLETE_LISTS[name] <= set(given):
            continue
        if name == "min_price" and _no_minimum(given):
            continue
        return False
    return True


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
