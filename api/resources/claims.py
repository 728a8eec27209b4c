"""Claims on a beneficiary's record: the claimant's face check, a counter clerk's link, the
staff list for fraud analysis (decision 0013)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import marshmallow as ma
from flask.views import MethodView

from api.auth import current_actor
from api.blueprint import Blueprint
from api.context import ctx, runtime
from api.pagination import PageArgs, page_body, page_request, page_schema
from api.resources.selfservice import StartedSchema, started_body
from api.schemas import CID_EXAMPLE, AccountSchema, StrictSchema
from certification.services import claims

f = ma.fields
v = ma.validate

blp = Blueprint(
    "claims",
    __name__,
    url_prefix="/api/claims",
    description="A first sign-in records a claim on the citizen ID given; the claim becomes "
    "the person's account by a face check against the agency's enrolled photo.",
)
staff_blp = Blueprint(
    "staff-claims",
    __name__,
    url_prefix="/api/staff/claims",
    description="Counter clerks confirm a claim after checking the ID card; reviewers and "
    "auditors read the claims that look like fraud.",
)


class ClaimCheckSchema(StrictSchema):
    gentle = f.Boolean(
        load_default=False, metadata={"description": "Fewer, slower actions.", "example": True}
    )


class StaffClaimSchema(ma.Schema):
    id = f.UUID()
    account_id = f.UUID()
    person_id = f.UUID(allow_none=True)
    status = f.Function(lambda c: c.status.value, metadata={"example": "pending"})
    failed_attempts = f.Integer()
    locked_until = f.DateTime(allow_none=True)
    origin = f.String(allow_none=True)
    created_at = f.DateTime()
    decided_at = f.DateTime(allow_none=True)


class CounterLinkSchema(StrictSchema):
    citizen_id_seen = f.String(
        required=True,
        validate=v.Regexp(r"^\d{17}[\dXx]$", error="A citizen ID number has 18 characters."),
        metadata={"description": "From the ID card in the clerk's hand.", "example": CID_EXAMPLE},
    )
    name_seen = f.String(required=True, validate=v.Length(1, 64), metadata={"example": "张秀兰"})


ClaimPage = page_schema(StaffClaimSchema, "ClaimPage")


@blp.route("/check")
class ClaimCheck(MethodView):
    @blp.arguments(ClaimCheckSchema)
    @blp.response(201, StartedSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Start the face check that confirms the signed-in account's claim: the same
        challenge and upload as a certification, judged against the agency's photo.

        Failed checks count against the claim (3 in a row: a day's wait; 6: a service point),
        never against the person. When the claim cannot be checked in the app the answer is
        always the same: visit a service point with the ID card.
        """
        rt = runtime()
        started = claims.start_claim_check(
            ctx(), current_actor(), rt.object_store, rt.selfservice, gentle=data["gentle"]
        )
        return started_body(started)


@staff_blp.route("")
class SuspiciousClaims(MethodView):
    @staff_blp.arguments(PageArgs, location="query")
    @staff_blp.response(200, ClaimPage)
    def get(self, args: dict[str, Any]) -> Any:
        """Claims with failed face checks, or on a citizen ID claimed more than once, in your
        region (reviewers and auditors)."""
        return page_body(claims.suspicious_claims(ctx(), current_actor(), page_request(args)))


@staff_blp.route("/<uuid:claim_id>/link")
class CounterLink(MethodView):
    @staff_blp.arguments(CounterLinkSchema)
    @staff_blp.response(200, AccountSchema)
    def post(self, data: dict[str, Any], claim_id: UUID) -> Any:
        """Confirm a claim at the counter after checking the claimant's ID card: the account
        becomes the person's own, every other claim on the person is dropped (audited)."""
        rt = runtime()
        return claims.link_at_counter(
            ctx(),
            current_actor(),
            claim_id,
            citizen_id_seen=data["citizen_id_seen"],
            name_seen=data["name_seen"],
            key=rt.settings.identity_key(),
        )
