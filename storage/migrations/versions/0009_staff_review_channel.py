"""A reviewer's approval of a self-service clip is its own certification channel
(``staff_review``), no longer recorded as a counter visit: the certifications table's
channel CHECK constraint takes the new value. Existing approvals (``source_ref`` starting
with ``review:``) move to it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:25:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# certification.vocabulary.CertificationChannel on the day of this migration
BEFORE = (
    "counter",
    "self_service_face",
    "partner_bank",
    "employer",
    "care_or_family_doctor",
    "hospital_stay",
    "air_rail_travel",
    "bank_in_person",
    "border_crossing",
    "big_data_model",
    "bus_card_review",
    "other_confirmed",
    "family_assisted",
    "township_verification",
    "data_comparison",
)
AFTER = (*BEFORE, "staff_review")
NAME = "ck_certifications_certification_channel"  # storage.schema's naming convention


def _constraint(values: tuple[str, ...]) -> str:
    return "channel IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table("certifications") as batch:
        batch.drop_constraint(op.f(NAME), type_="check")
        batch.create_check_constraint(op.f(NAME), _constraint(AFTER))
    op.execute(
        sa.text(
            "UPDATE certifications SET channel = 'staff_review' "
            "WHERE channel = 'counter' AND source_ref LIKE 'review:%'"
        )
    )


def downgrade() -> None:
    op.execute(
        sa.text("UPDATE certifications SET channel = 'counter' WHERE channel = 'staff_review'")
    )
    with op.batch_alter_table("certifications") as batch:
        batch.drop_constraint(op.f(NAME), type_="check")
        batch.create_check_constraint(op.f(NAME), _constraint(BEFORE))
