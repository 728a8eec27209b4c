"""A run's comparison entries live in a partition of their own (PostgreSQL), and a run says
when its lists were removed.

Every run stores an entry per benefit in the city (ten million), so the table grows by that
much a run. Partitioned by run (``LIST (run_id)``), the lists of a run nobody works from any
more are removed by dropping one table — no ten-million-row ``DELETE``, no vacuum after it —
and a run's queries read only its own partition. The embedded database (SQLite) keeps one
table and deletes the rows.

The entries already stored are moved into one partition per run. The partition's name is
``comparison_entries_<run id as 32 hex digits>`` (storage/comparison_repos.py makes the new
ones; this revision keeps its own copy of the rule, as it was when it was written).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "comparison_entries"
INDEXES = (  # name, columns, partial
    ("ix_comparison_entries_district", ("run_id", "list", "district_code", "person_id"), None),
    ("ix_comparison_entries_walk", ("run_id", "list", "person_id"), None),
    ("ix_comparison_entries_person", ("person_id",), None),
    ("ix_comparison_entries_news", ("run_id", "district_code", "person_id"), "news"),
)


def _partition(run_id: UUID) -> str:
    return f"{TABLE}_{run_id.hex}"


def _keys(table: str) -> None:
    op.create_primary_key(f"pk_{TABLE}", table, ["run_id", "entitlement_id"])
    op.create_foreign_key(
        f"fk_{TABLE}_run_id_comparison_runs", table, "comparison_runs", ["run_id"], ["id"]
    )
    for name, columns, where in INDEXES:
        op.create_index(
            name, table, list(columns), postgresql_where=sa.text(where) if where else None
        )


def _move(source: str, target: str, *, partitioned: bool) -> None:
    """``target`` (new, no keys yet) takes ``source``'s rows; ``source`` is dropped and
    ``target`` gets its name, keys and indexes."""
    bind = op.get_bind()
    op.execute(
        f"CREATE TABLE {target} (LIKE {source} INCLUDING DEFAULTS)"
        + (" PARTITION BY LIST (run_id)" if partitioned else "")
    )
    if partitioned:
        runs = sa.text(f"SELECT DISTINCT run_id FROM {source}")  # noqa: S608 (our names)
        for run_id in bind.scalars(runs):
            part = _partition(run_id)
            op.execute(f"CREATE TABLE {part} PARTITION OF {target} FOR VALUES IN ('{run_id}')")
    op.execute(f"INSERT INTO {target} SELECT * FROM {source}")  # noqa: S608 (our names)
    op.execute(f"DROP TABLE {source}")
    op.execute(f"ALTER TABLE {target} RENAME TO {TABLE}")  # its partitions keep their names
    _keys(TABLE)


def upgrade() -> None:
    with op.batch_alter_table("comparison_runs") as batch:
        batch.add_column(sa.Column("entries_removed_at", sa.DateTime(timezone=True)))
    if op.get_bind().dialect.name == "postgresql":
        _move(TABLE, f"{TABLE}_by_run", partitioned=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _move(TABLE, f"{TABLE}_flat", partitioned=False)  # the partitions go with it
    with op.batch_alter_table("comparison_runs") as batch:
        batch.drop_column("entries_removed_at")
