"""A comparison entry says whether its news is from before the benefit: the person was seen
alive since their last certification, but only before their first benefit started. Such
people are news to every run and certified by none; a run counts them from the news index
instead of locking and reading each of them.

Entries stored before this revision say false: their people are walked, and the walk finds
the same (``qualified_before_benefit``).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 07:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("comparison_entries") as batch:
        batch.add_column(
            sa.Column("before_benefit", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("comparison_entries") as batch:
        batch.drop_column("before_benefit")
