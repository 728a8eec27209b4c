"""Family bindings, the staff review queue, and enrolment photos."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from uuid import UUID

import marshmallow as ma
from flask import request
from flask.views import MethodView

from api.auth import current_actor
from api.blueprint import Blueprint
from api.context import ctx, runtime
from api.pagination import cursor_field, page_body, page_request, page_schema
from api.schemas import ReasonSchema, citizen_id_field
from api.uploads import upload_stream
from certification.services import family, review, selfservice

f = ma.fields
MAX_ENROLMENT_PHOTO_BYTES = 10 * 1024 * 1024  # an ID photo; the console's limit too


class BindingRecordedSchema(ma.Schema):
    status = f.String(metadata={"example": "recorded"})
    message = f.String()


class BindingSchema(ma.Schema):
    id = f.UUID()
    family_account_id = f.UUID()
    person_id = f.UUID()
    relationship = f.String()
    status = f.String()
    decided_how = f.String(allow_none=True)
    requested_at = f.DateTime()
    decided_at = f.DateTime(allow_none=True)
    revoked_at = f.DateTime(allow_none=True)
    person_name = f.String(
        allow_none=True,
        metadata={"description": "For the family member: the masked name", "example": "王*国"},
    )


class BindingRequestSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    citizen_id = citizen_id_field(required=True)
    name = f.String(
        required=True, validate=ma.validate.Length(1, 64), metadata={"example": "王建国"}
    )
    relationship = f.String(
        required=True,
        validate=ma.validate.OneOf(family.RELATIONSHIPS),
        metadata={"example": "child"},
    )


class StaffBindingDecisionSchema(ReasonSchema):
    approve = f.Boolean(required=True, metadata={"example": True})


class StatusQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    status = f.String(load_default=None)
    limit = f.Integer(load_default=50, validate=ma.validate.Range(1, 200))
    cursor = cursor_field()


family_blp = Blueprint(
    "family",
    __name__,
    url_prefix="/api/family",
    description="Family members who help a beneficiary certify (亲属协助).",
)


@family_blp.route("/bindings")
class Bindings(MethodView):
    @family_blp.response(200, BindingSchema(many=True))
    def get(self) -> Any:
        """Your bindings: as the family member (with the person's masked name), or as the
        beneficiary."""
        actor = current_actor()
        bindings = family.my_bindings(ctx(), actor)
        names = family.bound_names(ctx(), actor, bindings)
        return [{**asdict(b), "person_name": names.get(b.person_id)} for b in bindings]

    @family_blp.arguments(BindingRequestSchema)
    @family_blp.response(202, BindingRecordedSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Ask to help a beneficiary (their citizen ID number, name and your relationship).

        The answer is always "recorded", whether or not the ID and name belong to a
        beneficiary; the binding appears in your list once the person or staff confirm it.
        At most 10 requests a day per account.
        """
        actor = current_actor()  # at most 10 a day (api/limits.py)
        family.request_binding(ctx(), actor, **data)
        return {"status": "recorded", "message": family.BINDING_RECORDED}


@family_blp.route("/bindings/<uuid:binding_id>/confirmation")
class Confirm(MethodView):
    @family_blp.response(200, BindingSchema)
    def post(self, binding_id: UUID) -> Any:
        """The beneficiary agrees to be helped by this family member."""
        return family.confirm_binding(ctx(), current_actor(), binding_id)


@family_blp.route("/bindings/<uuid:binding_id>/revocation")
class Revoke(MethodView):
    @family_blp.arguments(ReasonSchema)
    @family_blp.response(200, BindingSchema)
    def post(self, data: dict[str, Any], binding_id: UUID) -> Any:
        """End a binding (the family member, the beneficiary or staff)."""
        return family.revoke_binding(ctx(), current_actor(), binding_id, reason=data["reason"])


staff_blp = Blueprint(
    "staff_family",
    __name__,
    url_prefix="/api/staff/family-bindings",
    description="Binding requests in your region, for staff approval.",
)
BindingPage = page_schema(BindingSchema, "BindingPage")


@staff_blp.route("")
class StaffBindings(MethodView):
    @staff_blp.arguments(StatusQuerySchema, location="query")
    @staff_blp.response(200, BindingPage)
    def get(self, args: dict[str, Any]) -> Any:
        """Binding requests of people in your region."""
        return page_body(
            family.list_for_staff(
                ctx(), current_actor(), status=args["status"], page=page_request(args)
            )
        )


@staff_blp.route("/<uuid:binding_id>/decision")
class StaffBindingDecision(MethodView):
    @staff_blp.arguments(StaffBindingDecisionSchema)
    @staff_blp.response(200, BindingSchema)
    def post(self, data: dict[str, Any], binding_id: UUID) -> Any:
        """Approve or reject a binding request (for example after seeing both at the counter)."""
        return family.staff_decide_binding(
            ctx(), current_actor(), binding_id, approve=data["approve"], reason=data["reason"]
        )


review_blp = Blueprint(
    "review",
    __name__,
    url_prefix="/api/review/cases",
    description="Failed or blocked self-service certifications, for staff review (人工审核).",
)


class CaseSchema(ma.Schema):
    id = f.UUID()
    person_id = f.UUID()
    reason = f.String(metadata={"description": "failed | too_many_attempts | processing_error"})
    attempt_id = f.UUID(allow_none=True)
    status = f.String(metadata={"description": "open | approved | rejected | retake_requested"})
    decided_by = f.UUID(allow_none=True)
    decided_at = f.DateTime(allow_none=True)
    comment = f.String(allow_none=True)
    certification_id = f.UUID(allow_none=True)
    opened_at = f.DateTime()
    version = f.Integer()


class CaseDetailSchema(CaseSchema):
    person = f.Dict()
    attempt = f.Dict(allow_none=True)
    links = f.Dict(
        metadata={"description": "short-lived links to the video, frames and enrolled photo"}
    )


class CaseDecisionSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    decision = f.String(
        required=True,
        validate=ma.validate.OneOf(review.DECISIONS),
        metadata={"example": "approve"},
    )
    comment = f.String(
        required=True,
        validate=ma.validate.Length(4, 1000),
        metadata={"example": "compared with the ID photo: same person, poor light at home"},
    )


CasePage = page_schema(CaseSchema, "ReviewCasePage")


def _case_detail(view: review.CaseView) -> dict[str, Any]:
    data: dict[str, Any] = {name: getattr(view.case, name) for name in CaseSchema().fields}
    p = view.person
    data["person"] = {
        "id": str(p.id),
        "name": p.name,
        "birth_date": p.birth_date.isoformat(),
        "region_code": p.region_code,
        "due_on": p.due_on.isoformat() if p.due_on else None,
    }
    a = view.attempt
    data["attempt"] = (
        None
        if a is None
        else {
            "id": str(a.id),
            "decision": a.decision,
            "reasons": a.reasons,
            "verdict": a.verdict,
            "created_at": a.created_at.isoformat(),
            "assisted_by": str(view.assisted_by) if view.assisted_by else None,
        }
    )
    data["links"] = view.links
    return data


@review_blp.route("")
class Cases(MethodView):
    @review_blp.arguments(StatusQuerySchema, location="query")
    @review_blp.response(200, CasePage)
    def get(self, args: dict[str, Any]) -> Any:
        """Cases of people in your region, oldest first (reviewers)."""
        return page_body(
            review.list_cases(
                ctx(), current_actor(), status=args["status"], page=page_request(args)
            )
        )


@review_blp.route("/<uuid:case_id>")
class CaseById(MethodView):
    @review_blp.etag
    @review_blp.response(200, CaseDetailSchema)
    def get(self, case_id: UUID) -> Any:
        """One case with the reasons, every check's score and short-lived evidence links."""
        review_blp.set_etag(_case_etag(case_id))
        return _case_detail(
            review.get_case(ctx(), current_actor(), runtime().object_store, case_id)
        )


def _case_etag(case_id: UUID) -> dict[str, Any]:
    return {"id": str(case_id), "version": review.case_version(ctx(), case_id)}


@review_blp.route("/<uuid:case_id>/decision")
class CaseDecision(MethodView):
    @review_blp.etag
    @review_blp.arguments(CaseDecisionSchema)
    @review_blp.response(200, CaseSchema)
    def put(self, data: dict[str, Any], case_id: UUID) -> Any:
        """Approve (a counter-style certification by you), reject (to township verification) or
        ask for a retake. Send the case's ETag in If-Match: two reviewers cannot both decide."""
        current = _case_etag(case_id)
        review_blp.check_etag(current)
        case = review.decide_case(
            ctx(),
            current_actor(),
            case_id,
            decision=data["decision"],
            comment=data["comment"],
            expected_version=current["version"] or -1,
        )
        review_blp.set_etag({"id": str(case_id), "version": case.version})
        return case


enrolment_blp = Blueprint(
    "enrolment",
    __name__,
    url_prefix="/api/persons",
    description="Enrolled photos (登记照片) for face certification.",
)


class EnrolmentRequestSchema(ma.Schema):
    id = f.UUID()
    person_id = f.UUID()
    status = f.String(metadata={"description": "pending | accepted | refused"})
    reason = f.String(allow_none=True)
    detail = f.String(allow_none=True)
    created_at = f.DateTime()
    decided_at = f.DateTime(allow_none=True)


class TemplateSummarySchema(ma.Schema):
    id = f.UUID()
    model = f.String()
    model_version = f.String()
    source = f.String()
    active = f.Boolean()
    created_at = f.DateTime()


class EnrolmentStateSchema(ma.Schema):
    templates = f.List(f.Nested(TemplateSummarySchema))
    latest_request = f.Nested(EnrolmentRequestSchema, allow_none=True)


@enrolment_blp.route("/<uuid:person_id>/enrolment")
class Enrolment(MethodView):
    @enrolment_blp.response(200, EnrolmentStateSchema)
    def get(self, person_id: UUID) -> Any:
        """The person's active templates and the latest enrolment request."""
        return selfservice.enrolment_state(ctx(), current_actor(), person_id)

    @enrolment_blp.doc(
        requestBody={
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "photo": {"type": "string", "format": "binary"},
                            "consent_ref": {
                                "type": "string",
                                "description": "the signed consent form's number (not needed "
                                "while the person's consent is in force)",
                            },
                        },
                    }
                },
                "image/jpeg": {},
            }
        }
    )
    @enrolment_blp.response(202, EnrolmentRequestSchema)
    def put(self, person_id: UUID) -> Any:
        """Set the enrolled photo (the agency's ID photo); a worker makes the template. The
        person's consent to face processing is recorded with it: the number of the form they
        signed (``consent_ref``, a form field or query parameter), unless a consent is in
        force already."""
        rt = runtime()
        consent_ref = request.form.get("consent_ref") or request.args.get("consent_ref")
        with upload_stream("photo", MAX_ENROLMENT_PHOTO_BYTES) as (stream, length, content_type):
            return selfservice.request_enrolment(
                ctx(),
                current_actor(),
                rt.object_store,
                rt.task_queue,
                person_id,
                photo=stream,
                length=length,
                content_type=content_type,
                consent_ref=consent_ref,
            )
