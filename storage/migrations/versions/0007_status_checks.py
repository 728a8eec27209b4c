"""Statuses held to their lifecycles: the status columns of sessions, attempts, review cases,
family bindings, enrolment requests, feed imports and comparison runs get the CHECK
constraint the other status columns already have, so no writer (a script, a hand-written
UPDATE) can store a state the code does not know.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table, constraint, the states (as in certification/selfservice.py and verification.py on
# the day of this migration: a migration never imports the code it outlives)
CHECKS = (
    ("challenge_sessions", "challenge_session_status", ("open", "submitted", "decided", "expired")),
    ("attempts", "attempt_status", ("pending", "processing", "decided", "error")),
    ("review_cases", "review_case_status", ("open", "approved", "rejected", "retake_requested")),
    ("family_bindings", "family_binding_status", ("requested", "active", "rejected", "revoked")),
    ("enrolment_requests", "enrolment_request_status", ("pending", "accepted", "refused")),
    ("feed_imports", "feed_import_status", ("queued", "running", "done", "refused", "failed")),
    ("comparison_runs", "comparison_run_status", ("queued", "running", "applied", "failed")),
)


def _name(table: str, constraint: str) -> str:
    return f"ck_{table}_{constraint}"  # storage.schema's naming convention


def upgrade() -> None:
    for table, constraint, states in CHECKS:
        allowed = ", ".join(f"'{s}'" for s in states)
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint(op.f(_name(table, constraint)), f"status IN ({allowed})")


def downgrade() -> None:
    for table, constraint, _states in reversed(CHECKS):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(_name(table, constraint)), type_="check")
