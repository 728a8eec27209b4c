"""Township verification (Art. 15-21): tasks, results, home visits, the ledger, and what
flows back to benefits (proposals for the agency, the national upload batch), plus the
periodic suspension of people whose period expired while they were unreachable (Art. 9).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from certification import access
from certification.access import Actor, Scope
from certification.errors import (
    AccessDenied,
    RuleViolation,
    ValidationFailed,
)
from certification.model import Entitlement, Person
from certification.ports import (
    EvidenceStore,
    NationalTransport,
    Page,
    PageRequest,
    PersonFilter,
)
from certification.regions import CITY_CODE
from certification.services.certifications import certify
from certification.services.context import UseCaseContext
from certification.services.persons import load_person
from certification.services.records import check_version, found
from certification.services.selfservice import retention_metadata
from certification.services.suspensions import apply_suspension, unreachability
from certification.states import state_named
from certification.verification import (
    DecisionProposal,
    HomeVisitReason,
    HomeVisitRequest,
    HomeVisitStatus,
    ProposalKind,
    Statement,
    TaskStatus,
    VerificationChannel,
    VerificationResult,
    VerificationTask,
    task_overdue,
)
from certification.vocabulary import (
    AccountKind,
    BenefitKind,
    CertificationChannel,
    EntitlementStatus,
    SuspensionReason,
)

EVIDENCE_PREFIX = "verification/"


def dispatch_task(
    ctx: UseCaseContext,
    actor: Actor,
    person: Person,
    *,
    work_injury: bool,
    source: str,
    source_id: UUID | None,
) -> VerificationTask:
    """Send a person to their household-registration township (employer first for work
    injury, Art. 16) with a 3-month deadline from today (Art. 20). Does not commit."""
    task = VerificationTask.dispatch(
        person_id=person.id,
        district_code=person.district_code,
        township_code=person.township_code,
        work_injury=work_injury,
        received_on=ctx.clock.today(),
        source=source,
        source_id=source_id,
    )
    task.created_at = ctx.clock.now()
    ctx.uow.tasks.add(task)
    ctx.audit(
        actor,
        "verification.dispatched",
        "verification_task",
        task.id,
        person_id=str(person.id),
        township_code=person.township_code,
        route=task.route.value,
        deadline_on=task.deadline_on.isoformat(),
        source=source,
        source_id=str(source_id) if source_id else None,
    )
    return task


def has_work_injury(person: Person) -> bool:
    return any(
        e.kind is BenefitKind.WORK_INJURY_LONG_TERM and e.status is EntitlementStatus.ACTIVE
        for e in person.entitlements
    )


def refer_for_verification(
    ctx: UseCaseContext,
    actor: Actor,
    person: Person,
    *,
    source: str,
    source_id: UUID | None,
    work_injury: bool | None = None,
) -> VerificationTask | None:
    """Open a task unless one is open already; the employer goes first when the benefit in
    question (default: any active benefit of the person) is a work-injury one. Does not
    commit."""
    if ctx.uow.tasks.open_for_person(person.id):
        return None
    return dispatch_task(
        ctx,
        actor,
        person,
        work_injury=has_work_injury(person) if work_injury is None else work_injury,
        source=source,
        source_id=source_id,
    )


def load_task(ctx: UseCaseContext, task_id: UUID, *, for_update: bool = False) -> VerificationTask:
    task = found(ctx.uow.tasks.get(task_id, for_update=for_update), "verification task", task_id)
    return task


def _require_township_clerk(actor: Actor, person: Person, what: str) -> None:
    access.require_clerk_for(actor, person.region_code, what)


@dataclass(frozen=True, slots=True)
class TaskView:
    task: VerificationTask
    person: Person
    overdue: bool


def get_task(ctx: UseCaseContext, actor: Actor, task_id: UUID) -> TaskView:
    task = load_task(ctx, task_id)
    person = load_person(ctx, task.person_id)
    access.require_read_person(actor, person_id=person.id, region_code=person.region_code)
    access.require_staff(actor, "read verification tasks")
    return TaskView(task, person, task.is_overdue(ctx.clock.today()))


def list_tasks(
    ctx: UseCaseContext,
    actor: Actor,
    *,
    status: str | None,
    overdue: bool,
    page: PageRequest,
) -> Page[VerificationTask]:
    scope = access.staff_scope(actor)
    return ctx.uow.tasks.find(
        scope=scope,
        status=state_named(TaskStatus, status),
        overdue_on=ctx.clock.today() if overdue else None,
        page=page,
    )


def overdue_by_district(ctx: UseCaseContext, actor: Actor) -> list[tuple[str, int]]:
    scope = access.staff_scope(actor)
    return ctx.uow.tasks.overdue_by_district(ctx.clock.today(), scope)


def employer_could_not_confirm(
    ctx: UseCaseContext,
    actor: Actor,
    task_id: UUID,
    *,
    note: str,
    expected_version: int | None = None,
) -> VerificationTask:
    task = load_task(ctx, task_id)
    person = load_person(ctx, task.person_id)
    _require_township_clerk(actor, person, "route this verification task")
    task = load_task(ctx, task_id, for_update=True)
    check_version(task, expected_version, "task")
    task.employer_could_not_confirm(ctx.clock.today(), note, actor.account_id)
    ctx.audit(
        actor,
        "verification.to_township",
        "verification_task",
        task.id,
        reason=task.employer_note,
        person_id=str(person.id),
        deadline_on=task.deadline_on.isoformat(),
    )
    ctx.uow.commit()
    return task


def store_evidence(
    ctx: UseCaseContext,
    actor: Actor,
    store: EvidenceStore,
    task_id: UUID,
    *,
    stream: Any,
    length: int,
    content_type: str,
    extension: str,
) -> str:
    """Keep a photo or video for a task (kept 3 years, Art. 20); returns its key."""
    task = load_task(ctx, task_id)
    person = load_person(ctx, task.person_id)
    _require_township_clerk(actor, person, "add evidence to this verification task")
    key = f"{EVIDENCE_PREFIX}{task.id}/{uuid4().hex}.{extension}"
    store.put_stream(key, stream, length, content_type, retention_metadata(ctx.clock.now()))
    ctx.audit(
        actor,
        "verification.evidence_added",
        "verification_task",
        task.id,
        person_id=str(person.id),
        key=key,
        content_type=content_type,
    )
    ctx.uow.commit()
    return key


def record_result(
    ctx: UseCaseContext,
    actor: Actor,
    store: EvidenceStore,
    task_id: UUID,
    *,
    result: VerificationResult,
    channel: VerificationChannel,
    evidence: list[str],
    statement: Statement | None,
    note: str | None,
    expected_version: int | None = None,
) -> tuple[VerificationTask, list[DecisionProposal]]:
    """Record what the township found and send the consequence to the agency (Art. 21)."""
    task = load_task(ctx, task_id)
    person = load_person(ctx, task.person_id, for_update=True)
    _require_township_clerk(actor, person, "record the result of this verification")
    task = load_task(ctx, task_id, for_update=True)
    check_version(task, expected_version, "task")
    evidence = list(dict.fromkeys(e.strip() for e in evidence if e and e.strip()))
    for key in evidence + (
        [statement.signature_key] if statement and statement.signature_key else []
    ):
        if not key.startswith(f"{EVIDENCE_PREFIX}{task.id}/") or store.stat(key) is None:
            raise ValidationFailed(
                f"Evidence {key[:80]!r} was not uploaded for this task; upload the photo or "
                "video first.",
                field="evidence",
            )
    now = ctx.clock.now()
    task.record(
        result=result,
        channel=channel,
        evidence=evidence,
        statement=statement,
        note=note,
        actor_id=actor.account_id,
        at=now,
    )
    proposals: list[DecisionProposal] = []
    if result is VerificationResult.QUALIFIED:
        certify(
            ctx,
            actor,
            person,
            channel=(
                CertificationChannel.EMPLOYER
                if channel is VerificationChannel.EMPLOYER
                else CertificationChannel.TOWNSHIP_VERIFICATION
            ),
            certified_at=now,
            evidence=evidence,
            note=f"verification ({channel.value})" + (f": {task.note}" if task.note else ""),
            source_ref=f"verification_task:{task.id}",
        )
        proposals = _propose(
            ctx,
            actor,
            person,
            ProposalKind.RESTORE,
            task,
            reason=f"found qualified by township verification ({channel.value})",
            evidence={"evidence": evidence},
        )
    else:
        reason_code = SuspensionReason.LOST_QUALIFICATION
        details: dict[str, Any] = {"evidence": evidence}
        if result is VerificationResult.LOST:
            details["statement"] = task.statement
            reason = "lost qualification found by township verification: " + (
                statement.reason if statement else ""
            )
        else:
            contact = unreachability(ctx, person.id, since=task.received_on)
            if not contact.finding.unreachable:
                raise RuleViolation(
                    "Unreachable means unreachable by every means: record the failed contact "
                    "attempts first. " + contact.finding.explain(),
                    details={"channels_tried": sorted(contact.finding.channels_tried)},
                )
            reason_code = SuspensionReason.UNREACHABLE_IN_VERIFICATION
            reason = "unreachable in township verification: " + contact.finding.explain()
            details["contact_attempt_ids"] = contact.attempt_ids
        details["reason_code"] = reason_code.value
        proposals = _propose(
            ctx, actor, person, ProposalKind.SUSPEND, task, reason=reason, evidence=details
        )
    ctx.audit(
        actor,
        "verification.recorded",
        "verification_task",
        task.id,
        reason=task.note,
        person_id=str(person.id),
        result=result.value,
        channel=channel.value,
        evidence=evidence,
        statement=task.statement,
        proposals=[str(p.id) for p in proposals],
    )
    ctx.uow.commit()
    return task, proposals


# Which benefits a proposal of each kind is about: suspend the active ones, restore the
# suspended ones.
_PROPOSED_FOR = {
    ProposalKind.SUSPEND: EntitlementStatus.ACTIVE,
    ProposalKind.RESTORE: EntitlementStatus.SUSPENDED,
}


def open_proposal(
    ctx: UseCaseContext,
    actor: Actor,
    person: Person,
    entitlement: Entitlement,
    kind: ProposalKind,
    *,
    source: str,
    source_id: UUID | None,
    reason: str,
    evidence: dict[str, Any],
    **details: Any,
) -> DecisionProposal:
    """Record a suspension or restoration proposal for a district clerk, audited (``details``
    join the audit record). Does not commit."""
    proposal = DecisionProposal(
        kind=kind,
        person_id=person.id,
        entitlement_id=entitlement.id,
        district_code=person.district_code,
        source=source,
        source_id=source_id,
        reason=reason,
        evidence=evidence,
        created_at=ctx.clock.now(),
    )
    ctx.uow.proposals.add(proposal)
    ctx.audit(
        actor,
        "proposal.created",
        "decision_proposal",
        proposal.id,
        kind=kind.value,
        person_id=str(person.id),
        entitlement_id=str(entitlement.id),
        source=source,
        **details,
    )
    return proposal


def _propose(
    ctx: UseCaseContext,
    actor: Actor,
    person: Person,
    kind: ProposalKind,
    task: VerificationTask,
    *,
    reason: str,
    evidence: dict[str, Any],
) -> list[DecisionProposal]:
    """A proposal of this kind for each of the person's benefits it applies to, unless one
    is already waiting for that benefit. Does not commit."""
    proposals = []
    for entitlement in person.entitlements:
        if entitlement.status is not _PROPOSED_FOR[kind]:
            continue
        if ctx.uow.proposals.open_for(entitlement.id, kind.value):
            continue
        proposal = open_proposal(
            ctx,
            actor,
            person,
            entitlement,
            kind,
            source="verification_task",
            source_id=task.id,
            reason=reason[:2000],
            evidence=evidence,
            task_id=str(task.id),
        )
        proposals.append(proposal)
    return proposals


# --- home visits (Art. 19) ---------------------------------------------------------------


def request_home_visit(
    ctx: UseCaseContext,
    actor: Actor,
    person_id: UUID,
    *,
    reason: HomeVisitReason,
    contact_phone: str | None,
    address_note: str | None,
    preferred_on: date | None,
) -> HomeVisitRequest:
    """The person, a bound family member, or a clerk of their region asks for a visit."""
    person = load_person(ctx, person_id)
    if actor.kind == AccountKind.BENEFICIARY.value and actor.person_id == person.id:
        if not actor.identity_verified:
            raise AccessDenied("Confirm your identity first; then you can ask for a visit.")
        via = "app"
    elif actor.kind == AccountKind.FAMILY.value:
        bound = any(
            b.person_id == person.id and b.is_active
            for b in ctx.uow.bindings.for_family(actor.account_id)  # type: ignore[arg-type]
        )
        if not bound:
            raise AccessDenied("You can ask for a home visit only for a person you are bound to.")
        via = "family"
    else:
        access.require_clerk_for(actor, person.region_code, "take a home-visit request")
        via = "staff"
    if preferred_on is not None and preferred_on < ctx.clock.today():
        raise ValidationFailed("The preferred date is in the past.", field="preferred_on")
    request = HomeVisitRequest(
        person_id=person.id,
        district_code=person.district_code,
        township_code=person.township_code,
        reason=reason,
        requested_via=via,
        contact_phone=(contact_phone or "").strip()[:32] or None,
        address_note=(address_note or "").strip()[:500] or None,
        preferred_on=preferred_on,
        requested_by=actor.account_id,
        created_at=ctx.clock.now(),
    )
    open_tasks = ctx.uow.tasks.open_for_person(person.id)
    request.task_id = open_tasks[0].id if open_tasks else None
    ctx.uow.home_visits.add(request)
    ctx.audit(
        actor,
        "home_visit.requested",
        "home_visit_request",
        request.id,
        person_id=str(person.id),
        reason=reason.value,
        via=via,
    )
    ctx.uow.commit()
    return request


def _load_visit(ctx: UseCaseContext, actor: Actor, request_id: UUID) -> HomeVisitRequest:
    request = found(ctx.uow.home_visits.get(request_id), "home-visit request", request_id)
    person = load_person(ctx, request.person_id)
    _require_township_clerk(actor, person, "handle this home-visit request")
    return request


def schedule_home_visit(
    ctx: UseCaseContext,
    actor: Actor,
    request_id: UUID,
    *,
    on: date,
    expected_version: int | None = None,
) -> HomeVisitRequest:
    request = _load_visit(ctx, actor, request_id)
    check_version(request, expected_version, "request")
    request.schedule(on, ctx.clock.today(), actor.account_id)
    ctx.audit(
        actor,
        "home_visit.scheduled",
        "home_visit_request",
        request.id,
        person_id=str(request.person_id),
        scheduled_on=on.isoformat(),
    )
    ctx.uow.commit()
    return request


def close_home_visit(
    ctx: UseCaseContext,
    actor: Actor,
    request_id: UUID,
    *,
    status: HomeVisitStatus,
    outcome: str,
    expected_version: int | None = None,
) -> HomeVisitRequest:
    request = _load_visit(ctx, actor, request_id)
    check_version(request, expected_version, "request")
    request.close(status, outcome, actor.account_id, ctx.clock.now())
    ctx.audit(
        actor,
        f"home_visit.{status.value}",
        "home_visit_request",
        request.id,
        reason=request.outcome,
        person_id=str(request.person_id),
    )
    ctx.uow.commit()
    return request


def list_home_visits(
    ctx: UseCaseContext, actor: Actor, *, status: str | None, page: PageRequest
) -> Page[HomeVisitRequest]:
    scope = access.staff_scope(actor)
    return ctx.uow.home_visits.find(
        scope=scope, status=state_named(HomeVisitStatus, status), page=page
    )


# --- the ledger (业务台账, Art. 20) ---------------------------------------------------------

LEDGER_COLUMNS = (
    ("township_code", "乡镇（街道）"),
    ("citizen_id", "公民身份号码"),
    ("name", "姓名"),
    ("source", "来源"),
    ("route", "核实途径"),
    ("received_on", "接收日期"),
    ("deadline_on", "核实期限"),
    ("overdue", "是否逾期"),
    ("status", "状态"),
    ("result", "核实结果"),
    ("channel", "核实方式"),
    ("recorded_at", "记录时间"),
    ("evidence", "佐证资料"),
    ("statement", "监护人/代理人签字或当场告知"),
    ("note", "备注"),
)


def ledger_rows(
    ctx: UseCaseContext, actor: Actor, *, since: date | None, until: date | None
) -> Iterator[dict[str, Any]]:
    """Every task of the staff member's region, one row each, oldest first per township."""
    scope = access.staff_scope(actor)
    today = ctx.clock.today()
    for row in ctx.uow.tasks.ledger(scope, since, until):
        status = getattr(row["status"], "value", row["status"])
        statement = row["statement"] or {}
        if statement.get("refused_to_sign"):
            said = "拒绝签字，已当场告知 / refused to sign, told on the spot"
        elif statement:
            said = f"{statement.get('signer_name')} ({statement.get('signer_relationship')})"
        else:
            said = ""
        yield {
            "township_code": row["township_code"] or "",
            "citizen_id": row["citizen_id"],
            "name": row["name"],
            "source": row["source"],
            "route": getattr(row["route"], "value", row["route"]),
            "received_on": row["received_on"].isoformat(),
            "deadline_on": row["deadline_on"].isoformat(),
            "overdue": "是" if task_overdue(TaskStatus(status), row["deadline_on"], today) else "",
            "status": status,
            "result": getattr(row["result"], "value", row["result"]) or "",
            "channel": getattr(row["channel"], "value", row["channel"]) or "",
            "recorded_at": row["recorded_at"].isoformat() if row["recorded_at"] else "",
            "evidence": " ".join(row["evidence"] or []),
            "statement": said,
            "note": row["note"] or "",
        }


# --- national upload (Art. 21) ------------------------------------------------------------

NATIONAL_COLUMNS = (
    "citizen_id",
    "name",
    "district_code",
    "suspended_on",
    "restored_on",
    "national_record_ids",
)


def build_national_batch(
    ctx: UseCaseContext,
    actor: Actor,
    store: EvidenceStore,
    transport: NationalTransport,
    *,
    district_code: str,
) -> dict[str, Any]:
    """Collect the district's restored people that the national cross-region system had
    marked lost into one CSV batch, keep it, and send it through the transport."""
    access.require_agency_clerk_for(actor, district_code, "upload to the national system")
    items = ctx.uow.national.pending(district_code)
    if not items:
        raise RuleViolation("Nobody in this district is waiting for the national upload.")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(NATIONAL_COLUMNS)
    for item in items:
        writer.writerow(
            [
                item["citizen_id"],
                item["name"],
                item["district_code"],
                item["suspended_on"].isoformat(),
                item["restored_on"].isoformat(),
                ";".join(item["national_record_ids"]),
            ]
        )
    content = out.getvalue().encode("utf-8")
    batch_id = uuid4()
    now = ctx.clock.now()
    key = f"national/{district_code}/{now:%Y%m%d}-{batch_id.hex[:8]}.csv"
    store.put_bytes(key, content, "text/csv", retention_metadata(now))
    batch = {
        "id": batch_id,
        "district_code": district_code,
        "created_by": actor.account_id,
        "created_at": now,
        "items": len(items),
        "file_key": key,
        "sha256": hashlib.sha256(content).hexdigest(),
        "status": "prepared",
        "transport": transport.name,
        "sent_at": None,
        "receipt": None,
    }
    ctx.uow.national.add_batch(batch, [i["id"] for i in items])
    ctx.audit(
        actor,
        "national.batch_prepared",
        "national_upload_batch",
        batch_id,
        district_code=district_code,
        items=len(items),
        file_key=key,
        sha256=batch["sha256"],
    )
    ctx.uow.commit()
    try:
        receipt = transport.send(key.rsplit("/", 1)[-1], content)
    except Exception as err:  # noqa: BLE001 - the batch stays prepared, to be sent again
        batch["error"] = f"{type(err).__name__}: {err}"
        return batch
    ctx.uow.national.mark_sent(batch_id, transport.name, receipt, ctx.clock.now())
    ctx.audit(
        actor,
        "national.batch_sent",
        "national_upload_batch",
        batch_id,
        transport=transport.name,
        receipt=receipt,
    )
    ctx.uow.commit()
    batch.update(status="sent", receipt=receipt)
    return batch


# --- the periodic job (Art. 9) ------------------------------------------------------------


def suspend_expired_unreachable(
    ctx: UseCaseContext, actor: Actor, *, limit: int = 10_000
) -> dict[str, int]:
    """Suspend the active benefits of people whose period expired and who were unreachable
    by the configured number of means during it (each attempt recorded)."""
    access.require_operator(actor, "run the expired-period suspension job")
    today = ctx.clock.today()
    counts = {"checked": 0, "suspended": 0, "reachable_or_untried": 0}
    after = None
    while counts["checked"] < limit:
        page = ctx.uow.persons.due_window(
            PersonFilter(scope=Scope(CITY_CODE), due_to=today - timedelta(days=1)),
            PageRequest(limit=200, after=after),
        )
        for person in page.items:
            counts["checked"] += 1
            active = [e for e in person.entitlements if e.status is EntitlementStatus.ACTIVE]
            period = person.period(ctx.config.period)
            if not active or period is None or not period.is_overdue(today):
                continue
            contact = unreachability(ctx, person.id, since=period.starts_on)
            if not contact.finding.unreachable:
                counts["reachable_or_untried"] += 1
                continue
            locked = load_person(ctx, person.id, for_update=True)
            apply_suspension(
                ctx,
                actor,
                locked,
                [e for e in locked.entitlements if e.status is EntitlementStatus.ACTIVE],
                reason=SuspensionReason.PERIOD_EXPIRED_UNREACHABLE,
                on=today,
                explanation=contact.finding.explain(),
                evidence=contact.expired_period_evidence(period.due_on),
            )
            counts["suspended"] += 1
        ctx.uow.commit()
        if page.next_after is None:
            break
        after = page.next_after
    return counts
