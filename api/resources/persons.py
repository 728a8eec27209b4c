"""People receiving benefits, and what hangs off them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask.views import MethodView

from api.auth import current_actor
from api.blueprint import Blueprint
from api.context import ctx
from api.pagination import PageArgs, page_body, page_request, page_schema
from api.schemas import (
    AnnulmentDecisionSchema,
    AnnulmentRequestSchema,
    CertificationCreateSchema,
    CertificationOutcomeSchema,
    CertificationSchema,
    ContactAttemptCreateSchema,
    ContactAttemptSchema,
    EntitlementCreateSchema,
    EntitlementSchema,
    PeriodStatusSchema,
    PersonCreateSchema,
    PersonQuerySchema,
    PersonSchema,
    PersonSummarySchema,
    PersonUpdateSchema,
    ReachabilitySchema,
    SuspensionCreateSchema,
    SuspensionSchema,
)
from certification.services import (
    annulments,
    certifications,
    contacts,
    entitlements,
    periods,
    persons,
    suspensions,
)

blp = Blueprint(
    "persons",
    __name__,
    url_prefix="/api/persons",
    description="People receiving benefits (待遇领取人员): records, benefits, certifications, "
    "contact attempts, suspensions. Staff see only people registered in their region.",
)

PersonPage = page_schema(PersonSummarySchema, "PersonPage")
CertificationPage = page_schema(CertificationSchema, "CertificationPage")


@blp.route("")
class Persons(MethodView):
    @blp.arguments(PersonQuerySchema, location="query")
    @blp.response(200, PersonPage)
    def get(self, args: dict[str, Any]) -> Any:
        """List people in your region (a stable order); filter by region or the whole name."""
        page = persons.list_persons(
            ctx(),
            current_actor(),
            region_code=args["region"],
            name=args["name"],
            page=page_request(args),
        )
        return page_body(page)

    @blp.arguments(PersonCreateSchema)
    @blp.response(201, PersonSchema)
    @blp.alt_response(409, description="A person with this citizen ID number exists.")
    def post(self, data: dict[str, Any]) -> Any:
        """Register a person (validates the citizen ID and the household registration)."""
        return persons.register_person(ctx(), current_actor(), **data)


@blp.route("/<uuid:person_id>")
class PersonById(MethodView):
    @blp.etag
    @blp.response(200, PersonSchema)
    def get(self, person_id: UUID) -> Any:
        """One person with benefits and current period. Send its ETag back in If-Match to edit."""
        return persons.get_person(ctx(), current_actor(), person_id)

    @blp.etag
    @blp.arguments(PersonUpdateSchema)
    @blp.response(200, PersonSchema)
    def patch(self, data: dict[str, Any], person_id: UUID) -> Any:
        """Correct name, phone, address or household registration (If-Match required,
        reason required)."""
        actor = current_actor()
        current = persons.get_person(ctx(), actor, person_id)
        blp.check_etag(current, PersonSchema)
        clear_phone = "phone" in data and data["phone"] in (None, "")
        return persons.update_person(
            ctx(),
            actor,
            person_id,
            expected_version=current.version,
            reason=data["reason"],
            name=data.get("name"),
            phone=None if clear_phone else data.get("phone"),
            region_code=data.get("region_code"),
            clear_phone=clear_phone,
            address=data.get("address"),
        )


@blp.route("/<uuid:person_id>/entitlements")
class PersonEntitlements(MethodView):
    @blp.response(200, EntitlementSchema(many=True))
    def get(self, person_id: UUID) -> Any:
        """The person's benefits."""
        return entitlements.list_entitlements(ctx(), current_actor(), person_id)

    @blp.arguments(EntitlementCreateSchema)
    @blp.response(201, EntitlementSchema)
    def post(self, data: dict[str, Any], person_id: UUID) -> Any:
        """Record a benefit: kind, recipient role (and a dependant's relationship), start
        date and monthly amount in fen. The certification period is recomputed."""
        return entitlements.grant_entitlement(ctx(), current_actor(), person_id, **data)


@blp.route("/<uuid:person_id>/period")
class PersonPeriod(MethodView):
    @blp.response(200, PeriodStatusSchema)
    def get(self, person_id: UUID) -> Any:
        """The current certification period: due date, days left, state."""
        return periods.period_status(ctx(), current_actor(), person_id)


@blp.route("/<uuid:person_id>/certifications")
class PersonCertifications(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, CertificationPage)
    def get(self, args: dict[str, Any], person_id: UUID) -> Any:
        """Certifications, newest first."""
        page = certifications.list_certifications(
            ctx(), current_actor(), person_id, page_request(args)
        )
        return page_body(page)

    @blp.arguments(CertificationCreateSchema)
    @blp.response(201, CertificationOutcomeSchema)
    def post(self, data: dict[str, Any], person_id: UUID) -> Any:
        """Record a certification obtained through an Art. 12 channel; restarts the period
        of all the person's benefits (Art. 8, 16)."""
        return certifications.record_certification(ctx(), current_actor(), person_id, **data)


@blp.route("/<uuid:person_id>/certifications/<uuid:certification_id>/annulment")
class CertificationAnnulment(MethodView):
    @blp.arguments(AnnulmentRequestSchema)
    @blp.response(202, CertificationSchema)
    def post(self, data: dict[str, Any], person_id: UUID, certification_id: UUID) -> Any:
        """Ask to annul a wrong certification, with reasons (district/county or municipal
        agency clerks). It still counts until another clerk confirms."""
        return annulments.request_annulment(
            ctx(), current_actor(), person_id, certification_id, reason=data["reason"]
        )

    @blp.arguments(AnnulmentDecisionSchema)
    @blp.response(200, CertificationSchema)
    def put(self, data: dict[str, Any], person_id: UUID, certification_id: UUID) -> Any:
        """A second agency clerk confirms (the certification stops counting: the period is
        recomputed, its receipt no longer checks, the person is told) or refuses. The clerk
        who asked cannot answer."""
        return annulments.decide_annulment(
            ctx(),
            current_actor(),
            person_id,
            certification_id,
            confirm=data["confirm"],
            note=data["note"],
        )


@blp.route("/<uuid:person_id>/contact-attempts")
class PersonContacts(MethodView):
    @blp.response(200, ContactAttemptSchema(many=True))
    def get(self, person_id: UUID) -> Any:
        """Every recorded attempt to reach the person."""
        return contacts.list_contact_attempts(ctx(), current_actor(), person_id)

    @blp.arguments(ContactAttemptCreateSchema)
    @blp.response(201, ContactAttemptSchema)
    def post(self, data: dict[str, Any], person_id: UUID) -> Any:
        """Record an attempt by phone, SMS, WeChat or visit, and whether it reached them."""
        return contacts.record_contact_attempt(ctx(), current_actor(), person_id, **data)


@blp.route("/<uuid:person_id>/reachability")
class PersonReachability(MethodView):
    @blp.response(200, ReachabilitySchema)
    def get(self, person_id: UUID) -> Any:
        """Whether the person counts as unreachable by several means in this period (Art. 9)."""
        return contacts.reachability(ctx(), current_actor(), person_id)


@blp.route("/<uuid:person_id>/suspensions")
class PersonSuspensions(MethodView):
    @blp.arguments(SuspensionCreateSchema)
    @blp.response(201, SuspensionSchema(many=True))
    @blp.alt_response(409, description="The procedure does not allow this suspension now.")
    def post(self, data: dict[str, Any], person_id: UUID) -> Any:
        """Suspend benefits, with a reason (district/county or municipal clerks).

        ``period_expired_unreachable`` needs an expired period and failed contact
        attempts by several means (Art. 9); other reasons need an explanation.
        """
        return suspensions.suspend(ctx(), current_actor(), person_id, **data)
