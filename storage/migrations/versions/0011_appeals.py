"""Appeals (申诉): a person or a bound family member contests a rejected review, a suspension
or a loss record; the district's agency clerks answer within the configured working days.
The notices table's kind CHECK constraint takes the two appeal notices.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# certification.notices.NoticeKind on the day of this migration
KINDS_BEFORE = (
    "certified",
    "retry_needed",
    "sent_to_review",
    "review_decided",
    "task_opened",
    "suspension_proposed",
    "suspended",
    "restored",
    "reminder",
    "overdue",
    "account_confirmed",
)
NEW_KINDS = ("appeal_received", "appeal_decided", "certification_annulled", "consent_withdrawn")
KINDS_AFTER = (*KINDS_BEFORE, *NEW_KINDS)
KIND_CHECK = "ck_notices_notice_kind"


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _kinds(values: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "appeals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=True),
        sa.Column(
            "subject",
            _enum(
                "appeal_subject",
                "rejected_review",
                "suspension",
                "loss_record",
                "record_correction",
            ),
            nullable=False,
        ),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("filed_via", sa.String(length=16), nullable=False),
        sa.Column("filed_by", sa.Uuid(), nullable=True),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            _enum("appeal_status", "open", "upheld", "dismissed", "withdrawn"),
            nullable=False,
        ),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column(
            "remedy",
            _enum(
                "appeal_remedy",
                "certified",
                "restored",
                "verification_opened",
                "proposal_dismissed",
                "record_corrected",
            ),
            nullable=True,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_appeals_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    op.create_index("ix_appeals_scope", "appeals", ["status", "district_code", "due_on"])
    op.create_index("ix_appeals_person", "appeals", ["person_id", "filed_at"])
    op.create_index(
        "uq_appeals_open_subject",
        "appeals",
        ["subject", "subject_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    with op.batch_alter_table("notices") as batch:
        batch.drop_constraint(op.f(KIND_CHECK), type_="check")
        batch.create_check_constraint(op.f(KIND_CHECK), _kinds(KINDS_AFTER))


def downgrade() -> None:
    op.execute(
        sa.text(
            "DELETE FROM notice_attempts WHERE delivery_id IN (SELECT d.id FROM "
            "notice_deliveries d JOIN notices n ON n.id = d.notice_id "
            "WHERE n.kind IN ('appeal_received', 'appeal_decided', 'certification_annulled', "
            "'consent_withdrawn'))"
        )
    )
    op.execute(
        sa.text(
            "DELETE FROM notice_deliveries WHERE notice_id IN (SELECT id FROM notices "
            "WHERE kind IN ('appeal_received', 'appeal_decided', 'certification_annulled', "
            "'consent_withdrawn'))"
        )
    )
    op.execute(
        sa.text(
            "DELETE FROM notices WHERE kind IN "
            "('appeal_received', 'appeal_decided', 'certification_annulled', "
            "'consent_withdrawn')"
        )
    )
    with op.batch_alter_table("notices") as batch:
        batch.drop_constraint(op.f(KIND_CHECK), type_="check")
        batch.create_check_constraint(op.f(KIND_CHECK), _kinds(KINDS_BEFORE))
    op.drop_index("uq_appeals_open_subject", table_name="appeals")
    op.drop_index("ix_appeals_person", table_name="appeals")
    op.drop_index("ix_appeals_scope", table_name="appeals")
    op.drop_table("appeals")
