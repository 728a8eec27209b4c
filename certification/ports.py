"""What the use cases need from the outside world, as protocols.

``storage`` implements the repositories and the unit of work over SQLAlchemy;
``lifecert`` wires identity providers, the clock and password hashing. Nothing
commits except the use case that owns the transaction (``uow.commit()``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar
from uuid import UUID

from certification.audit import ChainedRecord
from certification.model import (
    Account,
    AuditRecord,
    Certification,
    ContactAttempt,
    Entitlement,
    ExternalIdentity,
    Person,
    RefreshToken,
    Region,
    Suspension,
)
from certification.vocabulary import SuspensionStatus

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
    scope_code: str
    region_code: str | None = None  # narrower than the scope
    name: str | None = None
    due_from: date | None = None
    due_to: date | None = None


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


class PersonRepository(Protocol):
    def add(self, person: Person) -> None: ...

    def get(self, person_id: UUID, *, for_update: bool = False) -> Person | None: ...

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

    def for_person(self, person_id: UUID, page: PageRequest) -> Page[Certification]: ...


class ContactAttemptRepository(Protocol):
    def add(self, attempt: ContactAttempt) -> None: ...

    def for_person(self, person_id: UUID, since: date | None = None) -> list[ContactAttempt]: ...


class SuspensionRepository(Protocol):
    def add(self, suspension: Suspension) -> None: ...

    def get(self, suspension_id: UUID, *, for_update: bool = False) -> Suspension | None: ...

    def in_force_for(self, entitlement_id: UUID) -> Suspension | None: ...

    def find(
        self,
        *,
        scope_code: str,
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


class UnitOfWork(Protocol):
    persons: PersonRepository
    entitlements: EntitlementRepository
    certifications: CertificationRepository
    contacts: ContactAttemptRepository
    suspensions: SuspensionRepository
    regions: RegionRepository
    accounts: AccountRepository
    refresh_tokens: RefreshTokenRepository
    audit: AuditLog

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

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


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...
