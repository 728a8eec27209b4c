"""Annulling a wrong certification, four eyes, on fakes: the asker cannot confirm, a township
cannot ask, the period goes back to the last valid certification, the receipt stops checking,
the person is told."""

from datetime import timedelta

import pytest

from certification.errors import AccessDenied, RuleViolation, ValidationFailed
from certification.services import annulments
from certification.services.receipts import check_receipt
from certification.vocabulary import StaffRole
from tests.fakes import staff, use_case
from tests.unit.test_use_cases import NOW, certify_by_hand, enrolled_person

ASKER = staff(StaffRole.CLERK, scope="500103")
SECOND = staff(StaffRole.CLERK, scope="500000")  # a municipal clerk


def test_two_clerks_annul_a_wrong_certification_and_the_period_goes_back():
    ctx = use_case(NOW - timedelta(days=200))
    person = enrolled_person(ctx)
    first = certify_by_hand(ctx, ASKER, person, evidence=["ID card seen"]).certification
    due_after_first = person.due_on
    ctx.clock.advance(days=200)
    wrong = certify_by_hand(ctx, ASKER, person, evidence=["ID card seen"])
    assert person.due_on > due_after_first
    receipt = ctx.uow.receipts.for_certification(wrong.certification.id)
    assert receipt is not None and check_receipt(ctx, receipt.code).valid

    with pytest.raises(ValidationFailed, match="why"):
        annulments.request_annulment(ctx, ASKER, person.id, wrong.certification.id, reason="wrong")
    township = staff(StaffRole.CLERK, scope="500103001")
    with pytest.raises(AccessDenied, match="district/county or municipal"):
        annulments.request_annulment(
            ctx, township, person.id, wrong.certification.id, reason="another person's card"
        )
    annulments.request_annulment(
        ctx, ASKER, person.id, wrong.certification.id, reason="another person's card was read"
    )
    assert person.due_on > due_after_first  # still counts until a second clerk confirms
    with pytest.raises(AccessDenied, match="Another clerk"):
        annulments.decide_annulment(
            ctx, ASKER, person.id, wrong.certification.id, confirm=True, note=None
        )
    annulled = annulments.decide_annulment(
        ctx, SECOND, person.id, wrong.certification.id, confirm=True, note="checked the video"
    )
    assert annulled.annulled and annulled.annulled_by == SECOND.account_id
    assert person.last_certified_on == first.certified_on
    assert person.due_on == due_after_first  # back to the last valid certification
    assert not check_receipt(ctx, receipt.code).valid
    told = ctx.uow.notices.by_key(f"certification_annulled:{wrong.certification.id}")
    assert told is not None and told.data["due_on"] == due_after_first.isoformat()
    with pytest.raises(RuleViolation, match="already annulled"):
        annulments.request_annulment(
            ctx, ASKER, person.id, wrong.certification.id, reason="once more, to be sure"
        )
    assert ctx.uow.audit.actions()[-2:] == [
        "certification.annulment_requested",
        "certification.annulled",
    ]


def test_a_refused_annulment_changes_nothing_and_another_person_s_id_is_not_found():
    from certification.errors import NotFound

    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    other = enrolled_person(ctx, serial=12)
    made = certify_by_hand(ctx, ASKER, person, evidence=["ID card seen"]).certification
    due = person.due_on
    with pytest.raises(NotFound):
        annulments.request_annulment(ctx, ASKER, other.id, made.id, reason="wrong person here")
    annulments.request_annulment(ctx, ASKER, person.id, made.id, reason="looks like a mistake")
    with pytest.raises(RuleViolation, match="already waiting"):
        annulments.request_annulment(ctx, SECOND, person.id, made.id, reason="me too, a mistake")
    annulments.decide_annulment(ctx, SECOND, person.id, made.id, confirm=False, note="it is her")
    assert not made.annulled and made.annulment_requested_by is None
    assert person.due_on == due
    with pytest.raises(RuleViolation, match="No annulment"):
        annulments.decide_annulment(ctx, SECOND, person.id, made.id, confirm=True, note=None)
