"""Township verification tasks, their evidence and results, home visits, the ledger."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from flask import (
    abort,
    render_template,
    request,
)

from api.context import ctx, runtime
from api.ledger import ledger_response
from certification.errors import (
    ValidationFailed,
)
from certification.services import contacts as contacts_service
from certification.services import home_visits as home_visits_service
from certification.services import ledger as ledger_service
from certification.services import verification as verification_service
from certification.verification import (
    DeathRecord,
    HomeVisitReason,
    HomeVisitStatus,
    Statement,
    VerificationChannel,
    VerificationResult,
)
from certification.vocabulary import ContactChannel, ContactOutcome
from console.staff import (
    _actor,
    _done,
    _is_date,
    _is_uuid,
    _list_page,
    _page_request,
    _record_contact,
    _stream_object,
    _uploaded,
    _version,
    bp,
)


@bp.route("/tasks")
def tasks() -> Any:
    overdue = request.args.get("overdue") == "1"
    status = request.args.get("status", "open") or None
    page = verification_service.list_tasks(
        ctx(), _actor(), status=status, overdue=overdue, page=_page_request()
    )
    return _list_page(
        "console/tasks.html", page, today=ctx().clock.today(), overdue=overdue, status=status
    )


@bp.route("/tasks/ledger.<fmt>")
def tasks_ledger(fmt: str) -> Any:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    rows = ledger_service.ledger_rows(ctx(), _actor(), since=None, until=None)
    return ledger_response(rows, fmt)


@bp.route("/tasks/<uuid:task_id>")
def task(task_id: UUID) -> Any:
    view = verification_service.get_task(ctx(), _actor(), task_id)
    prefix = f"{verification_service.EVIDENCE_PREFIX}{task_id}/"
    uploaded = sorted(runtime().object_store.list_keys(prefix))
    return render_template(
        "console/task.html",
        v=view,
        uploaded=uploaded,
        results=list(VerificationResult),
        channels=list(VerificationChannel),
        visit_reasons=list(HomeVisitReason),
        death_records=list(DeathRecord),
        contacts=contacts_service.list_contact_attempts(ctx(), _actor(), view.person.id)[-50:],
        contact_channels=list(ContactChannel),
        contact_outcomes=list(ContactOutcome),
        active_benefits=view.person.active(),
    )


@bp.route("/tasks/<uuid:task_id>/contact", methods=["POST"])
def task_contact(task_id: UUID) -> Any:
    """A township clerk records a call, a text, a visit: reached or not (Art. 9)."""
    view = verification_service.get_task(ctx(), _actor(), task_id)
    _record_contact(view.person.id)
    return _done("已记录联系 / Contact attempt recorded.", "console.task", task_id=task_id)


@bp.route("/tasks/<uuid:task_id>/evidence", methods=["POST"])
def task_evidence_upload(task_id: UUID) -> Any:
    stream, length, content_type, extension = _uploaded(
        "file",
        "Choose a photo or video to upload.",
        "The file is not a photo or video this service keeps (JPEG, PNG, HEIC, MP4, MOV or "
        "WebM); its content was checked, not its name.",
    )
    verification_service.store_evidence(
        ctx(),
        _actor(),
        runtime().object_store,
        task_id,
        stream=stream,
        length=length,
        content_type=content_type,
        extension=extension,
    )
    return _done("已上传佐证资料 / Evidence uploaded.", "console.task", task_id=task_id)


@bp.route("/tasks/<uuid:task_id>/evidence/<path:key>")
def task_evidence(task_id: UUID, key: str) -> Any:
    verification_service.get_task(ctx(), _actor(), task_id)
    if not key.startswith(f"{verification_service.EVIDENCE_PREFIX}{task_id}/"):
        abort(404)
    return _stream_object(key)


@bp.route("/tasks/<uuid:task_id>/result", methods=["POST"])
def task_result(task_id: UUID) -> Any:
    form = request.form
    try:
        result = VerificationResult(form.get("result", ""))
    except ValueError:
        raise ValidationFailed("Choose the result.", field="result") from None
    try:
        channel = VerificationChannel(form.get("channel", ""))
    except ValueError:
        raise ValidationFailed("Choose how the person was verified.", field="channel") from None
    statement = _statement(form) if result is VerificationResult.LOST else None
    verification_service.record_result(
        ctx(),
        _actor(),
        runtime().object_store,
        task_id,
        result=result,
        channel=channel,
        evidence=form.getlist("evidence"),
        statement=statement,
        note=form.get("note") or None,
        expected_version=_version(),
        benefits=[UUID(b) for b in form.getlist("benefits") if _is_uuid(b)] or None,
    )
    return _done("已记录核实结果 / Result recorded.", "console.task", task_id=task_id)


def _statement(form: Any) -> Statement:
    """The Art. 18 record from the result form: the signed statement, the refusal and when
    the person was told (agency time), or the official death record."""
    since = form.get("statement_since") or None
    told = form.get("told_at") or ""
    try:
        told_at = (
            datetime.fromisoformat(told).replace(tzinfo=ZoneInfo(runtime().settings.timezone))
            if told
            else None
        )
    except ValueError:
        raise ValidationFailed("Give the time the person was told.", field="told_at") from None
    try:
        record = DeathRecord(form["death_record"]) if form.get("death_record") else None
    except ValueError:
        raise ValidationFailed("Choose the kind of death record.", field="death_record") from None
    return Statement(
        reason=form.get("statement_reason", ""),
        since=date.fromisoformat(since) if since and _is_date(since) else None,
        signer_name=form.get("signer_name") or None,
        signer_relationship=form.get("signer_relationship") or None,
        signature_key=form.get("signature_key") or None,
        refused_to_sign=form.get("refused_to_sign") == "1",
        told_on_spot=form.get("told_on_spot") == "1",
        told_at=told_at,
        death_record=record,
        death_record_key=form.get("death_record_key") or None,
        witnesses=tuple(w for w in form.getlist("witness") if w.strip())[:4],
    )


@bp.route("/tasks/<uuid:task_id>/home-visit", methods=["POST"])
def task_home_visit(task_id: UUID) -> Any:
    view = verification_service.get_task(ctx(), _actor(), task_id)
    try:
        reason = HomeVisitReason(request.form.get("reason", ""))
    except ValueError:
        raise ValidationFailed("Choose why a home visit is needed.", field="reason") from None
    preferred = request.form.get("preferred_on", "")
    home_visits_service.request_home_visit(
        ctx(),
        _actor(),
        view.person.id,
        reason=reason,
        contact_phone=request.form.get("contact_phone") or None,
        address_note=request.form.get("address_note") or None,
        preferred_on=date.fromisoformat(preferred) if _is_date(preferred) else None,
    )
    return _done("已登记上门服务申请 / Home visit requested.", "console.task", task_id=task_id)


@bp.route("/visits")
def visits() -> Any:
    status = request.args.get("status") or None
    page = home_visits_service.list_home_visits(
        ctx(), _actor(), status=status, page=_page_request()
    )
    # a visit that took place is closed by recording its result on its task (Art. 19)
    closing = [HomeVisitStatus.CANCELLED]
    return _list_page("console/visits.html", page, status=status, closing=closing)


@bp.route("/visits/<uuid:request_id>", methods=["POST"])
def visit_update(request_id: UUID) -> Any:
    form, version = request.form, _version()
    if form.get("action") == "schedule":
        on = form.get("scheduled_on", "")
        if not _is_date(on):
            raise ValidationFailed("Choose the day of the visit.", field="scheduled_on")
        home_visits_service.schedule_home_visit(
            ctx(), _actor(), request_id, on=date.fromisoformat(on), expected_version=version
        )
    else:
        try:
            status = HomeVisitStatus(form.get("status", ""))
        except ValueError:
            raise ValidationFailed("Choose how the visit ended.", field="status") from None
        home_visits_service.close_home_visit(
            ctx(),
            _actor(),
            request_id,
            status=status,
            outcome=form.get("outcome", ""),
            expected_version=version,
        )
    return _done("已保存 / Saved.", "console.visits")
