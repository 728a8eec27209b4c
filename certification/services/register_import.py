"""Importing the benefit register in bulk (the agency's list of everyone on benefits, or the
synthetic population): one row per benefit, validated by the same rules as registering a
person and granting a benefit one at a time; valid people are written in batches through
:class:`certification.ports.RegisterLoad` (``COPY`` on PostgreSQL) and every refused row is
reported with its number and reason.

Columns (names as in the header, any order; ``phone``, ``relationship``, ``last_certified_on``
and ``last_certified_channel`` may be empty):

``citizen_id, name, phone, region_code, kind, role, relationship, start_date,
monthly_amount_fen, last_certified_on, last_certified_channel``

The rows of one person (one per benefit) follow each other. A person already registered is
left as it is (the rows are counted as already known, never changed by an import).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from certification import access
from certification.access import Actor
from certification.citizen_id import CitizenId
from certification.errors import DomainError, ValidationFailed
from certification.feeds import RowProblem
from certification.model import Entitlement, validate_amount
from certification.periods import (
    EntitlementFacts,
    PeriodPolicy,
    current_period,
)
from certification.regions import RegionPlacement, registered_placement
from certification.register import RegisterBenefit, RegisterPerson
from certification.services.context import UseCaseContext
from certification.services.persons import normalise_name, normalise_phone
from certification.vocabulary import (
    BenefitKind,
    CertificationChannel,
    DependantRelationship,
    EntitlementStatus,
    RecipientRole,
)

REGISTER_COLUMNS = (
    "citizen_id",
    "name",
    "phone",
    "region_code",
    "kind",
    "role",
    "relationship",
    "start_date",
    "monthly_amount_fen",
    "last_certified_on",
    "last_certified_channel",
)
OPTIONAL_COLUMNS = frozenset(
    {"phone", "relationship", "last_certified_on", "last_certified_channel"}
)
# a register row that names no channel: a certification carried over from the old register
CARRIED_OVER = CertificationChannel.OTHER_CONFIRMED
_REQUIRED = tuple(c for c in REGISTER_COLUMNS if c not in OPTIONAL_COLUMNS)
BATCH_PEOPLE = 5000
PROBLEMS_KEPT = 10_000


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """One valid row: a person's facts and one of their benefits."""

    number: int
    citizen: CitizenId
    name: str
    phone: str | None
    placement: RegionPlacement
    benefit: RegisterBenefit
    last_certified_on: date | None
    last_certified_channel: CertificationChannel | None


@dataclass(slots=True)
class RegisterReport:
    rows_read: int = 0
    people_loaded: int = 0
    people_known: int = 0  # already registered: left unchanged
    rows_refused: int = 0
    problems_by_code: Counter[str] = field(default_factory=Counter)
    problems: list[tuple[int, RowProblem]] = field(default_factory=list)

    def refuse(self, numbers: Iterable[int], problem: RowProblem) -> None:
        for number in numbers:
            self.rows_refused += 1
            self.problems_by_code[problem.code] += 1
            if len(self.problems) < PROBLEMS_KEPT:
                self.problems.append((number, problem))


def header_problems(columns: Iterable[str]) -> list[str]:
    """The required columns missing from a header."""
    present = set(columns)
    return [c for c in _REQUIRED if c not in present]


def _date(raw: str, column: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            f"{raw[:20]!r} is not a date (use YYYY-MM-DD).", field=column
        ) from None


def _choice(enum: Any, raw: str, column: str) -> Any:
    try:
        return enum(raw.strip().lower())
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ValidationFailed(
            f"Unknown {column} {raw[:40]!r}; one of {allowed}.", field=column
        ) from None


def parse_row(
    number: int, values: Mapping[str, str | None], today: date, regions: Container[str]
) -> RegisterRow | RowProblem:
    """Validate one row by the rules of registering the person and granting the benefit."""
    texts = {column: (values.get(column) or "").strip() for column in REGISTER_COLUMNS}
    text = texts.__getitem__
    if any("\ufffd" in value for value in texts.values()):
        return RowProblem(
            "bad_encoding",
            "The row holds characters that are not valid in the file's encoding; save the "
            "file as UTF-8 (or GBK) and send the row again.",
        )
    for column in _REQUIRED:
        if not texts[column]:
            return RowProblem("missing_value", f"The column {column} is empty.", column)
    try:
        citizen = CitizenId.parse(text("citizen_id"), today=today)
        name = normalise_name(text("name"))
        phone = normalise_phone(text("phone"))
        code = text("region_code")
        placement = registered_placement(code, regions.__contains__)
        kind = _choice(BenefitKind, text("kind"), "kind")
        role = _choice(RecipientRole, text("role"), "role")
        relationship = (
            _choice(DependantRelationship, text("relationship"), "relationship")
            if text("relationship")
            else None
        )
        start = _date(text("start_date"), "start_date")
        raw_amount = text("monthly_amount_fen")
        if not raw_amount.isdigit():
            raise ValidationFailed(
                f"The monthly amount {raw_amount[:20]!r} is not a whole number of fen.",
                field="monthly_amount_fen",
            )
        amount = validate_amount(int(raw_amount))
        Entitlement.validate_terms(
            kind=kind,
            role=role,
            relationship=relationship,
            start_date=start,
            birth_date=citizen.birth_date,
            today=today,
        )
        last = (
            _date(text("last_certified_on"), "last_certified_on")
            if text("last_certified_on")
            else None
        )
        if last is not None and (last > today or last < citizen.birth_date):
            raise ValidationFailed(
                f"The last certification date {last.isoformat()} is in the future or before "
                "the person's birth.",
                field="last_certified_on",
            )
        channel = (
            _choice(CertificationChannel, text("last_certified_channel"), "last_certified_channel")
            if text("last_certified_channel")
            else None
        )
    except DomainError as exc:
        return RowProblem(exc.code, str(exc), exc.field)
    return RegisterRow(
        number=number,
        citizen=citizen,
        name=name,
        phone=phone,
        placement=placement,
        benefit=RegisterBenefit(kind, role, relationship, start, amount),
        last_certified_on=last,
        last_certified_channel=channel,
    )


def assemble(rows: list[RegisterRow], policy: PeriodPolicy) -> RegisterPerson | RowProblem:
    """The rows of one person as one person, or why they disagree."""
    first = rows[0]
    for row in rows[1:]:
        if (row.name, row.phone, row.placement, row.last_certified_on) != (
            first.name,
            first.phone,
            first.placement,
            first.last_certified_on,
        ):
            return RowProblem(
                "inconsistent_person",
                "The rows of this person disagree on the name, phone, region or last "
                "certification date; send one person's facts once.",
                "citizen_id",
            )
    kinds = [row.benefit.kind for row in rows]
    if len(set(kinds)) != len(kinds):
        return RowProblem(
            "duplicate_benefit",
            "The person has two rows for the same kind of benefit.",
            "kind",
        )
    benefits = [row.benefit for row in rows]
    period = current_period(
        birth_date=first.citizen.birth_date,
        entitlements=[
            EntitlementFacts(b.kind, b.role, b.start_date, EntitlementStatus.ACTIVE)
            for b in benefits
        ],
        last_certified_on=first.last_certified_on,
        policy=policy,
    )
    return RegisterPerson(
        rows=[row.number for row in rows],
        citizen=first.citizen,
        name=first.name,
        phone=first.phone,
        placement=first.placement,
        benefits=benefits,
        last_certified_on=first.last_certified_on,
        last_certified_channel=first.last_certified_channel or CARRIED_OVER,
        period=period,
    )


def _people(
    rows: Iterable[tuple[int, Mapping[str, str | None]]],
    today: date,
    regions: Container[str],
    policy: PeriodPolicy,
    report: RegisterReport,
) -> Iterator[RegisterPerson]:
    """Valid rows grouped by person (consecutive rows with the same citizen ID). A person with
    a refused row is refused whole: half a person's benefits would set a wrong period."""
    group: list[RegisterRow] = []
    refused: list[int] = []
    problem: RowProblem | None = None

    def close() -> RegisterPerson | None:
        nonlocal problem
        person: RegisterPerson | None = None
        if problem is not None:
            report.refuse(refused, problem)
            if group:
                report.refuse(
                    [r.number for r in group],
                    RowProblem(
                        "person_refused",
                        f"Another row of this person (row {refused[0]}) was refused.",
                        "citizen_id",
                    ),
                )
        elif group:
            assembled = assemble(group, policy)
            if isinstance(assembled, RowProblem):
                report.refuse([r.number for r in group], assembled)
            else:
                person = assembled
        group.clear()
        refused.clear()
        problem = None
        return person

    current: str | None = None
    for number, values in rows:
        report.rows_read += 1
        key = (values.get("citizen_id") or "").strip().upper()
        if key != current:
            if (person := close()) is not None:
                yield person
            current = key
        outcome = parse_row(number, values, today, regions)
        if isinstance(outcome, RowProblem):
            if problem is None:
                problem = outcome
                refused.append(number)
            else:
                report.refuse([number], outcome)
        else:
            group.append(outcome)
    if (person := close()) is not None:
        yield person


def import_register(
    ctx: UseCaseContext,
    actor: Actor,
    rows: Iterable[tuple[int, Mapping[str, str | None]]],
    *,
    source: str,
    batch_people: int = BATCH_PEOPLE,
) -> RegisterReport:
    """Import register rows (row number, values by column); one transaction per batch, so an
    interrupted import is resumed by importing the same file again (people already written
    are counted as known)."""
    access.require_operator(actor, "import the benefit register")
    report = RegisterReport()
    regions = ctx.uow.register_load.known_regions()
    batch: list[RegisterPerson] = []

    def flush() -> None:
        if not batch:
            return
        known = ctx.uow.register_load.write(batch, ctx.clock.now())
        report.people_loaded += len(batch) - len(known)
        report.people_known += len(known)
        ctx.uow.commit()
        batch.clear()

    for person in _people(rows, ctx.clock.today(), regions, ctx.config.period, report):
        batch.append(person)
        if len(batch) >= batch_people:
            flush()
    flush()
    ctx.uow.register_load.refresh_statistics()
    ctx.audit(
        actor,
        "register.imported",
        "system",
        None,
        source=source[:300],
        rows_read=report.rows_read,
        people_loaded=report.people_loaded,
        people_known=report.people_known,
        rows_refused=report.rows_refused,
        problems_by_code=dict(report.problems_by_code),
    )
    ctx.uow.commit()
    return report
