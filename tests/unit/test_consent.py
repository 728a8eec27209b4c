"""Consent to face processing on fakes (PIPL Art. 28-29): no face check without it, given in
the app or on paper, withdrawn by the person with their templates erased and nothing left to
analyse."""

import io
from contextlib import nullcontext

import pytest

from certification.consent import FACE_NOTICE, FACE_PROCESSING, ConsentChannel
from certification.errors import AccessDenied, RuleViolation, ValidationFailed
from certification.model import FaceTemplate
from certification.selfservice import AttemptStatus
from certification.services import consent, selfservice
from certification.services.selfservice import SelfServiceConfig, process_attempt
from certification.vocabulary import StaffRole
from tests.fakes import FakeObjectStore, staff, use_case
from tests.unit.test_appeals import bound_helper
from tests.unit.test_use_cases import (
    NOW,
    _NeverCalledEngine,
    beneficiary,
    enrolled_person,
    family_member,
    submitted_attempt,
)

CONFIG = SelfServiceConfig()


class _Queue:
    def enqueue_enrolment(self, request_id):
        self.queued = request_id


def unconsented_person(ctx, serial=21):
    person = enrolled_person(ctx, serial=serial)
    for c in ctx.uow.consents.for_person(person.id):
        ctx.uow.consents.rows.pop(c.id)
    ctx.uow.templates.add(
        FaceTemplate(person.id, CONFIG.match_model, "1", {"embedding": [0.1]}, "photo")
    )
    return person


def start(ctx, actor, person_id=None):
    return selfservice.start_session(ctx, actor, FakeObjectStore(), CONFIG, person_id=person_id)


def test_no_face_check_without_consent_and_the_app_records_the_notice_read():
    ctx = use_case(NOW)
    person = unconsented_person(ctx)
    me = beneficiary(person)
    with pytest.raises(RuleViolation) as refused:
        start(ctx, me)
    assert refused.value.details == {
        "reason": "consent_required",
        "notice_version": FACE_NOTICE.version,
    }
    helper = bound_helper(ctx, person)  # a son cannot consent for his father
    with pytest.raises(RuleViolation, match="consent"):
        start(ctx, helper, person.id)
    assert consent.view(ctx, me).given is None
    with pytest.raises(ValidationFailed, match="notice has changed"):
        consent.give_in_app(ctx, me, notice_version="face-2020-01")
    given = consent.give_in_app(ctx, me, notice_version=FACE_NOTICE.version)
    assert (given.person_id, given.account_id, given.channel) == (
        person.id,
        me.account_id,
        ConsentChannel.APP,
    )
    assert consent.give_in_app(ctx, me, notice_version=FACE_NOTICE.version) is given  # once
    assert start(ctx, me).session.person_id == person.id
    assert start(ctx, helper, person.id).session.assisted_by == helper.account_id
    assert ctx.uow.audit.actions().count("consent.given") == 1
    with pytest.raises(AccessDenied):
        consent.give_in_app(ctx, staff(StaffRole.CLERK), notice_version=FACE_NOTICE.version)


def test_a_claimant_consents_for_their_own_face_and_it_follows_the_account():
    ctx = use_case(NOW)
    person = unconsented_person(ctx)
    claimant = family_member()  # an app account whose claim on the person is pending
    given = consent.give_in_app(ctx, claimant, notice_version=FACE_NOTICE.version)
    assert given.person_id is None and given.account_id == claimant.account_id
    consent.require_face_consent(ctx, person_id=person.id, claimant=claimant.account_id)
    with pytest.raises(RuleViolation):  # not the person's consent
        consent.require_face_consent(ctx, person_id=person.id)
    consent.adopt_claimant_consent(ctx, claimant.account_id, person.id)
    consent.require_face_consent(ctx, person_id=person.id)


def test_staff_enrol_a_photo_only_with_the_signed_form_unless_consent_is_on_record():
    ctx = use_case(NOW)
    person = unconsented_person(ctx)
    clerk = staff(StaffRole.CLERK)
    store = FakeObjectStore()

    def enrol(ref):
        return selfservice.request_enrolment(
            ctx, clerk, store, _Queue(), person.id,
            photo=io.BytesIO(b"jpeg"), length=4, content_type="image/jpeg", consent_ref=ref,
        )  # fmt: skip

    for missing in (None, "", " x "):
        with pytest.raises(ValidationFailed, match="consent form"):
            enrol(missing)
    assert not ctx.uow.enrolments.rows and not store.objects
    enrol("  CF-2026-0042 ")
    (paper,) = ctx.uow.consents.for_person(person.id)
    assert (paper.channel, paper.reference, paper.recorded_by) == (
        ConsentChannel.PAPER,
        "CF-2026-0042",
        clerk.account_id,
    )
    enrol(None)  # a new photo later: the consent on record stands
    assert len(ctx.uow.consents.for_person(person.id)) == 1


def test_withdrawal_stops_face_processing_and_erases_the_templates():
    ctx = use_case(NOW)
    person = unconsented_person(ctx)
    me = beneficiary(person)
    consent.give_in_app(ctx, me, notice_version=FACE_NOTICE.version)
    _session, attempt = submitted_attempt(ctx, person)  # a video waiting for the worker
    store = FakeObjectStore()
    store.objects[attempt.object_key] = b"video"
    (template,) = ctx.uow.templates.rows.values()
    template.photo_key = "enrolment/photo.img"
    store.objects[template.photo_key] = b"jpeg"
    assert consent.withdraw(ctx, me, store) == 1
    assert template.template == {} and not template.active and template.erased_at == NOW
    assert template.photo_key not in store.objects  # the photo goes with its template
    result = process_attempt(
        lambda: nullcontext(ctx), _NeverCalledEngine(), store, CONFIG, attempt.id
    )
    assert result.outcome == "error"
    assert attempt.status is AttemptStatus.ERROR and attempt.reasons == ["consent_withdrawn"]
    assert attempt.object_key not in store.objects  # deleted unanalysed
    assert not ctx.uow.review_cases.rows  # nobody is to look at that face
    assert "sent_to_review" not in ctx.uow.notices.told(person.id)
    assert "consent_withdrawn" in ctx.uow.notices.told(person.id)  # urgent: a takeover shows
    with pytest.raises(RuleViolation, match="service point"):  # no template left either
        start(ctx, me)
    with pytest.raises(RuleViolation, match="no consent in force"):
        consent.withdraw(ctx, me, store)
    assert ctx.uow.consents.in_force(FACE_PROCESSING, person_id=person.id) is None


def test_evidence_kept_three_years_from_a_leap_day_runs_to_28_february():
    from datetime import UTC, datetime

    from certification.services.selfservice import retention_metadata

    leap = datetime(2028, 2, 29, 10, tzinfo=UTC)  # every upload that day used to fail
    assert retention_metadata(leap)["retain-until"] == "2031-02-28"
