"""Comparison runs and the proposals they lead to."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from flask import (
    jsonify,
    render_template,
    request,
)

from api.context import ctx, runtime
from certification.errors import (
    ValidationFailed,
)
from certification.services import proposals as proposals_service
from certification.services import runs as runs_service
from certification.services.persons import load_people
from certification.vocabulary import AccountKind
from console.staff import PAGE, _actor, _done, _is_date, _list_page, _page_request, _version, bp


@bp.route("/runs", methods=["GET", "POST"])
def runs() -> Any:
    actor = _actor()
    if request.method == "POST":
        start = request.form.get("window_start", "")
        end = request.form.get("window_end", "")
        run = runs_service.start_run(
            ctx(),
            actor,
            runtime().task_queue,
            window_start=date.fromisoformat(start) if _is_date(start) else None,
            window_end=date.fromisoformat(end) if _is_date(end) else None,
        )
        return _done("比对已开始 / Run started.", "console.run", run_id=run.id)
    page = runs_service.list_runs(ctx(), actor, _page_request())
    can_start = actor.kind == AccountKind.OPERATOR.value
    return _list_page("console/runs.html", page, people=False, can_start=can_start)


def _run_json(run: Any) -> dict[str, Any]:
    return {
        "status": run.status,
        "progress": run.progress,
        "percent": runs_service.progress_percent(run),
        "counts": run.counts,
        "error": run.error,
    }


@bp.route("/runs/<uuid:run_id>")
def run(run_id: UUID) -> Any:
    found = runs_service.get_run(ctx(), _actor(), run_id)
    list_name = request.args.get("list") or None
    entries = (
        runs_service.run_entries(
            ctx(), _actor(), run_id, list_name=list_name, after=None, limit=PAGE
        )
        if found.is_applied and found.entries_removed_at is None
        else []
    )
    people = load_people(ctx(), (e["person_id"] for e in entries))
    return render_template(
        "console/run.html",
        run=found,
        people=people,
        percent=runs_service.progress_percent(found),
        entries=entries,
        list_name=list_name,
    )


@bp.route("/runs/<uuid:run_id>/progress.json")
def run_progress(run_id: UUID) -> Any:
    return jsonify(_run_json(runs_service.get_run(ctx(), _actor(), run_id)))


@bp.route("/proposals")
def proposals() -> Any:
    status = request.args.get("status", "proposed") or None
    kind = request.args.get("kind") or None
    page = proposals_service.list_proposals(
        ctx(), _actor(), status=status, kind=kind, page=_page_request()
    )
    expected = {p.id: proposals_service.expected_arrears(ctx(), p) for p in page.items}
    return _list_page("console/proposals.html", page, status=status, kind=kind, expected=expected)


@bp.route("/proposals/<uuid:proposal_id>", methods=["POST"])
def proposal_decide(proposal_id: UUID) -> Any:
    decision = request.form.get("decision")
    if decision not in ("confirm", "dismiss"):
        raise ValidationFailed("Confirm or dismiss the proposal.", field="decision")
    proposals_service.decide_proposal(
        ctx(),
        _actor(),
        proposal_id,
        confirm=decision == "confirm",
        note=request.form.get("note") or None,
        expected_version=_version(),
    )
    return _done("已处理 / Decided.", "console.proposals")
