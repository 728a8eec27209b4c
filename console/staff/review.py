"""The review queue: failed self-service certifications for staff to decide."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import (
    render_template,
    request,
)

from api.context import ctx, runtime
from certification.services import review as review_service
from certification.vocabulary import StaffRole
from console.staff import (
    _actor,
    _done,
    _list_page,
    _page_request,
    _stream_object,
    _version,
    bp,
    role_required,
)


@bp.route("/review")
@role_required(StaffRole.REVIEWER)
def review_queue() -> Any:
    status = request.args.get("status", "open") or None
    page = review_service.list_cases(ctx(), _actor(), status=status, page=_page_request())
    return _list_page("console/review_list.html", page, status=status)


@bp.route("/review/<uuid:case_id>")
def review_case(case_id: UUID) -> Any:
    view = review_service.get_case(ctx(), _actor(), runtime().object_store, case_id)
    verdict = (view.attempt.verdict if view.attempt else None) or {}
    return render_template(
        "console/review_case.html",
        v=view,
        checks=_checks(verdict),
        frames=[name for name in view.links if name.startswith("frame_")],
    )


def _checks(verdict: dict[str, Any]) -> list[dict[str, Any]]:
    """Each check of the verdict with its score against its threshold, as the engine said."""
    return [c for c in verdict.get("checks") or [] if isinstance(c, dict)]


@bp.route("/review/<uuid:case_id>/decision", methods=["POST"])
@role_required(StaffRole.REVIEWER)
def review_decide(case_id: UUID) -> Any:
    review_service.decide_case(
        ctx(),
        _actor(),
        case_id,
        decision=request.form.get("decision", ""),
        comment=request.form.get("comment", ""),
        expected_version=_version(),
    )
    return _done("已记录审核决定 / Decision recorded.", "console.review_case", case_id=case_id)


@bp.route("/review/<uuid:case_id>/media/<name>")
def review_media(case_id: UUID, name: str) -> Any:
    return _stream_object(review_service.evidence_object(ctx(), _actor(), case_id, name))
