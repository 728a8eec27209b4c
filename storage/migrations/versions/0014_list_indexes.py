"""Indexes that serve the lists staff page through at city scale: the whole city's lists
oldest (or nearest deadline) first, a district's or township's home visits and a
township's appeals without a status filter. Found by tests/integration/test_list_plans.py,
which prices sequential scans out and finds which list still read a whole table.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 23:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES: dict[str, list[tuple[str, list[str]]]] = {
    "suspensions": [("ix_suspensions_listed", ["suspended_on", "id"])],
    "review_cases": [("ix_review_cases_listed", ["opened_at", "id"])],
    "family_bindings": [("ix_family_bindings_listed", ["requested_at", "id"])],
    "verification_tasks": [("ix_verification_tasks_listed", ["deadline_on", "id"])],
    "home_visit_requests": [
        ("ix_home_visit_requests_listed", ["created_at", "id"]),
        ("ix_home_visit_requests_district", ["district_code", "created_at", "id"]),
        ("ix_home_visit_requests_township", ["township_code", "created_at", "id"]),
    ],
    "appeals": [
        ("ix_appeals_listed", ["due_on", "id"]),
        ("ix_appeals_township", ["township_code", "due_on", "id"]),
    ],
}


def upgrade() -> None:
    for table, indexes in INDEXES.items():
        with op.batch_alter_table(table) as batch_op:
            for name, columns in indexes:
                batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, indexes in INDEXES.items():
        with op.batch_alter_table(table) as batch_op:
            for name, _columns in reversed(indexes):
                batch_op.drop_index(name)
