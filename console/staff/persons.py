"""People: search by citizen ID, phone or name; the record with what a district or township
clerk does for one person (contact attempts, a referral to verification, a certification
by hand, suspension and restoration, the phone and address); and the city-wide counter
(Art. 5 全市同城通办), where a counter clerk anywhere certifies whoever stands there."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from flask import abort, flash, render_template, request

from api.context import ctx, runtime
from certification.errors import NotFound, ValidationFailed
from certification.ports import PageRequest
from certification.services import annulments as annulments_service
from certification.services import certifications as certifications_service
from certification.services import contacts as contacts_service
from certification.services import family as family_service
from certification.services import persons as persons_service
from certification.services import selfservice as selfservice_service
from certification.services import suspensions as suspensions_service
from certification.services import verification as verification_service
from certification.vocabulary import (
    STAFF_RECORDABLE_CHANNELS,
    CertificationChannel,
    ContactChannel,
    ContactOutcome,
    SuspensionReason,
    SuspensionStatus,
)
from console.staff import (
    _actor,
    _chosen,
    _done,
    _is_date,
    _is_uuid,
    _next_link,
    _page_request,
    _record_contact,
    _uploaded,
    _version,
    bp,
)


@bp.route("/persons")
def persons() -> Any:
    query = request.args.get("q", "").strip()
    page = persons_service.search_people(ctx(), _actor(), query, _page_request()) if query else None
    return render_template(
        "console/persons.html",
        q=query,
        items=page.items if page else [],
        next_link=_next_link(page) if page else None,
    )


@bp.route("/persons/<uuid:person_id>")
def person(person_id: UUID) -> Any:
    actor = _actor()
    found = persons_service.get_person(ctx(), actor, person_id)
    return render_template(
        "console/person.html",
        p=found,
        period=found.period(ctx().config.period),
        certifications=certifications_service.list_certifications(
            ctx(), actor, person_id, PageRequest(limit=10)
        ).items,
        contacts=contacts_service.list_contact_attempts(ctx(), actor, person_id)[-20:],
        suspensions=suspensions_service.list_suspensions(
            ctx(),
            actor,
            status=SuspensionStatus.IN_FORCE,
            person_id=person_id,
            page=PageRequest(limit=20),
        ).items,
        tasks=ctx().uow.tasks.open_for_person(person_id),
        channels=sorted(STAFF_RECORDABLE_CHANNELS, key=lambda c: c.value),
        contact_channels=list(ContactChannel),
        contact_outcomes=list(ContactOutcome),
        reasons=list(SuspensionReason),
        today=ctx().clock.today(),
        enrolment=selfservice_service.enrolment_state(ctx(), actor, person_id),
        bindings=family_service.bindings_of(ctx(), actor, person_id),
    )


@bp.route("/persons/<uuid:person_id>/enrolment", methods=["POST"])
def person_enrolment(person_id: UUID) -> Any:
    """The agency's ID photo of the person (checked by content; a worker makes the template
    and refuses an unusable photo with its reason)."""
    not_a_photo = "The file is not a JPEG or PNG photo; its content was checked, not its name."
    stream, length, kind, _extension = _uploaded("photo", "Choose the person's photo.", not_a_photo)
    if kind not in ("image/jpeg", "image/png"):  # a video or a HEIC file is not an ID photo
        raise ValidationFailed(not_a_photo, field="photo")
    rt = runtime()
    selfservice_service.request_enrolment(
        ctx(),
        _actor(),
        rt.object_store,
        rt.task_queue,
        person_id,
        photo=stream,
        length=length,
        content_type=kind,
        consent_ref=request.form.get("consent_ref"),
    )
    return _done(
        "照片已提交，正在生成人脸模板 / Photo received; the face template is being made.",
        "console.person",
        person_id=person_id,
    )


def _day(field: str) -> date | None:
    text = request.form.get(field, "")
    return date.fromisoformat(text) if _is_date(text) else None


@bp.route("/persons/<uuid:person_id>/<action>", methods=["POST"])
def person_action(person_id: UUID, action: str) -> Any:
    actor, form = _actor(), request.form
    if action == "contact":
        _record_contact(person_id)
        message = "已记录联系 / Contact attempt recorded."
    elif action == "refer":
        verification_service.refer_by_hand(ctx(), actor, person_id, reason=form.get("reason", ""))
        message = "已转乡镇核实 / Sent to township verification."
    elif action == "certify":
        channel = _chosen(CertificationChannel, "channel", "Choose how the person was certified.")
        evidence = (form.get("evidence") or "").strip()
        recorded = certifications_service.record_certification(
            ctx(),
            actor,
            person_id,
            channel=channel,
            certified_at=None,
            evidence=[evidence] if evidence else None,
            note=(form.get("note") or "").strip()[:1000] or None,
            source_ref=None,
        )
        message = "已记录认证 / Certification recorded." + (
            " 已提请恢复暂停的待遇 / Restoration proposed for the suspended benefits."
            if recorded.restorations
            else ""
        )
    elif action == "suspend":
        reason = _chosen(SuspensionReason, "reason", "Choose the reason for the suspension.")
        suspensions_service.suspend(
            ctx(),
            actor,
            person_id,
            reason=reason,
            suspended_on=_day("suspended_on"),
            explanation=form.get("explanation", ""),
        )
        message = "已暂停 / Suspended."
    elif action == "restore":
        raw = form.get("suspension_id", "")
        if not _is_uuid(raw):
            raise ValidationFailed("Choose the suspension to lift.", field="suspension_id")
        suspensions_service.restore(
            ctx(),
            actor,
            UUID(raw),
            restored_on=_day("restored_on"),
            reason=form.get("reason", ""),
            expected_version=_version(),
        )
        message = "已恢复并计算补发 / Restored, arrears computed."
    elif action == "binding":
        raw = form.get("binding_id", "")
        if not _is_uuid(raw) or form.get("decision") not in ("approve", "reject"):
            raise ValidationFailed("Approve or reject the binding request.", field="decision")
        family_service.staff_decide_binding(
            ctx(),
            actor,
            UUID(raw),
            approve=form.get("decision") == "approve",
            reason=form.get("reason", ""),
        )
        message = "已处理绑定申请 / Binding request decided."
    elif action in ("annul", "annulment", "reviewed"):
        raw = form.get("certification_id", "")
        if not _is_uuid(raw):
            raise ValidationFailed("Choose the certification.", field="certification_id")
        if action == "annul":
            annulments_service.request_annulment(
                ctx(), actor, person_id, UUID(raw), reason=form.get("reason", "")
            )
            message = "已申请撤销，待另一名经办人复核 / Asked; another clerk confirms."
        elif action == "annulment":
            annulments_service.decide_annulment(
                ctx(), actor, person_id, UUID(raw), confirm=form.get("confirm") == "yes", note=None
            )
            message = "已处理撤销申请 / Annulment decided."
        else:
            certifications_service.clear_review(ctx(), actor, UUID(raw))
            message = "已复核 / Reviewed."
    elif action == "update":
        persons_service.update_person(
            ctx(),
            actor,
            person_id,
            expected_version=_version(),
            reason=form.get("change_reason", "") or "corrected at the console",
            phone=form.get("phone") or None,
            clear_phone=form.get("phone", None) == "",
            address=form.get("address", ""),
        )
        message = "已保存 / Saved."
    else:
        abort(404)
    return _done(message, "console.person", person_id=person_id)


@bp.route("/counter", methods=["GET", "POST"])
def counter() -> Any:
    """Look the person up by the ID card on the counter (number and name), then certify.
    A clerk outside the person's region sees only what the counter needs."""
    view = None
    form = request.form
    if request.method == "POST":
        citizen_id, name = form.get("citizen_id", ""), form.get("name", "")
        if form.get("action") == "certify":
            view, outcome = certifications_service.counter_certify(
                ctx(),
                _actor(),
                citizen_id,
                name,
                note=(form.get("note") or "").strip() or None,
                id_check=form.get("id_check", ""),
                reader_ref=form.get("reader_ref"),
            )
            due = outcome.period.due_on.isoformat() if outcome.period else "—"
            message = f"已认证，下次到期 {due} / Certified; next due {due}."
            if outcome.restoration_pending:
                message += (
                    " 暂停的待遇已提请区县恢复 / The suspended benefits' restoration now waits "
                    "for the district clerk: tell the person."
                )
            return _done(message, "console.counter")
        try:
            view = certifications_service.counter_lookup(ctx(), _actor(), citizen_id, name)
        except (NotFound, ValidationFailed) as err:
            flash(err.message, "error")  # the form stays, with what was typed
    return render_template(
        "console/counter.html",
        view=view,
        citizen_id=form.get("citizen_id", ""),
        name=form.get("name", ""),
    )
