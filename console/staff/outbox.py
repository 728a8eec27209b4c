"""The notice outbox for operators: what could not be delivered, and sending it again."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import request

from api.context import ctx
from certification.notices import DeliveryStatus
from certification.services import notices as notices_service
from certification.states import state_named
from console.staff import _actor, _done, _list_page, _page_request, bp


@bp.route("/outbox")
def outbox() -> Any:
    status = state_named(DeliveryStatus, request.args.get("status") or "dead")
    page = notices_service.list_deliveries(ctx(), _actor(), status=status, page=_page_request())
    backlog = notices_service.backlog(ctx(), _actor())
    return _list_page(
        "console/outbox.html",
        page,
        people=False,
        backlog=backlog,
        status=status.value if status else "",
    )


@bp.route("/outbox/<uuid:delivery_id>/send-again", methods=["POST"])
def outbox_send_again(delivery_id: UUID) -> Any:
    notices_service.send_again(ctx(), _actor(), delivery_id)
    return _done("已重新排队 / Queued again.", "console.outbox", status="pending")
