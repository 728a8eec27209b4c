"""Art. 9: unreachable by several means."""

from datetime import date

import pytest

from certification.contact import ContactAttemptFacts as A
from certification.contact import assess_unreachable
from certification.vocabulary import ContactChannel as C
from certification.vocabulary import ContactOutcome as O

START = date(2026, 1, 1)


def assess(*attempts, min_channels=2):
    return assess_unreachable(attempts, period_started_on=START, min_channels=min_channels)


def test_two_different_means_failing_makes_a_person_unreachable():
    finding = assess(
        A(C.PHONE, O.UNREACHABLE, date(2027, 1, 5)), A(C.VISIT, O.UNREACHABLE, date(2027, 1, 9))
    )
    assert finding.unreachable
    assert finding.channels_tried == {C.PHONE, C.VISIT}
    assert "phone" in finding.explain()


def test_the_same_means_twice_is_not_several_means():
    finding = assess(
        A(C.PHONE, O.UNREACHABLE, date(2027, 1, 5)), A(C.PHONE, O.UNREACHABLE, date(2027, 1, 6))
    )
    assert not finding.unreachable
    assert "at least 2" in finding.explain()


def test_a_successful_contact_in_the_period_means_reachable():
    finding = assess(
        A(C.PHONE, O.UNREACHABLE, date(2027, 1, 5)),
        A(C.SMS, O.UNREACHABLE, date(2027, 1, 6)),
        A(C.WECHAT, O.REACHED, date(2027, 1, 7)),
    )
    assert not finding.unreachable
    assert finding.reached_on == date(2027, 1, 7)


def test_attempts_before_the_period_do_not_count():
    finding = assess(
        A(C.PHONE, O.UNREACHABLE, date(2025, 12, 30)), A(C.SMS, O.UNREACHABLE, date(2027, 1, 6))
    )
    assert not finding.unreachable


@pytest.mark.parametrize("needed,expected", [(1, True), (3, False)])
def test_the_number_of_means_is_configurable(needed, expected):
    finding = assess(
        A(C.PHONE, O.UNREACHABLE, date(2027, 1, 5)),
        A(C.SMS, O.UNREACHABLE, date(2027, 1, 6)),
        min_channels=needed,
    )
    assert finding.unreachable is expected
