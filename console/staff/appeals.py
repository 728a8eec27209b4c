"""Appeals for the district's agency clerks: the nearest deadline first, decided with the
reasons the person reads."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import request

from api.context import ctx
from certification.errors import ValidationFailed
from certification.services import appeals as appeals_service
from console.staff import _actor, _done, _list_page, _page_request, _version, bp


@bp.route("/appeals")
def appeals() -> Any:
    status = request.args.get("status", "open") or None
    overdue = request.args.get("overdue") == "1"
    page = appeals_service.list_appeals(
        ctx(), _actor(), status=status, overdue=overdue, page=_page_request()
    )
    return _list_page(
        "console/appeals.html",
        page,
        status=status or "",
        overdue=overdue,
        today=ctx().clock.today(),
    )


@bp.route("/appeals/<uuid:appeal_id>", methods=["POST"])
def appeal_decide(appeal_id: UUID) -> Any:
    outcome = request.form.get("outcome")
    if outcome not in ("upheld", "dismissed"):
        raise ValidationFailed("Uphold or dismiss the appeal.", field="outcome")
    appeals_service.decide_appeal(
        ctx(),
        _actor(),
        appeal_id,
        uphold=outcome == "upheld",
        reason=request.form.get("reason", ""),
        expected_version=_version(),
    )
    return _done("已答复，已通知申诉人 / Decided; the person is told.", "console.appeals")
