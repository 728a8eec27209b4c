"""The department events lose the two indexes nothing reads: by citizen (the comparison
reads every event into its engine and joins there; evidence is read back by event id) and
by date (the export reads the whole period, a sequential scan). Every imported row paid for
both, the citizen one at a random place in a tree the size of the year's feeds.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("department_events", schema=None) as batch_op:
        batch_op.drop_index("ix_department_events_citizen")
        batch_op.drop_index("ix_department_events_date")


def downgrade() -> None:
    with op.batch_alter_table("department_events", schema=None) as batch_op:
        batch_op.create_index("ix_department_events_citizen", ["citizen_id_key"])
        batch_op.create_index("ix_department_events_date", ["event_date"])
