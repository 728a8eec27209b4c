"""The procedure's records as plain Python objects.

``storage`` maps these classes to tables (SQLAlchemy imperative mapping);
nothing here imports a framework. Behaviour that changes a record lives on the
record (suspend, restore, record a certification...) and is unit-tested
without a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from certification.arrears import AmountChange, Arrears, compute_arrears
from certification.calendar import YearMonth
from certification.citizen_id import CitizenId
from certification.contact import ContactAttemptFacts
from certification.errors import AccessDenied, RuleViolation, ValidationFailed
from certification.ids import new_id
from certification.periods import (
    CertificationPeriod,
    EntitlementFacts,
    PeriodPolicy,
    current_period,
)
from certification.regions import RegionLevel, RegionPlacement
from certification.selfservice import (
    ATTEMPT_LIFECYCLE,
    BINDING_LIFECYCLE,
    CASE_LIFECYCLE,
    ENROLMENT_LIFECYCLE,
    SESSION_LIFECYCLE,
    AttemptStatus,
    BindingStatus,
    CaseStatus,
    EnrolmentStatus,
    SessionStatus,
)
from certification.vocabulary import (
    AccountKind,
    BenefitKind,
    CertificationChannel,
    ContactChannel,
    ContactOutcome,
    DependantRelationship,
    EntitlementStatus,
    RecipientRole,
    SuspensionReason,
    SuspensionStatus,
)

MAX_MONTHLY_AMOUNT_FEN = 10_000_000  # 100,000 yuan a month: anything above is a typo
EARLIEST_BENEFIT_START = date(1951, 1, 1)  # the labour insurance regulations of 1951


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)
class Region:
    """An administrative region (行政区划): district/county, township/street, village/community."""

    code: str
    name: str
    level: RegionLevel
    parent_code: str | None


@dataclass(eq=False)
class EntitlementStatusChange:
    """One dated step in an entitlement's status history."""

    entitlement_id: UUID
    from_status: EntitlementStatus | None
    to_status: EntitlementStatus
    effective_on: date
    reason: str
    actor_id: UUID | None
    id: UUID = field(default_factory=new_id)
    recorded_at: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class EntitlementAmount:
    """The monthly amount (in fen) in force from a month on (待遇标准调整)."""

    entitlement_id: UUID
    effective_from: date  # always the first day of a month
    monthly_amount_fen: int
    reason: str
    actor_id: UUID | None
    id: UUID = field(default_factory=new_id)
    recorded_at: datetime = field(default_factory=utcnow)


def validate_amount(amount_fen: Any) -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise ValidationFailed(
            "The monthly amount is a whole number of fen (1 yuan = 100 fen).",
            field="monthly_amount_fen",
        )
    if amount_fen <= 0:
        raise ValidationFailed(
            "The monthly amount must be greater than zero.", field="monthly_amount_fen"
        )
    if amount_fen > MAX_MONTHLY_AMOUNT_FEN:
        raise ValidationFailed(
            f"The monthly amount {amount_fen} fen is implausibly large; amounts are in fen, "
            "not yuan.",
            field="monthly_amount_fen",
        )
    return amount_fen


@dataclass(eq=False)
class Entitlement:
    """A benefit a person receives (社会保险待遇): pension, unemployment, long-term work injury."""

    person_id: UUID
    kind: BenefitKind
    role: RecipientRole
    start_date: date
    monthly_amount_fen: int
    relationship: DependantRelationship | None = None
    status: EntitlementStatus = EntitlementStatus.ACTIVE
    id: UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)
    version: int = 0
    status_changes: list[EntitlementStatusChange] = field(default_factory=list)
    amounts: list[EntitlementAmount] = field(default_factory=list)

    @staticmethod
    def validate_terms(
        *,
        kind: BenefitKind,
        role: RecipientRole,
        relationship: DependantRelationship | None,
        start_date: date,
        birth_date: date,
        today: date,
    ) -> None:
        if kind is not BenefitKind.WORK_INJURY_LONG_TERM and role is not RecipientRole.INSURED:
            raise ValidationFailed(
                f"A {kind.value} benefit is paid to the insured person; only long-term "
                "work-injury benefits have dependants.",
                field="role",
            )
        if role is RecipientRole.DEPENDANT and relationship is None:
            raise ValidationFailed(
                "A dependant's relationship to the deceased worker is required.",
                field="relationship",
            )
        if role is RecipientRole.INSURED and relationship is not None:
            raise ValidationFailed(
                "A relationship is recorded only for dependants.", field="relationship"
            )
        if start_date < max(birth_date, EARLIEST_BENEFIT_START):
            raise ValidationFailed(
                "The start date is before the person's birth or before benefits existed.",
                field="start_date",
            )
        if (start_date - today).days > 366:
            raise ValidationFailed(
                "The start date is more than a year in the future.", field="start_date"
            )

    def facts(self) -> EntitlementFacts:
        return EntitlementFacts(self.kind, self.role, self.start_date, self.status)

    def amount_schedule(self) -> list[AmountChange]:
        return [
            AmountChange(YearMonth.of(a.effective_from), a.monthly_amount_fen) for a in self.amounts
        ]

    def _move(self, to: EntitlementStatus, on: date, reason: str, actor_id: UUID | None) -> None:
        self.status_changes.append(
            EntitlementStatusChange(
                entitlement_id=self.id,
                from_status=self.status,
                to_status=to,
                effective_on=on,
                reason=reason,
                actor_id=actor_id,
            )
        )
        self.status = to

    def open(self, actor_id: UUID | None) -> None:
        """Record the initial status and amount of a new entitlement."""
        self.status_changes.append(
            EntitlementStatusChange(
                entitlement_id=self.id,
                from_status=None,
                to_status=self.status,
                effective_on=self.start_date,
                reason="granted",
                actor_id=actor_id,
            )
        )
        self.amounts.append(
            EntitlementAmount(
                entitlement_id=self.id,
                effective_from=YearMonth.of(self.start_date).first_day,
                monthly_amount_fen=self.monthly_amount_fen,
                reason="granted",
                actor_id=actor_id,
            )
        )

    def change_amount(
        self, effective_from: YearMonth, amount_fen: int, reason: str, actor_id: UUID | None
    ) -> EntitlementAmount:
        validate_amount(amount_fen)
        if self.status is EntitlementStatus.TERMINATED:
            raise RuleViolation("The amount of a terminated benefit cannot change.")
        if effective_from < YearMonth.of(self.start_date):
            raise ValidationFailed(
                "An amount cannot take effect before the benefit started.",
                field="effective_from",
            )
        change = next(
            (a for a in self.amounts if a.effective_from == effective_from.first_day), None
        )
        if change is None:
            change = EntitlementAmount(
                entitlement_id=self.id,
                effective_from=effective_from.first_day,
                monthly_amount_fen=amount_fen,
                reason=reason,
                actor_id=actor_id,
            )
            self.amounts.append(change)
        else:  # a correction of that month's amount; the audit trail keeps the old one
            change.monthly_amount_fen = amount_fen
            change.reason = reason
            change.actor_id = actor_id
            change.recorded_at = utcnow()
        latest = max(self.amounts, key=lambda a: a.effective_from)
        self.monthly_amount_fen = latest.monthly_amount_fen
        return change

    def suspend(self, on: date, reason: str, actor_id: UUID | None) -> None:
        if self.status is not EntitlementStatus.ACTIVE:
            raise RuleViolation(
                f"Only an active benefit can be suspended; this one is {self.status.value}."
            )
        if on < self.start_date:
            raise ValidationFailed(
                "A benefit cannot be suspended before it started.", field="suspended_on"
            )
        self._move(EntitlementStatus.SUSPENDED, on, reason, actor_id)

    def resume(self, on: date, reason: str, actor_id: UUID | None) -> None:
        if self.status is not EntitlementStatus.SUSPENDED:
            raise RuleViolation(
                f"Only a suspended benefit can be restored; this one is {self.status.value}."
            )
        self._move(EntitlementStatus.ACTIVE, on, reason, actor_id)

    def terminate(self, on: date, reason: str, actor_id: UUID | None) -> None:
        if self.status is EntitlementStatus.TERMINATED:
            raise RuleViolation("This benefit is already terminated.")
        if on < self.start_date:
            raise ValidationFailed("A benefit cannot end before it started.", field="terminated_on")
        self._move(EntitlementStatus.TERMINATED, on, reason, actor_id)


def latest_certification(last_certified_on: date | None, certified_on: date) -> date:
    """The person's last certification day once one dated ``certified_on`` is recorded (one
    dated before the last does not move it back)."""
    if last_certified_on is None or certified_on > last_certified_on:
        return certified_on
    return last_certified_on


@dataclass(frozen=True, slots=True)
class NewCertification:
    """A certification checked and ready to be recorded: :meth:`record` makes the record
    (``certify``); a comparison run writes thousands of these at once without making each a
    mapped object."""

    person_id: UUID
    certified_at: datetime
    certified_on: date
    channel: CertificationChannel
    recorded_by: UUID | None
    assisted_by: UUID | None
    evidence: list[str]
    note: str | None
    source_ref: str | None
    id: UUID = field(default_factory=new_id)
    recorded_at: datetime = field(default_factory=utcnow)

    def record(self) -> Certification:
        return Certification(
            person_id=self.person_id,
            certified_at=self.certified_at,
            certified_on=self.certified_on,
            channel=self.channel,
            recorded_by=self.recorded_by,
            assisted_by=self.assisted_by,
            evidence=self.evidence,
            note=self.note,
            source_ref=self.source_ref,
            id=self.id,
            recorded_at=self.recorded_at,
        )


@dataclass(eq=False)
class Certification:
    """One certification of eligibility (资格认证); covers all the person's benefits (Art. 16)."""

    person_id: UUID
    certified_at: datetime
    certified_on: date  # the agency's local date of certified_at
    channel: CertificationChannel
    recorded_by: UUID | None
    assisted_by: UUID | None = None
    evidence: list[str] = field(default_factory=list)
    note: str | None = None
    source_ref: str | None = None
    id: UUID = field(default_factory=new_id)
    recorded_at: datetime = field(default_factory=utcnow)
    # annulment (撤销), four eyes: one agency clerk asks with reasons, another confirms
    annulment_requested_by: UUID | None = None
    annulment_requested_at: datetime | None = None
    annulment_reason: str | None = None
    annulled_by: UUID | None = None
    annulled_at: datetime | None = None
    # a counter certification the person's district looks at again: outside the clerk's own
    # district, or the ID card only looked at (not read by the reader)
    review_flag: str | None = None
    review_cleared_by: UUID | None = None
    review_cleared_at: datetime | None = None

    def clear_review(self, by: UUID | None, at: datetime) -> None:
        if self.review_flag is None or self.review_cleared_at is not None:
            raise RuleViolation("This certification is not waiting for a district review.")
        if by is None or by == self.recorded_by:
            raise AccessDenied("Another clerk reviews a counter certification, not its author.")
        self.review_cleared_by, self.review_cleared_at = by, at

    @property
    def annulled(self) -> bool:
        return self.annulled_at is not None

    def request_annulment(self, by: UUID | None, at: datetime, reason: str) -> None:
        if self.annulled:
            raise RuleViolation("This certification is already annulled.")
        if self.annulment_requested_at is not None:
            raise RuleViolation("An annulment of this certification is already waiting.")
        self.annulment_requested_by, self.annulment_requested_at = by, at
        self.annulment_reason = reason

    def decide_annulment(self, by: UUID | None, at: datetime, *, confirm: bool) -> None:
        """A second person's answer: the one who asked can neither confirm nor refuse."""
        if self.annulled or self.annulment_requested_at is None:
            raise RuleViolation("No annulment of this certification is waiting.")
        if by is None or by == self.annulment_requested_by:
            raise AccessDenied("Another clerk must confirm an annulment: the one who asked cannot.")
        if confirm:
            self.annulled_by, self.annulled_at = by, at
        else:
            self.annulment_requested_by = self.annulment_requested_at = None
            self.annulment_reason = None


@dataclass(eq=False)
class ContactAttempt:
    """An attempt to reach a person (联系记录): phone, SMS, WeChat or a visit."""

    person_id: UUID
    channel: ContactChannel
    outcome: ContactOutcome
    attempted_at: datetime
    attempted_on: date
    recorded_by: UUID | None
    note: str | None = None
    id: UUID = field(default_factory=new_id)
    recorded_at: datetime = field(default_factory=utcnow)

    def facts(self) -> ContactAttemptFacts:
        return ContactAttemptFacts(self.channel, self.outcome, self.attempted_on)


@dataclass(eq=False)
class Suspension:
    """A suspension of one benefit (待遇暂停), and its restoration (恢复) with arrears (补发)."""

    person_id: UUID
    entitlement_id: UUID
    reason: SuspensionReason
    suspended_on: date
    explanation: str
    decided_by: UUID | None
    evidence: dict[str, Any] = field(default_factory=dict)
    status: SuspensionStatus = SuspensionStatus.IN_FORCE
    decided_at: datetime = field(default_factory=utcnow)
    restored_on: date | None = None
    restoration_reason: str | None = None
    restored_by: UUID | None = None
    restored_at: datetime | None = None
    arrears_fen: int | None = None
    arrears_months: list[dict[str, Any]] = field(default_factory=list)
    id: UUID = field(default_factory=new_id)
    version: int = 0

    def restore(
        self,
        entitlement: Entitlement,
        *,
        restored_on: date,
        reason: str,
        actor_id: UUID | None,
    ) -> Arrears:
        if self.status is not SuspensionStatus.IN_FORCE:
            raise RuleViolation("This suspension has already been lifted.")
        if entitlement.id != self.entitlement_id:
            raise RuleViolation("The suspension belongs to another benefit.")
        arrears = compute_arrears(self.suspended_on, restored_on, entitlement.amount_schedule())
        entitlement.resume(restored_on, f"restored: {reason}", actor_id)
        self.status = SuspensionStatus.LIFTED
        self.restored_on = restored_on
        self.restoration_reason = reason
        self.restored_by = actor_id
        self.restored_at = utcnow()
        self.arrears_fen = arrears.total_fen
        self.arrears_months = [
            {"month": str(m.month), "amount_fen": m.amount_fen} for m in arrears.months
        ]
        return arrears


@dataclass(eq=False)
class Person:
    """A person who receives benefits (待遇领取人员), keyed by citizen ID number (公民身份号码)."""

    citizen_id: str
    name: str
    birth_date: date
    sex: str
    region_code: str  # household registration (户籍地), lowest known level
    district_code: str
    township_code: str | None
    village_code: str | None
    phone: str | None = None
    address: str | None = None  # where the person lives (visits, letters)
    id: UUID = field(default_factory=new_id)
    last_certified_on: date | None = None
    period_starts_on: date | None = None
    due_on: date | None = None
    period_basis: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 0
    entitlements: list[Entitlement] = field(default_factory=list)

    @classmethod
    def register(
        cls, *, citizen_id: CitizenId, name: str, phone: str | None, placement: RegionPlacement
    ) -> Person:
        return cls(
            citizen_id=citizen_id.value,
            name=name,
            phone=phone,
            birth_date=citizen_id.birth_date,
            sex=citizen_id.sex,
            region_code=placement.code,
            district_code=placement.district_code,
            township_code=placement.township_code,
            village_code=placement.village_code,
        )

    def move_to(self, placement: RegionPlacement) -> None:
        self.region_code = placement.code
        self.district_code = placement.district_code
        self.township_code = placement.township_code
        self.village_code = placement.village_code

    def period(self, policy: PeriodPolicy) -> CertificationPeriod | None:
        return current_period(
            birth_date=self.birth_date,
            entitlements=[e.facts() for e in self.entitlements],
            last_certified_on=self.last_certified_on,
            policy=policy,
        )

    def refresh_period(self, policy: PeriodPolicy) -> CertificationPeriod | None:
        """Store the current period on the record so due/overdue queries are indexed."""
        period = self.period(policy)
        self.period_starts_on = period.starts_on if period else None
        self.due_on = period.due_on if period else None
        self.period_basis = period.basis.value if period else None
        self.updated_at = utcnow()
        return period

    def recount_certified(self, latest_valid: date | None, policy: PeriodPolicy) -> None:
        """After an annulment: the last certification is the latest one still valid."""
        self.last_certified_on = latest_valid
        self.refresh_period(policy)

    def record_certification(self, certification: Certification, policy: PeriodPolicy) -> None:
        if certification.person_id != self.id:
            raise RuleViolation("The certification belongs to another person.")
        self.last_certified_on = latest_certification(
            self.last_certified_on, certification.certified_on
        )
        self.refresh_period(policy)

    def entitlement(self, entitlement_id: UUID) -> Entitlement | None:
        return next((e for e in self.entitlements if e.id == entitlement_id), None)

    def in_force(self) -> list[Entitlement]:
        return [e for e in self.entitlements if e.facts().in_force]

    def active(self) -> list[Entitlement]:
        """The benefits being paid now (neither suspended nor terminated)."""
        return [e for e in self.entitlements if e.status is EntitlementStatus.ACTIVE]

    def active_named(self, named: Iterable[UUID], *, field: str) -> set[UUID]:
        """The benefits a clerk named, each of which must be active for this person."""
        chosen = set(named)
        unknown = chosen - {e.id for e in self.active()}
        if unknown:
            raise ValidationFailed(
                "A benefit named is not an active benefit of this person: "
                + ", ".join(sorted(str(u) for u in unknown)),
                field=field,
            )
        return chosen


@dataclass(eq=False)
class Account:
    """A login: beneficiary (待遇领取人员), family member (亲属), staff (经办人员), operator."""

    kind: AccountKind
    display_name: str
    username: str | None = None
    password_hash: str | None = None
    region_code: str | None = None  # staff scope
    roles: list[str] = field(default_factory=list)
    person_id: UUID | None = None  # beneficiary: the person this login is
    citizen_id: str | None = None  # family member: their own identity
    phone: str | None = None
    identity_verified: bool = False
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None
    tokens_valid_after: datetime | None = None  # access tokens issued before are refused
    totp_secret: str | None = None  # staff: the second factor
    totp_confirmed_at: datetime | None = None
    id: UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)
    version: int = 0


@dataclass(eq=False)
class OneTimeCode:
    """A sign-in code sent by text message: only hashes of the phone and the code are kept."""

    phone_hash: str
    code_hash: str
    expires_at: datetime
    origin: str | None = None
    attempts: int = 0
    used_at: datetime | None = None
    id: UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class ExternalIdentity:
    """A mobile identity (an app or WeChat openid) linked to an account."""

    provider: str
    subject: str
    account_id: UUID
    id: UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class RefreshToken:
    account_id: UUID
    token_hash: str
    expires_at: datetime
    id: UUID = field(default_factory=new_id)
    issued_at: datetime = field(default_factory=utcnow)
    revoked_at: datetime | None = None


@dataclass(eq=False)
class AuditRecord:
    """One row of the audit trail (Art. 24): who, when, from where, what and why."""

    sequence: int
    occurred_at: datetime
    actor_id: str | None
    actor_kind: str
    actor_label: str | None
    origin: str | None
    action: str
    entity_type: str
    entity_id: str | None
    reason: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(eq=False)
class FaceTemplate:
    """An enrolled face template (人脸模板) of a person, as made by the biometrics engine."""

    person_id: UUID
    model: str
    model_version: str
    template: dict[str, Any]  # the engine's serialised template
    source: str  # photo | verified_frame
    photo_key: str | None = None
    active: bool = True
    created_by: UUID | None = None
    id: UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)
    erased_at: datetime | None = None  # the vector erased (consent withdrawn, retention over)

    def erase(self, at: datetime) -> None:
        self.template, self.active, self.erased_at = {}, False, at


@dataclass(eq=False)
class ChallengeSession:
    """One self-service certification session: the asked actions and a one-time upload."""

    person_id: UUID
    requested_by: UUID
    nonce: str
    actions: list[str]
    seconds_per_action: int
    max_video_seconds: int
    expires_at: datetime
    upload_key: str
    assisted_by: UUID | None = None  # the bound family member who started it
    claim_id: UUID | None = None  # a claim's face check: the claim, not the person, pays
    status: SessionStatus = SessionStatus.OPEN
    id: UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)
    version: int = 0

    def expire_if_due(self, now: datetime) -> bool:
        """An open session past its time expires; True when it changed now."""
        if self.status is SessionStatus.OPEN and self.expires_at <= now:
            self.status = SESSION_LIFECYCLE.move(self.status, SessionStatus.EXPIRED)
            return True
        return False

    def submit(self) -> None:
        self.status = SESSION_LIFECYCLE.move(self.status, SessionStatus.SUBMITTED)

    def close_decided(self) -> None:
        self.status = SESSION_LIFECYCLE.move(self.status, SessionStatus.DECIDED)


@dataclass(eq=False)
class Attempt:
    """The submitted video of a session and what the engine decided about it."""

    session_id: UUID
    person_id: UUID
    object_key: str
    size: int
    sha256: str
    mirrored: bool = False
    status: AttemptStatus = AttemptStatus.PENDING
    claim_token: str | None = None
    claimed_at: datetime | None = None
    tries: int = 0
    enqueued_at: datetime | None = None
    decided_at: datetime | None = None
    decision: str | None = None
    reasons: list[str] = field(default_factory=list)
    verdict: dict[str, Any] = field(default_factory=dict)
    evidence_keys: list[str] = field(default_factory=list)
    match_score: float | None = None
    certification_id: UUID | None = None
    id: UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)

    @property
    def waiting(self) -> bool:
        """Recorded and not decided yet: queued or with a worker."""
        return self.status in (AttemptStatus.PENDING, AttemptStatus.PROCESSING)

    def held_by(self, token: str) -> bool:
        """This worker's claim is still the one in force."""
        return self.status is AttemptStatus.PROCESSING and self.claim_token == token

    def decide(self, decision: str, reasons: list[str], evidence: list[str], at: datetime) -> None:
        self.status = ATTEMPT_LIFECYCLE.move(self.status, AttemptStatus.DECIDED)
        self.decision, self.reasons = decision, list(reasons)
        self.evidence_keys, self.decided_at = list(evidence), at

    def fail_to_process(self, reason: str, evidence: list[str], at: datetime) -> None:
        """The video could not be judged (e.g. the templates are of another model): staff
        look at it; the person is not refused."""
        self.status = ATTEMPT_LIFECYCLE.move(self.status, AttemptStatus.ERROR)
        self.decision, self.reasons = "fail", [reason]
        self.evidence_keys, self.decided_at = list(evidence), at


@dataclass(eq=False)
class ReviewCase:
    """A failed or blocked self-service certification, for staff to decide (人工审核)."""

    person_id: UUID
    reason: str
    attempt_id: UUID | None = None
    status: CaseStatus = CaseStatus.OPEN
    decided_by: UUID | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    certification_id: UUID | None = None
    id: UUID = field(default_factory=new_id)
    opened_at: datetime = field(default_factory=utcnow)
    version: int = 0

    @property
    def is_open(self) -> bool:
        return self.status is CaseStatus.OPEN

    def decide(
        self, to: CaseStatus, actor_id: UUID | None, comment: str | None, at: datetime
    ) -> None:
        self.status = CASE_LIFECYCLE.move(
            self.status, to, refusal=f"This case was already decided ({self.status.value})."
        )
        self.decided_by, self.decided_at, self.comment = actor_id, at, comment


@dataclass(eq=False)
class FamilyBinding:
    """A family member allowed to help a beneficiary certify (亲属协助认证绑定)."""

    family_account_id: UUID
    person_id: UUID
    relationship: str
    status: BindingStatus = BindingStatus.REQUESTED
    decided_by: UUID | None = None
    decided_how: str | None = None  # beneficiary_confirmed | staff_approved | staff_rejected
    decided_at: datetime | None = None
    revoked_by: UUID | None = None
    revoked_at: datetime | None = None
    id: UUID = field(default_factory=new_id)
    requested_at: datetime = field(default_factory=utcnow)
    version: int = 0

    @property
    def is_active(self) -> bool:
        return self.status is BindingStatus.ACTIVE

    @property
    def in_force(self) -> bool:
        """Asked for or granted: a second request for the same person is refused."""
        return self.status in (BindingStatus.REQUESTED, BindingStatus.ACTIVE)

    def decide(self, to: BindingStatus, how: str, actor_id: UUID | None, at: datetime) -> None:
        """Confirmed by the beneficiary, approved or rejected by staff."""
        refusal = f"This request is {self.status.value}."
        if to is BindingStatus.REVOKED:  # revoke() ends a binding, with its own record
            raise RuleViolation(refusal)
        self.status = BINDING_LIFECYCLE.move(self.status, to, refusal=refusal)
        self.decided_by, self.decided_how, self.decided_at = actor_id, how, at

    def revoke(self, actor_id: UUID | None, at: datetime) -> None:
        self.status = BINDING_LIFECYCLE.move(
            self.status,
            BindingStatus.REVOKED,
            refusal=f"This binding is already {self.status.value}.",
        )
        self.revoked_by, self.revoked_at = actor_id, at


@dataclass(eq=False)
class VerificationReferral:
    """A person sent to township verification (待核实, Art. 14) by a staff decision."""

    person_id: UUID
    source: str  # review_case | ...
    source_id: UUID | None
    note: str | None = None
    status: str = "open"
    id: UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class EnrolmentRequest:
    """A photo given for enrolment (ID photo from the agency); the worker makes the template."""

    person_id: UUID
    photo_key: str
    requested_by: UUID | None
    status: EnrolmentStatus = EnrolmentStatus.PENDING
    reason: str | None = None
    detail: str | None = None
    template_id: UUID | None = None
    decided_at: datetime | None = None
    id: UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)

    def accept(self, template_id: UUID, at: datetime) -> None:
        self.status = ENROLMENT_LIFECYCLE.move(self.status, EnrolmentStatus.ACCEPTED)
        self.template_id, self.decided_at = template_id, at

    def refuse(self, reason: str | None, detail: str | None, at: datetime) -> None:
        self.status = ENROLMENT_LIFECYCLE.move(self.status, EnrolmentStatus.REFUSED)
        self.reason, self.detail, self.decided_at = reason, detail, at


@dataclass(eq=False)
class Reminder:
    """A reminder that the certification is due (认证提醒), with a code the app can check."""

    person_id: UUID
    due_on: date
    days_before: int
    channel: str
    code_hash: str
    id: UUID = field(default_factory=new_id)
    sent_at: datetime = field(default_factory=utcnow)
