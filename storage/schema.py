"""Tables. Migrations (storage/migrations) create them; this module is their reference."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from certification.appeals import AppealStatus, AppealSubject, Remedy
from certification.claims import ClaimStatus
from certification.consent import ConsentChannel
from certification.notices import Channel, DeliveryStatus, Language, NoticeKind, Recipient
from certification.regions import RegionLevel
from certification.selfservice import (
    AttemptStatus,
    BindingStatus,
    CaseStatus,
    EnrolmentStatus,
    SessionStatus,
)
from certification.supervision import TipOffCategory, TipOffStatus
from certification.verification import (
    HomeVisitReason,
    HomeVisitStatus,
    ImportStatus,
    ProposalKind,
    ProposalStatus,
    RunStatus,
    TaskRoute,
    TaskStatus,
    VerificationChannel,
    VerificationResult,
)
from certification.vocabulary import (
    AccountKind,
    BenefitKind,
    CertificationChannel,
    ContactChannel,
    ContactOutcome,
    DependantRelationship,
    EntitlementStatus,
    RecipientRole,
    SuspensionReason,
    SuspensionStatus,
)
from storage.crypto import EncryptedTemplate, SealedText, blind_default
from storage.types import EnumList, UTCDateTime, enum_column


def sealed(
    table: str, name: str, *, nullable: bool = True, index: str | None = None
) -> list[sa.Column[str]]:
    """A personal value stored sealed (storage/crypto.py), and with ``index`` (a blind-index
    domain: ``citizen_id``, ``phone``, ``name``) its keyed hash ``<name>_key`` beside it, by
    which SQL finds, joins and keeps it unique. The hash is computed on insert from the value
    (a column default, for ORM and bulk inserts alike) and on an ORM update by
    ``storage.mapping``; nothing else writes these columns."""
    columns: list[sa.Column[str]] = [
        sa.Column(name, SealedText(f"{table}.{name}"), nullable=nullable)
    ]
    if index is not None:
        columns.append(
            sa.Column(
                f"{name}_key",
                sa.String(32),
                nullable=nullable,
                default=blind_default(name, index),
                info={"blind_index": (name, index)},
            )
        )
    return columns


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

regions = sa.Table(
    "regions",
    metadata,
    sa.Column("code", sa.String(12), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("level", enum_column(RegionLevel, "region_level"), nullable=False),
    sa.Column("parent_code", sa.String(12), sa.ForeignKey("regions.code"), nullable=True),
    sa.Index("ix_regions_parent_code", "parent_code"),
)

persons = sa.Table(
    "persons",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    *sealed("persons", "citizen_id", nullable=False, index="citizen_id"),
    *sealed("persons", "name", nullable=False, index="name"),
    *sealed("persons", "phone", index="phone"),
    *sealed("persons", "address"),  # where the person lives (visits, letters)
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("sex", sa.String(6), nullable=False),
    sa.Column("region_code", sa.String(12), sa.ForeignKey("regions.code"), nullable=False),
    sa.Column("district_code", sa.String(6), nullable=False),
    sa.Column("township_code", sa.String(9)),
    sa.Column("village_code", sa.String(12)),
    sa.Column("last_certified_on", sa.Date),
    sa.Column("period_starts_on", sa.Date),
    sa.Column("due_on", sa.Date),
    sa.Column("period_basis", sa.String(16)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("citizen_id_key", name="uq_persons_citizen_id_key"),
    sa.Index("ix_persons_due_on", "due_on", "id"),
    sa.Index("ix_persons_district_due", "district_code", "due_on", "id"),
    sa.Index("ix_persons_township_due", "township_code", "due_on", "id"),
    sa.Index("ix_persons_district_id", "district_code", "id"),
    sa.Index("ix_persons_name_key", "name_key"),
    sa.Index("ix_persons_phone_key", "phone_key"),
)

entitlements = sa.Table(
    "entitlements",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("kind", enum_column(BenefitKind, "benefit_kind"), nullable=False),
    sa.Column("role", enum_column(RecipientRole, "recipient_role"), nullable=False),
    sa.Column("relationship", enum_column(DependantRelationship, "dependant_relationship")),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("monthly_amount_fen", sa.BigInteger, nullable=False),
    sa.Column("status", enum_column(EntitlementStatus, "entitlement_status"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint("monthly_amount_fen > 0", name="amount_positive"),
    sa.Index("ix_entitlements_person_id", "person_id"),
    # One benefit of each kind in force per person.
    sa.Index(
        "uq_entitlements_in_force_kind",
        "person_id",
        "kind",
        unique=True,
        postgresql_where=sa.text("status <> 'terminated'"),
        sqlite_where=sa.text("status <> 'terminated'"),
    ),
)

entitlement_status_changes = sa.Table(
    "entitlement_status_changes",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("entitlement_id", sa.Uuid, sa.ForeignKey("entitlements.id"), nullable=False),
    sa.Column("from_status", enum_column(EntitlementStatus, "from_status")),
    sa.Column("to_status", enum_column(EntitlementStatus, "to_status"), nullable=False),
    sa.Column("effective_on", sa.Date, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("actor_id", sa.Uuid),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Index("ix_entitlement_status_changes_entitlement", "entitlement_id", "recorded_at"),
)

entitlement_amounts = sa.Table(
    "entitlement_amounts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("entitlement_id", sa.Uuid, sa.ForeignKey("entitlements.id"), nullable=False),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("monthly_amount_fen", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("actor_id", sa.Uuid),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("monthly_amount_fen > 0", name="amount_positive"),
    sa.UniqueConstraint("entitlement_id", "effective_from", name="uq_entitlement_amounts_month"),
)

certifications = sa.Table(
    "certifications",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("certified_at", UTCDateTime, nullable=False),
    sa.Column("certified_on", sa.Date, nullable=False),
    sa.Column(
        "channel", enum_column(CertificationChannel, "certification_channel"), nullable=False
    ),
    sa.Column("recorded_by", sa.Uuid),
    sa.Column("assisted_by", sa.Uuid),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("source_ref", sa.String(200)),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("annulment_requested_by", sa.Uuid),
    sa.Column("annulment_requested_at", UTCDateTime),
    sa.Column("annulment_reason", sa.Text),
    sa.Column("annulled_by", sa.Uuid),
    sa.Column("annulled_at", UTCDateTime),
    sa.Column("review_flag", sa.String(64)),
    sa.Column("review_cleared_by", sa.Uuid),
    sa.Column("review_cleared_at", UTCDateTime),
    sa.Index("ix_certifications_person", "person_id", "certified_at"),
    sa.Index(
        "ix_certifications_to_review",
        "certified_at",
        postgresql_where=sa.text("review_flag IS NOT NULL AND review_cleared_at IS NULL"),
        sqlite_where=sa.text("review_flag IS NOT NULL AND review_cleared_at IS NULL"),
    ),
    sa.Index("ix_certifications_on_channel", "certified_on", "channel"),
)

contact_attempts = sa.Table(
    "contact_attempts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("channel", enum_column(ContactChannel, "contact_channel"), nullable=False),
    sa.Column("outcome", enum_column(ContactOutcome, "contact_outcome"), nullable=False),
    sa.Column("attempted_at", UTCDateTime, nullable=False),
    sa.Column("attempted_on", sa.Date, nullable=False),
    sa.Column("recorded_by", sa.Uuid),
    sa.Column("note", sa.Text),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Index("ix_contact_attempts_person", "person_id", "attempted_on"),
)

suspensions = sa.Table(
    "suspensions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("entitlement_id", sa.Uuid, sa.ForeignKey("entitlements.id"), nullable=False),
    sa.Column("reason", enum_column(SuspensionReason, "suspension_reason"), nullable=False),
    sa.Column("suspended_on", sa.Date, nullable=False),
    sa.Column("explanation", sa.Text, nullable=False),
    sa.Column("decided_by", sa.Uuid),
    sa.Column("decided_at", UTCDateTime, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("status", enum_column(SuspensionStatus, "suspension_status"), nullable=False),
    sa.Column("restored_on", sa.Date),
    sa.Column("restoration_reason", sa.Text),
    sa.Column("restored_by", sa.Uuid),
    sa.Column("restored_at", UTCDateTime),
    sa.Column("arrears_fen", sa.BigInteger),
    sa.Column("arrears_months", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_suspensions_person", "person_id"),
    sa.Index("ix_suspensions_status", "status", "decided_at"),
    sa.Index(
        "uq_suspensions_in_force",
        "entitlement_id",
        unique=True,
        postgresql_where=sa.text("status = 'in_force'"),
        sqlite_where=sa.text("status = 'in_force'"),
    ),
    # the whole city's list, oldest first (tests/integration/test_list_plans.py)
    sa.Index("ix_suspensions_listed", "suspended_on", "id"),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("kind", enum_column(AccountKind, "account_kind"), nullable=False),
    *sealed("accounts", "display_name", nullable=False),
    sa.Column("username", sa.String(64), unique=True),
    sa.Column("password_hash", sa.String(255)),
    sa.Column("region_code", sa.String(12), sa.ForeignKey("regions.code")),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id")),
    *sealed("accounts", "citizen_id"),
    *sealed("accounts", "phone"),
    sa.Column("identity_verified", sa.Boolean, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("failed_logins", sa.Integer, nullable=False),
    sa.Column("locked_until", UTCDateTime),
    # access tokens issued before this are refused (sign-out, disablement, a stolen refresh)
    sa.Column("tokens_valid_after", UTCDateTime),
    sa.Column("totp_secret", sa.String(64)),  # staff: the second factor's shared secret
    sa.Column("totp_confirmed_at", UTCDateTime),  # ...once a first code proved it works
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(
        "uq_accounts_beneficiary_person",
        "person_id",
        unique=True,
        postgresql_where=sa.text("kind = 'beneficiary'"),
        sqlite_where=sa.text("kind = 'beneficiary'"),
    ),
)

external_identities = sa.Table(
    "external_identities",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("provider", sa.String(32), nullable=False),
    # the provider's identifier (an SMS login's is the phone number), found by its keyed hash
    *sealed("external_identities", "subject", nullable=False, index="subject"),
    sa.Column("account_id", sa.Uuid, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint(
        "provider", "subject_key", name="uq_external_identities_provider_subject_key"
    ),
    sa.Index("ix_external_identities_account", "account_id"),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("account_id", sa.Uuid, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("issued_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
    sa.Index("ix_refresh_tokens_account", "account_id"),
)

one_time_codes = sa.Table(
    "one_time_codes",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("phone_hash", sa.String(64), nullable=False),  # keyed hash, not the number
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("origin", sa.String(64)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("used_at", UTCDateTime),
    sa.Index("ix_one_time_codes_phone", "phone_hash", "created_at"),
    sa.Index("ix_one_time_codes_origin", "origin", "created_at"),
)

used_tokens = sa.Table(
    "used_tokens",
    metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("used_at", UTCDateTime, nullable=False),
)

claims = sa.Table(
    "claims",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("account_id", sa.Uuid, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id")),
    sa.Column("target_hash", sa.String(64), nullable=False),
    sa.Column("status", enum_column(ClaimStatus, "claim_status"), nullable=False),
    sa.Column("failed_attempts", sa.Integer, nullable=False),
    sa.Column("locked_until", UTCDateTime),
    sa.Column("origin", sa.String(64)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_claims_account", "account_id"),
    sa.Index("ix_claims_person", "person_id", "status"),
    sa.Index("ix_claims_target", "target_hash", "created_at"),
    sa.Index("ix_claims_origin", "origin", "created_at"),
)

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.Uuid, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Index("ix_console_sessions_account", "account_id"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("sequence", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("actor_id", sa.String(64)),
    sa.Column("actor_kind", sa.String(16), nullable=False),
    sa.Column("actor_label", sa.String(128)),
    sa.Column("origin", sa.String(64)),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("entity_type", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(64)),
    sa.Column("reason", sa.Text),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_events_entity", "entity_type", "entity_id", "sequence"),
    sa.Index("ix_audit_events_actor", "actor_id", "sequence"),
    sa.Index("ix_audit_events_action", "action", "sequence"),
)

face_templates = sa.Table(
    "face_templates",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("model_version", sa.String(32), nullable=False),
    sa.Column("template", EncryptedTemplate, nullable=False),  # sealed (storage/crypto.py)
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("photo_key", sa.String(300)),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.Uuid),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("erased_at", UTCDateTime),
    sa.Index("ix_face_templates_person", "person_id", "active"),
    sa.Index(
        "ix_face_templates_held",
        "created_at",
        postgresql_where=sa.text("erased_at IS NULL"),
        sqlite_where=sa.text("erased_at IS NULL"),
    ),
)

consents = sa.Table(
    "consents",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("notice_version", sa.String(32), nullable=False),
    sa.Column("channel", enum_column(ConsentChannel, "consent_channel", length=16), nullable=False),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id")),
    sa.Column("account_id", sa.Uuid, sa.ForeignKey("accounts.id")),
    sa.Column("recorded_by", sa.Uuid),
    sa.Column("reference", sa.String(64)),
    sa.Column("given_at", UTCDateTime, nullable=False),
    sa.Column("withdrawn_at", UTCDateTime),
    sa.Column("withdrawn_by", sa.Uuid),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint(
        "person_id IS NOT NULL OR account_id IS NOT NULL", name="consent_has_a_subject"
    ),
    sa.Index("ix_consents_person", "person_id", "purpose", "withdrawn_at"),
    sa.Index("ix_consents_account", "account_id", "purpose", "withdrawn_at"),
)

challenge_sessions = sa.Table(
    "challenge_sessions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("requested_by", sa.Uuid, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("assisted_by", sa.Uuid, sa.ForeignKey("accounts.id")),
    sa.Column("claim_id", sa.Uuid, sa.ForeignKey("claims.id")),  # a claim's face check
    sa.Column("nonce", sa.String(64), nullable=False, unique=True),
    sa.Column("actions", sa.JSON, nullable=False),
    sa.Column("seconds_per_action", sa.Integer, nullable=False),
    sa.Column("max_video_seconds", sa.Integer, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("upload_key", sa.String(300), nullable=False),
    sa.Column(
        "status", enum_column(SessionStatus, "challenge_session_status", length=16), nullable=False
    ),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_challenge_sessions_person", "person_id", "created_at"),
)

attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column(
        "session_id", sa.Uuid, sa.ForeignKey("challenge_sessions.id"), nullable=False, unique=True
    ),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("object_key", sa.String(300), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("mirrored", sa.Boolean, nullable=False),
    sa.Column("status", enum_column(AttemptStatus, "attempt_status", length=16), nullable=False),
    sa.Column("claim_token", sa.String(64)),
    sa.Column("claimed_at", UTCDateTime),
    sa.Column("tries", sa.Integer, nullable=False),
    sa.Column("enqueued_at", UTCDateTime),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("decision", sa.String(8)),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("verdict", sa.JSON, nullable=False),
    sa.Column("evidence_keys", sa.JSON, nullable=False),
    sa.Column("match_score", sa.Float),
    sa.Column("certification_id", sa.Uuid, sa.ForeignKey("certifications.id")),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_attempts_person", "person_id", "created_at"),
    sa.Index("ix_attempts_status", "status", "created_at"),
)

review_cases = sa.Table(
    "review_cases",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("attempt_id", sa.Uuid, sa.ForeignKey("attempts.id")),
    sa.Column("status", enum_column(CaseStatus, "review_case_status", length=24), nullable=False),
    sa.Column("decided_by", sa.Uuid),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("comment", sa.Text),
    sa.Column("certification_id", sa.Uuid, sa.ForeignKey("certifications.id")),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_review_cases_status", "status", "opened_at"),
    sa.Index("ix_review_cases_person", "person_id"),
    sa.Index("ix_review_cases_listed", "opened_at", "id"),
)

family_bindings = sa.Table(
    "family_bindings",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("family_account_id", sa.Uuid, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("relationship", sa.String(32), nullable=False),
    sa.Column(
        "status", enum_column(BindingStatus, "family_binding_status", length=16), nullable=False
    ),
    sa.Column("decided_by", sa.Uuid),
    sa.Column("decided_how", sa.String(32)),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("revoked_by", sa.Uuid),
    sa.Column("revoked_at", UTCDateTime),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_family_bindings_person", "person_id"),
    sa.Index(
        "uq_family_bindings_live",
        "family_account_id",
        "person_id",
        unique=True,
        postgresql_where=sa.text("status IN ('requested', 'active')"),
        sqlite_where=sa.text("status IN ('requested', 'active')"),
    ),
    sa.Index("ix_family_bindings_listed", "requested_at", "id"),
)

verification_referrals = sa.Table(
    "verification_referrals",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("source_id", sa.Uuid),
    sa.Column("note", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_verification_referrals_person", "person_id", "status"),
)

enrolment_requests = sa.Table(
    "enrolment_requests",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("photo_key", sa.String(300), nullable=False),
    sa.Column("requested_by", sa.Uuid),
    sa.Column(
        "status",
        enum_column(EnrolmentStatus, "enrolment_request_status", length=16),
        nullable=False,
    ),
    sa.Column("reason", sa.String(64)),
    sa.Column("detail", sa.Text),
    sa.Column("template_id", sa.Uuid, sa.ForeignKey("face_templates.id")),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_enrolment_requests_person", "person_id", "created_at"),
)

reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("days_before", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("person_id", "due_on", "days_before", "channel", name="uq_reminders_once"),
    sa.Index("ix_reminders_code", "code_hash"),
)

# --- Notices (the outbox), their deliveries, and certification receipts -------------

notices = sa.Table(
    "notices",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("kind", enum_column(NoticeKind, "notice_kind"), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("urgent", sa.Boolean, nullable=False),
    sa.Column("routed_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("key", name="uq_notices_key"),
    sa.Index("ix_notices_person", "person_id", "created_at"),
    sa.Index(
        "ix_notices_unrouted",
        "created_at",
        postgresql_where=sa.text("routed_at IS NULL"),
        sqlite_where=sa.text("routed_at IS NULL"),
    ),
)

notice_deliveries = sa.Table(
    "notice_deliveries",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("notice_id", sa.Uuid, sa.ForeignKey("notices.id"), nullable=False),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("recipient", enum_column(Recipient, "notice_recipient", length=16), nullable=False),
    sa.Column("account_id", sa.Uuid),
    sa.Column("channel", enum_column(Channel, "notice_channel", length=16), nullable=False),
    sa.Column(
        "status", enum_column(DeliveryStatus, "notice_delivery_status", length=16), nullable=False
    ),
    sa.Column("urgent", sa.Boolean, nullable=False),
    sa.Column("district_code", sa.String(12), nullable=False),
    sa.Column("township_code", sa.String(12)),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("claimed_until", UTCDateTime),
    sa.Column("claim_token", sa.String(32)),
    sa.Column("last_error", sa.String(500)),
    sa.Column("provider_ref", sa.String(128)),
    sa.Column("letter_batch_id", sa.Uuid),
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint(
        "notice_id", "recipient", "account_id", "channel", name="uq_notice_deliveries_once"
    ),
    sa.Index("ix_notice_deliveries_notice", "notice_id"),
    sa.Index(
        "ix_notice_deliveries_due",
        "next_attempt_at",
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    ),
    sa.Index("ix_notice_deliveries_status", "status", "created_at"),
)

notice_attempts = sa.Table(
    "notice_attempts",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("delivery_id", sa.Uuid, sa.ForeignKey("notice_deliveries.id"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("detail", sa.String(500), nullable=False),
    sa.Index("ix_notice_attempts_delivery", "delivery_id", "at"),
)

notice_preferences = sa.Table(
    "notice_preferences",
    metadata,
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), primary_key=True),
    sa.Column("channels", EnumList(Channel), nullable=False),
    sa.Column("language", enum_column(Language, "notice_language", length=8), nullable=False),
    sa.Column("family_copy", sa.Boolean, nullable=False),
    sa.Column("updated_by", sa.Uuid),
    sa.Column("updated_at", UTCDateTime),
    sa.Column("version", sa.Integer, nullable=False),
)

# a mini-program user's answer to wx.requestSubscribeMessage (long-term subscription for
# government services); a send refused with 43101 turns it off
wechat_subscriptions = sa.Table(
    "wechat_subscriptions",
    metadata,
    sa.Column("account_id", sa.Uuid, sa.ForeignKey("accounts.id"), primary_key=True),
    sa.Column("accepted", sa.Boolean, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

letter_batches = sa.Table(
    "letter_batches",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("district_code", sa.String(12), nullable=False),
    sa.Column("township_code", sa.String(12)),
    sa.Column("letters", sa.Integer, nullable=False),
    sa.Column("file_key", sa.String(300), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_letter_batches_scope", "district_code", "created_at"),
)

receipts = sa.Table(
    "receipts",
    metadata,
    sa.Column("code", sa.String(20), primary_key=True),
    sa.Column("certification_id", sa.Uuid, sa.ForeignKey("certifications.id"), nullable=False),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("masked_name", sa.String(64), nullable=False),
    sa.Column("certified_on", sa.Date, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("next_due_on", sa.Date),
    sa.Column("key_id", sa.String(16), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
    sa.Column("issued_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("certification_id", name="uq_receipts_certification_id"),
    sa.Index("ix_receipts_person", "person_id", "issued_at"),
)

# --- Information comparison and verification (Art. 11-21) -------------------------

feed_imports = sa.Table(
    "feed_imports",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("file_name", sa.String(300), nullable=False),
    sa.Column("file_format", sa.String(16), nullable=False),
    sa.Column("encoding", sa.String(32)),
    sa.Column("sha256", sa.String(64)),
    sa.Column("object_key", sa.String(300)),
    sa.Column("started_by", sa.Uuid),
    sa.Column("status", enum_column(ImportStatus, "feed_import_status", length=16), nullable=False),
    sa.Column("rows_read", sa.BigInteger, nullable=False),
    sa.Column("rows_accepted", sa.BigInteger, nullable=False),
    sa.Column("rows_duplicate", sa.BigInteger, nullable=False),
    sa.Column("rows_refused", sa.BigInteger, nullable=False),
    sa.Column("problems_by_code", sa.JSON, nullable=False),
    sa.Column("ignored_columns", sa.JSON, nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
)

feed_import_problems = sa.Table(
    "feed_import_problems",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("import_id", sa.Uuid, sa.ForeignKey("feed_imports.id"), nullable=False),
    sa.Column("row_number", sa.BigInteger, nullable=False),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("column_name", sa.String(32)),
    sa.Column("message", sa.Text, nullable=False),
    *sealed("feed_import_problems", "raw"),  # the refused row as received
    sa.Index("ix_feed_import_problems_import", "import_id", "row_number"),
)

department_events = sa.Table(
    "department_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    # the blind index of the citizen ID only: the comparison joins on it, nobody reads it back
    sa.Column("citizen_id_key", sa.String(32), nullable=False),
    sa.Column("event_kind", sa.String(32), nullable=False),
    sa.Column("event_date", sa.Date, nullable=False),
    sa.Column("source_department", sa.String(32), nullable=False),
    sa.Column("source_record_id", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text),
    # the import that brought the event: checked once per stored batch and kept while its
    # events are (migration 0023), not by a foreign key looked up for each of a feed's rows
    sa.Column("import_id", sa.Uuid, nullable=False),
    sa.UniqueConstraint(
        "source_department", "source_record_id", name="uq_department_events_record"
    ),
    # no other index (migration 0019): the comparison reads every event into its engine,
    # evidence is read back by id, and each index costs every imported row
)

comparison_runs = sa.Table(
    "comparison_runs",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("window_start", sa.Date, nullable=False),
    sa.Column("window_end", sa.Date, nullable=False),
    sa.Column("started_by", sa.Uuid),
    sa.Column("started_by_label", sa.String(128)),
    sa.Column("status", enum_column(RunStatus, "comparison_run_status", length=16), nullable=False),
    sa.Column("progress", sa.String(64)),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("by_district", sa.JSON, nullable=False),
    sa.Column("applied", sa.JSON, nullable=False),
    sa.Column("timings", sa.JSON, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("previous_run_id", sa.Uuid),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    # the city, or the one district the run compares (Art. 11)
    sa.Column("scope_code", sa.String(6), nullable=False, server_default="500000"),
    # the run's lists (its entries) removed, its counts and outcomes kept (migration 0022)
    sa.Column("entries_removed_at", UTCDateTime),
    sa.Index("ix_comparison_runs_started", "started_at"),
    sa.Index("ix_comparison_runs_scope_started", "scope_code", "started_at"),
)

# On PostgreSQL partitioned by run (LIST (run_id), migration 0022): each run's entries are a
# table of their own, comparison_entries_<run id in hex>, made as the run stores its lists
# and dropped when they are removed (storage/comparison_repos.py). Those tables are the
# database's, not this description's (:func:`described`).
comparison_entries = sa.Table(
    "comparison_entries",
    metadata,
    sa.Column("run_id", sa.Uuid, sa.ForeignKey("comparison_runs.id"), primary_key=True),
    sa.Column("entitlement_id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, nullable=False),
    sa.Column("district_code", sa.String(12), nullable=False),
    sa.Column("township_code", sa.String(12)),
    sa.Column("benefit_kind", sa.String(32), nullable=False),
    sa.Column("list", sa.String(16), nullable=False),
    sa.Column("certified_in_window", sa.Boolean, nullable=False),
    sa.Column("alive_count", sa.Integer, nullable=False),
    sa.Column("lost_count", sa.Integer, nullable=False),
    sa.Column("alive_evidence", sa.JSON, nullable=False),
    sa.Column("lost_evidence", sa.JSON, nullable=False),
    # the newest sign of life: applying a run passes over who was certified since
    sa.Column("alive_latest", sa.Date),
    # on the qualified list and newer than the last certification when exported (migration
    # 0020): a second run walks only these, on their own small index
    sa.Column("news", sa.Boolean, nullable=False, server_default=sa.false()),
    # news, but seen alive only before the person's first benefit started (migration 0021):
    # nothing to certify, counted from the news index instead of walked
    sa.Column("before_benefit", sa.Boolean, nullable=False, server_default=sa.false()),
    # a run is applied a district at a time (one shard each), each list walked by person;
    # the district's counts and its pages of a list read the same index
    sa.Index("ix_comparison_entries_district", "run_id", "list", "district_code", "person_id"),
    # the city's pages of a list, by person
    sa.Index("ix_comparison_entries_walk", "run_id", "list", "person_id"),
    sa.Index("ix_comparison_entries_person", "person_id"),
    sa.Index(
        "ix_comparison_entries_news",
        "run_id",
        "district_code",
        "person_id",
        postgresql_where=sa.text("news"),
        sqlite_where=sa.text("news"),
    ),
)

# The shards a run's lists are applied in: one per district, each its own Celery task (or
# run in turn in the embedded mode); the last shard done finishes the run.
comparison_shards = sa.Table(
    "comparison_shards",
    metadata,
    sa.Column("run_id", sa.Uuid, sa.ForeignKey("comparison_runs.id"), primary_key=True),
    sa.Column("district_code", sa.String(6), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # queued, running, done
    sa.Column("people_done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("applied", sa.JSON, nullable=False),
    sa.Column("timings", sa.JSON, nullable=False),
    sa.Column("queued_at", UTCDateTime, nullable=False),
    sa.Column("handed_at", UTCDateTime),  # the broker took its task
    sa.Column("started_at", UTCDateTime),
    sa.Column("beat_at", UTCDateTime),  # its worker last said it is alive (each batch)
    sa.Column("finished_at", UTCDateTime),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
)

decision_proposals = sa.Table(
    "decision_proposals",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("kind", enum_column(ProposalKind, "proposal_kind"), nullable=False),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("entitlement_id", sa.Uuid, sa.ForeignKey("entitlements.id"), nullable=False),
    sa.Column("district_code", sa.String(12), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("source_id", sa.Uuid),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("status", enum_column(ProposalStatus, "proposal_status"), nullable=False),
    sa.Column("auto_applied", sa.Boolean, nullable=False),
    sa.Column("decided_by", sa.Uuid),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("decision_note", sa.Text),
    sa.Column("suspension_id", sa.Uuid),
    sa.Column("arrears_fen", sa.BigInteger),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_decision_proposals_scope", "status", "district_code", "created_at"),
    sa.Index("ix_decision_proposals_entitlement", "entitlement_id", "status"),
)

verification_tasks = sa.Table(
    "verification_tasks",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("district_code", sa.String(12), nullable=False),
    sa.Column("township_code", sa.String(12)),
    sa.Column("route", enum_column(TaskRoute, "task_route"), nullable=False),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("deadline_on", sa.Date, nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("source_id", sa.Uuid),
    sa.Column("status", enum_column(TaskStatus, "task_status"), nullable=False),
    sa.Column("result", enum_column(VerificationResult, "verification_result")),
    sa.Column("channel", enum_column(VerificationChannel, "verification_channel")),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("statement", sa.JSON),
    sa.Column("note", sa.Text),
    sa.Column("employer_note", sa.Text),
    sa.Column("recorded_by", sa.Uuid),
    sa.Column("recorded_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text),  # why the person is on the township's list
    sa.Index("ix_verification_tasks_scope", "status", "township_code", "deadline_on"),
    sa.Index("ix_verification_tasks_district", "status", "district_code", "deadline_on"),
    sa.Index("ix_verification_tasks_person", "person_id", "status"),
    sa.Index("ix_verification_tasks_listed", "deadline_on", "id"),
)

home_visit_requests = sa.Table(
    "home_visit_requests",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("district_code", sa.String(12), nullable=False),
    sa.Column("township_code", sa.String(12)),
    sa.Column("reason", enum_column(HomeVisitReason, "home_visit_reason"), nullable=False),
    sa.Column("requested_via", sa.String(16), nullable=False),
    *sealed("home_visit_requests", "contact_phone"),
    *sealed("home_visit_requests", "address_note"),
    sa.Column("preferred_on", sa.Date),
    sa.Column("status", enum_column(HomeVisitStatus, "home_visit_status"), nullable=False),
    sa.Column("scheduled_on", sa.Date),
    sa.Column("scheduled_by", sa.Uuid),
    sa.Column("closed_by", sa.Uuid),
    sa.Column("closed_at", UTCDateTime),
    sa.Column("outcome", sa.Text),
    sa.Column("task_id", sa.Uuid),
    sa.Column("requested_by", sa.Uuid),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_home_visit_requests_scope", "status", "township_code", "created_at"),
    # a list without a status filter, in a district's or a township's scope, oldest first
    sa.Index("ix_home_visit_requests_district", "district_code", "created_at", "id"),
    sa.Index("ix_home_visit_requests_township", "township_code", "created_at", "id"),
    sa.Index("ix_home_visit_requests_listed", "created_at", "id"),
)

appeals = sa.Table(
    "appeals",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("district_code", sa.String(12), nullable=False),
    sa.Column("township_code", sa.String(12)),
    sa.Column("subject", enum_column(AppealSubject, "appeal_subject"), nullable=False),
    sa.Column("subject_id", sa.Uuid, nullable=False),
    sa.Column("statement", sa.Text, nullable=False),
    sa.Column("filed_via", sa.String(16), nullable=False),
    sa.Column("filed_by", sa.Uuid),
    sa.Column("filed_at", UTCDateTime, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("status", enum_column(AppealStatus, "appeal_status"), nullable=False),
    sa.Column("decided_by", sa.Uuid),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("decision_reason", sa.Text),
    sa.Column("remedy", enum_column(Remedy, "appeal_remedy")),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_appeals_scope", "status", "district_code", "due_on"),
    sa.Index("ix_appeals_person", "person_id", "filed_at"),
    # one open appeal per decision: a second one is refused, not queued twice
    sa.Index(
        "uq_appeals_open_subject",
        "subject",
        "subject_id",
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    ),
    sa.Index("ix_appeals_listed", "due_on", "id"),
    sa.Index("ix_appeals_township", "township_code", "due_on", "id"),
)

national_upload_items = sa.Table(
    "national_upload_items",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("suspension_id", sa.Uuid, sa.ForeignKey("suspensions.id"), nullable=False),
    sa.Column("district_code", sa.String(12), nullable=False),
    *sealed("national_upload_items", "citizen_id", nullable=False),
    *sealed("national_upload_items", "name", nullable=False),
    sa.Column("suspended_on", sa.Date, nullable=False),
    sa.Column("restored_on", sa.Date, nullable=False),
    sa.Column("national_record_ids", sa.JSON, nullable=False),
    sa.Column("batch_id", sa.Uuid),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("suspension_id", name="uq_national_upload_items_suspension"),
    sa.Index("ix_national_upload_items_pending", "district_code", "batch_id"),
)

national_upload_batches = sa.Table(
    "national_upload_batches",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("district_code", sa.String(12), nullable=False),
    sa.Column("created_by", sa.Uuid),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("items", sa.Integer, nullable=False),
    sa.Column("file_key", sa.String(300), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("transport", sa.String(32)),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("receipt", sa.Text),
)

tip_offs = sa.Table(
    "tip_offs",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("reference", sa.String(24), nullable=False),
    sa.Column("category", enum_column(TipOffCategory, "tip_off_category"), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    *sealed("tip_offs", "subject_name", nullable=False),
    *sealed("tip_offs", "subject_citizen_id"),
    sa.Column("district_code", sa.String(12), nullable=False),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("persons.id")),
    *sealed("tip_offs", "reporter_name"),
    *sealed("tip_offs", "reporter_phone"),
    sa.Column("wants_reward", sa.Boolean, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("status", enum_column(TipOffStatus, "tip_off_status"), nullable=False),
    sa.Column("assigned_to", sa.Uuid),
    sa.Column("assigned_at", UTCDateTime),
    sa.Column("findings", sa.Text),
    sa.Column("closed_by", sa.Uuid),
    sa.Column("closed_at", UTCDateTime),
    sa.Column("recovered_fen", sa.BigInteger),
    sa.Column("reward_fen", sa.BigInteger),
    sa.Column("reward_paid_at", UTCDateTime),
    sa.Column("reward_paid_by", sa.Uuid),
    sa.Column("reward_payment_ref", sa.String(64)),
    sa.Column("closure_proposed_by", sa.Uuid),
    sa.Column("closure_proposed_at", UTCDateTime),
    sa.Column("proposed_recovered_fen", sa.BigInteger),
    sa.Column("proposed_suspend", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("reference", name="uq_tip_offs_reference"),
    sa.Index("ix_tip_offs_scope", "district_code", "status", "received_at"),
)


# Dashboard summaries (migration 0016): recomputed together by storage.reports.refresh
summary_certifications = sa.Table(
    "summary_certifications",
    metadata,
    sa.Column("district_code", sa.String(6), primary_key=True),
    sa.Column("certified_on", sa.Date, primary_key=True),
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

summary_due = sa.Table(
    "summary_due",
    metadata,
    sa.Column("district_code", sa.String(6), primary_key=True),
    sa.Column("due_on", sa.Date, primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

summary_decisions = sa.Table(
    "summary_decisions",
    metadata,
    sa.Column("district_code", sa.String(6), primary_key=True),
    sa.Column("birth_year", sa.Integer, primary_key=True),
    sa.Column("decided_on", sa.Date, primary_key=True),
    sa.Column("decision", sa.String(32), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

summary_open_tasks = sa.Table(  # migration 0018
    "summary_open_tasks",
    metadata,
    sa.Column("district_code", sa.String(12), primary_key=True),
    sa.Column("deadline_on", sa.Date, primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

summary_refreshes = sa.Table(
    "summary_refreshes",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("refreshed_at", UTCDateTime, nullable=False),
    sa.Column("took_ms", sa.Integer, nullable=False),
)


def described(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Whether a table or index found in a database is one this module describes: a run's
    partition of the comparison entries (and its indexes) is not (Alembic's
    ``include_object``: what the migrations are compared against)."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    table_name = getattr(table, "name", name) or ""
    return not (reflected and table_name.startswith(f"{comparison_entries.name}_"))
