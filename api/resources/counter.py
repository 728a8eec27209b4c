"""The city-wide counter (全市同城通办, Art. 5): any counter certifies anyone."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask.views import MethodView

from api.auth import current_actor
from api.blueprint import Blueprint
from api.context import ctx
from api.pagination import PageArgs, page_body, page_request, page_schema
from api.schemas import (
    CertificationSchema,
    CounterCertifiedSchema,
    CounterCertifySchema,
    CounterLookupSchema,
    CounterViewSchema,
)
from certification.services import certifications

ToReviewPage = page_schema(CertificationSchema, "CertificationToReviewPage")

blp = Blueprint(
    "counter",
    __name__,
    url_prefix="/api/counter",
    description="Counter clerks anywhere in the city look a person up by citizen ID and record a "
    "counter certification, seeing only what that needs (Art. 5).",
)


@blp.route("/lookup")
class CounterLookup(MethodView):
    @blp.arguments(CounterLookupSchema)
    @blp.response(200, CounterViewSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Find the person whose ID card is on the counter by its number and name (in the
        body, not the URL, to keep them out of access logs). Unknown number and wrong name
        answer the same 404. Returns a minimal view; the lookup is audited."""
        return certifications.counter_lookup(
            ctx(), current_actor(), data["citizen_id"], data["name"]
        )


@blp.route("/certifications")
class CounterCertifications(MethodView):
    @blp.arguments(CounterCertifySchema)
    @blp.response(201, CounterCertifiedSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Record a counter certification for the person standing at the counter, with how
        the ID card was checked. A card only looked at, or a person registered outside your
        district, leaves it for the person's district to review."""
        view, outcome = certifications.counter_certify(
            ctx(),
            current_actor(),
            data["citizen_id"],
            data["name"],
            note=data["note"],
            id_check=data["id_check"],
            reader_ref=data["reader_ref"],
        )
        return {
            "person": view,
            "certification": outcome.certification,
            "due_on": outcome.period.due_on if outcome.period else None,
            "restoration_proposed": bool(outcome.restoration_pending),
        }


review_blp = Blueprint(
    "certification_review",
    __name__,
    url_prefix="/api/certifications",
    description="Counter certifications the person's district reviews (made outside the "
    "clerk's district, or with the ID card only looked at).",
)


@review_blp.route("/to-review")
class ToReview(MethodView):
    @review_blp.arguments(PageArgs, location="query")
    @review_blp.response(200, ToReviewPage)
    def get(self, args: dict[str, Any]) -> Any:
        """Flagged counter certifications of people in your region, oldest first."""
        return page_body(
            certifications.certifications_to_review(ctx(), current_actor(), page_request(args))
        )


@review_blp.route("/<uuid:certification_id>/review")
class Reviewed(MethodView):
    @review_blp.response(200, CertificationSchema)
    def post(self, certification_id: UUID) -> Any:
        """Found right (a clerk of the person's region other than its author). A wrong one
        is annulled instead: ``POST /api/persons/{id}/certifications/{cid}/annulment``."""
        return certifications.clear_review(ctx(), current_actor(), certification_id)
