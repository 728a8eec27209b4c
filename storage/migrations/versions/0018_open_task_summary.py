"""The dashboards' open verification tasks by district and deadline, recomputed with the
other summary tables: counting the open tasks of the whole city live took most of the city
dashboard's time at ten million people.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 04:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summary_open_tasks",
        sa.Column("district_code", sa.String(12), primary_key=True),
        sa.Column("deadline_on", sa.Date, primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("summary_open_tasks")
