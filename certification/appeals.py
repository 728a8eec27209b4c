"""Appeals (申诉): a person, or a bound family member, contests a decision about them.

Three decisions can be contested: a rejected review of a self-service clip, a suspension,
and a loss record (a proposal to suspend because another department's data or a township's
verification says the person no longer qualifies). The person may also ask for their
details to be corrected, by the same path (PIPL Art. 46). The appeal goes to the agency clerks of
the person's district (decided at district/county or municipal level, as suspensions are,
Art. 21) and must be answered within a number of working days (15 by default).

Filing an appeal changes nothing by itself: what is paid stays paid, a suspension stays in
force until the clerk upholds the appeal, a pending proposal is still the clerk's to decide
(decision 0017). Upholding applies the remedy through the procedure's own steps (see
``certification.services.appeals``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from uuid import UUID

from certification.errors import ValidationFailed
from certification.free_text import one_line
from certification.ids import new_id
from certification.states import Lifecycle

DEFAULT_APPEAL_WORKING_DAYS = 15
MIN_STATEMENT = 4  # characters: "不是我" is too little to act on; "我还活着" is enough
MAX_STATEMENT = 2000
MIN_DECISION_REASON = 4


class AppealSubject(StrEnum):
    REJECTED_REVIEW = "rejected_review"  # a review case decided "reject"
    SUSPENSION = "suspension"  # a suspension in force
    LOSS_RECORD = "loss_record"  # a proposal to suspend for lost qualification
    RECORD_CORRECTION = "record_correction"  # the person's details are wrong (PIPL Art. 46)


class AppealStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"  # the person was right: the remedy was applied
    DISMISSED = "dismissed"  # the decision stands, with the clerk's reasons
    WITHDRAWN = "withdrawn"  # by the person or the family member who filed it


APPEAL_LIFECYCLE: Lifecycle[AppealStatus] = Lifecycle(
    "appeal",
    {AppealStatus.OPEN: {AppealStatus.UPHELD, AppealStatus.DISMISSED, AppealStatus.WITHDRAWN}},
)


class Remedy(StrEnum):
    """What upholding an appeal did, through the procedure's own steps."""

    CERTIFIED = "certified"  # a rejected review approved on appeal: a certification
    RESTORED = "restored"  # a suspension lifted with its arrears (a certification exists)
    VERIFICATION_OPENED = "verification_opened"  # no certification yet: the township verifies,
    # and the certification it records restores the benefit (Art. 21)
    PROPOSAL_DISMISSED = "proposal_dismissed"  # a pending loss record set aside for good
    RECORD_CORRECTED = "record_corrected"  # the clerk corrected the record (the person edit,
    # audited there); the reasons say what changed


def clean_statement(text: str) -> str:
    statement = one_line(text)
    if len(statement) < MIN_STATEMENT:
        raise ValidationFailed(
            "Say in a few words why the decision is wrong (for example: 我仍健在，一直住在原址).",
            field="statement",
        )
    if len(statement) > MAX_STATEMENT:
        raise ValidationFailed(
            f"Keep the statement under {MAX_STATEMENT} characters; staff will contact you for "
            "more.",
            field="statement",
        )
    return statement


@dataclass(eq=False)
class Appeal:
    person_id: UUID
    district_code: str
    township_code: str | None
    subject: AppealSubject
    subject_id: UUID
    statement: str
    filed_via: str  # app | family
    due_on: date
    filed_by: UUID | None = None
    status: AppealStatus = AppealStatus.OPEN
    decided_by: UUID | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    remedy: Remedy | None = None
    id: UUID = field(default_factory=new_id)
    filed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    version: int = 0

    @property
    def is_open(self) -> bool:
        return self.status is AppealStatus.OPEN

    def is_overdue(self, today: date) -> bool:
        return self.is_open and today > self.due_on

    def decide(
        self,
        status: AppealStatus,
        reason: str,
        actor_id: UUID | None,
        at: datetime,
    ) -> None:
        if status not in (AppealStatus.UPHELD, AppealStatus.DISMISSED):
            raise ValidationFailed("Decide an appeal as upheld or dismissed.", field="outcome")
        reason = one_line(reason)
        if len(reason) < MIN_DECISION_REASON:
            raise ValidationFailed(
                "Write the reasons for the decision: the person reads them.", field="reason"
            )
        self.status = APPEAL_LIFECYCLE.move(
            self.status, status, refusal=f"This appeal is already {self.status.value}."
        )
        self.decision_reason = reason
        self.decided_by = actor_id
        self.decided_at = at

    def withdraw(self, actor_id: UUID | None, at: datetime) -> None:
        self.status = APPEAL_LIFECYCLE.move(
            self.status,
            AppealStatus.WITHDRAWN,
            refusal=f"This appeal is already {self.status.value}.",
        )
        self.decided_by = actor_id
        self.decided_at = at
