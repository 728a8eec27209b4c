"""Verification (认证信息核实, Art. 15-21), decision proposals and the records around them.

- A :class:`VerificationTask` is one person to verify, dispatched to their
  household-registration township with a deadline 3 months from receipt
  (Art. 15, 20); work-injury beneficiaries go to their employer first and to
  the township only if the employer cannot confirm (Art. 16).
- Township staff record the result with its channel and evidence; a person
  found qualified needs photo or video evidence (Art. 16) unless the app
  itself certified them; a suspected death or must-stop case needs the
  guardian's or agent's signed statement, or the record that the person was
  told on the spot when the guardian refused to sign (Art. 18).
- Results flow back to the agency (Art. 21) as :class:`DecisionProposal`
  objects (suspend or restore) that a district/county clerk confirms; a
  comparison run's *lost* entries become proposals too, so a wrong death
  record never stops a living person's pension silently.
- :class:`HomeVisitRequest`: requests from the elderly, sick or disabled are
  taken, scheduled and closed (Art. 19).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from certification.calendar import add_months
from certification.errors import RuleViolation, ValidationFailed
from certification.ids import new_id
from certification.model import utcnow
from certification.regions import CITY_CODE
from certification.states import Lifecycle

VERIFICATION_MONTHS = 3  # Art. 20
EVIDENCE_RETENTION_YEARS = 3  # Art. 20: certification evidence kept 3 years in principle
EVIDENCE_MAX = 10


class TaskRoute(StrEnum):
    EMPLOYER = "employer"  # 参保单位 (Art. 16, work-injury long-term)
    TOWNSHIP = "township"  # 乡镇（街道）


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"  # e.g. the person certified by other means meanwhile


class VerificationResult(StrEnum):
    QUALIFIED = "qualified"  # 具备领取待遇资格
    LOST = "lost"  # 丧失领取待遇资格 (suspected death, or a must-stop case)
    UNREACHABLE = "unreachable"  # 通过各种方式均无法联系


class VerificationChannel(StrEnum):
    """How the township verified (Art. 16-18)."""

    APP = "app"  # 手机APP
    HOME_VISIT = "home_visit"  # 上门服务 / 走访慰问
    COMMUNITY_EVENT = "community_event"  # 文体活动签到、纪念品签发
    HEALTH_CHECK = "health_check"  # 健康体检、义诊、康复指导
    HOUSEHOLD_SURVEY = "household_survey"  # 全民参保登记入户调查
    VILLAGE_REPORT = "village_report"  # 乡镇（街道）、村（社区）上报
    EMPLOYER = "employer"  # 参保单位确认 (work injury)


class ProposalKind(StrEnum):
    SUSPEND = "suspend"
    RESTORE = "restore"


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class HomeVisitStatus(StrEnum):
    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    DONE = "done"
    CANCELLED = "cancelled"


# a visit still to be made (the others are closed: done or cancelled)
OPEN_VISIT = frozenset({HomeVisitStatus.REQUESTED, HomeVisitStatus.SCHEDULED})


def task_overdue(status: TaskStatus, deadline_on: date, today: date) -> bool:
    """The one overdue rule of a township task (Art. 14: verified within its deadline): open
    on a day after the deadline. storage.rules_sql.task_overdue_clause says the same
    in SQL (tests/integration/test_overdue_rule.py holds them equal)."""
    return status is TaskStatus.OPEN and deadline_on < today


class RunStatus(StrEnum):
    QUEUED = "queued"  # recorded; waiting for the worker (or for the broker to come back)
    RUNNING = "running"
    APPLIED = "applied"
    FAILED = "failed"


class ShardStatus(StrEnum):
    """A shard of a run's apply: one district's part of the three lists."""

    QUEUED = "queued"  # recorded with the run's lists; waiting for a worker
    RUNNING = "running"  # claimed (again, if its worker died)
    DONE = "done"


# A running shard's worker says it is alive after every batch (seconds apart); one not heard
# of for this long died, and its shard is taken over (by the broker's redelivery or the sweep).
SHARD_SILENT_AFTER = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class ShardRecord:
    district_code: str
    status: ShardStatus
    people_done: int
    applied: dict[str, int]
    timings: dict[str, float]
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int


RUN_LIFECYCLE = Lifecycle(
    "comparison run",
    {
        RunStatus.QUEUED: {RunStatus.RUNNING, RunStatus.FAILED},
        RunStatus.RUNNING: {RunStatus.RUNNING, RunStatus.APPLIED, RunStatus.FAILED},
    },
)


class ImportStatus(StrEnum):
    QUEUED = "queued"  # uploaded; the worker imports it
    RUNNING = "running"
    DONE = "done"
    REFUSED = "refused"  # not a readable feed: nothing imported, the reason kept
    FAILED = "failed"


IMPORT_LIFECYCLE = Lifecycle(
    "feed import",
    {
        ImportStatus.QUEUED: {ImportStatus.RUNNING, ImportStatus.REFUSED, ImportStatus.FAILED},
        ImportStatus.RUNNING: {ImportStatus.DONE, ImportStatus.REFUSED, ImportStatus.FAILED},
    },
)


class HomeVisitReason(StrEnum):
    ELDERLY = "elderly"  # 高龄
    ILL = "ill"  # 病
    DISABLED = "disabled"  # 残


def deadline_for(received_on: date) -> date:
    """3 months from the day the township received the list (Art. 20)."""
    return add_months(received_on, VERIFICATION_MONTHS)


class DeathRecord(StrEnum):
    """An official record of a death, which stands for the guardian's statement when nobody
    is there to sign it (a person living alone)."""

    DEATH_CERTIFICATE = "death_certificate"  # 医学死亡证明
    CREMATION = "cremation"  # 火化证明
    HOUSEHOLD_CANCELLED = "household_cancelled"  # 户籍注销证明
    VILLAGE_RECORD = "village_record"  # 村（社区）出具的死亡情况说明，两名见证人


@dataclass(frozen=True, slots=True)
class Statement:
    """Art. 18: the guardian's or agent's signed statement of reason and date, or the
    on-the-spot notice when they refuse to sign; for a death with nobody to sign, an
    official death record (a village record needs two witnesses)."""

    reason: str
    since: date | None = None  # the date the qualification was lost (Art. 18: 原因和时间)
    signer_name: str | None = None
    signer_relationship: str | None = None
    signature_key: str | None = None  # a photo/scan of the signed form in evidence storage
    refused_to_sign: bool = False
    told_on_spot: bool = False
    told_at: datetime | None = None
    death_record: DeathRecord | None = None
    death_record_key: str | None = None  # a photo/scan of the record in evidence storage
    witnesses: tuple[str, ...] = ()

    @property
    def evidence_keys(self) -> list[str]:
        return [k for k in (self.signature_key, self.death_record_key) if k]

    def check(self, today: date | None = None) -> None:
        if len((self.reason or "").strip()) < 2:
            raise ValidationFailed(
                "Write the reason the benefit must stop (for example: died on …).",
                field="statement.reason",
            )
        if self.since is None:
            raise ValidationFailed(
                "Write the date from which the qualification was lost (Art. 18: reason and date).",
                field="statement.since",
            )
        if today is not None and self.since > today:
            raise ValidationFailed(
                "The date the qualification was lost cannot be in the future.",
                field="statement.since",
            )
        if self.death_record is not None:
            if not self.death_record_key:
                raise ValidationFailed(
                    "Upload the death record (certificate, cremation or household "
                    "cancellation proof, or the village's record) and cite it.",
                    field="statement.death_record_key",
                )
            named = [w.strip() for w in self.witnesses if w and w.strip()]
            if self.death_record is DeathRecord.VILLAGE_RECORD and len(set(named)) < 2:
                raise ValidationFailed(
                    "A village's record of a death needs two witnesses, each named.",
                    field="statement.witnesses",
                )
            return
        if self.refused_to_sign:
            if not self.told_on_spot or self.told_at is None:
                raise ValidationFailed(
                    "The guardian or agent refused to sign: record when the person was told "
                    "on the spot that the benefit will be stopped (Art. 18).",
                    field="statement.told_at",
                )
            return
        if not (self.signer_name and self.signer_relationship and self.signature_key):
            raise ValidationFailed(
                "A guardian or agent must state and sign the reason (name, relationship and "
                "the signed form), or record that they refused and the person was told on the "
                "spot (Art. 18).",
                field="statement",
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "since": self.since.isoformat() if self.since else None,
            "signer_name": self.signer_name,
            "signer_relationship": self.signer_relationship,
            "signature_key": self.signature_key,
            "refused_to_sign": self.refused_to_sign,
            "told_on_spot": self.told_on_spot,
            "told_at": self.told_at.isoformat() if self.told_at else None,
            "death_record": self.death_record.value if self.death_record else None,
            "death_record_key": self.death_record_key,
            "witnesses": list(self.witnesses),
        }


@dataclass(eq=False)
class VerificationTask:
    person_id: UUID
    district_code: str
    township_code: str | None
    route: TaskRoute
    received_on: date
    deadline_on: date
    source: str  # comparison_run | review_case | staff
    source_id: UUID | None = None
    status: TaskStatus = TaskStatus.OPEN
    result: VerificationResult | None = None
    channel: VerificationChannel | None = None
    evidence: list[str] = field(default_factory=list)
    statement: dict[str, Any] | None = None
    note: str | None = None
    employer_note: str | None = None
    recorded_by: UUID | None = None
    recorded_at: datetime | None = None
    id: UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)
    version: int = 0
    reason: str | None = None  # why the person is on the township's list

    @classmethod
    def dispatch(
        cls,
        *,
        person_id: UUID,
        district_code: str,
        township_code: str | None,
        work_injury: bool,
        received_on: date,
        source: str,
        source_id: UUID | None,
        reason: str | None = None,
    ) -> VerificationTask:
        return cls(
            reason=reason,
            person_id=person_id,
            district_code=district_code,
            township_code=township_code,
            route=TaskRoute.EMPLOYER if work_injury else TaskRoute.TOWNSHIP,
            received_on=received_on,
            deadline_on=deadline_for(received_on),
            source=source,
            source_id=source_id,
        )

    def is_overdue(self, today: date) -> bool:
        return task_overdue(self.status, self.deadline_on, today)

    def require_open(self) -> None:
        if self.status is not TaskStatus.OPEN:
            raise RuleViolation(f"This verification task is already {self.status.value}.")

    def employer_could_not_confirm(self, on: date, note: str, actor_id: UUID | None) -> None:
        """Art. 16: the employer cannot confirm; the township takes over with a new deadline."""
        self.require_open()
        if self.route is not TaskRoute.EMPLOYER:
            raise RuleViolation("This task is already with the township.")
        self.route = TaskRoute.TOWNSHIP
        self.employer_note = (note or "").strip() or "employer could not confirm"
        self.received_on = on
        self.deadline_on = deadline_for(on)
        self.recorded_by = actor_id

    def record(
        self,
        *,
        result: VerificationResult,
        channel: VerificationChannel,
        evidence: list[str],
        statement: Statement | None,
        note: str | None,
        actor_id: UUID | None,
        at: datetime,
    ) -> None:
        self.require_open()
        if channel is VerificationChannel.EMPLOYER and self.route is not TaskRoute.EMPLOYER:
            raise ValidationFailed(
                "Only a task routed to the employer can be confirmed by the employer.",
                field="channel",
            )
        if len(evidence) > EVIDENCE_MAX:
            raise ValidationFailed(
                f"At most {EVIDENCE_MAX} evidence files per result.", field="evidence"
            )
        if (
            result is VerificationResult.QUALIFIED
            and channel is not VerificationChannel.APP
            and not evidence
        ):
            raise ValidationFailed(
                "Keep a photo or video as evidence for a person found qualified (Art. 16).",
                field="evidence",
            )
        if result is VerificationResult.LOST:
            if statement is None:
                raise ValidationFailed(
                    "A suspected death or must-stop case needs the guardian's or agent's signed "
                    "statement, or the record that the person was told on the spot (Art. 18).",
                    field="statement",
                )
            statement.check()
            self.statement = statement.as_dict()
        self.result = result
        self.channel = channel
        self.evidence = list(evidence)
        self.note = (note or "").strip() or None
        self.recorded_by = actor_id
        self.recorded_at = at
        self.status = TaskStatus.DONE

    def settle_by_certification(
        self, certification_id: UUID, note: str, *, actor_id: UUID | None, at: datetime
    ) -> None:
        """The person certified another way meanwhile: nothing is left to verify, and the
        certification is the task's result (kept as its evidence)."""
        self.cancel(note, actor_id, at)
        self.evidence = [f"certification:{certification_id}"]

    def cancel(self, note: str, actor_id: UUID | None, at: datetime) -> None:
        self.require_open()
        self.status = TaskStatus.CANCELLED
        self.note = note
        self.recorded_by = actor_id
        self.recorded_at = at


@dataclass(eq=False)
class DecisionProposal:
    """A suspension or restoration waiting for a district/county clerk's one-click decision."""

    kind: ProposalKind
    person_id: UUID
    entitlement_id: UUID
    district_code: str
    source: str  # comparison_run | verification_task
    source_id: UUID | None
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)
    status: ProposalStatus = ProposalStatus.PROPOSED
    auto_applied: bool = False
    decided_by: UUID | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    suspension_id: UUID | None = None
    arrears_fen: int | None = None
    id: UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)
    version: int = 0

    def event_ids(self) -> set[int]:
        """The department events the proposal rests on (a comparison's signs of loss)."""
        return {int(e["id"]) for e in self.evidence.get("events", []) if "id" in e}

    def decide(
        self, status: ProposalStatus, note: str | None, actor_id: UUID | None, at: datetime
    ) -> None:
        if self.status is not ProposalStatus.PROPOSED:
            raise RuleViolation(f"This proposal is already {self.status.value}.")
        if status is ProposalStatus.DISMISSED and len((note or "").strip()) < 4:
            raise ValidationFailed(
                "Say why the proposal is dismissed (for example: the death record is wrong).",
                field="note",
            )
        self.status = status
        self.decision_note = (note or "").strip() or None
        self.decided_by = actor_id
        self.decided_at = at


@dataclass(eq=False)
class HomeVisitRequest:
    person_id: UUID
    district_code: str
    township_code: str | None
    reason: HomeVisitReason
    requested_via: str  # phone | app | family | staff
    contact_phone: str | None = None
    address_note: str | None = None
    preferred_on: date | None = None
    status: HomeVisitStatus = HomeVisitStatus.REQUESTED
    scheduled_on: date | None = None
    scheduled_by: UUID | None = None
    closed_by: UUID | None = None
    closed_at: datetime | None = None
    outcome: str | None = None
    task_id: UUID | None = None
    requested_by: UUID | None = None
    id: UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)
    version: int = 0

    def schedule(self, on: date, today: date, actor_id: UUID | None) -> None:
        if not self.is_open:
            raise RuleViolation(f"This request is already {self.status.value}.")
        if on < today:
            raise ValidationFailed("Schedule the visit for today or later.", field="scheduled_on")
        self.status = HomeVisitStatus.SCHEDULED
        self.scheduled_on = on
        self.scheduled_by = actor_id

    def close(
        self, status: HomeVisitStatus, outcome: str, actor_id: UUID | None, at: datetime
    ) -> None:
        if status not in (HomeVisitStatus.DONE, HomeVisitStatus.CANCELLED):
            raise ValidationFailed("Close a visit as done or cancelled.", field="status")
        if not self.is_open:
            raise RuleViolation(f"This request is already {self.status.value}.")
        if status is HomeVisitStatus.DONE and self.status is not HomeVisitStatus.SCHEDULED:
            raise RuleViolation("Schedule the visit before closing it as done.")
        if len((outcome or "").strip()) < 2:
            raise ValidationFailed("Write what happened at the visit.", field="outcome")
        self.status = status
        self.outcome = outcome.strip()
        self.closed_by = actor_id
        self.closed_at = at

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_VISIT

    def settle(self, outcome: str, actor_id: UUID | None, at: datetime) -> None:
        """The question the visit was to answer has been answered another way (a
        certification, a township result): nothing is left to visit for."""
        self.close(HomeVisitStatus.CANCELLED, outcome, actor_id, at)


@dataclass(eq=False)
class ComparisonRun:
    window_start: date
    window_end: date
    started_by: UUID | None
    started_by_label: str | None
    status: RunStatus = RunStatus.QUEUED
    progress: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    by_district: dict[str, dict[str, int]] = field(default_factory=dict)
    applied: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    previous_run_id: UUID | None = None
    id: UUID = field(default_factory=new_id)
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    scope_code: str = CITY_CODE  # the city, or the one district the run compares
    entries_removed_at: datetime | None = None  # its lists removed (counts and outcomes kept)

    def overlaps(self, scope_code: str) -> bool:
        """Two runs overlap when one scope holds the other: the city holds every district."""
        return CITY_CODE in (self.scope_code, scope_code) or self.scope_code == scope_code

    @property
    def finished(self) -> bool:
        return RUN_LIFECYCLE.is_final(self.status)

    @property
    def is_applied(self) -> bool:
        return self.status is RunStatus.APPLIED

    def advance(self, progress: str) -> None:
        """Claimed by a worker, or a stage further."""
        self.status = RUN_LIFECYCLE.move(self.status, RunStatus.RUNNING)
        self.progress = progress

    def finish_applied(self, at: datetime) -> None:
        self.status = RUN_LIFECYCLE.move(self.status, RunStatus.APPLIED)
        self.progress, self.finished_at = None, at

    def fail(self, error: str, at: datetime) -> None:
        self.status = RUN_LIFECYCLE.move(self.status, RunStatus.FAILED)
        self.error, self.finished_at = error[:2000], at


@dataclass(eq=False)
class FeedImport:
    file_name: str
    file_format: str
    started_by: UUID | None
    encoding: str | None = None
    status: ImportStatus = ImportStatus.RUNNING
    rows_read: int = 0
    rows_accepted: int = 0
    rows_duplicate: int = 0
    rows_refused: int = 0
    problems_by_code: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    message: str | None = None
    sha256: str | None = None
    object_key: str | None = None  # the uploaded file, when the import runs in the worker
    id: UUID = field(default_factory=new_id)
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None

    def start(self, file_format: str, encoding: str | None) -> None:
        """A queued import claimed by the worker (one delivery wins)."""
        self.status = IMPORT_LIFECYCLE.move(self.status, ImportStatus.RUNNING)
        self.file_format, self.encoding = file_format, encoding

    def refuse(self, message: str, at: datetime) -> None:
        self.status = IMPORT_LIFECYCLE.move(self.status, ImportStatus.REFUSED)
        self.message, self.finished_at = message, at

    def finish(self, message: str, at: datetime) -> None:
        self.status = IMPORT_LIFECYCLE.move(self.status, ImportStatus.DONE)
        self.message, self.finished_at = message, at
