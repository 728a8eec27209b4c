"""Appeals (申诉) and what the person and their family see of the person's record."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import marshmallow as ma
from flask.views import MethodView

from api.auth import current_actor
from api.blueprint import Blueprint
from api.context import ctx, runtime
from api.pagination import PageArgs, page_body, page_request, page_schema
from certification.appeals import MAX_STATEMENT, AppealStatus, AppealSubject, Remedy
from certification.errors import TooManyRequests
from certification.services import appeals, overview

f = ma.fields

mine_blp = Blueprint(
    "my_record",
    __name__,
    url_prefix="/api/me",
    description="The person's record as the person and a bound family member see it (due "
    "date, last certification and receipt, who will contact them), and their appeals (申诉).",
)
appeals_blp = Blueprint(
    "appeals",
    __name__,
    url_prefix="/api/appeals",
    description="Appeals for the agency clerks of the person's district (district/county or "
    "municipal level): oldest deadline first; decide with reasons (If-Match).",
)

FILINGS_PER_DAY = 10


class ForPersonArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    person_id = f.UUID(
        load_default=None,
        metadata={"description": "A family member: whom you help. The person: leave out."},
    )


class AppealSchema(ma.Schema):
    id = f.UUID()
    person_id = f.UUID()
    subject = f.Enum(AppealSubject, by_value=True)
    subject_id = f.UUID()
    statement = f.String()
    filed_via = f.String(metadata={"description": "app (the person) | family"})
    filed_at = f.DateTime()
    due_on = f.Date(metadata={"description": "answered by this day (working days)"})
    status = f.Enum(AppealStatus, by_value=True)
    decided_at = f.DateTime(allow_none=True)
    decision_reason = f.String(allow_none=True)
    remedy = f.Enum(Remedy, by_value=True, allow_none=True)
    version = f.Integer()


class StaffAppealSchema(AppealSchema):
    district_code = f.String()
    township_code = f.String(allow_none=True)
    filed_by = f.UUID(allow_none=True)
    decided_by = f.UUID(allow_none=True)


class AppealInSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    person_id = f.UUID(load_default=None, metadata={"description": "A family member: whom."})
    subject = f.Enum(AppealSubject, by_value=True, required=True)
    subject_id = f.UUID(required=True)
    statement = f.String(
        required=True,
        validate=ma.validate.Length(1, MAX_STATEMENT),
        metadata={"example": "我一直住在原址，没有出国，请重新核实"},
    )


class ContestableSchema(ma.Schema):
    subject = f.Enum(AppealSubject, by_value=True)
    subject_id = f.UUID()
    decided_on = f.Date()
    summary = f.String(metadata={"description": "what was decided (a reason code)"})


class OpenTaskSchema(ma.Schema):
    who = f.String(metadata={"description": "township | employer"})
    deadline_on = f.Date()


class VisitSchema(ma.Schema):
    id = f.UUID()
    status = f.String(attribute="status.value")
    scheduled_on = f.Date(allow_none=True)
    preferred_on = f.Date(allow_none=True)


class OverviewSchema(ma.Schema):
    person_id = f.UUID()
    name = f.String(metadata={"example": "王*国"})
    viewer = f.String(metadata={"description": "app (the person) | family"})
    standing = f.String(
        metadata={"description": "certified | due_soon | overdue | suspended | not_in_scope"}
    )
    due_on = f.Date(allow_none=True)
    last_certified_on = f.Date(allow_none=True)
    last_channel = f.String(allow_none=True)
    receipt_code = f.String(allow_none=True)
    open_tasks = f.List(f.Nested(OpenTaskSchema))
    home_visits = f.List(f.Nested(VisitSchema))
    appeals = f.List(f.Nested(AppealSchema))
    contestable = f.List(f.Nested(ContestableSchema))
    reminders_to_family = f.Boolean()


class DecisionSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    outcome = f.String(
        required=True,
        validate=ma.validate.OneOf(("upheld", "dismissed")),
        metadata={"example": "upheld"},
    )
    reason = f.String(
        required=True,
        validate=ma.validate.Length(4, 2000),
        metadata={"example": "the household register shows the person at home; record wrong"},
    )


class AppealListArgs(PageArgs):
    class Meta:
        unknown = ma.RAISE

    status = f.String(load_default=None, metadata={"description": "open | upheld | …"})
    overdue = f.Boolean(load_default=False, metadata={"description": "open past the deadline"})


AppealPage = page_schema(StaffAppealSchema, "AppealPage")


@mine_blp.route("/overview")
class MyOverview(MethodView):
    @mine_blp.arguments(ForPersonArgs, location="query")
    @mine_blp.response(200, OverviewSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The person's record: due date and standing, the last certification with its
        receipt code, who will contact them and by when, open home visits, appeals and what
        can still be contested. A family member passes ``person_id`` of a person bound to
        them and sees the same under a masked name."""
        return overview.overview(ctx(), current_actor(), args["person_id"])


@mine_blp.route("/appeals")
class MyAppeals(MethodView):
    @mine_blp.arguments(ForPersonArgs, location="query")
    @mine_blp.response(200, AppealSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """The person's appeals, newest first."""
        return appeals.appeals_of(ctx(), current_actor(), args["person_id"])

    @mine_blp.arguments(AppealInSchema)
    @mine_blp.response(201, AppealSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Contest a rejected review, a suspension in force or a loss record (within 60 days;
        the overview lists what can be contested). The district's agency answers within the
        working days shown in ``due_on``; nothing already paid is affected meanwhile. At
        most 10 a day per account."""
        actor = current_actor()
        if not runtime().limiter.allow(f"appeal:{actor.account_id}", FILINGS_PER_DAY, 86400):
            raise TooManyRequests(
                "Too many appeals today; please call 12333 or visit a service point.",
                retry_after=3600,
            )
        return appeals.file_appeal(ctx(), actor, **data)


@mine_blp.route("/appeals/<uuid:appeal_id>/withdrawal")
class Withdraw(MethodView):
    @mine_blp.response(200, AppealSchema)
    def post(self, appeal_id: UUID) -> Any:
        """Withdraw an open appeal (the person, or the family member who filed it)."""
        return appeals.withdraw_appeal(ctx(), current_actor(), appeal_id)


@appeals_blp.route("")
class AppealList(MethodView):
    @appeals_blp.arguments(AppealListArgs, location="query")
    @appeals_blp.response(200, AppealPage)
    def get(self, args: dict[str, Any]) -> Any:
        """Appeals about people in your region, the nearest deadline first."""
        return page_body(
            appeals.list_appeals(
                ctx(),
                current_actor(),
                status=args["status"],
                overdue=args["overdue"],
                page=page_request(args),
            )
        )


def _etag(appeal_id: UUID) -> dict[str, Any]:
    appeal = appeals.get_appeal(ctx(), current_actor(), appeal_id)
    return {"id": str(appeal_id), "version": appeal.version}


@appeals_blp.route("/<uuid:appeal_id>")
class AppealById(MethodView):
    @appeals_blp.etag
    @appeals_blp.response(200, StaffAppealSchema)
    def get(self, appeal_id: UUID) -> Any:
        appeal = appeals.get_appeal(ctx(), current_actor(), appeal_id)
        appeals_blp.set_etag({"id": str(appeal_id), "version": appeal.version})
        return appeal


@appeals_blp.route("/<uuid:appeal_id>/decision")
class AppealDecision(MethodView):
    @appeals_blp.etag
    @appeals_blp.arguments(DecisionSchema)
    @appeals_blp.response(200, StaffAppealSchema)
    def put(self, data: dict[str, Any], appeal_id: UUID) -> Any:
        """Uphold (the remedy is applied at once: certified, restored with arrears, sent to
        the township to verify, or the record set aside) or dismiss, with reasons the person
        reads. District/county or municipal agency clerks; needs If-Match."""
        current = _etag(appeal_id)
        appeals_blp.check_etag(current)
        appeal = appeals.decide_appeal(
            ctx(),
            current_actor(),
            appeal_id,
            uphold=data["outcome"] == "upheld",
            reason=data["reason"],
            expected_version=current["version"],
        )
        appeals_blp.set_etag({"id": str(appeal_id), "version": appeal.version})
        return appeal
