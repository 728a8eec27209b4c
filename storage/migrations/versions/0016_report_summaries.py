"""Summary tables for the dashboards at city scale: certifications by district, day and
channel; people by district and due date; self-service decisions by district, birth year,
day and decision; and when they were last computed. Refreshed by a scheduled job
(``lifecert reports refresh``), read by city and district dashboards with their age shown.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summary_certifications",
        sa.Column("district_code", sa.String(6), primary_key=True),
        sa.Column("certified_on", sa.Date, primary_key=True),
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "summary_due",
        sa.Column("district_code", sa.String(6), primary_key=True),
        sa.Column("due_on", sa.Date, primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "summary_decisions",
        sa.Column("district_code", sa.String(6), primary_key=True),
        sa.Column("birth_year", sa.Integer, primary_key=True),
        sa.Column("decided_on", sa.Date, primary_key=True),
        sa.Column("decision", sa.String(32), primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "summary_refreshes",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("took_ms", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "summary_refreshes",
        "summary_decisions",
        "summary_due",
        "summary_certifications",
    ):
        op.drop_table(table)
