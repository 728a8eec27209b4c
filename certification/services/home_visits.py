"""Home visits (上门认证, Art. 19): asked for by the person, the family or staff, scheduled and
closed by the township. A visit is a verification: scheduling it ties it to the person's
verification task (opened if none is), and closing it as done records its result on that
task through the one township-result path (a certification, a loss with its Art. 18
record, or unreachable), which closes the task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from certification import access
from certification.access import Actor
from certification.errors import (
    ValidationFailed,
)
from certification.ports import (
    EvidenceStore,
    Page,
    PageRequest,
)
from certification.services import family
from certification.services.context import UseCaseContext
from certification.services.persons import load_person
from certification.services.records import check_version, found
from certification.services.verification import dispatch_task, record_result
from certification.states import state_named
from certification.verification import (
    HomeVisitReason,
    HomeVisitRequest,
    HomeVisitStatus,
    Statement,
    VerificationChannel,
    VerificationResult,
)
from certification.vocabulary import (
    AccountKind,
)


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
    if actor.kind in (AccountKind.BENEFICIARY.value, AccountKind.FAMILY.value):
        person, via = family.require_self_or_helper(ctx, actor, person.id, "ask for a home visit")
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
    access.require_clerk_for(actor, person.region_code, "handle this home-visit request")
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
    _tie_to_task(ctx, actor, request)
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


def _tie_to_task(ctx: UseCaseContext, actor: Actor, request: HomeVisitRequest) -> UUID:
    """The person's open verification task, opened for the visit if there is none. Does not
    commit."""
    open_tasks = ctx.uow.tasks.open_for_person(request.person_id)
    if open_tasks:
        request.task_id = open_tasks[0].id
    else:
        person = load_person(ctx, request.person_id, for_update=True)
        task = dispatch_task(
            ctx,
            actor,
            person,
            work_injury=False,  # the township visits; the employer route is for the lists
            source="home_visit",
            source_id=request.id,
        )
        request.task_id = task.id
    return request.task_id


@dataclass(frozen=True, slots=True)
class VisitResult:
    """What the visit found (Art. 19): recorded on the person's verification task."""

    result: VerificationResult
    evidence: list[str]
    statement: Statement | None = None
    note: str | None = None
    benefits: list[UUID] | None = None


def close_home_visit(
    ctx: UseCaseContext,
    actor: Actor,
    request_id: UUID,
    *,
    status: HomeVisitStatus,
    outcome: str,
    found: VisitResult | None = None,
    store: EvidenceStore | None = None,
    expected_version: int | None = None,
) -> HomeVisitRequest:
    """Close a visit: cancelled, or done with what it found. Done needs a result; the result
    goes through ``verification.record_result`` (which commits the visit with it)."""
    request = _load_visit(ctx, actor, request_id)
    check_version(request, expected_version, "request")
    request.close(status, outcome, actor.account_id, ctx.clock.now())  # not committed yet
    if status is HomeVisitStatus.DONE and (found is None or store is None):
        raise ValidationFailed(
            "Say what the visit found (qualified, lost or unreachable), with its evidence.",
            field="result",
        )
    ctx.audit(
        actor,
        f"home_visit.{status.value}",
        "home_visit_request",
        request.id,
        reason=request.outcome,
        person_id=str(request.person_id),
        result=found.result.value if found else None,
    )
    if status is HomeVisitStatus.DONE and found is not None and store is not None:
        task_id = _tie_to_task(ctx, actor, request)
        record_result(
            ctx,
            actor,
            store,
            task_id,
            result=found.result,
            channel=VerificationChannel.HOME_VISIT,
            evidence=found.evidence,
            statement=found.statement,
            note=found.note or request.outcome,
            benefits=found.benefits,
        )
        return request
    ctx.uow.commit()
    return request


def list_home_visits(
    ctx: UseCaseContext, actor: Actor, *, status: str | None, page: PageRequest
) -> Page[HomeVisitRequest]:
    scope = access.staff_scope(actor)
    return ctx.uow.home_visits.find(
        scope=scope, status=state_named(HomeVisitStatus, status), page=page
    )
