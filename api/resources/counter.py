"""The city-wide counter (全市同城通办, Art. 5): any counter certifies anyone."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from api.auth import current_actor
from api.blueprint import Blueprint
from api.context import ctx
from api.schemas import (
    CounterCertifiedSchema,
    CounterCertifySchema,
    CounterLookupSchema,
    CounterViewSchema,
)
from certification.services import certifications

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
        """Record a counter certification for the person standing at the counter."""
        view, outcome = certifications.counter_certify(
            ctx(), current_actor(), data["citizen_id"], data["name"], note=data["note"]
        )
        return {
            "person": view,
            "certification": outcome.certification,
            "due_on": outcome.period.due_on if outcome.period else None,
            "restoration_proposed": bool(outcome.restoration_pending),
        }
