"""Claiming a beneficiary's record from the app: the rules, without any framework.

Citizen ID numbers and names of pensioners circulate in leaked data sets, so knowing them
proves nothing. Registering with an ID and a name only records a *claim*; it never blocks
another claim, and several may wait on one person. A claim becomes the person's account only
by a face certification against the agency's enrolled photo (or by a counter clerk who saw
the ID card); then every other claim on the person is dropped and the person is told.

A claim's failed face checks count against the claim alone: they never lock the person's own
self-service, open no review case, and stay recorded for fraud analysis.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from certification.errors import RuleViolation
from certification.ids import new_id


class ClaimStatus(StrEnum):
    PENDING = "pending"  # recorded; the face check (or a counter clerk) decides
    VERIFIED = "verified"  # the account is the person's
    DROPPED = "dropped"  # another claim on the person was verified first
    CLOSED = "closed"  # too many failed face checks: only a service point can help now


@dataclass(frozen=True, slots=True)
class ClaimLimits:
    """A claim's own face-check limits (the person's limits are never touched)."""

    lock_after: int = 3  # unsuccessful checks in a row lock the claim...
    lockout: timedelta = timedelta(hours=24)  # ...for a day
    close_after: int = 6  # and this many in all close it
    per_target_per_day: int = 3  # new claims on one citizen ID number a day, from anyone
    per_address_per_hour: int = 10  # registrations from one address an hour


def target_hash(citizen_id: str, key: str) -> str:
    """A keyed hash of the claimed citizen ID: claims on one number are counted and listed
    for fraud analysis without keeping the number itself beside an unverified claim."""
    return hmac.new(key.encode(), f"claim:{citizen_id}".encode(), hashlib.sha256).hexdigest()


@dataclass(eq=False)
class Claim:
    account_id: UUID
    target_hash: str
    person_id: UUID | None = None  # the beneficiary the ID and name match, if any
    status: ClaimStatus = ClaimStatus.PENDING
    failed_attempts: int = 0
    locked_until: datetime | None = None
    origin: str | None = None
    decided_at: datetime | None = None
    id: UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    version: int = 0

    def check_open(self, now: datetime) -> None:
        """May this claim try the face check now? Refuses with what to do instead."""
        if self.status is ClaimStatus.VERIFIED:
            raise RuleViolation("This account is already confirmed.")
        if self.status is not ClaimStatus.PENDING:
            raise RuleViolation(
                "This claim can no longer be confirmed in the app; please visit a service "
                "point with your ID card.",
                details={"reason": "claim_closed"},
            )
        if self.locked_until is not None and self.locked_until > now:
            raise RuleViolation(
                "Too many unsuccessful checks; please try again tomorrow or visit a service "
                "point with your ID card.",
                details={"reason": "claim_locked", "retry_after": self.locked_until.isoformat()},
            )

    def next_step(self, now: datetime) -> str:
        """What the claimant does now: ``face_check``, ``wait`` (locked for a while),
        ``service_point`` (closed: only a clerk can help) or ``none`` (decided)."""
        if self.status is ClaimStatus.PENDING:
            locked = self.locked_until is not None and self.locked_until > now
            return "wait" if locked else "face_check"
        return "service_point" if self.status is ClaimStatus.CLOSED else "none"

    def record_failure(self, now: datetime, limits: ClaimLimits) -> None:
        self.failed_attempts += 1
        if self.failed_attempts >= limits.close_after:
            self.status = ClaimStatus.CLOSED
            self.decided_at = now
        elif self.failed_attempts % limits.lock_after == 0:
            self.locked_until = now + limits.lockout

    def verify(self, now: datetime) -> None:
        if self.status is not ClaimStatus.PENDING:
            raise RuleViolation(f"A {self.status.value} claim cannot be verified.")
        self.status = ClaimStatus.VERIFIED
        self.decided_at = now

    def drop(self, now: datetime) -> None:
        if self.status is ClaimStatus.PENDING:
            self.status = ClaimStatus.DROPPED
            self.decided_at = now
