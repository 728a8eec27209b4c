"""The audit trail."""

from __future__ import annotations

from typing import Any

from flask import (
    render_template,
    request,
)

from api.context import ctx
from certification.services import audit as audit_service
from console.staff import _actor, _list_page, _page_request, bp


@bp.route("/audit")
def audit() -> Any:
    args = request.args
    page = audit_service.list_audit(
        ctx(),
        _actor(),
        entity_type="person" if args.get("person") else (args.get("entity_type") or None),
        entity_id=args.get("person") or args.get("entity_id") or None,
        actor_id=args.get("actor") or None,
        action=args.get("action") or None,
        page=_page_request(),
    )
    return _list_page("console/audit.html", page, people=False)


@bp.route("/audit/verify", methods=["POST"])
def audit_verify() -> Any:
    report = audit_service.verify_audit_chain(ctx(), _actor())
    return render_template("console/audit_verify.html", report=report)
