"""SQLAlchemy implementations of the repositories in certification.ports. None of them commits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from certification.access import Scope
from certification.errors import StaleVersion
from certification.model import (
    Account,
    Certification,
    ContactAttempt,
    Entitlement,
    ExternalIdentity,
    NewCertification,
    Person,
    RefreshToken,
    Region,
    Suspension,
)
from certification.periods import EntitlementFacts
from certification.ports import (
    Page,
    PageRequest,
    PeriodUpdate,
    PersonBrief,
    PersonFacts,
    PersonFilter,
    RegionCount,
)
from certification.vocabulary import AccountKind, EntitlementStatus, SuspensionStatus
from storage import schema
from storage.copying import copy_rows
from storage.crypto import blind_index
from storage.db import rowcount
from storage.paging import keyset_page, page_by_time
from storage.scoping import scoped_page, within_scope
from storage.sets import among

T = TypeVar("T")


def get_row(session: Session, entity: type[T], key: UUID, *, for_update: bool) -> T | None:
    """One record by id; ``for_update`` locks the row and reloads it (the use case decides on
    the current state, not on what this session read before)."""
    if for_update:
        return session.get(entity, key, with_for_update=True, populate_existing=True)
    return session.get(entity, key)


_PERIOD_FIELDS = ("last_certified_on", "period_starts_on", "due_on", "period_basis", "updated_at")
# a transaction's new periods, COPYed before one joined UPDATE (PostgreSQL)
_PERIOD_UPDATES = sa.Table(
    "period_updates",
    sa.MetaData(),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("version", sa.Integer),
    sa.Column("last_certified_on", sa.Date),
    sa.Column("period_starts_on", sa.Date),
    sa.Column("due_on", sa.Date),
    sa.Column("period_basis", sa.String(16)),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)


class SqlPersonRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, person: Person) -> None:
        self.session.add(person)

    def get(self, person_id: UUID, *, for_update: bool = False) -> Person | None:
        return get_row(self.session, Person, person_id, for_update=for_update)

    def many(self, person_ids: Sequence[UUID]) -> dict[UUID, Person]:
        if not person_ids:
            return {}
        stmt = sa.select(Person).where(schema.persons.c.id.in_(set(person_ids)))
        return {p.id: p for p in self.session.scalars(stmt)}

    def lock_many(self, person_ids: list[UUID]) -> list[Person]:
        """Lock and load several people at once (in id order, so batches never deadlock)."""
        if not person_ids:
            return []
        stmt = (
            sa.select(Person)
            .where(among(self.session, schema.persons.c.id, person_ids))
            .order_by(schema.persons.c.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list(self.session.scalars(stmt))

    def write_periods(self, persons: list[Person]) -> int:
        """Write the certification and period fields of the loaded people that changed, as
        ``write_period_updates`` does (the ORM would write a versioned row one UPDATE at a
        time); the people stay loaded with their new version. Returns the number written."""
        changed = [
            person
            for person in persons
            if any(sa.inspect(person).attrs[f].history.has_changes() for f in _PERIOD_FIELDS)
        ]
        if not changed:
            return 0
        now = max(person.updated_at for person in changed)  # one use case: one moment
        self._write_period_rows(
            [
                {
                    "id": person.id,
                    "version": person.version,
                    **{f: getattr(person, f) for f in _PERIOD_FIELDS if f != "updated_at"},
                }
                for person in changed
            ],
            now,
        )
        for person in changed:
            person.updated_at = now
            for f in _PERIOD_FIELDS:
                set_committed_value(person, f, getattr(person, f))
            set_committed_value(person, "version", person.version + 1)
        return len(changed)

    def facts_for_update(self, person_ids: list[UUID]) -> list[PersonFacts]:
        if not person_ids:
            return []
        p, e = schema.persons, schema.entitlements
        ids = sorted(person_ids)
        people = self.session.execute(
            sa.select(p.c.id, p.c.version, p.c.birth_date, p.c.last_certified_on)
            .where(among(self.session, p.c.id, ids))
            .order_by(p.c.id)
            .with_for_update()
        ).all()
        facts: dict[UUID, list[EntitlementFacts]] = {row.id: [] for row in people}
        for row in self.session.execute(
            sa.select(e.c.person_id, e.c.kind, e.c.role, e.c.start_date, e.c.status).where(
                among(self.session, e.c.person_id, ids)
            )
        ):
            facts[row.person_id].append(
                EntitlementFacts(row.kind, row.role, row.start_date, row.status)
            )
        return [
            PersonFacts(
                id=row.id,
                version=row.version,
                birth_date=row.birth_date,
                last_certified_on=row.last_certified_on,
                entitlements=tuple(facts[row.id]),
            )
            for row in people
        ]

    def write_period_updates(self, updates: Sequence[PeriodUpdate], now: datetime) -> None:
        if not updates:
            return
        self._write_period_rows(
            [
                {
                    "id": u.id,
                    "version": u.version,
                    "last_certified_on": u.last_certified_on,
                    "period_starts_on": u.period.starts_on if u.period else None,
                    "due_on": u.period.due_on if u.period else None,
                    "period_basis": u.period.basis.value if u.period else None,
                }
                for u in updates
            ],
            now,
        )

    def _write_period_rows(self, rows: list[dict[str, Any]], now: datetime) -> None:
        """New periods, each written only if the person's version is still the one read."""
        t = schema.persons
        if self.session.get_bind().dialect.name == "postgresql":
            # one UPDATE joined to the COPYed values instead of one statement per person
            self.session.execute(sa.schema.CreateTable(_PERIOD_UPDATES, if_not_exists=True))
            copy_rows(self.session, _PERIOD_UPDATES, rows)
            u = _PERIOD_UPDATES
            stmt = (
                sa.update(t)
                .where(t.c.id == u.c.id, t.c.version == u.c.version)
                .values(
                    {f: u.c[f] for f in _PERIOD_FIELDS if f != "updated_at"}
                    | {"updated_at": now, "version": t.c.version + 1}
                )
            )
            result = self.session.execute(stmt)
            self.session.execute(sa.delete(u))
        else:
            stmt = (
                sa.update(t)
                .where(t.c.id == sa.bindparam("b_id"), t.c.version == sa.bindparam("b_version"))
                .values(
                    {f: sa.bindparam(f"v_{f}") for f in _PERIOD_FIELDS if f != "updated_at"}
                    | {"updated_at": now, "version": sa.bindparam("v_version")}
                )
            )
            result = self.session.connection().execute(
                stmt,
                [
                    {"b_id": r["id"], "b_version": r["version"], "v_version": r["version"] + 1}
                    | {f"v_{k}": v for k, v in r.items() if k not in ("id", "version")}
                    for r in rows
                ],
            )
        if rowcount(result) != len(rows):
            raise StaleVersion("A person changed while their period was being written.")

    def briefs_for_update(self, person_ids: list[UUID]) -> list[PersonBrief]:
        if not person_ids:
            return []
        p = schema.persons
        rows = self.session.execute(
            sa.select(p.c.id, p.c.name, p.c.district_code, p.c.township_code)
            .where(among(self.session, p.c.id, sorted(person_ids)))
            .order_by(p.c.id)
            .with_for_update()
        )
        return [PersonBrief(r.id, r.name, r.district_code, r.township_code) for r in rows]

    def by_citizen_id(self, citizen_id: str) -> Person | None:
        key = blind_index("citizen_id", citizen_id)
        stmt = sa.select(Person).where(schema.persons.c.citizen_id_key == key)
        return self.session.scalars(stmt).first()

    def _filtered(self, flt: PersonFilter) -> sa.Select[Any]:
        t = schema.persons
        stmt = sa.select(Person)
        stmt = within_scope(stmt, flt.scope, t)
        if flt.region_code is not None:  # narrower than the scope
            stmt = within_scope(stmt, Scope.of(flt.region_code), t)
        # names, citizen IDs and phones are sealed: found by the exact value's blind index
        if flt.name:
            stmt = stmt.where(t.c.name_key == blind_index("name", flt.name))
        if flt.citizen_id is not None:
            stmt = stmt.where(t.c.citizen_id_key == blind_index("citizen_id", flt.citizen_id))
        if flt.phone is not None:
            stmt = stmt.where(t.c.phone_key == blind_index("phone", flt.phone))
        if flt.due_from is not None:
            stmt = stmt.where(t.c.due_on >= flt.due_from)
        if flt.due_to is not None:
            stmt = stmt.where(t.c.due_on <= flt.due_to)
        if flt.with_active_benefit:
            e = schema.entitlements
            stmt = stmt.where(
                sa.exists().where(
                    e.c.person_id == t.c.id, e.c.status == EntitlementStatus.ACTIVE.value
                )
            )
        return stmt

    def find(self, flt: PersonFilter, page: PageRequest) -> Page[Person]:
        t = schema.persons
        return keyset_page(
            self.session,
            self._filtered(flt),
            page,
            [t.c.id],
            [UUID],
            lambda p: (str(p.id),),
        )

    def due_window(self, flt: PersonFilter, page: PageRequest) -> Page[Person]:
        t = schema.persons
        stmt = self._filtered(flt).where(t.c.due_on.is_not(None))
        return keyset_page(
            self.session,
            stmt,
            page,
            [t.c.due_on, t.c.id],
            [date.fromisoformat, UUID],
            lambda p: (p.due_on.isoformat(), str(p.id)),
        )

    def count_due_by_district(self, flt: PersonFilter) -> list[RegionCount]:
        t = schema.persons
        inner = self._filtered(flt).where(t.c.due_on.is_not(None)).subquery()
        stmt = (
            sa.select(inner.c.district_code, sa.func.count())
            .group_by(inner.c.district_code)
            .order_by(inner.c.district_code)
        )
        return [RegionCount(code, int(n)) for code, n in self.session.execute(stmt)]

    def ids_in_batches(self, batch_size: int) -> Iterator[list[UUID]]:
        t = schema.persons
        last: UUID | None = None
        while True:
            stmt = sa.select(t.c.id).order_by(t.c.id).limit(batch_size)
            if last is not None:
                stmt = stmt.where(t.c.id > last)
            ids = list(self.session.scalars(stmt))
            if not ids:
                return
            yield ids
            last = ids[-1]


class SqlEntitlementRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, entitlement_id: UUID) -> Entitlement | None:
        return self.session.get(Entitlement, entitlement_id)


class SqlCertificationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, certification: Certification) -> None:
        self.session.add(certification)

    def get(self, certification_id: UUID, *, for_update: bool = False) -> Certification | None:
        return get_row(self.session, Certification, certification_id, for_update=for_update)

    def add_many(self, certifications: Sequence[NewCertification]) -> None:
        if not certifications:
            return
        copy_rows(
            self.session,
            schema.certifications,
            [
                {
                    "id": c.id,
                    "person_id": c.person_id,
                    "certified_at": c.certified_at,
                    "certified_on": c.certified_on,
                    "channel": c.channel.value,
                    "recorded_by": c.recorded_by,
                    "assisted_by": c.assisted_by,
                    "evidence": c.evidence,
                    "note": c.note,
                    "source_ref": c.source_ref,
                    "recorded_at": c.recorded_at,
                }
                for c in certifications
            ],
        )

    def to_review(self, *, scope: Scope, page: PageRequest) -> Page[Certification]:
        t = schema.certifications
        filters = [t.c.review_flag.is_not(None), t.c.review_cleared_at.is_(None)]
        return scoped_page(
            self.session, Certification, t, scope=scope, filters=filters, page=page,
            order="certified_at",
        )  # fmt: skip

    def latest_valid_on(self, person_id: UUID) -> date | None:
        """The day of the person's latest certification that is not annulled."""
        t = schema.certifications
        stmt = sa.select(sa.func.max(t.c.certified_on)).where(
            t.c.person_id == person_id, t.c.annulled_at.is_(None)
        )
        value = self.session.execute(stmt).scalar_one_or_none()
        return value if isinstance(value, date) else None

    def for_person(self, person_id: UUID, page: PageRequest) -> Page[Certification]:
        t = schema.certifications
        # Newest first: the keyset runs on the negated order via descending comparison.
        stmt = sa.select(Certification).where(t.c.person_id == person_id)
        if page.after is not None:
            at = datetime.fromisoformat(page.after[0])
            cid = UUID(page.after[1])
            stmt = stmt.where(
                sa.or_(t.c.certified_at < at, sa.and_(t.c.certified_at == at, t.c.id < cid))
            )
        stmt = stmt.order_by(t.c.certified_at.desc(), t.c.id.desc()).limit(page.limit + 1)
        rows = list(self.session.scalars(stmt))
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        nxt = (rows[-1].certified_at.isoformat(), str(rows[-1].id)) if more and rows else None
        return Page(rows, nxt)


class SqlContactAttemptRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, attempt: ContactAttempt) -> None:
        self.session.add(attempt)

    def for_person(self, person_id: UUID, since: date | None = None) -> list[ContactAttempt]:
        t = schema.contact_attempts
        stmt = sa.select(ContactAttempt).where(t.c.person_id == person_id)
        if since is not None:
            stmt = stmt.where(t.c.attempted_on >= since)
        return list(self.session.scalars(stmt.order_by(t.c.attempted_at)))


class SqlSuspensionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, suspension: Suspension) -> None:
        self.session.add(suspension)

    def get(self, suspension_id: UUID, *, for_update: bool = False) -> Suspension | None:
        return get_row(self.session, Suspension, suspension_id, for_update=for_update)

    def for_person(self, person_id: UUID, status: SuspensionStatus) -> list[Suspension]:
        t = schema.suspensions
        stmt = sa.select(Suspension).where(t.c.person_id == person_id, t.c.status == status)
        return list(self.session.scalars(stmt))

    def in_force_for(self, entitlement_id: UUID) -> Suspension | None:
        t = schema.suspensions
        stmt = sa.select(Suspension).where(
            t.c.entitlement_id == entitlement_id, t.c.status == SuspensionStatus.IN_FORCE
        )
        return self.session.scalars(stmt).first()

    def find(
        self,
        *,
        scope: Scope,
        status: SuspensionStatus | None,
        person_id: UUID | None,
        page: PageRequest,
    ) -> Page[Suspension]:
        t = schema.suspensions
        filters = []
        if status is not None:
            filters.append(t.c.status == status.value)
        if person_id is not None:
            filters.append(t.c.person_id == person_id)
        return scoped_page(
            self.session,
            Suspension,
            t,
            scope=scope,
            filters=filters,
            page=page,
            order="suspended_on",
        )


class SqlRegionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, code: str) -> Region | None:
        return self.session.get(Region, code)

    def add(self, region: Region) -> None:
        self.session.add(region)

    def children(self, parent_code: str) -> list[Region]:
        t = schema.regions
        stmt = sa.select(Region).where(t.c.parent_code == parent_code).order_by(t.c.code)
        return list(self.session.scalars(stmt))


class SqlAccountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, account: Account) -> None:
        self.session.add(account)

    def get(self, account_id: UUID) -> Account | None:
        return self.session.get(Account, account_id)

    def by_username(self, username: str) -> Account | None:
        stmt = sa.select(Account).where(schema.accounts.c.username == username)
        return self.session.scalars(stmt).first()

    def by_external(self, provider: str, subject: str) -> Account | None:
        x = schema.external_identities
        stmt = (
            sa.select(Account)
            .join(x, x.c.account_id == schema.accounts.c.id)
            .where(x.c.provider == provider, x.c.subject_key == blind_index("subject", subject))
        )
        return self.session.scalars(stmt).first()

    def add_external(self, identity: ExternalIdentity) -> None:
        self.session.add(identity)

    def beneficiary_for(self, person_id: UUID) -> Account | None:
        a = schema.accounts
        stmt = sa.select(Account).where(
            a.c.person_id == person_id, a.c.kind == AccountKind.BENEFICIARY
        )
        return self.session.scalars(stmt).first()

    def find(self, page: PageRequest) -> Page[Account]:
        a = schema.accounts
        return page_by_time(self.session, sa.select(Account), page, a, "created_at")


class SqlRefreshTokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: RefreshToken) -> None:
        self.session.add(token)

    def by_hash(self, token_hash: str) -> RefreshToken | None:
        stmt = sa.select(RefreshToken).where(schema.refresh_tokens.c.token_hash == token_hash)
        return self.session.scalars(stmt).first()

    def revoke_all(self, account_id: UUID, at: datetime) -> None:
        t = schema.refresh_tokens
        self.session.execute(
            sa.update(t)
            .where(t.c.account_id == account_id, t.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
