"""Consents to face processing."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session

from certification.consent import Consent
from storage import schema


class SqlConsentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, consent: Consent) -> None:
        self.session.add(consent)

    def in_force(
        self, purpose: str, *, person_id: UUID | None = None, account_id: UUID | None = None
    ) -> Consent | None:
        """The person's (or, for a claimant, the account's) consent in force, if any."""
        t = schema.consents
        subject = t.c.person_id == person_id if person_id else t.c.account_id == account_id
        stmt = (
            sa.select(Consent)
            .where(subject, t.c.purpose == purpose, t.c.withdrawn_at.is_(None))
            .order_by(t.c.given_at.desc())
        )
        return self.session.scalars(stmt).first()

    def for_person(self, person_id: UUID) -> list[Consent]:
        t = schema.consents
        stmt = sa.select(Consent).where(t.c.person_id == person_id).order_by(t.c.given_at)
        return list(self.session.scalars(stmt))

    def for_account(self, account_id: UUID) -> list[Consent]:
        t = schema.consents
        stmt = sa.select(Consent).where(t.c.account_id == account_id).order_by(t.c.given_at)
        return list(self.session.scalars(stmt))
