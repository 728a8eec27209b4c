"""In-memory stand-ins for the unit of work and its repositories, the clock and the outbox,
so use cases run in milliseconds without a database (PostgreSQL stays for SQL, concurrency
and migrations: tests/integration).

Each fake keeps records in a dict by id and answers the queries the use cases ask with plain
Python over them. A repository method a use case calls that no fake answers yet fails with
the method's name: add it here, as small as the rule it mirrors.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from certification.access import Actor
from certification.notices import Notice
from certification.ports import ObjectMissing
from certification.selfservice import ATTEMPT_LIFECYCLE, AttemptStatus, CaseStatus
from certification.services.context import ProcedureConfig, UseCaseContext
from certification.verification import ProposalStatus, TaskStatus
from certification.vocabulary import SuspensionStatus


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def today(self) -> date:
        return self._now.date()

    def local_date(self, moment: datetime) -> date:
        return moment.date()

    def advance(self, **kw: float) -> None:
        self._now += timedelta(**kw)


class FakeRepository:
    """Records by id; ``for_update`` is accepted and ignored (one thread, one transaction)."""

    def __init__(self) -> None:
        self.rows: dict[UUID, Any] = {}

    def add(self, record: Any) -> None:
        self.rows[record.id] = record

    def get(self, record_id: UUID, *, for_update: bool = False) -> Any:
        return self.rows.get(record_id)

    def where(self, **equal: Any) -> list[Any]:
        return [r for r in self.rows.values() if all(getattr(r, k) == v for k, v in equal.items())]

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.{name}: not faked yet (tests/fakes.py)")


class FakePersons(FakeRepository):
    def by_citizen_id(self, citizen_id: str) -> Any:
        return next((p for p in self.rows.values() if p.citizen_id == citizen_id), None)

    def lock_many(self, person_ids: list[UUID]) -> list[Any]:
        return [self.rows[i] for i in person_ids if i in self.rows]

    def many(self, person_ids: list[UUID]) -> dict[UUID, Any]:
        return {i: self.rows[i] for i in person_ids if i in self.rows}


class FakeEntitlements(FakeRepository):
    def __init__(self, persons: FakePersons) -> None:
        super().__init__()
        self.persons = persons

    def get(self, record_id: UUID, *, for_update: bool = False) -> Any:
        for person in self.persons.rows.values():
            for e in person.entitlements:
                if e.id == record_id:
                    return e
        return None


class FakeSuspensions(FakeRepository):
    def for_person(self, person_id: UUID, status: Any) -> list[Any]:
        return self.where(person_id=person_id, status=status)

    def in_force_for(self, entitlement_id: UUID) -> Any:
        return next(
            (
                s
                for s in self.rows.values()
                if s.entitlement_id == entitlement_id and s.status is SuspensionStatus.IN_FORCE
            ),
            None,
        )


class FakeReviewCases(FakeRepository):
    def open_for_person(self, person_id: UUID) -> list[Any]:
        return self.where(person_id=person_id, status=CaseStatus.OPEN)

    def for_person(self, person_id: UUID, status: Any) -> list[Any]:
        return self.where(person_id=person_id, status=status)


class FakeBindings(FakeRepository):
    def for_family(self, account_id: UUID) -> list[Any]:
        return self.where(family_account_id=account_id)

    def for_person(self, person_id: UUID) -> list[Any]:
        return self.where(person_id=person_id)


class FakeReferrals(FakeRepository):
    def open_for_person(self, person_id: UUID) -> list[Any]:
        return self.where(person_id=person_id, status="open")


class FakeTasks(FakeRepository):
    def for_person(self, person_id: UUID) -> list[Any]:
        return self.where(person_id=person_id)

    def open_for_person(self, person_id: UUID) -> list[Any]:
        return self.where(person_id=person_id, status=TaskStatus.OPEN)


class FakeHomeVisits(FakeRepository):
    def open_for_person(self, person_id: UUID) -> list[Any]:
        return [v for v in self.where(person_id=person_id) if v.is_open]


class FakeCertifications(FakeRepository):
    def latest_valid_on(self, person_id: UUID) -> Any:
        days = [c.certified_on for c in self.where(person_id=person_id) if not c.annulled]
        return max(days) if days else None

    def for_person(self, person_id: UUID, page: Any) -> Any:
        from certification.ports import Page

        mine = sorted(self.where(person_id=person_id), key=lambda c: c.certified_at, reverse=True)
        return Page(mine[: page.limit], None)


class FakeConsents(FakeRepository):
    def in_force(self, purpose: str, *, person_id: Any = None, account_id: Any = None) -> Any:
        found = [
            c
            for c in self.rows.values()
            if c.purpose == purpose
            and c.in_force
            and (c.person_id == person_id if person_id else c.account_id == account_id)
        ]
        return max(found, key=lambda c: c.given_at) if found else None

    def for_person(self, person_id: UUID) -> list[Any]:
        return sorted(self.where(person_id=person_id), key=lambda c: c.given_at)

    def for_account(self, account_id: UUID) -> list[Any]:
        return sorted(self.where(account_id=account_id), key=lambda c: c.given_at)


class FakeAppeals(FakeRepository):
    def for_subject(self, subject: Any, subject_id: UUID) -> list[Any]:
        return sorted(self.where(subject=subject, subject_id=subject_id), key=lambda a: a.filed_at)

    def for_person(self, person_id: UUID, *, limit: int = 20) -> list[Any]:
        mine = sorted(self.where(person_id=person_id), key=lambda a: a.filed_at, reverse=True)
        return mine[:limit]


class FakeProposals(FakeRepository):
    def open_for(self, entitlement_id: UUID, kind: str) -> Any:
        return next(
            (
                p
                for p in self.rows.values()
                if p.entitlement_id == entitlement_id
                and p.kind.value == kind
                and p.status is ProposalStatus.PROPOSED
            ),
            None,
        )

    def for_person(self, person_id: UUID, kind: Any, status: Any) -> list[Any]:
        return self.where(person_id=person_id, kind=kind, status=status)

    def dismissed_for(self, entitlement_id: UUID, kind: str) -> list[Any]:
        return [
            p
            for p in self.rows.values()
            if p.entitlement_id == entitlement_id
            and p.kind.value == kind
            and p.status is ProposalStatus.DISMISSED
        ]


class FakeNationalUploads(FakeRepository):
    def add_item(self, row: dict[str, Any]) -> None:
        if not any(r["suspension_id"] == row["suspension_id"] for r in self.rows.values()):
            self.rows[row["id"]] = row  # one item per suspension (the unique index)


class FakeAttempts(FakeRepository):
    def recent_for(self, person_id: UUID, limit: int) -> list[Any]:
        mine = sorted(self.where(person_id=person_id), key=lambda a: a.created_at, reverse=True)
        return mine[:limit]

    def claim(self, attempt_id: UUID, token: str, now: datetime, stale_before: datetime) -> bool:
        """storage.selfservice_repos.claim: pending, or a claim that timed out."""
        attempt = self.rows.get(attempt_id)
        if attempt is None:
            return False
        free = attempt.status is AttemptStatus.PENDING
        stale = attempt.status is AttemptStatus.PROCESSING and (
            attempt.claimed_at is not None and attempt.claimed_at < stale_before
        )
        if not (free or stale):
            return False
        attempt.status = ATTEMPT_LIFECYCLE.move(attempt.status, AttemptStatus.PROCESSING)
        attempt.claim_token, attempt.claimed_at, attempt.tries = token, now, attempt.tries + 1
        return True

    def for_session(self, session_id: UUID) -> Any:
        return next(iter(self.where(session_id=session_id)), None)

    def unsuccessful_since(self, person_id: UUID, since: datetime) -> list[datetime]:
        return [
            a.decided_at
            for a in self.where(person_id=person_id)
            if a.decision in ("fail", "retry") and a.decided_at and a.decided_at >= since
        ]


class FakeTemplates(FakeRepository):
    def active_for(self, person_id: UUID) -> list[Any]:
        return self.where(person_id=person_id, active=True)

    def all_for(self, person_id: UUID) -> list[Any]:
        return sorted(self.where(person_id=person_id), key=lambda t: t.created_at)

    def held_for(self, person_id: UUID) -> list[Any]:
        return [t for t in self.where(person_id=person_id) if t.erased_at is None]


class FakeObjectStore:
    """The evidence store in memory; a key never stored is ObjectMissing, like the real one."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_bytes(self, key: str, data: bytes, content_type: str, metadata: Any = None) -> None:
        self.objects[key] = data

    def fetch_to(self, key: str, path: str) -> None:
        from pathlib import Path

        if key not in self.objects:
            raise ObjectMissing(key)
        Path(path).write_bytes(self.objects[key])

    def put_stream(
        self, key: str, data: Any, length: int, content_type: str, metadata: Any
    ) -> None:
        self.objects[key] = data.read(length)

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def ping(self) -> None:
        return None

    def presigned_post(self, key: str, **kw: Any) -> None:
        return None  # the app uploads through the API


class FakeAccounts(FakeRepository):
    def beneficiary_for(self, person_id: UUID) -> Any:
        return next(
            (
                a
                for a in self.rows.values()
                if a.kind.value == "beneficiary" and a.person_id == person_id
            ),
            None,
        )


class FakeClaims(FakeRepository):
    def pending_for_person(self, person_id: UUID) -> list[Any]:
        return [
            c
            for c in self.rows.values()
            if c.person_id == person_id and c.status.value == "pending"
        ]

    def for_account(self, account_id: UUID) -> list[Any]:
        return self.where(account_id=account_id)


class FakeSessions:
    """Refresh tokens and console sessions: only whose sessions were ended."""

    def __init__(self) -> None:
        self.ended: list[UUID] = []

    def revoke_all(self, account_id: UUID, at: datetime) -> None:
        self.ended.append(account_id)

    def end_all(self, account_id: UUID) -> None:
        self.ended.append(account_id)


class FakeAuditLog:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def append(self, **record: Any) -> None:
        self.records.append(record)

    def actions(self) -> list[str]:
        return [r["action"] for r in self.records]


class FakeRegisterLoad:
    """The register's bulk writer in memory: the batches written, by citizen ID."""

    def __init__(self, regions: set[str] | None = None) -> None:
        self.regions = regions or set()
        self.people: dict[str, Any] = {}
        self.batches: list[int] = []

    def known_regions(self) -> set[str]:
        return set(self.regions)

    def refresh_statistics(self) -> None:
        return None

    def write(self, people: Any, now: datetime) -> set[int]:
        self.batches.append(len(people))
        known = set()
        for pos, person in enumerate(people):
            if person.citizen.value in self.people:
                known.add(pos)
            else:
                self.people[person.citizen.value] = person
        return known


class FakeUnitOfWork:
    """certification.ports.UnitOfWork in memory. ``commits`` counts commits; nothing is rolled
    back on an error (a use case that raised is not used further in a test)."""

    def __init__(self) -> None:
        self.persons = FakePersons()
        self.entitlements = FakeEntitlements(self.persons)
        self.certifications = FakeCertifications()
        self.suspensions = FakeSuspensions()
        self.review_cases = FakeReviewCases()
        self.bindings = FakeBindings()
        self.referrals = FakeReferrals()
        self.tasks = FakeTasks()
        self.home_visits = FakeHomeVisits()
        self.proposals = FakeProposals()
        self.appeals = FakeAppeals()
        self.consents = FakeConsents()
        self.national = FakeNationalUploads()
        self.challenge_sessions = FakeRepository()
        self.attempts = FakeAttempts()
        self.templates = FakeTemplates()
        self.enrolments = FakeRepository()
        self.accounts = FakeAccounts()
        self.claims = FakeClaims()
        self.refresh_tokens = FakeSessions()
        self.console_sessions = self.refresh_tokens
        self.audit = FakeAuditLog()
        self.notices = FakeNotices()
        self.receipts = FakeReceipts()
        self.register_load = FakeRegisterLoad()
        self.commits = 0

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(f"FakeUnitOfWork.{name}: not faked yet (tests/fakes.py)")

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def commit(self) -> None:
        self.commits += 1

    def flush(self) -> None:
        return None

    def prefetch_open_work(self, person_ids: list[UUID]) -> None:
        return None  # everything is in memory already


class FakeNotices:
    """The outbox in memory: what use cases told whom (routing and delivery are tested on
    PostgreSQL with the providers' stand-ins)."""

    def __init__(self) -> None:
        self.notices: dict[str, Notice] = {}

    def add(self, notice: Notice) -> None:
        self.notices.setdefault(notice.key, notice)

    def preferences(self, person_id: UUID) -> Any:
        return None  # nobody has chosen: the defaults, no family copy

    def by_key(self, key: str) -> Notice | None:
        return self.notices.get(key)

    def told(self, person_id: UUID | None = None) -> list[str]:
        """The kinds of notice queued (for one person), in order."""
        return [
            n.kind.value
            for n in self.notices.values()
            if person_id is None or n.person_id == person_id
        ]


class FakeReceipts:
    def __init__(self) -> None:
        self.items: dict[str, Any] = {}

    def add(self, receipt: Any) -> None:
        self.items[receipt.code] = receipt

    def by_code(self, code: str) -> Any:
        return self.items.get(code)

    def for_certification(self, certification_id: UUID) -> Any:
        return next(
            (r for r in self.items.values() if r.certification_id == certification_id), None
        )


def use_case(now: datetime | None = None) -> UseCaseContext:
    return UseCaseContext(
        uow=FakeUnitOfWork(),  # type: ignore[arg-type]
        clock=FakeClock(now or datetime(2026, 12, 1, 9, tzinfo=UTC)),
        config=ProcedureConfig(),
        signer=_signer(),
    )


def _signer() -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from infra.documents import Ed25519Signer

    return Ed25519Signer(Ed25519PrivateKey.generate(), {})


def staff(*roles: str, scope: str = "500103", account_id: UUID | None = None) -> Actor:
    from uuid import uuid4

    return Actor(
        kind="staff",
        account_id=account_id or uuid4(),
        label="clerk",
        roles=frozenset(roles),
        scope_code=scope,
    )
