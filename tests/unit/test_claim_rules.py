"""A claim's own limits and what the claimant is told to do next (certification/claims.py)."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from certification.claims import Claim, ClaimLimits, ClaimStatus
from certification.errors import RuleViolation

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_three_failures_lock_the_claim_for_a_day_and_six_close_it() -> None:
    claim, limits = Claim(account_id=uuid4(), target_hash="h"), ClaimLimits()
    assert claim.next_step(NOW) == "face_check"
    for _ in range(3):
        claim.record_failure(NOW, limits)
    assert claim.next_step(NOW) == "wait" and claim.locked_until == NOW + timedelta(hours=24)
    with pytest.raises(RuleViolation):
        claim.check_open(NOW)
    later = NOW + timedelta(hours=25)
    assert claim.next_step(later) == "face_check"
    claim.check_open(later)
    for _ in range(3):
        claim.record_failure(later, limits)
    assert claim.status is ClaimStatus.CLOSED and claim.next_step(later) == "service_point"


def test_a_decided_claim_has_nothing_left_to_do() -> None:
    won, lost = (
        Claim(account_id=uuid4(), target_hash="h"),
        Claim(account_id=uuid4(), target_hash="h"),
    )
    won.verify(NOW)
    lost.drop(NOW)
    assert won.next_step(NOW) == lost.next_step(NOW) == "none"
    with pytest.raises(RuleViolation):
        lost.verify(NOW)
