"""The newest sign of life of each comparison entry, so applying a run passes over the people
certified since (a second run touches only what changed).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 00:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("comparison_entries") as batch:
        batch.add_column(sa.Column("alive_latest", sa.Date))


def downgrade() -> None:
    with op.batch_alter_table("comparison_entries") as batch:
        batch.drop_column("alive_latest")
