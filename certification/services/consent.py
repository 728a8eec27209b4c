"""Consent to face processing: given in the app or on paper, required before any face check,
withdrawn by the person (see certification/consent.py)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, time
from uuid import UUID

from certification.access import Actor
from certification.calendar import add_months
from certification.consent import (
    FACE_NOTICE,
    FACE_PROCESSING,
    Consent,
    ConsentChannel,
    consent_required,
    paper_reference,
)
from certification.errors import AccessDenied, RuleViolation, ValidationFailed
from certification.model import FaceTemplate
from certification.notices import NoticeKind
from certification.ports import EvidenceStore
from certification.services.context import UseCaseContext
from certification.services.notices import tell
from certification.services.persons import load_person
from certification.verification import EVIDENCE_RETENTION_YEARS
from certification.vocabulary import AccountKind


@dataclass(frozen=True, slots=True)
class ConsentView:
    notice_version: str
    notice_zh: str
    notice_en: str
    given: Consent | None  # the consent in force, if any


def _subject(actor: Actor) -> dict[str, UUID]:
    """Whose consent an app account gives: the person's (a beneficiary), or its own (a
    claimant whose account is not yet confirmed as the person's)."""
    if actor.kind == AccountKind.BENEFICIARY.value and actor.person_id is not None:
        return {"person_id": actor.person_id}
    if actor.kind == AccountKind.FAMILY.value and actor.account_id is not None:
        return {"account_id": actor.account_id}
    raise AccessDenied("Consent to face processing is given in the person's own app account.")


def view(ctx: UseCaseContext, actor: Actor) -> ConsentView:
    given = ctx.uow.consents.in_force(FACE_PROCESSING, **_subject(actor))
    return ConsentView(FACE_NOTICE.version, FACE_NOTICE.zh, FACE_NOTICE.en, given)


def give_in_app(ctx: UseCaseContext, actor: Actor, *, notice_version: str) -> Consent:
    """The account holder agrees to the notice they were shown (its version must be the
    current one: a consent to words nobody showed them is no consent)."""
    if notice_version != FACE_NOTICE.version:
        raise ValidationFailed(
            f"The notice has changed (now {FACE_NOTICE.version}); read it again and agree.",
            field="notice_version",
        )
    subject = _subject(actor)
    existing = ctx.uow.consents.in_force(FACE_PROCESSING, **subject)
    if existing is not None:
        return existing
    consent = Consent(
        purpose=FACE_PROCESSING,
        notice_version=FACE_NOTICE.version,
        channel=ConsentChannel.APP,
        person_id=subject.get("person_id"),
        account_id=actor.account_id,
        given_at=ctx.clock.now(),
    )
    ctx.uow.consents.add(consent)
    ctx.audit(
        actor,
        "consent.given",
        "consent",
        consent.id,
        person_id=str(consent.person_id) if consent.person_id else None,
        channel=consent.channel.value,
        notice_version=consent.notice_version,
    )
    ctx.uow.commit()
    return consent


def record_paper(ctx: UseCaseContext, actor: Actor, person_id: UUID, reference: str | None) -> None:
    """Staff record the person's signed form (enrolment, counter, home visit); no form is
    needed while a consent is in force already (given in the app, or an earlier form). The
    caller checked the actor's rights; does not commit."""
    if ctx.uow.consents.in_force(FACE_PROCESSING, person_id=person_id) is not None:
        return
    ref = paper_reference(reference)
    consent = Consent(
        purpose=FACE_PROCESSING,
        notice_version=FACE_NOTICE.version,
        channel=ConsentChannel.PAPER,
        person_id=person_id,
        recorded_by=actor.account_id,
        reference=ref,
        given_at=ctx.clock.now(),
    )
    ctx.uow.consents.add(consent)
    ctx.audit(
        actor,
        "consent.recorded",
        "consent",
        consent.id,
        person_id=str(person_id),
        channel=consent.channel.value,
        reference=ref,
    )


def has_face_consent(ctx: UseCaseContext, *, person_id: UUID, claimant: UUID | None = None) -> bool:
    """Whether a face may be processed: the person's consent, or for a claim's check the
    claimant account's own."""
    subject = {"account_id": claimant} if claimant else {"person_id": person_id}
    return ctx.uow.consents.in_force(FACE_PROCESSING, **subject) is not None


def require_face_consent(
    ctx: UseCaseContext, *, person_id: UUID, claimant: UUID | None = None
) -> None:
    """Refuse a face check without consent (409 ``consent_required``)."""
    if not has_face_consent(ctx, person_id=person_id, claimant=claimant):
        raise consent_required()


def adopt_claimant_consent(ctx: UseCaseContext, account_id: UUID, person_id: UUID) -> None:
    """A confirmed claim: the account's own consent becomes the person's. Does not commit."""
    for consent in ctx.uow.consents.for_account(account_id):
        if consent.person_id is None and consent.in_force:
            consent.person_id = person_id


def forget(ctx: UseCaseContext, store: EvidenceStore, templates: list[FaceTemplate]) -> None:
    """Erase face templates (the row stays: when and from what it was made) and delete the
    enrolment photos they were made from: the one place a face is forgotten (withdrawal,
    retention over). Does not commit."""
    now = ctx.clock.now()
    for template in templates:
        template.erase(now)
    for key in sorted({t.photo_key for t in templates if t.photo_key}):
        store.delete(key)


@dataclass(frozen=True, slots=True)
class FaceDataSweep:
    people: int
    templates: int


def sweep_face_data(
    open_context: Callable[[], AbstractContextManager[UseCaseContext]],
    store: EvidenceStore,
    *,
    batch: int = 500,
) -> FaceDataSweep:
    """Forget the faces of people whose benefits have all ended, once the retention of the
    photo a template was made from has passed too (3 years, Art. 20): one schedule for the
    template and its photo (decision 0018). In batches, each its own transaction."""
    actor = Actor.system("face-data-retention")
    people: set[UUID] = set()
    templates = 0
    while True:
        with open_context() as ctx:
            today = ctx.clock.today()
            made_before = datetime.combine(
                add_months(today, -12 * EVIDENCE_RETENTION_YEARS), time.min, tzinfo=UTC
            )
            due = ctx.uow.templates.past_retention(made_before, today, batch)
            if not due:
                break
            forget(ctx, store, due)
            for person_id in sorted({t.person_id for t in due}):
                ctx.audit(
                    actor,
                    "face_data.erased",
                    "person",
                    person_id,
                    templates=sum(t.person_id == person_id for t in due),
                    why="benefits_ended_and_retention_over",
                )
            ctx.uow.commit()
        people |= {t.person_id for t in due}
        templates += len(due)
    return FaceDataSweep(len(people), templates)


def withdraw(ctx: UseCaseContext, actor: Actor, store: EvidenceStore) -> int:
    """The person (or a claimant) withdraws: face processing stops, the person's face
    templates are erased with their enrolment photos. How many templates were erased."""
    subject = _subject(actor)
    now = ctx.clock.now()
    withdrawn = 0
    while (consent := ctx.uow.consents.in_force(FACE_PROCESSING, **subject)) is not None:
        consent.withdraw(actor.account_id, now)
        ctx.uow.flush()
        withdrawn += 1
    if not withdrawn:
        raise RuleViolation("There is no consent in force to withdraw.")
    erased = 0
    if "person_id" in subject:
        held = ctx.uow.templates.held_for(subject["person_id"])
        forget(ctx, store, held)
        erased = len(held)
        person = load_person(ctx, subject["person_id"])
        # urgent: in a taken-over account this is how the person learns of it
        tell(ctx, person, NoticeKind.CONSENT_WITHDRAWN, key=f"{person.id}:{now.isoformat()}")
    ctx.audit(
        actor,
        "consent.withdrawn",
        "person" if "person_id" in subject else "account",
        subject.get("person_id") or subject.get("account_id"),
        templates_erased=erased,
    )
    ctx.uow.commit()
    return erased
