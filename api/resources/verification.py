"""Township verification (Art. 15-20), home visits (Art. 19), the ledger, national uploads."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import marshmallow as ma
from flask.views import MethodView

from api.auth import current_actor
from api.blueprint import Blueprint
from api.context import ctx, runtime
from api.ledger import ledger_response
from api.pagination import cursor_field, page_body, page_request, page_schema
from api.sniff import sniff
from api.uploads import upload_stream
from certification.errors import ValidationFailed
from certification.services import home_visits, ledger, national_upload, verification
from certification.verification import (
    DeathRecord,
    HomeVisitReason,
    HomeVisitStatus,
    Statement,
    TaskRoute,
    TaskStatus,
    VerificationChannel,
    VerificationResult,
)

f = ma.fields
v = ma.validate

MAX_EVIDENCE_BYTES = 60 * 1024 * 1024

tasks_blp = Blueprint(
    "verification",
    __name__,
    url_prefix="/api/verification",
    description="Verification tasks for townships (待核实人员核实, Art. 15-20): a 3-month deadline "
    "from receipt, work injury via the employer first, results with evidence, the ledger.",
)
visits_blp = Blueprint(
    "home_visits",
    __name__,
    url_prefix="/api",
    description="Home-visit requests from the elderly, sick or disabled (上门服务, Art. 19).",
)
national_blp = Blueprint(
    "national",
    __name__,
    url_prefix="/api/national",
    description="Upload batches for the national cross-region certification system (Art. 21).",
)


class TaskSchema(ma.Schema):
    id = f.UUID()
    person_id = f.UUID()
    district_code = f.String()
    township_code = f.String(allow_none=True)
    route = f.Enum(TaskRoute, by_value=True)
    received_on = f.Date()
    deadline_on = f.Date()
    overdue = f.Method("_overdue")
    source = f.String(metadata={"example": "comparison_run"})
    source_id = f.UUID(allow_none=True)
    reason = f.String(
        allow_none=True, metadata={"description": "Why the person is on the township's list."}
    )
    status = f.Enum(TaskStatus, by_value=True)
    result = f.Enum(VerificationResult, by_value=True, allow_none=True)
    channel = f.Enum(VerificationChannel, by_value=True, allow_none=True)
    evidence = f.List(f.String())
    statement = f.Dict(allow_none=True)
    note = f.String(allow_none=True)
    employer_note = f.String(allow_none=True)
    recorded_at = f.DateTime(allow_none=True)
    version = f.Integer()

    def _overdue(self, task: Any) -> bool:
        return bool(task.is_overdue(runtime().clock.today()))


class TaskDetailSchema(TaskSchema):
    person_name = f.String()
    citizen_id = f.String()
    phone = f.String(allow_none=True)
    address = f.String(allow_none=True)


class TaskQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    status = f.Enum(TaskStatus, by_value=True, load_default=None)
    overdue = f.Boolean(load_default=False)
    limit = f.Integer(load_default=50, validate=v.Range(1, 200))
    cursor = cursor_field()


class StatementSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    reason = f.String(
        required=True, validate=v.Length(2, 500), metadata={"example": "2026年10月病故"}
    )
    since = f.Date(load_default=None)
    signer_name = f.String(load_default=None, validate=v.Length(max=64))
    signer_relationship = f.String(load_default=None, validate=v.Length(max=32))
    signature_key = f.String(
        load_default=None,
        validate=v.Length(max=300),
        metadata={"description": "Evidence key of the photographed signed form."},
    )
    refused_to_sign = f.Boolean(load_default=False)
    told_on_spot = f.Boolean(load_default=False)
    told_at = f.AwareDateTime(load_default=None)
    death_record = f.Enum(
        DeathRecord,
        by_value=True,
        load_default=None,
        metadata={
            "description": "For a death with nobody to sign: the official record that stands "
            "for the statement (a village record needs two witnesses)."
        },
    )
    death_record_key = f.String(
        load_default=None,
        validate=v.Length(max=300),
        metadata={"description": "Evidence key of the photographed record."},
    )
    witnesses = f.List(
        f.String(validate=v.Length(1, 64)), load_default=list, validate=v.Length(max=4)
    )

    @ma.post_load
    def _statement(self, data: dict[str, Any], **_: Any) -> Statement:
        return Statement(**{**data, "witnesses": tuple(data["witnesses"])})


def benefits_concerned() -> f.List[Any]:
    return f.List(
        f.UUID(),
        load_default=None,
        validate=v.Length(max=10),
        metadata={
            "description": "For a loss: the benefit(s) concerned (required when the person has "
            "several, unless a death on an official record)."
        },
    )


def evidence_keys() -> f.List[str]:
    """Keys returned by the evidence upload of a task."""
    return f.List(
        f.String(
            validate=[
                v.Length(max=300),
                v.Regexp(
                    r"^(?!.*(?:^|/)\.\.(?:/|$))(?!.*//)[A-Za-z0-9][A-Za-z0-9._/-]*$",
                    error="An evidence key is one returned by the evidence upload.",
                ),
            ]
        ),
        load_default=list,
        validate=v.Length(max=50),
        metadata={"description": "Keys returned by the evidence upload."},
    )


class ResultSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    result = f.Enum(
        VerificationResult, by_value=True, required=True, metadata={"example": "qualified"}
    )
    channel = f.Enum(
        VerificationChannel, by_value=True, required=True, metadata={"example": "home_visit"}
    )
    evidence = evidence_keys()
    statement = f.Nested(StatementSchema, load_default=None, allow_none=True)
    note = f.String(load_default=None, validate=v.Length(max=2000))
    benefits = benefits_concerned()
    certification_id = f.UUID(
        load_default=None,
        metadata={
            "description": "channel app: the person's app certification the result relies on"
        },
    )


class RouteSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    note = f.String(required=True, validate=v.Length(2, 500), metadata={"example": "单位已注销"})


class ProposalRefSchema(ma.Schema):
    id = f.UUID()
    kind = f.String()
    entitlement_id = f.UUID()
    status = f.String()


class ResultOutcomeSchema(ma.Schema):
    task = f.Nested(TaskSchema)
    proposals = f.List(
        f.Nested(ProposalRefSchema),
        metadata={"description": "Suspensions or restorations now waiting for the agency."},
    )


TaskPage = page_schema(TaskSchema, "VerificationTaskPage")


@tasks_blp.route("/tasks")
class Tasks(MethodView):
    @tasks_blp.arguments(TaskQuerySchema, location="query")
    @tasks_blp.response(200, TaskPage)
    def get(self, args: dict[str, Any]) -> Any:
        """Tasks in your region by deadline; ``overdue=true`` for the late ones."""
        return page_body(
            verification.list_tasks(
                ctx(),
                current_actor(),
                status=args["status"].value if args["status"] else None,
                overdue=args["overdue"],
                page=page_request(args),
            )
        )


def _task_etag(task_id: UUID) -> dict[str, Any]:
    view = verification.get_task(ctx(), current_actor(), task_id)
    return {"id": str(task_id), "version": view.task.version}


@tasks_blp.route("/tasks/<uuid:task_id>")
class TaskById(MethodView):
    @tasks_blp.etag
    @tasks_blp.response(200, TaskDetailSchema)
    def get(self, task_id: UUID) -> Any:
        """One task with the person's name, ID, phone and address, and why they are on the
        list."""
        view = verification.get_task(ctx(), current_actor(), task_id)
        tasks_blp.set_etag({"id": str(task_id), "version": view.task.version})
        return _TaskDetail(view)


class _TaskDetail:
    """The task's fields plus who the person is."""

    def __init__(self, view: verification.TaskView) -> None:
        self._task = view.task
        self.person_name = view.person.name
        self.citizen_id = view.person.citizen_id
        self.phone = view.person.phone
        self.address = view.person.address

    def __getattr__(self, name: str) -> Any:
        return getattr(self._task, name)


class EvidenceKeySchema(ma.Schema):
    key = f.String(metadata={"example": "verification/3f2c…/9a1b….jpg"})


# Content decides the type, never the file name (Art. 16 evidence: photo or video).
@tasks_blp.route("/tasks/<uuid:task_id>/evidence")
class TaskEvidence(MethodView):
    @tasks_blp.response(201, EvidenceKeySchema)
    def post(self, task_id: UUID) -> Any:
        """Upload a photo or video (multipart field ``file``; JPEG, PNG, HEIC, MP4/MOV, WebM,
        checked by content). Returns the key to cite in the result. Kept 3 years (Art. 20)."""
        rt = runtime()
        with upload_stream("file", MAX_EVIDENCE_BYTES) as (stream, length, _declared):
            head = stream.read(16)
            kind = sniff(head)
            if kind is None:
                raise ValidationFailed(
                    "The file is not a photo or video this service keeps (JPEG, PNG, HEIC, MP4, "
                    "MOV or WebM).",
                    field="file",
                )
            stream.seek(0)
            key = verification.store_evidence(
                ctx(),
                current_actor(),
                rt.object_store,
                task_id,
                stream=stream,
                length=length,
                content_type=kind[0],
                extension=kind[1],
            )
        return {"key": key}


@tasks_blp.route("/tasks/<uuid:task_id>/result")
class TaskResult(MethodView):
    @tasks_blp.etag
    @tasks_blp.arguments(ResultSchema)
    @tasks_blp.response(200, ResultOutcomeSchema)
    def put(self, data: dict[str, Any], task_id: UUID) -> Any:
        """Record the result. *qualified* certifies the person (photo/video evidence needed
        unless through the app) and proposes restoring suspended benefits; *lost* needs the
        guardian's or agent's signed statement or the on-the-spot notice (Art. 18);
        *unreachable* needs failed contact attempts by several means. Needs If-Match."""
        current = _task_etag(task_id)
        tasks_blp.check_etag(current)
        task, proposals = verification.record_result(
            ctx(),
            current_actor(),
            runtime().object_store,
            task_id,
            result=data["result"],
            channel=data["channel"],
            evidence=data["evidence"],
            statement=data["statement"],
            note=data["note"],
            expected_version=current["version"],
            benefits=data["benefits"],
            relies_on=data["certification_id"],
        )
        tasks_blp.set_etag({"id": str(task_id), "version": task.version})
        return {"task": task, "proposals": proposals}


@tasks_blp.route("/tasks/<uuid:task_id>/route")
class TaskRouteChange(MethodView):
    @tasks_blp.etag
    @tasks_blp.arguments(RouteSchema)
    @tasks_blp.response(200, TaskSchema)
    def put(self, data: dict[str, Any], task_id: UUID) -> Any:
        """The employer cannot confirm (Art. 16): the township takes over with a new 3-month
        deadline. Needs If-Match."""
        current = _task_etag(task_id)
        tasks_blp.check_etag(current)
        task = verification.employer_could_not_confirm(
            ctx(), current_actor(), task_id, note=data["note"], expected_version=current["version"]
        )
        tasks_blp.set_etag({"id": str(task_id), "version": task.version})
        return task


class OverdueSchema(ma.Schema):
    district_code = f.String()
    overdue = f.Integer()


@tasks_blp.route("/overdue")
class Overdue(MethodView):
    @tasks_blp.response(200, OverdueSchema(many=True))
    def get(self) -> Any:
        """Open tasks past their deadline, per district."""
        rows = verification.overdue_by_district(ctx(), current_actor())
        return [{"district_code": d, "overdue": n} for d, n in rows]


class LedgerQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    format = f.String(load_default="csv", validate=v.OneOf(["csv", "xlsx"]))
    since = f.Date(load_default=None, metadata={"description": "Received on or after."})
    until = f.Date(load_default=None, metadata={"description": "Received on or before."})


@tasks_blp.route("/ledger")
class Ledger(MethodView):
    @tasks_blp.arguments(LedgerQuerySchema, location="query")
    @tasks_blp.response(200, description="The ledger file (CSV in UTF-8 with BOM, or XLSX).")
    def get(self, args: dict[str, Any]) -> Any:
        """The ledger (业务台账) of your region's verification tasks, one row per task."""
        rows = ledger.ledger_rows(ctx(), current_actor(), since=args["since"], until=args["until"])
        return ledger_response(rows, args["format"])


class HomeVisitSchema(ma.Schema):
    id = f.UUID()
    person_id = f.UUID()
    district_code = f.String()
    township_code = f.String(allow_none=True)
    reason = f.Enum(HomeVisitReason, by_value=True)
    requested_via = f.String()
    contact_phone = f.String(allow_none=True)
    address_note = f.String(allow_none=True)
    preferred_on = f.Date(allow_none=True)
    status = f.Enum(HomeVisitStatus, by_value=True)
    scheduled_on = f.Date(allow_none=True)
    outcome = f.String(allow_none=True)
    task_id = f.UUID(allow_none=True)
    created_at = f.DateTime()
    version = f.Integer()


class HomeVisitCreateSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    reason = f.Enum(HomeVisitReason, by_value=True, required=True, metadata={"example": "elderly"})
    contact_phone = f.String(load_default=None, validate=v.Length(max=32))
    address_note = f.String(load_default=None, validate=v.Length(max=500))
    preferred_on = f.Date(load_default=None)


class ScheduleSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    scheduled_on = f.Date(required=True)


class CloseSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    status = f.Enum(HomeVisitStatus, by_value=True, required=True, metadata={"example": "done"})
    outcome = f.String(required=True, validate=v.Length(2, 2000))
    result = f.Enum(
        VerificationResult,
        by_value=True,
        load_default=None,
        metadata={
            "description": "What the visit found; required to close it as done. It is "
            "recorded on the person's verification task like any township result (evidence "
            "uploaded to that task, the Art. 18 statement for a loss)."
        },
    )
    evidence = evidence_keys()
    statement = f.Nested(StatementSchema, load_default=None, allow_none=True)
    benefits = benefits_concerned()


class VisitQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    status = f.Enum(HomeVisitStatus, by_value=True, load_default=None)
    limit = f.Integer(load_default=50, validate=v.Range(1, 200))
    cursor = cursor_field()


HomeVisitPage = page_schema(HomeVisitSchema, "HomeVisitPage")


class ReferralSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    reason = f.String(
        required=True,
        validate=v.Length(4, 1000),
        metadata={"example": "邻居来电反映老人已长期不在家"},
    )


@tasks_blp.route("/referrals/<uuid:person_id>")
class Referral(MethodView):
    @tasks_blp.arguments(ReferralSchema)
    @tasks_blp.response(201, TaskSchema)
    @tasks_blp.alt_response(409, description="The person already has an open task.")
    def post(self, data: dict[str, Any], person_id: UUID) -> Any:
        """Send a person to township verification by hand (a clerk of their region), with
        the reason the township will see."""
        return verification.refer_by_hand(ctx(), current_actor(), person_id, reason=data["reason"])


@visits_blp.route("/persons/<uuid:person_id>/home-visits")
class PersonHomeVisits(MethodView):
    @visits_blp.arguments(HomeVisitCreateSchema)
    @visits_blp.response(201, HomeVisitSchema)
    def post(self, data: dict[str, Any], person_id: UUID) -> Any:
        """Ask for a home visit: the person, a bound family member, or a clerk taking a call."""
        return home_visits.request_home_visit(ctx(), current_actor(), person_id, **data)


@visits_blp.route("/home-visits")
class HomeVisits(MethodView):
    @visits_blp.arguments(VisitQuerySchema, location="query")
    @visits_blp.response(200, HomeVisitPage)
    def get(self, args: dict[str, Any]) -> Any:
        """Requests in your region, oldest first."""
        return page_body(
            home_visits.list_home_visits(
                ctx(),
                current_actor(),
                status=args["status"].value if args["status"] else None,
                page=page_request(args),
            )
        )


@visits_blp.route("/home-visits/<uuid:request_id>/schedule")
class HomeVisitSchedule(MethodView):
    @visits_blp.arguments(ScheduleSchema)
    @visits_blp.response(200, HomeVisitSchema)
    def put(self, data: dict[str, Any], request_id: UUID) -> Any:
        """Schedule (or move) the visit."""
        return home_visits.schedule_home_visit(
            ctx(), current_actor(), request_id, on=data["scheduled_on"]
        )


@visits_blp.route("/home-visits/<uuid:request_id>/closure")
class HomeVisitClosure(MethodView):
    @visits_blp.arguments(CloseSchema)
    @visits_blp.response(200, HomeVisitSchema)
    def put(self, data: dict[str, Any], request_id: UUID) -> Any:
        """Close the request as done (after the visit, with what it found: recorded on the
        person's verification task, which closes) or cancelled, saying what happened."""
        found = (
            home_visits.VisitResult(
                result=data["result"],
                evidence=data["evidence"],
                statement=data["statement"],
                benefits=data["benefits"],
            )
            if data["result"] is not None
            else None
        )
        return home_visits.close_home_visit(
            ctx(),
            current_actor(),
            request_id,
            status=data["status"],
            outcome=data["outcome"],
            found=found,
            store=runtime().object_store,
        )


class BatchSchema(ma.Schema):
    id = f.UUID()
    district_code = f.String()
    created_at = f.DateTime()
    items = f.Integer()
    file_key = f.String()
    sha256 = f.String()
    status = f.String(metadata={"description": "prepared | sent"})
    transport = f.String(allow_none=True)
    sent_at = f.DateTime(allow_none=True)
    receipt = f.String(allow_none=True)
    error = f.String(allow_none=True)


class BatchCreateSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    district_code = f.String(
        required=True, validate=v.Regexp(r"^\d{6}$"), metadata={"example": "500103"}
    )


@national_blp.route("/batches")
class NationalBatches(MethodView):
    @national_blp.arguments(BatchCreateSchema)
    @national_blp.response(201, BatchSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Collect the district's people restored after the national system had marked them
        lost into a CSV batch (citizen_id, name, district_code, suspended_on, restored_on,
        national_record_ids), keep it and send it through the configured transport."""
        rt = runtime()
        return national_upload.build_national_batch(
            ctx(),
            current_actor(),
            rt.object_store,
            rt.national_transport,
            district_code=data["district_code"],
        )
