"""Staff review of failed or blocked self-service certifications (人工审核).

Approve records a counter-style certification by the reviewer; reject sends the person
to township verification (Art. 14); retake asks the person to record again. The case's
version guards against two reviewers deciding the same case.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from certification import access
from certification.access import Actor
from certification.errors import (
    AccessDenied,
    NotFound,
    ValidationFailed,
)
from certification.model import Attempt, Person, ReviewCase, VerificationReferral
from certification.notices import NoticeKind
from certification.ports import EvidenceStore, Page, PageRequest
from certification.selfservice import CaseStatus
from certification.services.certifications import certify
from certification.services.context import UseCaseContext
from certification.services.notices import tell
from certification.services.persons import load_person
from certification.services.records import check_version, found
from certification.services.verification import refer_for_verification
from certification.states import state_named
from certification.vocabulary import CertificationChannel, StaffRole

DECISIONS = ("approve", "reject", "retake")
LINK_SECONDS = 300


@dataclass(frozen=True, slots=True)
class CaseView:
    case: ReviewCase
    person: Person
    attempt: Attempt | None
    links: dict[str, str | None]
    assisted_by: UUID | None  # the family member who helped record the video, if any


def require_reviewer(actor: Actor, person: Person) -> None:
    if not actor.has_role(StaffRole.REVIEWER):
        raise AccessDenied("Deciding review cases needs the reviewer role.")
    if not actor.sees_region(person.region_code):
        raise AccessDenied("This case concerns a person registered outside your region.")


def list_cases(
    ctx: UseCaseContext, actor: Actor, *, status: str | None, page: PageRequest
) -> Page[ReviewCase]:
    if not actor.has_role(StaffRole.REVIEWER):
        raise AccessDenied("The review queue needs the reviewer role.")
    scope = access.staff_scope(actor)
    return ctx.uow.review_cases.find(scope=scope, status=state_named(CaseStatus, status), page=page)


def _reviewable(
    ctx: UseCaseContext, actor: Actor, case_id: UUID
) -> tuple[ReviewCase, Person, Attempt | None]:
    """A case this reviewer may look at, with its person and attempt."""
    case = found(ctx.uow.review_cases.get(case_id), "review case", case_id)
    person = load_person(ctx, case.person_id)
    require_reviewer(actor, person)
    attempt = ctx.uow.attempts.get(case.attempt_id) if case.attempt_id else None
    return case, person, attempt


def get_case(ctx: UseCaseContext, actor: Actor, store: EvidenceStore, case_id: UUID) -> CaseView:
    case, person, attempt = _reviewable(ctx, actor, case_id)
    session = ctx.uow.challenge_sessions.get(attempt.session_id) if attempt else None
    links: dict[str, str | None] = {
        name: store.presigned_get(key, seconds=LINK_SECONDS)
        for name, key in _evidence_objects(ctx, person, attempt).items()
    }
    ctx.audit(actor, "review.viewed", "review_case", case.id)
    ctx.uow.commit()
    return CaseView(case, person, attempt, links, session.assisted_by if session else None)


def _evidence_objects(
    ctx: UseCaseContext, person: Person, attempt: Attempt | None
) -> dict[str, str]:
    """The objects a reviewer looks at, by name: video, frame_0…, enrolled_photo."""
    objects: dict[str, str] = {}
    if attempt is not None:
        objects["video"] = attempt.object_key
        for i, key in enumerate(attempt.evidence_keys):
            objects[f"frame_{i}"] = key
    templates = ctx.uow.templates.active_for(person.id)
    photo = next((t.photo_key for t in templates if t.photo_key), None)
    if photo:
        objects["enrolled_photo"] = photo
    return objects


def evidence_object(ctx: UseCaseContext, actor: Actor, case_id: UUID, name: str) -> str:
    """The key of one evidence object of a case (``name`` as in the case's links), for a
    reviewer of the person's region."""
    _case, person, attempt = _reviewable(ctx, actor, case_id)
    key = _evidence_objects(ctx, person, attempt).get(name)
    if key is None:
        raise NotFound(f"This case has no evidence called {name!r}.")
    return key


def case_version(ctx: UseCaseContext, case_id: UUID) -> int | None:
    """The case's current version, for its ETag (None when there is no such case)."""
    case = ctx.uow.review_cases.get(case_id)
    return case.version if case is not None else None


def decide_case(
    ctx: UseCaseContext,
    actor: Actor,
    case_id: UUID,
    *,
    decision: str,
    comment: str,
    expected_version: int,
) -> ReviewCase:
    if decision not in DECISIONS:
        raise ValidationFailed("Decide approve, reject or retake.", field="decision")
    comment = (comment or "").strip()
    if len(comment) < 4:
        raise ValidationFailed("A comment explaining the decision is required.", field="comment")
    case = found(ctx.uow.review_cases.get(case_id, for_update=True), "review case", case_id)
    person = load_person(ctx, case.person_id, for_update=True)
    require_reviewer(actor, person)
    check_version(case, expected_version, "case")
    outcome_status = {
        "approve": CaseStatus.APPROVED,
        "reject": CaseStatus.REJECTED,
    }.get(decision, CaseStatus.RETAKE_REQUESTED)
    case.decide(outcome_status, actor.account_id, comment, ctx.clock.now())
    if decision == "approve":
        outcome = certify(
            ctx,
            actor,
            person,
            channel=CertificationChannel.STAFF_REVIEW,
            certified_at=ctx.clock.now(),
            evidence=[f"review_case:{case.id}"]
            + ([f"attempt:{case.attempt_id}"] if case.attempt_id else []),
            note=f"review approval: {comment}",
            source_ref=f"review:{case.id}",
        )
        ctx.uow.flush()
        case.certification_id = outcome.certification.id
    elif decision == "reject":
        ctx.uow.referrals.add(
            VerificationReferral(
                person_id=person.id, source="review_case", source_id=case.id, note=comment
            )
        )
        # Art. 14: the person enters the township verification workflow.
        refer_for_verification(ctx, actor, person, source="review_case", source_id=case.id)
    ctx.audit(
        actor,
        f"review.{decision}",
        "review_case",
        case.id,
        reason=comment,
        person_id=str(person.id),
    )
    tell(
        ctx,
        person,
        NoticeKind.REVIEW_DECIDED,
        key=str(case.id),
        outcome={"approve": "approved", "reject": "rejected"}.get(decision, "retake"),
    )
    ctx.uow.commit()
    return case
