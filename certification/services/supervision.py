"""Tip-offs (举报, Art. 22) and rewards (Art. 23): intake, investigation, closing, payment.

Intake needs no account. Everything after it is done by staff with the investigator role
whose region covers the reported person's district; the reporter's identity is shown to
the assigned investigator only, and it never enters the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from certification.access import Actor, Listing, Scope, staff_scope
from certification.citizen_id import CitizenId
from certification.errors import AccessDenied, NotFound, RuleViolation, ValidationFailed
from certification.ports import Page, PageRequest
from certification.regions import RegionLevel, level_of
from certification.services.context import UseCaseContext
from certification.services.persons import load_person
from certification.services.proposing import propose_for_each
from certification.services.records import check_version, found
from certification.services.verification import refer_for_verification
from certification.states import state_named
from certification.supervision import (
    RewardScale,
    TipOff,
    TipOffCategory,
    TipOffStatus,
    masked,
    new_reference,
    validate_report,
)
from certification.verification import ProposalKind
from certification.vocabulary import StaffRole, SuspensionReason


@dataclass(frozen=True, slots=True)
class Report:
    category: str
    description: str
    subject_name: str
    district_code: str
    subject_citizen_id: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    wants_reward: bool = False
    channel: str = "web"


class ReportProblems(ValidationFailed):
    """Several fields at once, for the public form."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(
            problems[0][1],
            field=problems[0][0],
            details={"fields": {f: m for f, m in problems}},
        )
        self.problems = problems


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


def submit(ctx: UseCaseContext, actor: Actor, report: Report) -> TipOff:
    """Take a report in; returns it with the reference the reporter keeps."""
    problems = validate_report(
        description=report.description,
        subject_name=report.subject_name,
        wants_reward=report.wants_reward,
        reporter_name=report.reporter_name,
        reporter_phone=report.reporter_phone,
    )
    try:
        category = TipOffCategory(report.category)
    except ValueError:
        problems.append(("category", "请选择举报类型 / Choose what kind of report this is."))
        category = TipOffCategory.OTHER
    region = ctx.uow.regions.get(report.district_code) if report.district_code else None
    if region is None or level_of(region.code) is not RegionLevel.DISTRICT:
        problems.append(("district_code", "请选择被举报人所在区县 / Choose the district."))
    citizen_id: str | None = None
    if _clean(report.subject_citizen_id):
        try:
            citizen_id = CitizenId.parse(report.subject_citizen_id or "").value
        except ValidationFailed as err:
            problems.append(("subject_citizen_id", f"身份证号有误 / {err.message}"))
    if problems:
        raise ReportProblems(problems)
    person = ctx.uow.persons.by_citizen_id(citizen_id) if citizen_id else None
    now = ctx.clock.now()
    tip = TipOff(
        category=category,
        description=report.description.strip(),
        subject_name=report.subject_name.strip(),
        district_code=report.district_code,
        subject_citizen_id=citizen_id,
        reporter_name=_clean(report.reporter_name),
        reporter_phone=_clean(report.reporter_phone),
        wants_reward=report.wants_reward,
        channel=report.channel,
        reference=new_reference(now),
        person_id=person.id if person is not None else None,
        received_at=now,
    )
    ctx.uow.tip_offs.add(tip)
    ctx.audit(
        actor,
        "tipoff.received",
        "tip_off",
        tip.id,
        category=category.value,
        district_code=tip.district_code,
        channel=tip.channel,
        anonymous=tip.reporter_name is None,
    )
    ctx.uow.commit()
    return tip


# how a report reaches staff other than the public form (Art. 22: phone, fax, letter, a
# visit to the office)
STAFF_INTAKE_CHANNELS = ("phone", "fax", "letter", "visit")


def take_in(ctx: UseCaseContext, actor: Actor, report: Report) -> TipOff:
    """A report that came by phone, fax, letter or in person, entered by staff (an
    investigator or a clerk); the reporter is told the reference, as on the web."""
    if not actor.is_staff or not (
        actor.has_role(StaffRole.INVESTIGATOR) or actor.has_role(StaffRole.CLERK)
    ):
        raise AccessDenied("Reports are entered by investigators or clerks.")
    if report.channel not in STAFF_INTAKE_CHANNELS:
        raise ValidationFailed(
            "Say how the report came: " + ", ".join(STAFF_INTAKE_CHANNELS) + ".",
            field="channel",
        )
    return submit(ctx, actor, report)


def find_by_reference(ctx: UseCaseContext, actor: Actor, reference: str) -> TipOff:
    """The report a reporter quotes on the phone (the same answer whether the reference is
    unknown or outside the investigator's region)."""
    tip = ctx.uow.tip_offs.by_reference((reference or "").strip().upper())
    try:
        if tip is None:
            raise AccessDenied("unknown")
        _require_investigator(actor, tip.district_code)
    except AccessDenied:
        raise NotFound(
            "No report with this reference in your region; check the reference."
        ) from None
    return tip


def _require_investigator(actor: Actor, district_code: str | None = None) -> None:
    if not actor.has_role(StaffRole.INVESTIGATOR):
        raise AccessDenied("Tip-offs are handled by staff with the investigator role.")
    if district_code is not None and not actor.sees_region(district_code):
        raise AccessDenied("This report concerns a district outside your region.")


def list_tip_offs(
    ctx: UseCaseContext, actor: Actor, *, status: str | None, page: PageRequest
) -> Page[TipOff]:
    _require_investigator(actor)
    return ctx.uow.tip_offs.find(
        scope=staff_scope(actor, Listing.TIP_OFFS),
        status=state_named(TipOffStatus, status),
        page=page,
    )


def counts(ctx: UseCaseContext, actor: Actor) -> dict[str, int]:
    _require_investigator(actor)
    return ctx.uow.tip_offs.count_by_status(staff_scope(actor, Listing.TIP_OFFS))


def get(ctx: UseCaseContext, actor: Actor, tip_id: UUID) -> tuple[TipOff, dict[str, str | None]]:
    """The report and its reporter's identity as this viewer may see it."""
    tip = found(ctx.uow.tip_offs.get(tip_id), "tip-off", tip_id)
    _require_investigator(actor, tip.district_code)
    reporter = masked(tip, actor.account_id)
    if tip.assigned_to is not None and tip.assigned_to == actor.account_id:
        ctx.audit(actor, "tipoff.reporter_viewed", "tip_off", tip.id)
        ctx.uow.commit()
    return tip, reporter


def _load_for_change(
    ctx: UseCaseContext, actor: Actor, tip_id: UUID, expected_version: int | None
) -> TipOff:
    tip = found(ctx.uow.tip_offs.get(tip_id, for_update=True), "tip-off", tip_id)
    _require_investigator(actor, tip.district_code)
    check_version(tip, expected_version, "report")
    return tip


def assign(
    ctx: UseCaseContext,
    actor: Actor,
    tip_id: UUID,
    *,
    investigator_id: UUID | None = None,
    expected_version: int | None = None,
) -> TipOff:
    """A supervisor of the district hands the report to an investigator other than
    themselves (four eyes: whoever sees the reporter's identity was chosen by someone else)."""
    tip = _load_for_change(ctx, actor, tip_id, expected_version)
    if not actor.has_role(StaffRole.SUPERVISOR):
        raise AccessDenied("A supervisor assigns reports to investigators.")
    target = investigator_id
    if target is None:
        raise ValidationFailed("Name the investigator.", field="investigator_id")
    if target == actor.account_id:
        raise AccessDenied("A supervisor assigns a report to someone else, not to themselves.")
    account = ctx.uow.accounts.get(target)
    if (
        account is None
        or not account.active
        or StaffRole.INVESTIGATOR.value not in (account.roles or [])
        or not (account.region_code and Scope.of(account.region_code).covers(tip.district_code))
    ):
        raise ValidationFailed(
            "That account is not an active investigator of this district.",
            field="investigator_id",
        )
    tip.assign(target, ctx.clock.now())
    ctx.audit(actor, "tipoff.assigned", "tip_off", tip.id, investigator=str(target))
    ctx.uow.commit()
    return tip


def _require_assignee(actor: Actor, tip: TipOff) -> None:
    if tip.assigned_to != actor.account_id:
        raise AccessDenied("Only the investigator the report is assigned to can do this.")


def record_findings(
    ctx: UseCaseContext,
    actor: Actor,
    tip_id: UUID,
    *,
    findings: str,
    expected_version: int | None = None,
) -> TipOff:
    tip = _load_for_change(ctx, actor, tip_id, expected_version)
    _require_assignee(actor, tip)
    tip.record_findings(findings)
    ctx.audit(actor, "tipoff.findings", "tip_off", tip.id, reason=tip.findings)
    ctx.uow.commit()
    return tip


def close(
    ctx: UseCaseContext,
    actor: Actor,
    scale: RewardScale,
    tip_id: UUID,
    *,
    substantiated: bool,
    recovered_fen: int | None,
    expected_version: int | None = None,
    suspend: list[UUID] | None = None,
) -> TipOff:
    """Close the investigation. Not substantiated: closed at once. Substantiated: proposed,
    and closed when another investigator confirms (``confirm_closure``): only then does it
    change the benefit (Art. 22) and earn a reward."""
    tip = _load_for_change(ctx, actor, tip_id, expected_version)
    _require_assignee(actor, tip)
    if suspend and not substantiated:
        raise ValidationFailed(
            "Only a substantiated report leads to a suspension.", field="suspend"
        )
    if substantiated:
        if suspend and tip.person_id is not None:
            person = load_person(ctx, tip.person_id)
            person.active_named(suspend, field="suspend")  # refused now, not at confirmation
        tip.propose_substantiated(
            recovered_fen=recovered_fen,
            suspend=suspend or [],
            scale=scale,
            by=actor.account_id,
            at=ctx.clock.now(),
        )
        ctx.audit(
            actor,
            "tipoff.closure_proposed",
            "tip_off",
            tip.id,
            recovered_fen=recovered_fen,
            suspend=tip.proposed_suspend,
        )
        ctx.uow.commit()
        return tip
    return _finish(ctx, actor, scale, tip, substantiated=False, recovered_fen=recovered_fen)


def _finish(
    ctx: UseCaseContext,
    actor: Actor,
    scale: RewardScale,
    tip: TipOff,
    *,
    substantiated: bool,
    recovered_fen: int | None,
    suspend: list[UUID] | None = None,
    **audited: str | None,
) -> TipOff:
    """The report closed, the benefit acted on when it was substantiated, audited."""
    tip.close(
        substantiated=substantiated,
        recovered_fen=recovered_fen,
        scale=scale,
        by=actor.account_id,
        at=ctx.clock.now(),
    )
    consequence = _act_on(ctx, actor, tip, suspend or []) if substantiated else None
    ctx.audit(
        actor,
        "tipoff.closed",
        "tip_off",
        tip.id,
        status=tip.status.value,
        recovered_fen=tip.recovered_fen,
        reward_fen=tip.reward_fen,
        consequence=consequence,
        **audited,
    )
    ctx.uow.commit()
    return tip


def _require_second_person(actor: Actor, tip: TipOff, what: str) -> None:
    """Four eyes: not the investigator of the report."""
    if actor.account_id is None or actor.account_id in (tip.assigned_to, tip.closure_proposed_by):
        raise AccessDenied(f"Another investigator {what}: not the one who investigated the report.")


def confirm_closure(
    ctx: UseCaseContext,
    actor: Actor,
    scale: RewardScale,
    tip_id: UUID,
    *,
    confirm: bool,
    note: str | None = None,
    expected_version: int | None = None,
) -> TipOff:
    """A second investigator of the district confirms the substantiated closing (the benefit
    is acted on, the reward set) or sends it back to the investigator."""
    tip = _load_for_change(ctx, actor, tip_id, expected_version)
    if not tip.closure_waiting:
        raise RuleViolation("No closing of this report is waiting for confirmation.")
    _require_second_person(actor, tip, "confirms a substantiated closing")
    if not confirm:
        proposer = tip.closure_proposed_by
        tip.drop_proposal()
        ctx.audit(
            actor, "tipoff.closure_refused", "tip_off", tip.id, reason=note,
            proposed_by=str(proposer),
        )  # fmt: skip
        ctx.uow.commit()
        return tip
    return _finish(
        ctx,
        actor,
        scale,
        tip,
        substantiated=True,
        recovered_fen=tip.proposed_recovered_fen,
        suspend=[UUID(s) for s in tip.proposed_suspend],
        proposed_by=str(tip.closure_proposed_by),
        reason=note,
    )


def _act_on(ctx: UseCaseContext, actor: Actor, tip: TipOff, suspend: list[UUID]) -> str | None:
    """What a substantiated report does to the benefit concerned. Does not commit."""
    if tip.person_id is None:
        if suspend:
            raise ValidationFailed(
                "The report names no beneficiary on record; suspend through the person's "
                "record instead.",
                field="suspend",
            )
        return None  # nobody on record to act on: the findings say what was done
    person = load_person(ctx, tip.person_id, for_update=True)
    why = f"substantiated report {tip.reference} ({tip.category.value}): {tip.findings}"
    if suspend:
        concerned = person.active_named(suspend, field="suspend")
        proposals = propose_for_each(
            ctx,
            actor,
            person,
            ProposalKind.SUSPEND,
            source="tip_off",
            source_id=tip.id,
            reason=why,
            evidence={
                "tip_off_reference": tip.reference,
                "reason_code": SuspensionReason.LOST_QUALIFICATION.value,
            },
            only=concerned,
            tip_off_id=str(tip.id),
        )
        return f"suspension_proposed:{len(proposals)}"
    task = refer_for_verification(
        ctx, actor, person, source="tip_off", source_id=tip.id, reason=why[:1000]
    )
    return "verification_dispatched" if task else "verification_already_open"


def pay_reward(
    ctx: UseCaseContext,
    actor: Actor,
    tip_id: UUID,
    *,
    payment_ref: str,
    expected_version: int | None = None,
) -> TipOff:
    tip = _load_for_change(ctx, actor, tip_id, expected_version)
    _require_second_person(actor, tip, "records the reward's payment")
    tip.record_reward_payment(payment_ref=payment_ref, by=actor.account_id, at=ctx.clock.now())
    ctx.audit(
        actor,
        "tipoff.reward_paid",
        "tip_off",
        tip.id,
        reward_fen=tip.reward_fen,
        payment_ref=tip.reward_payment_ref,
    )
    ctx.uow.commit()
    return tip
