"""Who is due soon and who is overdue, in the staff member's region."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from api.auth import current_actor
from api.blueprint import Blueprint
from api.context import ctx
from api.pagination import page_body, page_request, page_schema
from api.schemas import (
    DueQuerySchema,
    DueSummarySchema,
    OverdueQuerySchema,
    PersonSummarySchema,
    SummaryQuerySchema,
)
from certification.services import periods

blp = Blueprint(
    "periods",
    __name__,
    url_prefix="/api/periods",
    description="Certification service periods (认证服务期, Art. 7-9).",
)

DuePage = page_schema(PersonSummarySchema, "DuePersonPage")


@blp.route("/due")
class Due(MethodView):
    @blp.arguments(DueQuerySchema, location="query")
    @blp.response(200, DuePage)
    def get(self, args: dict[str, Any]) -> Any:
        """People whose period ends within ``days`` days (today included), earliest first."""
        page = periods.due_within(
            ctx(),
            current_actor(),
            days=args["days"],
            region_code=args["region"],
            page=page_request(args),
        )
        return page_body(page)


@blp.route("/overdue")
class Overdue(MethodView):
    @blp.arguments(OverdueQuerySchema, location="query")
    @blp.response(200, DuePage)
    def get(self, args: dict[str, Any]) -> Any:
        """People whose period ended without a certification, longest overdue first."""
        page = periods.overdue(
            ctx(), current_actor(), region_code=args["region"], page=page_request(args)
        )
        return page_body(page)


@blp.route("/summary")
class Summary(MethodView):
    @blp.arguments(SummaryQuerySchema, location="query")
    @blp.response(200, DueSummarySchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Counts of overdue and soon-due people per district."""
        return periods.due_summary(
            ctx(), current_actor(), days=args["days"], region_code=args["region"]
        )
