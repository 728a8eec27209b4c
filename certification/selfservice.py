"""Self-service face certification (人脸识别自助认证): the rules, without any framework.

- The challenge: a random, ordered list of actions, always including one that a photo
  cannot do (blink or open the mouth); fewer actions and more time per action for the
  very old.
- Attempt limits: too many unsuccessful attempts in a short time lock self-service for
  a while; a daily cap; either sends the person to staff review instead.
- The guarded template refresh: a verified frame may be added to the person's templates
  (to follow ageing) only from a confident pass, never replacing the enrolled photo.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from certification.calendar import age_on
from certification.states import Lifecycle
from certification.texts import both

NON_RIGID = ("blink", "open_mouth")
HEAD = ("turn_left", "turn_right", "nod")


class SessionStatus(StrEnum):
    OPEN = "open"  # waiting for the upload
    SUBMITTED = "submitted"  # upload complete, attempt queued or being processed
    DECIDED = "decided"
    EXPIRED = "expired"


class AttemptStatus(StrEnum):
    PENDING = "pending"  # recorded, waiting for a worker
    PROCESSING = "processing"  # claimed by a worker
    DECIDED = "decided"
    ERROR = "error"  # could not be processed (after retries); staff look at it


class Decision(StrEnum):
    PASS = "pass"  # noqa: S105 - a decision, not a password
    FAIL = "fail"
    RETRY = "retry"


class CaseStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"  # the person goes to township verification (Art. 14)
    RETAKE_REQUESTED = "retake_requested"


class CaseReason(StrEnum):
    FAILED = "failed"  # the engine said fail
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    PROCESSING_ERROR = "processing_error"


class BindingStatus(StrEnum):
    REQUESTED = "requested"
    ACTIVE = "active"
    REJECTED = "rejected"
    REVOKED = "revoked"


class EnrolmentStatus(StrEnum):
    PENDING = "pending"  # the photo is stored; the worker makes the template
    ACCEPTED = "accepted"
    REFUSED = "refused"  # no usable face: the reason says what to fix


SESSION_LIFECYCLE = Lifecycle(
    "certification session",
    {
        SessionStatus.OPEN: {SessionStatus.SUBMITTED, SessionStatus.EXPIRED},
        SessionStatus.SUBMITTED: {SessionStatus.DECIDED},
    },
)
ATTEMPT_LIFECYCLE = Lifecycle(
    "attempt",
    {
        AttemptStatus.PENDING: {AttemptStatus.PROCESSING},
        # a worker that died leaves its claim to time out; another worker claims it again
        AttemptStatus.PROCESSING: {
            AttemptStatus.PROCESSING,
            AttemptStatus.DECIDED,
            AttemptStatus.ERROR,
        },
    },
)
CASE_LIFECYCLE = Lifecycle(
    "review case",
    {
        CaseStatus.OPEN: {
            CaseStatus.APPROVED,
            CaseStatus.REJECTED,
            CaseStatus.RETAKE_REQUESTED,
        }
    },
)
BINDING_LIFECYCLE = Lifecycle(
    "family binding",
    {
        BindingStatus.REQUESTED: {
            BindingStatus.ACTIVE,
            BindingStatus.REJECTED,
            BindingStatus.REVOKED,
        },
        BindingStatus.ACTIVE: {BindingStatus.REVOKED},
    },
)
ENROLMENT_LIFECYCLE = Lifecycle(
    "enrolment request",
    {EnrolmentStatus.PENDING: {EnrolmentStatus.ACCEPTED, EnrolmentStatus.REFUSED}},
)


@dataclass(frozen=True, slots=True)
class ChallengePlan:
    actions: tuple[str, ...]
    seconds_per_action: int  # how long the app shows each prompt
    max_video_seconds: int


@dataclass(frozen=True, slots=True)
class ChallengePolicy:
    """Difficulty by age: the very old get fewer actions and more time for each."""

    elderly_age: int = 75
    very_old_age: int = 85
    session_minutes: int = 10

    def plan(self, birth_date: date, today: date, *, gentle: bool = False) -> ChallengePlan:
        rng = secrets.SystemRandom()
        age = age_on(birth_date, today)
        if gentle or age >= self.very_old_age:
            count, seconds = 2, 7
        elif age >= self.elderly_age:
            count, seconds = 2, 5
        else:
            count, seconds = 3, 4
        # One action a photo cannot do, and one movement of the head: a recorded video of the
        # person (blinking and talking, as everybody does) satisfies a random blink or open
        # mouth a third of the time, a random head turn in 3 % (the face check's held-out
        # evaluation, decision 0012), so the head movement and the order carry the challenge.
        first = rng.choice(NON_RIGID)
        # turning the head is easier than nodding for the very old
        heads = [a for a in HEAD if a != "nod"] if gentle or age >= self.very_old_age else HEAD
        head = rng.choice(heads)
        others = [a for a in (*NON_RIGID, *HEAD) if a not in (first, head)]
        chosen = [first, head, *rng.sample(others, count - 2)]
        rng.shuffle(chosen)
        return ChallengePlan(tuple(chosen), seconds, max_video_seconds=min(45, count * seconds + 8))


@dataclass(frozen=True, slots=True)
class FixedChallengePolicy(ChallengePolicy):
    """Always the same actions: for load tests with recorded clips, never in production."""

    actions: tuple[str, ...] = ("blink",)

    def plan(self, birth_date: date, today: date, *, gentle: bool = False) -> ChallengePlan:
        return ChallengePlan(self.actions, 5, 40)


@dataclass(frozen=True, slots=True)
class AttemptLimits:
    """5 unsuccessful attempts in 3 minutes lock self-service for 15 minutes; 10 a day."""

    window: timedelta = timedelta(minutes=3)
    max_in_window: int = 5
    lockout: timedelta = timedelta(minutes=15)
    daily_cap: int = 10

    def check(
        self, unsuccessful: list[datetime], now: datetime
    ) -> tuple[bool, str | None, datetime | None]:
        """(allowed, reason, retry_after) given the times of recent unsuccessful attempts."""
        recent = sorted(t for t in unsuccessful if t > now - timedelta(days=1))
        if len(recent) >= self.daily_cap:
            return False, "daily_cap", None
        in_window = [t for t in recent if t > now - self.window - self.lockout]
        for i in range(len(in_window) - self.max_in_window + 1):
            burst = in_window[i : i + self.max_in_window]
            if burst[-1] - burst[0] <= self.window:
                until = burst[-1] + self.lockout
                if until > now:
                    return False, "locked_out", until
        return True, None, None

    def reached_now(self, unsuccessful: list[datetime], now: datetime) -> str | None:
        """Did the attempt just recorded reach a limit (so staff should look)?"""
        allowed, reason, _ = self.check(unsuccessful, now)
        return None if allowed else reason


@dataclass(frozen=True, slots=True)
class TemplateRefreshRule:
    """When a verified frame may join the templates (to follow ageing)."""

    margin: float = 0.1  # match score above the threshold by at least this
    min_age: timedelta = timedelta(days=365)  # the newest template is at least this old
    keep_verified: int = 2  # verified-frame templates kept besides the enrolled photo

    def allows(
        self, *, score: float, threshold: float, newest_template_at: datetime, now: datetime
    ) -> bool:
        return score >= threshold + self.margin and now - newest_template_at >= self.min_age


# What the person does next, by step: English here, Chinese from the catalogue (texts.py).
_NEXT_STEPS_EN: dict[str, str] = {
    "wait": "Checking, please wait a moment",
    "done": "Certified. We will remind you before the next one is due",
    "retry": "Please adjust as shown and record again",
    "review": "Passed to our staff for review; you will be told the result",
    "locked": "Too many attempts; please try later or visit a service point",
    "expired": "This session has expired; please start again",
    # a claim's face check (certification/claims.py)
    "confirmed": "Confirmed: the account is yours, and you are certified too",
    "claim_retry": "We could not confirm it is you; record again facing the phone in good light",
    "service_point": (
        "Please bring your ID card to any service point, where a clerk will confirm it"
    ),
}
NEXT_STEPS: dict[str, tuple[str, str]] = {
    step: both(en, "next step") for step, en in _NEXT_STEPS_EN.items()
}
