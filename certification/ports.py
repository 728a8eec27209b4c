"""What the use cases need from the outside world, as protocols.

``storage`` implements the repositories and the unit of work over SQLAlchemy;
``lifecert`` wires identity providers, the clock and password hashing. Nothing
commits except the use case that owns the transaction (``uow.commit()``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar
from uuid import UUID

from certification.access import Scope
from certification.appeals import Appeal, AppealStatus, AppealSubject
from certification.audit import ChainedRecord
from certification.claims import Claim
from certification.comparison import ComparisonWindow, DepartmentEvent
from certification.consent import Consent
from certification.model import (
    Account,
    Attempt,
    AuditRecord,
    Certification,
    ChallengeSession,
    ContactAttempt,
    EnrolmentRequest,
    Entitlement,
    ExternalIdentity,
    FaceTemplate,
    FamilyBinding,
    NewCertification,
    OneTimeCode,
    Person,
    RefreshToken,
    Region,
    Reminder,
    ReviewCase,
    Suspension,
    VerificationReferral,
)
from certification.notices import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notice,
    NoticePreferences,
    Outcome,
    Reach,
)
from certification.periods import CertificationPeriod, EntitlementFacts, PeriodPolicy
from certification.receipts import Receipt
from certification.register import RegisterPerson
from certification.selfservice import BindingStatus, CaseStatus
from certification.supervision import TipOff, TipOffStatus
from certification.verification import (
    ComparisonRun,
    DecisionProposal,
    FeedImport,
    HomeVisitRequest,
    HomeVisitStatus,
    ProposalKind,
    ProposalStatus,
    RunStatus,
    ShardRecord,
    TaskStatus,
    VerificationTask,
)
from certification.vocabulary import EntitlementStatus, SuspensionStatus

Cursor = tuple[str, ...]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = 50
    after: Cursor | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_after: Cursor | None


@dataclass(frozen=True, slots=True)
class PersonFilter:
    scope: Scope
    region_code: str | None = None  # narrower than the scope
    name: str | None = None
    due_from: date | None = None
    due_to: date | None = None
    with_active_benefit: bool = False  # leaves out the suspended and the terminated
    citizen_id: str | None = None  # exact
    phone: str | None = None  # exact, as normalised


@dataclass(frozen=True, slots=True)
class RegionCount:
    region_code: str
    count: int


class Clock(Protocol):
    def now(self) -> datetime: ...

    def today(self) -> date:
        """The agency's local calendar date."""
        ...

    def local_date(self, moment: datetime) -> date: ...


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What a comparison run needs to certify a person without loading the whole record."""

    id: UUID
    version: int
    birth_date: date
    last_certified_on: date | None
    entitlements: tuple[EntitlementFacts, ...]

    @property
    def restorable(self) -> bool:
        """A suspended benefit, which a certification proposes to restore."""
        return any(e.status is EntitlementStatus.SUSPENDED for e in self.entitlements)


@dataclass(frozen=True, slots=True)
class PersonBrief:
    """Who a notice or a verification task is about, without the rest of the record."""

    id: UUID
    name: str
    district_code: str
    township_code: str | None


@dataclass(frozen=True, slots=True)
class PeriodUpdate:
    """A person's new certification day and period, written if the version is unchanged."""

    id: UUID
    version: int
    last_certified_on: date | None
    period: CertificationPeriod | None


class PersonRepository(Protocol):
    def add(self, person: Person) -> None: ...

    def get(self, person_id: UUID, *, for_update: bool = False) -> Person | None: ...

    def many(self, person_ids: Sequence[UUID]) -> dict[UUID, Person]:
        """Several people in one query (the people of a list page), by id; an id not found
        is left out."""
        ...

    def lock_many(self, person_ids: list[UUID]) -> list[Person]:
        """Lock and load several people at once, in id order."""
        ...

    def write_periods(self, persons: list[Person]) -> int:
        """Write many people's certification and period fields in one batch."""
        ...

    def facts_for_update(self, person_ids: list[UUID]) -> list[PersonFacts]:
        """Lock several people (in id order) and read their facts in one query."""
        ...

    def write_period_updates(self, updates: Sequence[PeriodUpdate], now: datetime) -> None:
        """Write many people's new periods at once; StaleVersion if any changed meanwhile."""
        ...

    def briefs_for_update(self, person_ids: list[UUID]) -> list[PersonBrief]:
        """Lock several people (in id order) and read who they are."""
        ...

    def by_citizen_id(self, citizen_id: str) -> Person | None: ...

    def find(self, flt: PersonFilter, page: PageRequest) -> Page[Person]: ...

    def due_window(self, flt: PersonFilter, page: PageRequest) -> Page[Person]:
        """People whose due date lies in [due_from, due_to], ordered by due date."""
        ...

    def count_due_by_district(self, flt: PersonFilter) -> list[RegionCount]: ...

    def ids_in_batches(self, batch_size: int) -> Iterator[list[UUID]]: ...


class EntitlementRepository(Protocol):
    def get(self, entitlement_id: UUID) -> Entitlement | None: ...


class CertificationRepository(Protocol):
    def add(self, certification: Certification) -> None: ...

    def get(self, certification_id: UUID, *, for_update: bool = False) -> Certification | None: ...

    def latest_valid_on(self, person_id: UUID) -> date | None: ...

    def to_review(self, *, scope: Scope, page: PageRequest) -> Page[Certification]: ...

    def for_person(self, person_id: UUID, page: PageRequest) -> Page[Certification]: ...

    def add_many(self, certifications: Sequence[NewCertification]) -> None:
        """Insert many new certifications at once (a comparison run's)."""
        ...


class ContactAttemptRepository(Protocol):
    def add(self, attempt: ContactAttempt) -> None: ...

    def for_person(self, person_id: UUID, since: date | None = None) -> list[ContactAttempt]: ...


class SuspensionRepository(Protocol):
    def add(self, suspension: Suspension) -> None: ...

    def get(self, suspension_id: UUID, *, for_update: bool = False) -> Suspension | None: ...

    def in_force_for(self, entitlement_id: UUID) -> Suspension | None: ...

    def for_person(self, person_id: UUID, status: SuspensionStatus) -> list[Suspension]: ...

    def find(
        self,
        *,
        scope: Scope,
        status: SuspensionStatus | None,
        person_id: UUID | None,
        page: PageRequest,
    ) -> Page[Suspension]: ...


class RegionRepository(Protocol):
    def get(self, code: str) -> Region | None: ...

    def add(self, region: Region) -> None: ...

    def children(self, parent_code: str) -> list[Region]: ...


class AccountRepository(Protocol):
    def add(self, account: Account) -> None: ...

    def get(self, account_id: UUID) -> Account | None: ...

    def by_username(self, username: str) -> Account | None: ...

    def by_external(self, provider: str, subject: str) -> Account | None: ...

    def add_external(self, identity: ExternalIdentity) -> None: ...

    def beneficiary_for(self, person_id: UUID) -> Account | None: ...

    def find(self, page: PageRequest) -> Page[Account]: ...


class OneTimeCodeRepository(Protocol):
    def add(self, code: OneTimeCode) -> None: ...

    def latest_for(self, phone_hash: str) -> OneTimeCode | None:
        """The newest code sent to the phone, locked for this transaction."""
        ...

    def count_since(
        self, *, phone_hash: str | None = None, origin: str | None = None, since: datetime
    ) -> int: ...

    def purge_before(self, before: datetime) -> int: ...


class UsedTokenRepository(Protocol):
    def use(self, jti: str, at: datetime) -> bool:
        """Record a one-time token as used; False if it had been used already."""
        ...


class ConsoleSessionRepository(Protocol):
    """Staff console sessions, kept on the server: ending one is deleting it."""

    def add(
        self, id_hash: str, account_id: UUID, created_at: datetime, expires_at: datetime
    ) -> None: ...

    def account_for(self, id_hash: str, now: datetime) -> UUID | None:
        """The account of a live session, or None (unknown, ended or expired)."""
        ...

    def end(self, id_hash: str) -> None: ...

    def end_all(self, account_id: UUID) -> None: ...


class ClaimRepository(Protocol):
    def add(self, claim: Claim) -> None: ...

    def get(self, claim_id: UUID, *, for_update: bool = False) -> Claim | None: ...

    def for_account(self, account_id: UUID) -> list[Claim]: ...

    def pending_for_person(self, person_id: UUID) -> list[Claim]: ...

    def count_since(
        self, *, target_hash: str | None = None, origin: str | None = None, since: datetime
    ) -> int: ...

    def suspicious(self, scope: Scope, page: PageRequest) -> Page[Claim]:
        """Claims with failed checks or on a number claimed more than once, in the region."""
        ...


class RefreshTokenRepository(Protocol):
    def add(self, token: RefreshToken) -> None: ...

    def by_hash(self, token_hash: str) -> RefreshToken | None: ...

    def revoke_all(self, account_id: UUID, at: datetime) -> None: ...


class AuditLog(Protocol):
    def append(
        self,
        *,
        occurred_at: datetime,
        actor_id: str | None,
        actor_kind: str,
        actor_label: str | None,
        origin: str | None,
        action: str,
        entity_type: str,
        entity_id: str | None,
        reason: str | None,
        details: Mapping[str, Any],
    ) -> None:
        """Queue a record; it is chained and written when the unit of work commits."""
        ...

    def find(
        self,
        *,
        entity_type: str | None,
        entity_id: str | None,
        actor_id: str | None,
        action: str | None,
        page: PageRequest,
    ) -> Page[AuditRecord]: ...

    def chain(self, batch_size: int = 5000) -> Iterator[ChainedRecord]: ...


class FaceTemplateRepository(Protocol):
    def add(self, template: FaceTemplate) -> None: ...

    def active_for(self, person_id: UUID) -> list[FaceTemplate]: ...

    def held_for(self, person_id: UUID) -> list[FaceTemplate]:
        """The person's templates still holding a vector (in use or replaced)."""
        ...

    def past_retention(
        self, made_before: datetime, ended_by: date, limit: int
    ) -> list[FaceTemplate]: ...

    def all_for(self, person_id: UUID) -> list[FaceTemplate]: ...


class ChallengeSessionRepository(Protocol):
    def add(self, session: ChallengeSession) -> None: ...

    def get(self, session_id: UUID, *, for_update: bool = False) -> ChallengeSession | None: ...


class AttemptRepository(Protocol):
    def add(self, attempt: Attempt) -> None: ...

    def get(self, attempt_id: UUID) -> Attempt | None: ...

    def for_session(self, session_id: UUID) -> Attempt | None: ...

    def by_sha256(self, sha256: str) -> Attempt | None: ...

    def claim(self, attempt_id: UUID, token: str, now: datetime, stale_before: datetime) -> bool:
        """Conditional update: pending (or processing with a stale claim) -> processing."""
        ...

    def unsuccessful_since(self, person_id: UUID, since: datetime) -> list[datetime]: ...

    def recent_for(self, person_id: UUID, limit: int) -> list[Attempt]: ...

    def stale_pending(self, older_than: datetime, limit: int) -> list[UUID]: ...


class ReviewCaseRepository(Protocol):
    def add(self, case: ReviewCase) -> None: ...

    def get(self, case_id: UUID, *, for_update: bool = False) -> ReviewCase | None: ...

    def open_for_person(self, person_id: UUID) -> list[ReviewCase]: ...

    def for_person(self, person_id: UUID, status: CaseStatus) -> list[ReviewCase]: ...

    def find(
        self, *, scope: Scope, status: CaseStatus | None, page: PageRequest
    ) -> Page[ReviewCase]: ...


class FamilyBindingRepository(Protocol):
    def add(self, binding: FamilyBinding) -> None: ...

    def get(self, binding_id: UUID, *, for_update: bool = False) -> FamilyBinding | None: ...

    def for_family(self, account_id: UUID) -> list[FamilyBinding]: ...

    def for_person(self, person_id: UUID) -> list[FamilyBinding]: ...

    def find(
        self, *, scope: Scope, status: BindingStatus | None, page: PageRequest
    ) -> Page[FamilyBinding]: ...


class VerificationReferralRepository(Protocol):
    def add(self, referral: VerificationReferral) -> None: ...

    def open_for_person(self, person_id: UUID) -> list[VerificationReferral]: ...


class EnrolmentRequestRepository(Protocol):
    def add(self, request: EnrolmentRequest) -> None: ...

    def get(self, request_id: UUID) -> EnrolmentRequest | None: ...

    def latest_for(self, person_id: UUID) -> EnrolmentRequest | None: ...


class ReminderRepository(Protocol):
    def add(self, reminder: Reminder) -> None: ...

    def by_code(self, person_id: UUID, code_hash: str) -> Reminder | None: ...

    def persons_due_between(
        self, first: date, last: date, after: tuple[date, UUID] | None, limit: int
    ) -> list[tuple[UUID, date]]:
        """People due from ``first`` to ``last``, by (due date, id) after ``after``."""
        ...

    def stages_sent(self, person_ids: Sequence[UUID]) -> dict[tuple[UUID, date], set[int]]:
        """The reminder stages already sent, by person and due date."""
        ...


class NoticeRepository(Protocol):
    def add(self, notice: Notice) -> None:
        """Queue a notice; one whose key is already queued is left out (same event)."""
        ...

    def get(self, notice_id: UUID) -> Notice | None: ...

    def by_key(self, key: str) -> Notice | None: ...

    def unrouted(self, limit: int) -> list[Notice]:
        """Notices not yet routed, locked (others skip them)."""
        ...

    def reach(self, person_id: UUID) -> Reach | None: ...

    def set_wechat_accepted(self, account_id: UUID, accepted: bool, at: datetime) -> None: ...

    def preferences(self, person_id: UUID) -> NoticePreferences | None: ...

    def add_preferences(self, preferences: NoticePreferences) -> None: ...

    def add_delivery(self, delivery: Delivery) -> None: ...

    def delivery(self, delivery_id: UUID, *, for_update: bool = False) -> Delivery | None: ...

    def claim_due(
        self, now: datetime, limit: int, *, channels: Sequence[Channel], urgent_only: bool
    ) -> list[Delivery]:
        """Pending deliveries due now on these channels, locked (others skip them)."""
        ...

    def interrupted(self, now: datetime, limit: int) -> list[Delivery]:
        """Deliveries still sending after their claim ran out, locked."""
        ...

    def record_attempt(
        self, delivery_id: UUID, at: datetime, outcome: str, code: str, detail: str
    ) -> None: ...

    def attempts_of(self, delivery_id: UUID) -> list[dict[str, Any]]: ...

    def inbox(self, person_id: UUID, page: PageRequest) -> Page[Notice]:
        """The person's notices, newest first (one page)."""
        ...

    def deliveries_of(self, notice_ids: Sequence[UUID]) -> list[Delivery]: ...

    def find_deliveries(
        self, *, scope: Scope, status: DeliveryStatus | None, page: PageRequest
    ) -> Page[Delivery]: ...

    def letters_waiting(self, limit: int) -> list[Delivery]:
        """Letters not yet printed, locked, by township."""
        ...

    def add_letter_batch(self, batch: dict[str, Any]) -> None: ...

    def letter_batches(self, scope: Scope, page: PageRequest) -> Page[dict[str, Any]]: ...

    def letter_batch(self, batch_id: UUID) -> dict[str, Any] | None: ...

    def backlog(self) -> dict[str, int]:
        """Deliveries by status (the operators' view of the outbox)."""
        ...

    def reminder_backlog(self) -> dict[str, int]:
        """Reminder and overdue notices not yet out: ``pending`` deliveries, ``unrouted``."""
        ...


class ReceiptRepository(Protocol):
    def add(self, receipt: Receipt) -> None: ...

    def by_code(self, code: str) -> Receipt | None: ...

    def for_certification(self, certification_id: UUID) -> Receipt | None: ...


class FeedImportRepository(Protocol):
    def add(self, record: FeedImport) -> None: ...

    def get(self, import_id: UUID, *, for_update: bool = False) -> FeedImport | None: ...

    def queued_before(self, before: datetime) -> list[UUID]:
        """Imports still waiting for the worker since before ``before`` (the sweep's)."""
        ...

    def find(self, page: PageRequest) -> Page[FeedImport]: ...

    def add_problems(self, import_id: UUID, problems: list[dict[str, Any]]) -> None: ...

    def problems(self, import_id: UUID, after_row: int, limit: int) -> list[dict[str, Any]]: ...

    def insert_events(self, import_id: UUID, events: list[DepartmentEvent]) -> int:
        """Store new events, skipping (source, record id) pairs already stored; the count."""
        ...

    def insert_checked(self, import_id: UUID, table: Any) -> int:
        """Store a checked block's table of valid rows (certification.feeds.CheckedBlock) the
        same way; the count of new events."""
        ...

    def forget(self, import_id: UUID) -> None:
        """Remove the events and refused rows stored so far by this import (before it is
        read again from the start)."""
        ...

    def refresh_statistics(self) -> None:
        """After an import: the statistics of the events brought up to date."""
        ...


class ComparisonRepository(Protocol):
    def add(self, run: ComparisonRun) -> None: ...

    def get(self, run_id: UUID, *, for_update: bool = False) -> ComparisonRun | None: ...

    def queued_before(self, before: datetime) -> list[UUID]:
        """Runs still waiting for the worker since before ``before`` (the sweep's)."""
        ...

    def latest(
        self, *, status: RunStatus | None = None, scope_code: str | None = None
    ) -> ComparisonRun | None: ...

    def unfinished(self) -> list[ComparisonRun]: ...

    def lock_starts(self) -> None:
        """Until the transaction ends, no other start may check for overlapping runs."""
        ...

    def find(self, page: PageRequest) -> Page[ComparisonRun]: ...

    def export_entitlements(
        self, path: Path, *, scope_on: date, policy: PeriodPolicy, district_code: str | None
    ) -> int: ...

    def export_events(self, path: Path, until: date) -> int: ...

    def load_entries(self, run_id: UUID, output: Path) -> int:
        """Store the engine's output file (``ComparisonEngine.classify``) as the run's lists;
        returns how many entries."""
        ...

    def entries(
        self,
        run_id: UUID,
        *,
        list_name: str | None,
        scope: Scope,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[dict[str, Any]]: ...

    def with_lists(self) -> list[ComparisonRun]:
        """The finished runs whose lists are still stored, newest first."""
        ...

    def remove_entries(self, run_id: UUID) -> None:
        """Remove a run's lists (its entries), waiting at most a few seconds for those
        reading them (then the database's lock timeout error)."""
        ...

    def person_batches(
        self,
        run_id: UUID,
        list_name: str,
        batch_size: int,
        *,
        district_code: str,
        news_only: bool = False,
        without_open_task: bool = False,
        without_open_proposal: bool = False,
    ) -> Iterator[list[dict[str, Any]]]:
        """The entries of a list in one district, a batch of people at a time;
        ``news_only``: only people whose newest sign of life is after their last
        certification and their first benefit's start; ``without_open_task``: only people
        with no open verification task; ``without_open_proposal``: only entries whose benefit
        is not an active one with a suspension proposal waiting."""
        ...

    def on_list(
        self, run_id: UUID, list_name: str, *, district_code: str, before_benefit: bool = False
    ) -> tuple[int, int]:
        """(people, entries) on a list in one district; ``before_benefit``: only those seen
        alive since their last certification but only before their first benefit started."""
        ...

    def plan_shards(self, run_id: UUID, districts: Sequence[str], at: datetime) -> None:
        """One queued shard per district for applying the run's lists."""
        ...

    def claim_shard(
        self, run_id: UUID, district_code: str, at: datetime, *, stale_before: datetime
    ) -> bool:
        """Take the shard, locked until commit: queued, or running with no word from its
        worker since ``stale_before``. False: no such shard, done, or its worker is alive."""
        ...

    def shard_progress(
        self, run_id: UUID, district_code: str, people_done: int, at: datetime
    ) -> int: ...

    def finish_shard(
        self,
        run_id: UUID,
        district_code: str,
        applied: dict[str, int],
        timings: dict[str, float],
        at: datetime,
    ) -> list[ShardRecord]: ...

    def shards(self, run_id: UUID) -> list[ShardRecord]: ...

    def shard_handed(self, run_id: UUID, district_code: str, at: datetime) -> None:
        """The broker took the shard's task."""
        ...

    def shards_to_send(
        self, *, queued_before: datetime, stale_before: datetime
    ) -> list[tuple[UUID, str]]:
        """Shards of running runs the broker never took, and running shards whose worker
        has not been heard of since ``stale_before``."""
        ...

    def changes(
        self, run_id: UUID, previous_id: UUID, *, scope: Scope, limit: int, after: str | None
    ) -> list[dict[str, Any]]: ...

    def events(self, ids: Sequence[int]) -> list[dict[str, Any]]: ...


class VerificationTaskRepository(Protocol):
    def add(self, task: VerificationTask) -> None: ...

    def get(self, task_id: UUID, *, for_update: bool = False) -> VerificationTask | None: ...

    def for_person(self, person_id: UUID) -> list[VerificationTask]: ...

    def open_for_person(self, person_id: UUID) -> list[VerificationTask]: ...

    def with_open_task(self, person_ids: list[UUID]) -> set[UUID]:
        """Those of the given people who have an open verification task."""
        ...

    def find(
        self,
        *,
        scope: Scope,
        status: TaskStatus | None,
        overdue_on: date | None,
        page: PageRequest,
    ) -> Page[VerificationTask]: ...

    def overdue_by_district(self, today: date, scope: Scope) -> list[tuple[str, int]]: ...

    def ledger(
        self, scope: Scope, since: date | None, until: date | None
    ) -> Iterator[dict[str, Any]]: ...


class DecisionProposalRepository(Protocol):
    def add(self, proposal: DecisionProposal) -> None: ...

    def get(self, proposal_id: UUID, *, for_update: bool = False) -> DecisionProposal | None: ...

    def open_for(self, entitlement_id: UUID, kind: str) -> DecisionProposal | None: ...

    def dismissed_for(self, entitlement_id: UUID, kind: str) -> list[DecisionProposal]: ...

    def of_entitlements(
        self, entitlement_ids: list[UUID], kind: str, statuses: tuple[ProposalStatus, ...]
    ) -> list[DecisionProposal]:
        """The proposals of this kind, in these statuses, for any of these benefits."""
        ...

    def for_person(
        self, person_id: UUID, kind: ProposalKind, status: ProposalStatus
    ) -> list[DecisionProposal]: ...

    def find(
        self,
        *,
        scope: Scope,
        status: ProposalStatus | None,
        kind: ProposalKind | None,
        page: PageRequest,
    ) -> Page[DecisionProposal]: ...


class HomeVisitRepository(Protocol):
    def add(self, request: HomeVisitRequest) -> None: ...

    def get(self, request_id: UUID) -> HomeVisitRequest | None: ...

    def open_for_person(self, person_id: UUID) -> list[HomeVisitRequest]: ...

    def with_open_visit(self, person_ids: list[UUID]) -> set[UUID]:
        """Those of these people with a visit still to be made."""
        ...

    def find(
        self, *, scope: Scope, status: HomeVisitStatus | None, page: PageRequest
    ) -> Page[HomeVisitRequest]: ...


class TipOffRepository(Protocol):
    def add(self, tip: TipOff) -> None: ...

    def get(self, tip_id: UUID, *, for_update: bool = False) -> TipOff | None: ...

    def by_reference(self, reference: str) -> TipOff | None: ...

    def find(
        self, *, scope: Scope, status: TipOffStatus | None, page: PageRequest
    ) -> Page[TipOff]: ...

    def count_by_status(self, scope: Scope) -> dict[str, int]: ...


class ReportRepository(Protocol):
    """Dashboard figures, live or (``summary``) from the summary tables: those hold city and
    district figures by whole days, as of :meth:`summaries_as_of`."""

    def certifications_by_channel(
        self, scope: Scope, since: date, *, summary: bool = False
    ) -> dict[str, int]:
        """Valid certifications by channel, certified on ``since`` or later."""
        ...

    def selfservice_decisions(
        self, scope: Scope, since: date, *, summary: bool = False
    ) -> list[tuple[str, int, str, int]]:
        """(district, birth year, decision, attempts) decided on ``since`` (UTC) or later."""
        ...

    def overdue_people_by_district(
        self, scope: Scope, today: date, *, summary: bool = False
    ) -> dict[str, int]: ...

    def open_tasks_by_deadline(
        self, scope: Scope, today: date, *, summary: bool = False
    ) -> dict[str, int]: ...

    def summaries_as_of(self) -> datetime | None: ...

    def refresh_summaries(self, now: datetime) -> int: ...


class NationalUploadRepository(Protocol):
    def add_item(self, row: dict[str, Any]) -> None: ...

    def pending(self, district_code: str) -> list[dict[str, Any]]: ...

    def add_batch(self, batch: dict[str, Any], item_ids: list[UUID]) -> None: ...

    def mark_sent(self, batch_id: UUID, transport: str, receipt: str, at: datetime) -> None: ...

    def batches(self, district_code: str | None) -> list[dict[str, Any]]: ...

    def batch(self, batch_id: UUID) -> dict[str, Any] | None: ...


class AppealRepository(Protocol):
    def add(self, appeal: Appeal) -> None: ...

    def get(self, appeal_id: UUID, *, for_update: bool = False) -> Appeal | None: ...

    def for_subject(self, subject: AppealSubject, subject_id: UUID) -> list[Appeal]: ...

    def for_person(self, person_id: UUID, *, limit: int = 20) -> list[Appeal]: ...

    def find(
        self,
        *,
        scope: Scope,
        status: AppealStatus | None,
        overdue_on: date | None,
        page: PageRequest,
    ) -> Page[Appeal]: ...

    def counts(self, scope: Scope, today: date) -> dict[str, int]: ...


class ConsentRepository(Protocol):
    def add(self, consent: Consent) -> None: ...

    def in_force(
        self, purpose: str, *, person_id: UUID | None = None, account_id: UUID | None = None
    ) -> Consent | None: ...

    def for_person(self, person_id: UUID) -> list[Consent]: ...

    def for_account(self, account_id: UUID) -> list[Consent]: ...


class RegisterLoad(Protocol):
    """People of a register import written in bulk, a batch at a time, in the unit of work's
    transaction."""

    def known_regions(self) -> set[str]:
        """The township and village codes in the region register."""
        ...

    def refresh_statistics(self) -> None:
        """After an import: the database's statistics of the tables written brought up to
        date (so its plans fit ten million rows, not the empty tables)."""
        ...

    def write(self, people: Sequence[RegisterPerson], now: datetime) -> set[int]:
        """Write the people not registered yet with their benefits (first amount and status
        change each) and their last certification. Returns the positions in ``people`` of
        those already registered (left unchanged)."""
        ...


class UnitOfWork(Protocol):
    @property
    def persons(self) -> PersonRepository: ...

    @property
    def entitlements(self) -> EntitlementRepository: ...

    @property
    def certifications(self) -> CertificationRepository: ...

    @property
    def contacts(self) -> ContactAttemptRepository: ...

    @property
    def suspensions(self) -> SuspensionRepository: ...

    @property
    def regions(self) -> RegionRepository: ...

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def refresh_tokens(self) -> RefreshTokenRepository: ...

    @property
    def codes(self) -> OneTimeCodeRepository: ...

    @property
    def used_tokens(self) -> UsedTokenRepository: ...

    @property
    def claims(self) -> ClaimRepository: ...

    @property
    def console_sessions(self) -> ConsoleSessionRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def templates(self) -> FaceTemplateRepository: ...

    @property
    def challenge_sessions(self) -> ChallengeSessionRepository: ...

    @property
    def attempts(self) -> AttemptRepository: ...

    @property
    def review_cases(self) -> ReviewCaseRepository: ...

    @property
    def bindings(self) -> FamilyBindingRepository: ...

    @property
    def referrals(self) -> VerificationReferralRepository: ...

    @property
    def enrolments(self) -> EnrolmentRequestRepository: ...

    @property
    def reminders(self) -> ReminderRepository: ...

    @property
    def feed_imports(self) -> FeedImportRepository: ...

    @property
    def notices(self) -> NoticeRepository: ...

    @property
    def receipts(self) -> ReceiptRepository: ...

    @property
    def comparison(self) -> ComparisonRepository: ...

    @property
    def tasks(self) -> VerificationTaskRepository: ...

    @property
    def proposals(self) -> DecisionProposalRepository: ...

    @property
    def home_visits(self) -> HomeVisitRepository: ...

    @property
    def national(self) -> NationalUploadRepository: ...

    @property
    def tip_offs(self) -> TipOffRepository: ...

    @property
    def reports(self) -> ReportRepository: ...

    @property
    def appeals(self) -> AppealRepository: ...

    @property
    def consents(self) -> ConsentRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def flush(self) -> None:
        """Write pending rows now, so later rows may refer to them (foreign keys)."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A block whose changes (and audit records) are undone if it raises."""
        ...

    @property
    def register_load(self) -> RegisterLoad: ...

    def prefetch_open_work(self, person_ids: list[UUID]) -> None:
        """A hint before certifying a batch of people: read their open verification tasks
        and home visits at once (the answers are the same with or without it)."""
        ...

    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    """What an identity provider vouches for after a mobile login."""

    provider: str
    subject: str
    phone: str | None = None  # only if the provider verified it


class IdentityProvider(Protocol):
    name: str

    def exchange(self, code: str) -> VerifiedIdentity:
        """Turn the client's one-time login code into a verified identity.

        Raises AuthenticationFailed when the code is refused.
        """
        ...


class DeliveryError(Exception):
    """A channel did not deliver: ``outcome`` says whether to retry, when, or give up."""

    def __init__(
        self,
        detail: str,
        *,
        outcome: Outcome = Outcome.UNREACHABLE,
        code: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.outcome, self.code, self.retry_after = outcome, code, retry_after


class SmsUnavailable(DeliveryError):
    """The text-message provider refused or could not be reached; nothing was sent."""


class SmsSender(Protocol):
    """Sends a sign-in code by text message (Alibaba Cloud SMS, Tencent Cloud SMS...)."""

    name: str

    def send_code(self, phone: str, code: str) -> None:
        """Send ``code`` to ``phone`` (11 digits, mainland China). Raises SmsUnavailable."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


# --- self-service: evidence storage, the face engine, the queue, notifications ------------


@dataclass(frozen=True, slots=True)
class UploadTarget:
    """How the app uploads the video: a presigned POST straight to object storage."""

    url: str
    fields: dict[str, str]
    max_bytes: int
    expires_at: datetime


class ObjectInfo(Protocol):
    @property
    def size(self) -> int: ...

    @property
    def content_type(self) -> str: ...

    @property
    def sha256(self) -> str | None: ...


class EvidenceStore(Protocol):
    def ping(self) -> None:
        """Raise when the store is unreachable."""
        ...

    def presigned_post(
        self,
        key: str,
        *,
        max_bytes: int,
        content_type_prefix: str,
        expires_at: datetime,
        metadata: Mapping[str, str] | None = None,
    ) -> UploadTarget | None:
        """None when the store cannot take direct uploads (then the API takes them)."""
        ...

    def presigned_get(self, key: str, *, seconds: int) -> str | None: ...

    def stat(self, key: str) -> ObjectInfo | None: ...

    def sha256_of(self, key: str) -> str:
        """Read the object through once to hash it (the app's claim is never trusted)."""
        ...

    def sha256_and_head(self, key: str, head: int) -> tuple[str, bytes]:
        """Hash the object and keep its first ``head`` bytes, in one read."""
        ...

    def copy(self, source: str, target: str) -> None:
        """A copy inside the store; ObjectMissing when ``source`` is not there."""
        ...

    def delete(self, key: str) -> None: ...

    def put_bytes(
        self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]
    ) -> None: ...

    def put_stream(
        self, key: str, data: Any, length: int, content_type: str, metadata: Mapping[str, str]
    ) -> ObjectInfo: ...

    def fetch_to(self, key: str, path: str) -> None:
        """Stream the object into a local file (for the engine); ObjectMissing when there is
        none under the key, another error when the store is unreachable."""
        ...


class ObjectMissing(LookupError):
    """No object under the key: deleted at the end of its retention, or never stored. Not an
    outage: retrying will not bring it back."""


@dataclass(frozen=True, slots=True)
class FaceVerification:
    decision: str  # pass | fail | retry
    reasons: list[str]
    verdict: dict[str, Any]  # the engine's full explanation
    match_score: float | None
    evidence_jpegs: list[bytes]
    refresh_template: dict[str, Any] | None  # the best verified frame as a template


@dataclass(frozen=True, slots=True)
class FaceEnrolment:
    accepted: bool
    template: dict[str, Any] | None
    model: str | None
    model_version: str | None
    reason: str | None  # a reason code when refused
    detail: str = ""


class FaceEngine(Protocol):
    def verify(
        self,
        video_path: str,
        actions: Sequence[str],
        templates: Sequence[dict[str, Any]],
        *,
        mirrored: bool,
    ) -> FaceVerification:
        """Raises TemplatesOutdated when the templates were made by another model."""
        ...

    def enrol(self, photo: bytes) -> FaceEnrolment: ...


class TemplatesOutdated(Exception):
    """The person's templates were made by another recognition model: re-enrol."""


class QueueUnavailable(Exception):
    """The task queue could not take the job now; the pending record stays for the sweep."""


class TaskQueue(Protocol):
    def enqueue_attempt(self, attempt_id: UUID) -> None: ...

    def enqueue_comparison(self, run_id: UUID) -> None: ...

    def enqueue_comparison_shard(self, run_id: UUID, district_code: str) -> None: ...

    def enqueue_feed_import(self, import_id: UUID) -> None: ...

    def enqueue_enrolment(self, request_id: UUID) -> None: ...


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One delivery as a channel sends it."""

    delivery_id: UUID
    kind: str
    language: str
    address: str  # phone, WeChat openid, app account id
    title: str
    body: str
    params: dict[str, str]  # the template's values, in its order
    wechat: dict[str, str]


class NoticeChannel(Protocol):
    name: str

    def send(self, message: Outgoing) -> str:
        """Deliver; returns the provider's reference. Raises DeliveryError."""
        ...


class ReceiptSigner(Protocol):
    key_id: str

    def sign(self, statement: bytes) -> str:
        """The base64url Ed25519 signature of ``statement``."""
        ...

    def verify(self, key_id: str, statement: bytes, signature: str) -> bool: ...

    def public_keys(self) -> dict[str, str]:
        """key id → base64url raw public key, for offline checks."""
        ...


class Documents(Protocol):
    """PDFs the service prints: receipts and the townships' letter batches."""

    def receipt_pdf(self, receipt: Receipt, verify_url: str) -> bytes: ...

    def letters_pdf(self, township: str, letters: Sequence[tuple[str, str, str]]) -> bytes:
        """One page per letter: (address, title, body)."""
        ...


@dataclass(frozen=True, slots=True)
class EngineOutcome:
    output: Path
    counts: dict[str, int]
    by_district: dict[str, dict[str, int]]
    timings: dict[str, float]


class ComparisonEngine(Protocol):
    """Classifies exported entitlements against exported events (storage.comparison_engine)."""

    def classify(
        self, entitlements: Path, events: Path, window: ComparisonWindow, output: Path
    ) -> EngineOutcome: ...


class NationalTransport(Protocol):
    """Delivers an upload batch to the national cross-region certification system."""

    name: str

    def send(self, file_name: str, content: bytes) -> str:
        """Deliver; returns the receipt (or raises on failure)."""
        ...
