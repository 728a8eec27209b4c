"""Department feeds, comparison runs and the suspension/restoration proposals they produce."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import marshmallow as ma
from flask import request
from flask.views import MethodView

from api.auth import current_actor
from api.blueprint import Blueprint
from api.context import ctx, runtime
from api.pagination import (
    cursor_field,
    decode_cursor,
    encode_cursor,
    page_body,
    page_request,
    page_schema,
)
from api.uploads import upload_stream
from certification.comparison import ComparisonList, EventKind
from certification.feeds import COLUMNS, DEPARTMENTS, REQUIRED_COLUMNS
from certification.services import feeds, proposals, runs
from certification.verification import ProposalKind, ProposalStatus

f = ma.fields
v = ma.validate

MAX_FEED_BYTES = 20 * 1024**3  # 20 GB: streamed to storage, never held in memory

feeds_blp = Blueprint(
    "feeds",
    __name__,
    url_prefix="/api/feeds",
    description="Department feeds (部门数据) for the information comparison (Art. 11). Columns: "
    + ", ".join(COLUMNS)
    + f" (required: {', '.join(REQUIRED_COLUMNS)}). Event kinds: "
    + ", ".join(k.value for k in EventKind)
    + ". Source departments: "
    + ", ".join(DEPARTMENTS)
    + ". CSV in UTF-8 (BOM allowed) or GBK/GB18030, or Parquet.",
)
runs_blp = Blueprint(
    "comparison",
    __name__,
    url_prefix="/api/comparison/runs",
    description="Comparison runs (信息比对, Art. 11-14): every active benefit in one of three "
    "lists, with the evidence that put it there.",
)
proposals_blp = Blueprint(
    "proposals",
    __name__,
    url_prefix="/api/proposals",
    description="Suspensions and restorations waiting for a district/county clerk (Art. 13, 21): "
    "one click to confirm, a reason to dismiss.",
)


class FeedImportSchema(ma.Schema):
    id = f.UUID()
    file_name = f.String()
    file_format = f.String()
    encoding = f.String(allow_none=True)
    sha256 = f.String(allow_none=True)
    status = f.String(metadata={"description": "queued | running | done | refused | failed"})
    rows_read = f.Integer()
    rows_accepted = f.Integer(metadata={"description": "New events kept."})
    rows_duplicate = f.Integer(metadata={"description": "Already known (same source record)."})
    rows_refused = f.Integer()
    problems_by_code = f.Dict(metadata={"example": {"bad_citizen_id": 2, "future_date": 1}})
    ignored_columns = f.List(f.String())
    message = f.String(allow_none=True)
    started_at = f.DateTime()
    finished_at = f.DateTime(allow_none=True)


class ProblemSchema(ma.Schema):
    row_number = f.Integer(metadata={"description": "CSV: line number (header = 1)."})
    code = f.String(metadata={"example": "bad_citizen_id"})
    column_name = f.String(allow_none=True)
    message = f.String()
    raw = f.String(allow_none=True)


class ProblemQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    after_row = f.Integer(load_default=0, validate=v.Range(min=0))
    limit = f.Integer(load_default=200, validate=v.Range(1, 1000))


class PageQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    limit = f.Integer(load_default=50, validate=v.Range(1, 200))
    cursor = cursor_field()


FeedImportPage = page_schema(FeedImportSchema, "FeedImportPage")


@feeds_blp.route("")
class Feeds(MethodView):
    @feeds_blp.arguments(PageQuerySchema, location="query")
    @feeds_blp.response(200, FeedImportPage)
    def get(self, args: dict[str, Any]) -> Any:
        """Imports, oldest first (operators)."""
        return page_body(feeds.list_imports(ctx(), current_actor(), page_request(args)))

    @feeds_blp.response(202, FeedImportSchema)
    def post(self) -> Any:
        """Upload a feed file (multipart field ``file``, or the raw body with ``X-File-Name``).
        It is stored, then imported by the worker; poll the import for its report."""
        actor = current_actor()
        feeds.require_feed_operator(actor)
        rt = runtime()
        with upload_stream("file", MAX_FEED_BYTES) as (stream, length, content_type):
            name = (
                request.files["file"].filename
                if request.mimetype == "multipart/form-data" and "file" in request.files
                else request.headers.get("X-File-Name", "feed")
            ) or "feed"
            return feeds.receive_feed(
                ctx(),
                actor,
                rt.object_store,
                rt.task_queue,
                stream=stream,
                length=length,
                content_type=content_type,
                file_name=name,
            )


@feeds_blp.route("/<uuid:import_id>")
class FeedById(MethodView):
    @feeds_blp.response(200, FeedImportSchema)
    def get(self, import_id: UUID) -> Any:
        """One import's report: counts, refused rows by reason, ignored columns."""
        return feeds.get_import(ctx(), current_actor(), import_id)


@feeds_blp.route("/<uuid:import_id>/problems")
class FeedProblems(MethodView):
    @feeds_blp.arguments(ProblemQuerySchema, location="query")
    @feeds_blp.response(200, ProblemSchema(many=True))
    def get(self, args: dict[str, Any], import_id: UUID) -> Any:
        """Refused rows with their row number and reason, in file order."""
        return feeds.import_problems(
            ctx(), current_actor(), import_id, after_row=args["after_row"], limit=args["limit"]
        )


class RunSchema(ma.Schema):
    id = f.UUID()
    status = f.String(metadata={"description": "queued | running | applied | failed"})
    progress = f.String(allow_none=True, metadata={"example": "classifying 10500000 benefits"})
    window_start = f.Date()
    window_end = f.Date()
    scope_code = f.String(metadata={"description": "The city (500000) or one district."})
    started_by_label = f.String(allow_none=True)
    started_at = f.DateTime()
    finished_at = f.DateTime(allow_none=True)
    counts = f.Dict(
        metadata={"example": {"qualified": 6729716, "lost": 119136, "to_verify": 3651148}}
    )
    by_district = f.Dict(metadata={"description": "Counts per list per district."})
    applied = f.Dict(
        metadata={
            "example": {"certified": 120, "suspension_proposed": 3, "verification_dispatched": 41}
        }
    )
    timings = f.Dict()
    error = f.String(allow_none=True)
    previous_run_id = f.UUID(allow_none=True)
    entries_removed_at = f.DateTime(
        allow_none=True,
        metadata={"description": "When the run's lists were removed (its counts remain)."},
    )


class RunCreateSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    window_start = f.Date(
        load_default=None,
        metadata={
            "description": "Default: the day after the same date a year before the end "
            "(Art. 12 read as the last twelve months; or 1 January, as configured)."
        },
    )
    window_end = f.Date(load_default=None, metadata={"description": "Default: today."})
    district_code = f.String(
        load_default=None,
        validate=v.Regexp(r"^\d{6}$"),
        metadata={
            "description": "Compare one district only (default: the city). Operators choose; "
            "a district/county agency clerk runs only their own district."
        },
    )


RunPage = page_schema(RunSchema, "ComparisonRunPage")


@runs_blp.route("")
class Runs(MethodView):
    @runs_blp.arguments(PageQuerySchema, location="query")
    @runs_blp.response(200, RunPage)
    def get(self, args: dict[str, Any]) -> Any:
        """Runs, oldest first."""
        return page_body(runs.list_runs(ctx(), current_actor(), page_request(args)))

    @runs_blp.arguments(RunCreateSchema)
    @runs_blp.response(202, RunSchema)
    @runs_blp.alt_response(409, description="Another run is still queued or running.")
    def post(self, data: dict[str, Any]) -> Any:
        """Start a run (operators). Poll it: ``status`` and ``progress`` follow the job. When
        the task queue is down the run stays queued and is sent as soon as it is back."""
        return runs.start_run(ctx(), current_actor(), runtime().task_queue, **data)


@runs_blp.route("/<uuid:run_id>")
class RunById(MethodView):
    @runs_blp.response(200, RunSchema)
    def get(self, run_id: UUID) -> Any:
        """One run: status, progress, counts per list and per district, what was applied."""
        return runs.get_run(ctx(), current_actor(), run_id)


class EventSchema(ma.Schema):
    id = f.Integer()
    event_kind = f.String()
    event_date = f.Date()
    source_department = f.String()
    source_record_id = f.String()
    detail = f.String(allow_none=True)


class EntrySchema(ma.Schema):
    entitlement_id = f.UUID()
    person_id = f.UUID()
    district_code = f.String()
    township_code = f.String(allow_none=True)
    benefit_kind = f.String()
    list = f.String()
    certified_in_window = f.Boolean()
    alive_count = f.Integer()
    lost_count = f.Integer()
    alive_events = f.List(f.Nested(EventSchema), metadata={"description": "Newest three."})
    lost_events = f.List(f.Nested(EventSchema), metadata={"description": "Newest three."})


class EntryPageSchema(ma.Schema):
    items = f.List(f.Nested(EntrySchema))
    next_cursor = f.String(allow_none=True)


class EntryQuerySchema(PageQuerySchema):
    list = f.Enum(ComparisonList, by_value=True, load_default=None)


LISTS_REMOVED = (
    "The run's lists were removed (only each scope's newest runs keep theirs); the run's "
    "record, counts and outcomes remain."
)


@runs_blp.route("/<uuid:run_id>/entries")
class RunEntries(MethodView):
    @runs_blp.arguments(EntryQuerySchema, location="query")
    @runs_blp.response(200, EntryPageSchema)
    @runs_blp.alt_response(409, description=LISTS_REMOVED)
    def get(self, args: dict[str, Any], run_id: UUID) -> Any:
        """A run's list in your region, with the evidence events."""
        after = decode_cursor(args["cursor"])
        if after is not None and len(after) != 2:
            after = None
        rows = runs.run_entries(
            ctx(),
            current_actor(),
            run_id,
            list_name=args["list"].value if args["list"] else None,
            after=(after[0], after[1]) if after else None,
            limit=args["limit"] + 1,
        )
        more = len(rows) > args["limit"]
        rows = rows[: args["limit"]]
        last = rows[-1] if more and rows else None
        cursor = (str(last["person_id"]), str(last["entitlement_id"])) if last else None
        return {"items": rows, "next_cursor": encode_cursor(cursor)}


class ChangeSchema(ma.Schema):
    entitlement_id = f.UUID()
    person_id = f.UUID()
    district_code = f.String()
    previous_list = f.String(allow_none=True)
    list = f.String()


class ChangesSchema(ma.Schema):
    previous_run_id = f.UUID(allow_none=True)
    items = f.List(f.Nested(ChangeSchema))
    next_cursor = f.String(allow_none=True)


class ChangeQuerySchema(PageQuerySchema):
    previous = f.UUID(load_default=None, metadata={"description": "Default: the run before."})


@runs_blp.route("/<uuid:run_id>/changes")
class RunChanges(MethodView):
    @runs_blp.arguments(ChangeQuerySchema, location="query")
    @runs_blp.response(200, ChangesSchema)
    @runs_blp.alt_response(409, description=LISTS_REMOVED)
    def get(self, args: dict[str, Any], run_id: UUID) -> Any:
        """Who moved between lists since the previous run (or is new)."""
        after = decode_cursor(args["cursor"])
        previous, rows = runs.run_changes(
            ctx(),
            current_actor(),
            run_id,
            previous_id=args["previous"],
            after=after[0] if after else None,
            limit=args["limit"] + 1,
        )
        more = len(rows) > args["limit"]
        rows = rows[: args["limit"]]
        cursor = (str(rows[-1]["entitlement_id"]),) if more and rows else None
        return {"previous_run_id": previous, "items": rows, "next_cursor": encode_cursor(cursor)}


class ProposalSchema(ma.Schema):
    id = f.UUID()
    kind = f.Enum(ProposalKind, by_value=True)
    person_id = f.UUID()
    entitlement_id = f.UUID()
    district_code = f.String()
    source = f.String(metadata={"example": "comparison_run"})
    source_id = f.UUID(allow_none=True)
    reason = f.String()
    evidence = f.Dict()
    status = f.Enum(ProposalStatus, by_value=True)
    auto_applied = f.Boolean()
    decided_by = f.UUID(allow_none=True)
    decided_at = f.DateTime(allow_none=True)
    decision_note = f.String(allow_none=True)
    suspension_id = f.UUID(allow_none=True)
    arrears_fen = f.Integer(allow_none=True)
    created_at = f.DateTime()
    version = f.Integer()


class ProposalQuerySchema(PageQuerySchema):
    status = f.Enum(ProposalStatus, by_value=True, load_default=None)
    kind = f.Enum(ProposalKind, by_value=True, load_default=None)


class ProposalDecisionSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    confirm = f.Boolean(required=True, metadata={"example": True})
    note = f.String(
        load_default=None,
        validate=v.Length(max=2000),
        metadata={"description": "Required (4+ characters) to dismiss."},
    )


ProposalPage = page_schema(ProposalSchema, "ProposalPage")


@proposals_blp.route("")
class Proposals(MethodView):
    @proposals_blp.arguments(ProposalQuerySchema, location="query")
    @proposals_blp.response(200, ProposalPage)
    def get(self, args: dict[str, Any]) -> Any:
        """Proposals in your region, oldest first."""
        return page_body(
            proposals.list_proposals(
                ctx(),
                current_actor(),
                status=args["status"].value if args["status"] else None,
                kind=args["kind"].value if args["kind"] else None,
                page=page_request(args),
            )
        )


def _proposal_etag(proposal_id: UUID) -> dict[str, Any]:
    proposal = proposals.get_proposal(ctx(), current_actor(), proposal_id)
    return {"id": str(proposal_id), "version": proposal.version}


@proposals_blp.route("/<uuid:proposal_id>")
class ProposalById(MethodView):
    @proposals_blp.etag
    @proposals_blp.response(200, ProposalSchema)
    def get(self, proposal_id: UUID) -> Any:
        """One proposal with its evidence."""
        proposal = proposals.get_proposal(ctx(), current_actor(), proposal_id)
        proposals_blp.set_etag({"id": str(proposal_id), "version": proposal.version})
        return proposal


@proposals_blp.route("/<uuid:proposal_id>/decision")
class ProposalDecision(MethodView):
    @proposals_blp.etag
    @proposals_blp.arguments(ProposalDecisionSchema)
    @proposals_blp.response(200, ProposalSchema)
    def put(self, data: dict[str, Any], proposal_id: UUID) -> Any:
        """Confirm (suspend, or restore with arrears) or dismiss with a reason (a dismissed
        suspension sends the person to township verification). Needs If-Match."""
        current = _proposal_etag(proposal_id)
        proposals_blp.check_etag(current)
        proposal = proposals.decide_proposal(
            ctx(),
            current_actor(),
            proposal_id,
            confirm=data["confirm"],
            note=data["note"],
            expected_version=current["version"],
        )
        proposals_blp.set_etag({"id": str(proposal_id), "version": proposal.version})
        return proposal
