"""A comparison run's lists are applied in shards, one per district, each its own task:
their records (status, people done, counts, timings), and the entries' district index that
walks one district's list by person (it also serves what the (run, list, district) index
served).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comparison_shards",
        sa.Column("run_id", sa.Uuid, sa.ForeignKey("comparison_runs.id"), primary_key=True),
        sa.Column("district_code", sa.String(6), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("people_done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("applied", sa.JSON, nullable=False),
        sa.Column("timings", sa.JSON, nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handed_at", sa.DateTime(timezone=True)),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("beat_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    )
    with op.batch_alter_table("comparison_entries") as batch_op:
        batch_op.create_index(
            "ix_comparison_entries_district",
            ["run_id", "list", "district_code", "person_id"],
            unique=False,
        )
        batch_op.drop_index("ix_comparison_entries_list")


def downgrade() -> None:
    with op.batch_alter_table("comparison_entries") as batch_op:
        batch_op.create_index(
            "ix_comparison_entries_list", ["run_id", "list", "district_code"], unique=False
        )
        batch_op.drop_index("ix_comparison_entries_district")
    op.drop_table("comparison_shards")
