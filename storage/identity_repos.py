"""Repositories of the identity records: sign-in codes, claims, used one-time tokens."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certification.access import Scope
from certification.claims import Claim, ClaimStatus
from certification.model import OneTimeCode
from certification.ports import Page, PageRequest
from storage import schema
from storage.db import rowcount
from storage.paging import page_by_time
from storage.scoping import within_scope


class SqlOneTimeCodeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, code: OneTimeCode) -> None:
        self.session.add(code)

    def latest_for(self, phone_hash: str) -> OneTimeCode | None:
        t = schema.one_time_codes
        stmt = (
            sa.select(OneTimeCode)
            .where(t.c.phone_hash == phone_hash)
            .order_by(t.c.created_at.desc())
            .limit(1)
            .with_for_update()
        )
        return self.session.scalars(stmt).first()

    def count_since(
        self, *, phone_hash: str | None = None, origin: str | None = None, since: datetime
    ) -> int:
        t = schema.one_time_codes
        stmt = sa.select(sa.func.count()).select_from(t).where(t.c.created_at >= since)
        if phone_hash is not None:
            stmt = stmt.where(t.c.phone_hash == phone_hash)
        if origin is not None:
            stmt = stmt.where(t.c.origin == origin)
        return int(self.session.scalar(stmt) or 0)

    def purge_before(self, before: datetime) -> int:
        t = schema.one_time_codes
        return rowcount(self.session.execute(sa.delete(t).where(t.c.expires_at < before)))


class SqlUsedTokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def use(self, jti: str, at: datetime) -> bool:
        """Record a one-time token as used; False if it was used before (in any process)."""
        try:
            with self.session.begin_nested():
                self.session.execute(sa.insert(schema.used_tokens).values(jti=jti, used_at=at))
        except IntegrityError:
            return False
        return True


class SqlConsoleSessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self, id_hash: str, account_id: UUID, created_at: datetime, expires_at: datetime
    ) -> None:
        t = schema.console_sessions
        self.session.execute(
            sa.delete(t).where(t.c.account_id == account_id, t.c.expires_at < created_at)
        )
        self.session.execute(
            sa.insert(t).values(
                id_hash=id_hash, account_id=account_id, created_at=created_at, expires_at=expires_at
            )
        )

    def account_for(self, id_hash: str, now: datetime) -> UUID | None:
        t = schema.console_sessions
        stmt = sa.select(t.c.account_id).where(t.c.id_hash == id_hash, t.c.expires_at > now)
        found = self.session.scalar(stmt)
        return found if isinstance(found, UUID) else None

    def end(self, id_hash: str) -> None:
        t = schema.console_sessions
        self.session.execute(sa.delete(t).where(t.c.id_hash == id_hash))

    def end_all(self, account_id: UUID) -> None:
        t = schema.console_sessions
        self.session.execute(sa.delete(t).where(t.c.account_id == account_id))


class SqlClaimRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, claim: Claim) -> None:
        self.session.add(claim)

    def get(self, claim_id: UUID, *, for_update: bool = False) -> Claim | None:
        stmt = sa.select(Claim).where(schema.claims.c.id == claim_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def for_account(self, account_id: UUID) -> list[Claim]:
        c = schema.claims
        stmt = sa.select(Claim).where(c.c.account_id == account_id).order_by(c.c.created_at.desc())
        return list(self.session.scalars(stmt))

    def pending_for_person(self, person_id: UUID) -> list[Claim]:
        c = schema.claims
        stmt = sa.select(Claim).where(c.c.person_id == person_id, c.c.status == ClaimStatus.PENDING)
        return list(self.session.scalars(stmt))

    def count_since(
        self, *, target_hash: str | None = None, origin: str | None = None, since: datetime
    ) -> int:
        c = schema.claims
        stmt = sa.select(sa.func.count()).select_from(c).where(c.c.created_at >= since)
        if target_hash is not None:
            stmt = stmt.where(c.c.target_hash == target_hash)
        if origin is not None:
            stmt = stmt.where(c.c.origin == origin)
        return int(self.session.scalar(stmt) or 0)

    def suspicious(self, scope: Scope, page: PageRequest) -> Page[Claim]:
        """Claims on people who drew more than one claim, or with failed face checks, in the
        region (claims matching no beneficiary: city-wide staff only)."""
        c = schema.claims
        crowded = (
            sa.select(c.c.target_hash)
            .group_by(c.c.target_hash)
            .having(sa.func.count() > 1)
            .scalar_subquery()
        )
        stmt = sa.select(Claim).where(sa.or_(c.c.failed_attempts > 0, c.c.target_hash.in_(crowded)))
        stmt = within_scope(stmt, scope, c)  # claims matching nobody: city-wide staff only
        return page_by_time(self.session, stmt, page, c, "created_at")
