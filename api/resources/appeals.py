"""What the person and their family see of the person's record, the person's consent to face
processing (人脸信息处理同意), and appeals (申诉)."""

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
from certification.services import appeals, consent, my_data, overview

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


class ConsentSchema(ma.Schema):
    notice_version = f.String(metadata={"example": "face-2026-12"})
    notice_zh = f.String()
    notice_en = f.String()
    given = f.Boolean(metadata={"description": "a consent is in force"})
    given_at = f.DateTime(allow_none=True)
    channel = f.String(allow_none=True, metadata={"description": "app | paper"})


class ConsentInSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    notice_version = f.String(
        required=True,
        validate=ma.validate.Length(1, 32),
        metadata={"description": "the version of the notice the person read and agreed to"},
    )


class WithdrawnSchema(ma.Schema):
    templates_erased = f.Integer()
    message = f.String()


def _consent_body(view: consent.ConsentView) -> dict[str, Any]:
    given = view.given
    return {
        "notice_version": view.notice_version,
        "notice_zh": view.notice_zh,
        "notice_en": view.notice_en,
        "given": given is not None,
        "given_at": given.given_at if given else None,
        "channel": given.channel.value if given else None,
    }


@mine_blp.route("/consent")
class MyConsent(MethodView):
    @mine_blp.response(200, ConsentSchema)
    def get(self) -> Any:
        """The notice on face processing, and whether your consent is on record. A face
        check is refused (409 ``consent_required``) until it is."""
        return _consent_body(consent.view(ctx(), current_actor()))

    @mine_blp.arguments(ConsentInSchema)
    @mine_blp.response(201, ConsentSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Agree to the notice you were shown (its current version)."""
        actor = current_actor()
        consent.give_in_app(ctx(), actor, notice_version=data["notice_version"])
        return _consent_body(consent.view(ctx(), actor))


@mine_blp.route("/consent/withdrawal")
class MyConsentWithdrawal(MethodView):
    @mine_blp.response(200, WithdrawnSchema)
    def post(self) -> Any:
        """Withdraw your consent: face checks stop at once, videos not yet checked are
        deleted unchecked, your face templates are erased. Certify at a service point or by a
        home visit instead."""
        erased = consent.withdraw(ctx(), current_actor(), runtime().object_store)
        return {
            "templates_erased": erased,
            "message": "已撤回。请到服务网点或预约上门认证。/ Withdrawn. Please certify at a "
            "service point or ask for a home visit.",
        }


class MyDataSchema(ma.Schema):
    person = f.Dict()
    benefits = f.List(f.Dict())
    period = f.Dict(allow_none=True)
    certifications = f.List(f.Dict())
    face_checks = f.List(f.Dict())
    consents = f.List(f.Dict())
    face_templates = f.List(
        f.Dict(), metadata={"description": "when and from what; never the template itself"}
    )
    family_bindings = f.List(f.Dict())
    appeals = f.List(f.Dict())
    generated_at = f.DateTime()


class CorrectionInSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    statement = f.String(
        required=True,
        validate=ma.validate.Length(1, MAX_STATEMENT),
        metadata={"example": "我的住址已变更为渝中区解放碑街道民族路1号"},
    )


@mine_blp.route("/data")
class MyData(MethodView):
    @mine_blp.response(200, MyDataSchema)
    def get(self) -> Any:
        """Everything held about you (PIPL Art. 45): your record, benefits, period,
        certifications, face checks, consents, face templates (metadata only), family
        bindings and appeals. Your own verified app account only."""
        actor = current_actor()
        return my_data.my_data(ctx(), actor)


@mine_blp.route("/data/corrections")
class MyCorrections(MethodView):
    @mine_blp.arguments(CorrectionInSchema)
    @mine_blp.response(201, AppealSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Ask for your details to be corrected (PIPL Art. 46): what is wrong and what is
        right. The district's clerks answer within the appeal deadline; the answer is in your
        appeals."""
        actor = current_actor()  # within the filings a day (api/limits.py)
        return appeals.ask_correction(ctx(), actor, statement=data["statement"])


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
        actor = current_actor()  # within the filings a day (api/limits.py)
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
