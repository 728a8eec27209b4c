"""Tip-offs under investigation."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from flask import (
    abort,
    redirect,
    render_template,
    request,
    url_for,
)

from api.context import ctx, runtime
from certification.errors import (
    ValidationFailed,
)
from certification.services import supervision as supervision_service
from certification.supervision import CATEGORY_LABELS, RewardScale
from console.public import report_from
from console.staff import _actor, _done, _is_uuid, _list_page, _page_request, _version, bp


def _scale() -> RewardScale:
    return runtime().settings.reward_scale()


@bp.route("/tipoffs")
def tipoffs() -> Any:
    status = request.args.get("status") or None
    page = supervision_service.list_tip_offs(ctx(), _actor(), status=status, page=_page_request())
    return _list_page(
        "console/tipoffs.html",
        page,
        people=False,
        status=status,
        labels=CATEGORY_LABELS,
        intake_channels=supervision_service.STAFF_INTAKE_CHANNELS,
    )


@bp.route("/tipoffs/lookup")
def tipoff_lookup() -> Any:
    tip = supervision_service.find_by_reference(ctx(), _actor(), request.args.get("reference", ""))
    return redirect(url_for("console.tipoff", tip_id=tip.id))


@bp.route("/tipoffs/intake", methods=["POST"])
def tipoff_intake() -> Any:
    form = request.form
    tip = supervision_service.take_in(
        ctx(), _actor(), report_from(form, channel=form.get("channel", ""))
    )
    return _done(
        f"已登记，请告知举报人编号 {tip.reference} / Entered: tell the reporter the reference "
        f"{tip.reference}.",
        "console.tipoff",
        tip_id=tip.id,
    )


@bp.route("/tipoffs/<uuid:tip_id>")
def tipoff(tip_id: UUID) -> Any:
    tip, reporter = supervision_service.get(ctx(), _actor(), tip_id)
    assignee = ctx().uow.accounts.get(tip.assigned_to) if tip.assigned_to else None
    scale = _scale()
    person = ctx().uow.persons.get(tip.person_id) if tip.person_id and not tip.is_closed else None
    return render_template(
        "console/tipoff.html",
        tip=tip,
        benefits=person.active() if person else [],
        reporter=reporter,
        assignee=assignee,
        labels=CATEGORY_LABELS,
        mine=tip.assigned_to == _actor().account_id,
        scale=scale.table(),
        scale_min=scale.minimum_fen,
        scale_max=scale.maximum_fen,
    )


def _yuan_to_fen(text: str, field: str) -> int | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    if not re.fullmatch(r"\d{1,12}(\.\d{1,2})?", text):
        raise ValidationFailed("Write the amount in yuan, like 12345.60.", field=field)
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


@bp.route("/tipoffs/<uuid:tip_id>/<action>", methods=["POST"])
def tipoff_action(tip_id: UUID, action: str) -> Any:
    actor, form, version = _actor(), request.form, _version()
    if action == "assign":
        account = ctx().uow.accounts.by_username(form.get("investigator", "").strip())
        if account is None:
            raise ValidationFailed("No account has this user name.", field="investigator")
        supervision_service.assign(
            ctx(), actor, tip_id, investigator_id=account.id, expected_version=version
        )
    elif action == "findings":
        supervision_service.record_findings(
            ctx(), actor, tip_id, findings=form.get("findings", ""), expected_version=version
        )
    elif action == "close":
        verdict = form.get("substantiated")
        if verdict not in ("yes", "no"):
            raise ValidationFailed("Say whether the report was substantiated.")
        supervision_service.close(
            ctx(),
            actor,
            _scale(),
            tip_id,
            substantiated=verdict == "yes",
            recovered_fen=_yuan_to_fen(form.get("recovered", ""), "recovered"),
            expected_version=version,
            suspend=[UUID(s) for s in form.getlist("suspend") if _is_uuid(s)],
        )
    elif action in ("confirm", "refuse"):
        supervision_service.confirm_closure(
            ctx(),
            actor,
            _scale(),
            tip_id,
            confirm=action == "confirm",
            note=form.get("note") or None,
            expected_version=version,
        )
    elif action == "pay":
        supervision_service.pay_reward(
            ctx(), actor, tip_id, payment_ref=form.get("payment_ref", ""), expected_version=version
        )
    else:
        abort(404)
    return _done("已保存 / Saved.", "console.tipoff", tip_id=tip_id)
