"""Maps the domain's plain classes onto the tables (SQLAlchemy imperative mapping)."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper, registry, relationship

from certification import (
    appeals,
    claims,
    consent,
    model,
    notices,
    receipts,
    supervision,
    verification,
)
from storage import schema
from storage.crypto import blind_index

mapper_registry = registry(metadata=schema.metadata)
_lock = threading.Lock()
_mapped = False


def start_mappers() -> None:
    """Idempotent; called once per process by the engine factory."""
    global _mapped
    with _lock:
        if _mapped:
            return
        mapper_registry.map_imperatively(model.Region, schema.regions)
        mapper_registry.map_imperatively(
            model.EntitlementStatusChange, schema.entitlement_status_changes
        )
        mapper_registry.map_imperatively(model.EntitlementAmount, schema.entitlement_amounts)
        mapper_registry.map_imperatively(
            model.Entitlement,
            schema.entitlements,
            version_id_col=schema.entitlements.c.version,
            properties={
                "status_changes": relationship(
                    model.EntitlementStatusChange,
                    order_by=schema.entitlement_status_changes.c.recorded_at,
                    cascade="all, delete-orphan",
                    lazy="selectin",
                ),
                "amounts": relationship(
                    model.EntitlementAmount,
                    order_by=schema.entitlement_amounts.c.effective_from,
                    cascade="all, delete-orphan",
                    lazy="selectin",
                ),
            },
        )
        mapper_registry.map_imperatively(
            model.Person,
            schema.persons,
            version_id_col=schema.persons.c.version,
            properties={
                "entitlements": relationship(
                    model.Entitlement,
                    order_by=schema.entitlements.c.start_date,
                    cascade="all, delete-orphan",
                    lazy="selectin",
                ),
            },
        )
        mapper_registry.map_imperatively(model.Certification, schema.certifications)
        mapper_registry.map_imperatively(model.ContactAttempt, schema.contact_attempts)
        mapper_registry.map_imperatively(
            model.Suspension, schema.suspensions, version_id_col=schema.suspensions.c.version
        )
        mapper_registry.map_imperatively(
            model.Account, schema.accounts, version_id_col=schema.accounts.c.version
        )
        mapper_registry.map_imperatively(model.ExternalIdentity, schema.external_identities)
        mapper_registry.map_imperatively(model.OneTimeCode, schema.one_time_codes)
        mapper_registry.map_imperatively(
            claims.Claim, schema.claims, version_id_col=schema.claims.c.version
        )
        mapper_registry.map_imperatively(model.RefreshToken, schema.refresh_tokens)
        mapper_registry.map_imperatively(model.AuditRecord, schema.audit_events)
        mapper_registry.map_imperatively(model.FaceTemplate, schema.face_templates)
        mapper_registry.map_imperatively(
            model.ChallengeSession,
            schema.challenge_sessions,
            version_id_col=schema.challenge_sessions.c.version,
        )
        mapper_registry.map_imperatively(model.Attempt, schema.attempts)
        mapper_registry.map_imperatively(
            model.ReviewCase, schema.review_cases, version_id_col=schema.review_cases.c.version
        )
        mapper_registry.map_imperatively(
            model.FamilyBinding,
            schema.family_bindings,
            version_id_col=schema.family_bindings.c.version,
        )
        mapper_registry.map_imperatively(model.VerificationReferral, schema.verification_referrals)
        mapper_registry.map_imperatively(model.EnrolmentRequest, schema.enrolment_requests)
        mapper_registry.map_imperatively(model.Reminder, schema.reminders)
        mapper_registry.map_imperatively(notices.Notice, schema.notices)
        mapper_registry.map_imperatively(
            notices.Delivery,
            schema.notice_deliveries,
            version_id_col=schema.notice_deliveries.c.version,
        )
        mapper_registry.map_imperatively(
            notices.NoticePreferences,
            schema.notice_preferences,
            version_id_col=schema.notice_preferences.c.version,
        )
        mapper_registry.map_imperatively(receipts.Receipt, schema.receipts)
        mapper_registry.map_imperatively(
            verification.VerificationTask,
            schema.verification_tasks,
            version_id_col=schema.verification_tasks.c.version,
        )
        mapper_registry.map_imperatively(
            verification.DecisionProposal,
            schema.decision_proposals,
            version_id_col=schema.decision_proposals.c.version,
        )
        mapper_registry.map_imperatively(
            verification.HomeVisitRequest,
            schema.home_visit_requests,
            version_id_col=schema.home_visit_requests.c.version,
        )
        mapper_registry.map_imperatively(
            appeals.Appeal, schema.appeals, version_id_col=schema.appeals.c.version
        )
        mapper_registry.map_imperatively(
            consent.Consent, schema.consents, version_id_col=schema.consents.c.version
        )
        mapper_registry.map_imperatively(verification.ComparisonRun, schema.comparison_runs)
        mapper_registry.map_imperatively(verification.FeedImport, schema.feed_imports)
        mapper_registry.map_imperatively(
            supervision.TipOff, schema.tip_offs, version_id_col=schema.tip_offs.c.version
        )
        for mapper in mapper_registry.mappers:
            _keep_blind_indexes(mapper)
        _mapped = True


def _keep_blind_indexes(mapper: Mapper[Any]) -> None:
    """On an ORM update, a changed sealed value gets its blind index anew (inserts get it from
    the column default, storage.schema.sealed)."""
    table = mapper.local_table
    assert isinstance(table, sa.Table)
    indexed = [(c.name, *c.info["blind_index"]) for c in table.columns if "blind_index" in c.info]
    if not indexed:
        return

    def reindex(_mapper: Mapper[Any], _connection: Any, target: Any) -> None:
        state = sa.inspect(target)
        for key, source, domain in indexed:
            if state.attrs[source].history.has_changes():
                value = getattr(target, source)
                setattr(target, key, None if value is None else blind_index(domain, value))

    sa.event.listen(mapper, "before_update", reindex)
