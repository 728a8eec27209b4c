"""Comparison runs get a scope (the city, or one district: Art. 11, districts run their own),
verification tasks the reason the person is on the township's list (staff referral, an
expired period, a home visit), and people their home address (for visits and letters),
all shown on the township's task page.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CITY = "500000"  # certification.regions.CITY_CODE on the day of this migration


def upgrade() -> None:
    with op.batch_alter_table("comparison_runs") as batch:
        batch.add_column(sa.Column("scope_code", sa.String(6), nullable=False, server_default=CITY))
        batch.create_index("ix_comparison_runs_scope_started", ["scope_code", "started_at"])
    with op.batch_alter_table("verification_tasks") as batch:
        batch.add_column(sa.Column("reason", sa.Text))
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("address", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("address")
    with op.batch_alter_table("verification_tasks") as batch:
        batch.drop_column("reason")
    with op.batch_alter_table("comparison_runs") as batch:
        batch.drop_index("ix_comparison_runs_scope_started")
        batch.drop_column("scope_code")
