"""Repositories for self-service certification. None of them commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session

from certification.access import Scope
from certification.model import (
    Attempt,
    ChallengeSession,
    EnrolmentRequest,
    FaceTemplate,
    FamilyBinding,
    Reminder,
    ReviewCase,
    VerificationReferral,
)
from certification.ports import Page, PageRequest
from certification.selfservice import AttemptStatus, BindingStatus, CaseStatus
from certification.vocabulary import EntitlementStatus
from storage import schema
from storage.db import rowcount
from storage.repositories import get_row
from storage.scoping import scoped_page
from storage.sets import among


class SqlFaceTemplateRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, template: FaceTemplate) -> None:
        self.session.add(template)

    def all_for(self, person_id: UUID) -> list[FaceTemplate]:
        t = schema.face_templates
        stmt = sa.select(FaceTemplate).where(t.c.person_id == person_id).order_by(t.c.created_at)
        return list(self.session.scalars(stmt))

    def held_for(self, person_id: UUID) -> list[FaceTemplate]:
        t = schema.face_templates
        stmt = sa.select(FaceTemplate).where(t.c.person_id == person_id, t.c.erased_at.is_(None))
        return list(self.session.scalars(stmt))

    def past_retention(
        self, made_before: datetime, ended_by: date, limit: int
    ) -> list[FaceTemplate]:
        """Templates still holding a vector, made before ``made_before``, of people with at
        least one benefit and every benefit terminated on or before ``ended_by``."""
        t, e, sc = schema.face_templates, schema.entitlements, schema.entitlement_status_changes
        live = sa.exists().where(
            e.c.person_id == t.c.person_id, e.c.status != EntitlementStatus.TERMINATED
        )
        any_benefit = sa.exists().where(e.c.person_id == t.c.person_id)
        ended_late = sa.exists().where(
            sc.c.entitlement_id == e.c.id,
            e.c.person_id == t.c.person_id,
            sc.c.to_status == EntitlementStatus.TERMINATED,
            sc.c.effective_on > ended_by,
        )
        stmt = (
            sa.select(FaceTemplate)
            .where(
                t.c.erased_at.is_(None),
                t.c.created_at < made_before,
                any_benefit,
                ~live,
                ~ended_late,
            )
            .order_by(t.c.created_at)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def active_for(self, person_id: UUID) -> list[FaceTemplate]:
        t = schema.face_templates
        stmt = (
            sa.select(FaceTemplate)
            .where(t.c.person_id == person_id, t.c.active.is_(True))
            .order_by(t.c.created_at)
        )
        return list(self.session.scalars(stmt))


class SqlChallengeSessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, challenge: ChallengeSession) -> None:
        self.session.add(challenge)

    def get(self, session_id: UUID, *, for_update: bool = False) -> ChallengeSession | None:
        return get_row(self.session, ChallengeSession, session_id, for_update=for_update)


class SqlAttemptRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, attempt: Attempt) -> None:
        self.session.add(attempt)

    def get(self, attempt_id: UUID) -> Attempt | None:
        return self.session.get(Attempt, attempt_id, populate_existing=True)

    def for_session(self, session_id: UUID) -> Attempt | None:
        stmt = sa.select(Attempt).where(schema.attempts.c.session_id == session_id)
        return self.session.scalars(stmt).first()

    def by_sha256(self, sha256: str) -> Attempt | None:
        stmt = sa.select(Attempt).where(schema.attempts.c.sha256 == sha256)
        return self.session.scalars(stmt).first()

    def claim(self, attempt_id: UUID, token: str, now: datetime, stale_before: datetime) -> bool:
        t = schema.attempts
        result = self.session.execute(
            sa.update(t)
            .where(
                t.c.id == attempt_id,
                # ATTEMPT_LIFECYCLE: pending -> processing, or a timed-out processing claim
                # -> processing again (its worker died)
                sa.or_(
                    t.c.status == AttemptStatus.PENDING,
                    sa.and_(t.c.status == AttemptStatus.PROCESSING, t.c.claimed_at < stale_before),
                ),
            )
            .values(
                status=AttemptStatus.PROCESSING,
                claim_token=token,
                claimed_at=now,
                tries=t.c.tries + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    def recent_for(self, person_id: UUID, limit: int) -> list[Attempt]:
        t = schema.attempts
        stmt = (
            sa.select(Attempt)
            .where(t.c.person_id == person_id)
            .order_by(t.c.created_at.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def unsuccessful_since(self, person_id: UUID, since: datetime) -> list[datetime]:
        """The person's own unsuccessful attempts (a claim's checks count against the claim,
        never against the person)."""
        t, s = schema.attempts, schema.challenge_sessions
        stmt = (
            sa.select(t.c.decided_at)
            .join(s, s.c.id == t.c.session_id)
            .where(
                t.c.person_id == person_id,
                t.c.decision.in_(("fail", "retry")),
                t.c.decided_at >= since,
                s.c.claim_id.is_(None),
            )
        )
        return [d for d in self.session.scalars(stmt) if d is not None]

    def stale_pending(self, older_than: datetime, limit: int) -> list[UUID]:
        t = schema.attempts
        stmt = (
            sa.select(t.c.id)
            .where(t.c.status == AttemptStatus.PENDING, t.c.created_at < older_than)
            .order_by(t.c.created_at)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))


class SqlReviewCaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, case: ReviewCase) -> None:
        self.session.add(case)

    def get(self, case_id: UUID, *, for_update: bool = False) -> ReviewCase | None:
        return get_row(self.session, ReviewCase, case_id, for_update=for_update)

    def open_for_person(self, person_id: UUID) -> list[ReviewCase]:
        t = schema.review_cases
        stmt = sa.select(ReviewCase).where(
            t.c.person_id == person_id, t.c.status == CaseStatus.OPEN
        )
        return list(self.session.scalars(stmt))

    def for_person(self, person_id: UUID, status: CaseStatus) -> list[ReviewCase]:
        t = schema.review_cases
        stmt = sa.select(ReviewCase).where(t.c.person_id == person_id, t.c.status == status)
        return list(self.session.scalars(stmt))

    def find(
        self, *, scope: Scope, status: CaseStatus | None, page: PageRequest
    ) -> Page[ReviewCase]:
        t = schema.review_cases
        return scoped_page(
            self.session,
            ReviewCase,
            t,
            scope=scope,
            filters=[t.c.status == status] if status is not None else [],
            page=page,
            order="opened_at",
        )


class SqlFamilyBindingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, binding: FamilyBinding) -> None:
        self.session.add(binding)

    def get(self, binding_id: UUID, *, for_update: bool = False) -> FamilyBinding | None:
        return get_row(self.session, FamilyBinding, binding_id, for_update=for_update)

    def for_family(self, account_id: UUID) -> list[FamilyBinding]:
        t = schema.family_bindings
        stmt = sa.select(FamilyBinding).where(t.c.family_account_id == account_id)
        return list(self.session.scalars(stmt.order_by(t.c.requested_at)))

    def for_person(self, person_id: UUID) -> list[FamilyBinding]:
        t = schema.family_bindings
        stmt = sa.select(FamilyBinding).where(t.c.person_id == person_id)
        return list(self.session.scalars(stmt.order_by(t.c.requested_at)))

    def find(
        self, *, scope: Scope, status: BindingStatus | None, page: PageRequest
    ) -> Page[FamilyBinding]:
        t = schema.family_bindings
        return scoped_page(
            self.session,
            FamilyBinding,
            t,
            scope=scope,
            filters=[t.c.status == status] if status is not None else [],
            page=page,
            order="requested_at",
        )


class SqlVerificationReferralRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, referral: VerificationReferral) -> None:
        self.session.add(referral)

    def open_for_person(self, person_id: UUID) -> list[VerificationReferral]:
        t = schema.verification_referrals
        stmt = sa.select(VerificationReferral).where(
            t.c.person_id == person_id, t.c.status == "open"
        )
        return list(self.session.scalars(stmt))


class SqlEnrolmentRequestRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, request: EnrolmentRequest) -> None:
        self.session.add(request)

    def get(self, request_id: UUID) -> EnrolmentRequest | None:
        return self.session.get(EnrolmentRequest, request_id, populate_existing=True)

    def latest_for(self, person_id: UUID) -> EnrolmentRequest | None:
        t = schema.enrolment_requests
        stmt = (
            sa.select(EnrolmentRequest)
            .where(t.c.person_id == person_id)
            .order_by(t.c.created_at.desc())
            .limit(1)
        )
        return self.session.scalars(stmt).first()


class SqlReminderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, reminder: Reminder) -> None:
        self.session.add(reminder)

    def by_code(self, person_id: UUID, code_hash: str) -> Reminder | None:
        t = schema.reminders
        stmt = sa.select(Reminder).where(t.c.person_id == person_id, t.c.code_hash == code_hash)
        return self.session.scalars(stmt).first()

    def persons_due_between(
        self, first: date, last: date, after: tuple[date, UUID] | None, limit: int
    ) -> list[tuple[UUID, date]]:
        p = schema.persons
        stmt = (
            sa.select(p.c.id, p.c.due_on)
            .where(p.c.due_on >= first, p.c.due_on <= last)
            .order_by(p.c.due_on, p.c.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(sa.tuple_(p.c.due_on, p.c.id) > sa.tuple_(after[0], after[1]))
        return [(r.id, r.due_on) for r in self.session.execute(stmt)]

    def stages_sent(self, person_ids: Sequence[UUID]) -> dict[tuple[UUID, date], set[int]]:
        if not person_ids:
            return {}
        t = schema.reminders
        rows = self.session.execute(
            sa.select(t.c.person_id, t.c.due_on, t.c.days_before).where(
                among(self.session, t.c.person_id, person_ids)
            )
        )
        sent: dict[tuple[UUID, date], set[int]] = {}
        for r in rows:
            sent.setdefault((r.person_id, r.due_on), set()).add(r.days_before)
        return sent
