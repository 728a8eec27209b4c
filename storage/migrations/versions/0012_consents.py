"""Consent to face processing (PIPL Art. 28-29): given in the person's app or on a signed
form recorded by staff, withdrawn by the person. Existing people have none on record: they
are asked in the app (or sign at a service point) before their next face check. Face
templates record when their vector was erased (withdrawal, or retention over). A
certification can be annulled by two agency clerks (one asks with reasons, another confirms);
a substantiated tip-off closing waits for a second investigator; a counter certification
outside the clerk's district, or with the ID card only looked at, waits for a district review.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 17:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("notice_version", sa.String(length=32), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "app",
                "paper",
                name="consent_channel",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "person_id IS NOT NULL OR account_id IS NOT NULL",
            name=op.f("ck_consents_consent_has_a_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_consents_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_consents_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index("ix_consents_person", "consents", ["person_id", "purpose", "withdrawn_at"])
    op.create_index("ix_consents_account", "consents", ["account_id", "purpose", "withdrawn_at"])
    with op.batch_alter_table("face_templates") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("tip_offs") as batch:
        batch.add_column(sa.Column("closure_proposed_by", sa.Uuid(), nullable=True))
        batch.add_column(
            sa.Column("closure_proposed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("proposed_recovered_fen", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("proposed_suspend", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("certifications") as batch:
        batch.add_column(sa.Column("annulment_requested_by", sa.Uuid(), nullable=True))
        batch.add_column(
            sa.Column("annulment_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("annulment_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("annulled_by", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("annulled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("review_flag", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("review_cleared_by", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("review_cleared_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_certifications_to_review",
        "certifications",
        ["certified_at"],
        postgresql_where=sa.text("review_flag IS NOT NULL AND review_cleared_at IS NULL"),
        sqlite_where=sa.text("review_flag IS NOT NULL AND review_cleared_at IS NULL"),
    )
    op.create_index(
        "ix_face_templates_held",
        "face_templates",
        ["created_at"],
        postgresql_where=sa.text("erased_at IS NULL"),
        sqlite_where=sa.text("erased_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_certifications_to_review", table_name="certifications")
    with op.batch_alter_table("tip_offs") as batch:
        for column in (
            "proposed_suspend",
            "proposed_recovered_fen",
            "closure_proposed_at",
            "closure_proposed_by",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("certifications") as batch:
        for column in (
            "review_cleared_at",
            "review_cleared_by",
            "review_flag",
            "annulled_at",
            "annulled_by",
            "annulment_reason",
            "annulment_requested_at",
            "annulment_requested_by",
        ):
            batch.drop_column(column)
    op.drop_index("ix_face_templates_held", table_name="face_templates")
    with op.batch_alter_table("face_templates") as batch:
        batch.drop_column("erased_at")
    op.drop_index("ix_consents_account", table_name="consents")
    op.drop_index("ix_consents_person", table_name="consents")
    op.drop_table("consents")
