"""A person of the benefit register as an import writes them: facts checked by the rules of
registering a person and granting a benefit, and their current period
(``certification.services.register_import`` reads and checks the rows;
``certification.ports.RegisterLoad`` writes them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from certification.citizen_id import CitizenId
from certification.periods import CertificationPeriod
from certification.regions import RegionPlacement
from certification.vocabulary import (
    BenefitKind,
    CertificationChannel,
    DependantRelationship,
    RecipientRole,
)


@dataclass(frozen=True, slots=True)
class RegisterBenefit:
    kind: BenefitKind
    role: RecipientRole
    relationship: DependantRelationship | None
    start_date: date
    monthly_amount_fen: int


@dataclass(slots=True)
class RegisterPerson:
    """A person ready to be written: their benefits and their current period, computed by the
    same rule as for a person registered at the counter."""

    rows: list[int]  # the file's row numbers
    citizen: CitizenId
    name: str
    phone: str | None
    placement: RegionPlacement
    benefits: list[RegisterBenefit]
    last_certified_on: date | None
    last_certified_channel: CertificationChannel
    period: CertificationPeriod | None = None
