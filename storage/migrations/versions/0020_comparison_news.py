"""A comparison entry says whether it is news: on the qualified list with a sign of life
newer than the person's last certification when the run exported them. A second run walks
only these, on a partial index, instead of joining every entry of the list to its person
(ten million entries for a hundred thousand news).

The entries of a run still being applied when this runs are all marked (news is then only a
candidate: the walk checks each against the person as it is).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("comparison_entries") as batch:
        batch.add_column(sa.Column("news", sa.Boolean, nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE comparison_entries SET news = true WHERE list = 'qualified' AND run_id IN "
        "(SELECT id FROM comparison_runs WHERE status IN ('queued', 'running'))"
    )
    op.create_index(
        "ix_comparison_entries_news",
        "comparison_entries",
        ["run_id", "district_code", "person_id"],
        postgresql_where=sa.text("news"),
        sqlite_where=sa.text("news"),
    )


def downgrade() -> None:
    op.drop_index("ix_comparison_entries_news", table_name="comparison_entries")
    with op.batch_alter_table("comparison_entries") as batch:
        batch.drop_column("news")
