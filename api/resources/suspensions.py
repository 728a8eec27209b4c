"""Suspensions (暂停) and restorations with arrears (恢复、补发)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask.views import MethodView

from api.auth import current_actor
from api.blueprint import Blueprint
from api.context import ctx
from api.pagination import page_body, page_request, page_schema
from api.schemas import (
    RestorationCreateSchema,
    RestorationSchema,
    SuspensionQuerySchema,
    SuspensionSchema,
)
from certification.services import suspensions

blp = Blueprint(
    "suspensions",
    __name__,
    url_prefix="/api/suspensions",
    description="Suspended benefits and their restoration with arrears (Art. 9, 21).",
)

SuspensionPage = page_schema(SuspensionSchema, "SuspensionPage")


@blp.route("")
class Suspensions(MethodView):
    @blp.arguments(SuspensionQuerySchema, location="query")
    @blp.response(200, SuspensionPage)
    def get(self, args: dict[str, Any]) -> Any:
        """Suspensions of people in your region; filter by status or person."""
        page = suspensions.list_suspensions(
            ctx(),
            current_actor(),
            status=args["status"],
            person_id=args["person_id"],
            page=page_request(args),
        )
        return page_body(page)


@blp.route("/<uuid:suspension_id>")
class SuspensionById(MethodView):
    @blp.response(200, SuspensionSchema)
    def get(self, suspension_id: UUID) -> Any:
        """One suspension, with its evidence and, once lifted, the arrears paid."""
        return suspensions.get_suspension(ctx(), current_actor(), suspension_id)


@blp.route("/<uuid:suspension_id>/restoration")
class Restoration(MethodView):
    @blp.arguments(RestorationCreateSchema)
    @blp.response(201, RestorationSchema)
    @blp.alt_response(409, description="Already lifted, or no certification since suspension.")
    def post(self, data: dict[str, Any], suspension_id: UUID) -> Any:
        """Restore the benefit and compute the arrears (months whose first day fell inside the
        suspension, at the amount in force each month). Needs a certification dated on or
        after the suspension."""
        return suspensions.restore(ctx(), current_actor(), suspension_id, **data)
