"""Self-service certification for the app and the WeChat mini-program."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import marshmallow as ma
from flask import Response, current_app, stream_with_context
from flask.views import MethodView

from api.auth import current_actor
from api.blueprint import Blueprint
from api.context import ctx, runtime
from api.streams import StreamGate, StreamsFull
from api.uploads import upload_stream
from certification.errors import DomainError, TooManyRequests
from certification.services import selfservice
from certification.services.selfservice import SessionView, StartedSession

blp = Blueprint(
    "selfservice",
    __name__,
    url_prefix="/api/selfservice",
    description="Self-service face certification (人脸识别自助认证): a challenge, a selfie video, "
    "a decision. Beneficiaries certify themselves; bound family members may help.",
)

f = ma.fields


class StartSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    person_id = f.UUID(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Family members: whom you help.",
            "example": "3f6c2b1e-8a51-4a0e-9a43-0d3c9f2e7b10",
        },
    )
    gentle = f.Boolean(
        load_default=False, metadata={"description": "Fewer, slower actions.", "example": True}
    )


class UploadSchema(ma.Schema):
    method = f.String(
        metadata={"example": "presigned_post", "description": "presigned_post | direct"}
    )
    url = f.String(metadata={"example": "https://oss.example.gov.cn/lifecert-evidence"})
    form_fields = f.Dict(
        data_key="fields",
        attribute="fields",
        keys=f.String(),
        values=f.String(),
        metadata={
            "description": "Form fields to send before the file, unchanged.",
            "example": {
                "key": "selfservice/3f6c2b1e/9a1b77c2.video",
                "x-amz-meta-retain-until": "2029-11-27",
                "policy": "eyJleHBpcmF0aW9uIjoiMjAyNi0xMS0yN1Qw",
                "x-amz-algorithm": "AWS4-HMAC-SHA256",
                "x-amz-credential": "AKIA/20261127/us-east-1/s3/aws4_request",
                "x-amz-date": "20261127T041500Z",
                "x-amz-signature": "8b1f0c2d",
            },
        },
    )
    file_field = f.String(metadata={"example": "file"})
    max_bytes = f.Integer(metadata={"example": 41943040})
    content_types = f.List(f.String(), metadata={"example": ["video/mp4", "video/webm"]})


class StartedSchema(ma.Schema):
    session_id = f.UUID(metadata={"example": "9a1b77c2-5d0e-4b6f-8e21-4c1d2f3a4b5c"})
    nonce = f.String(
        metadata={
            "description": "Send it back with the submission; valid once.",
            "example": "q3pZb4k1yXc8vW0m2r7tS9uL5nJd6hAe",
        }
    )
    actions = f.List(f.String(), metadata={"example": ["blink", "turn_left"]})
    seconds_per_action = f.Integer(metadata={"example": 5})
    max_video_seconds = f.Integer(metadata={"example": 18})
    expires_at = f.DateTime(metadata={"example": "2026-11-27T04:25:00+00:00"})
    upload = f.Nested(UploadSchema)


class SubmitSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    nonce = f.String(
        required=True,
        validate=ma.validate.Length(1, 128),
        metadata={"example": "q3pZb4k1yXc8vW0m2r7tS9uL5nJd6hAe"},
    )
    mirrored = f.Boolean(
        load_default=False,
        metadata={"description": "The recording is mirrored.", "example": False},
    )


class StatusSchema(ma.Schema):
    session_id = f.UUID(metadata={"example": "9a1b77c2-5d0e-4b6f-8e21-4c1d2f3a4b5c"})
    state = f.String(
        metadata={
            "description": "open | pending | pass | retry | fail | expired | error",
            "example": "retry",
        }
    )
    decision = f.String(allow_none=True, metadata={"example": "retry"})
    reasons = f.List(
        f.Dict(),
        metadata={
            "description": "code, kind, zh, en for each reason",
            "example": [
                {
                    "code": "too_dark",
                    "kind": "retry",
                    "zh": "光线太暗，请到明亮处",
                    "en": "Too dark; please move to a brighter place",
                }
            ],
        },
    )
    next = f.Dict(
        metadata={
            "description": "step (wait|done|retry|review|locked|expired), zh, en",
            "example": {
                "step": "retry",
                "zh": "请按提示调整后重新录制",
                "en": "Please adjust as shown and record again",
            },
        }
    )
    attempt_id = f.UUID(allow_none=True)
    certification_id = f.UUID(allow_none=True)


def started_body(result: StartedSession) -> dict[str, Any]:
    s = result.session
    upload: dict[str, Any]
    if result.upload is not None:
        upload = {
            "method": "presigned_post",
            "url": result.upload.url,
            "fields": result.upload.fields,
        }
    else:
        upload = {
            "method": "direct",
            "url": f"/api/selfservice/sessions/{s.id}/video",
            "fields": {},
        }
    upload.update(
        file_field="file", max_bytes=result.max_bytes, content_types=list(selfservice.VIDEO_TYPES)
    )
    return {
        "session_id": s.id,
        "nonce": s.nonce,
        "actions": s.actions,
        "seconds_per_action": s.seconds_per_action,
        "max_video_seconds": s.max_video_seconds,
        "expires_at": s.expires_at,
        "upload": upload,
    }


def _reasons(view: SessionView) -> list[dict[str, str]]:
    if view.attempt is None:
        return []
    explained = {
        r["code"]: r for r in view.attempt.verdict.get("reasons", []) if isinstance(r, dict)
    }
    return [
        explained.get(code, {"code": code, "kind": "", "zh": "", "en": ""})
        for code in view.attempt.reasons
    ]


def status_body(view: SessionView) -> dict[str, Any]:
    return {
        "session_id": view.session.id,
        "state": view.state,
        "decision": view.attempt.decision if view.attempt else None,
        "reasons": _reasons(view),
        "next": {"step": view.next_step, "zh": view.next_zh, "en": view.next_en},
        "attempt_id": view.attempt.id if view.attempt else None,
        "certification_id": view.attempt.certification_id if view.attempt else None,
    }


@blp.route("/sessions")
class Sessions(MethodView):
    @blp.arguments(StartSchema)
    @blp.response(201, StartedSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Start a certification: the actions to perform, in order, and where to upload."""
        rt = runtime()
        result = selfservice.start_session(
            ctx(),
            current_actor(),
            rt.object_store,
            rt.selfservice,
            person_id=data["person_id"],
            gentle=data["gentle"],
        )
        return started_body(result)


@blp.route("/sessions/<uuid:session_id>")
class SessionById(MethodView):
    @blp.response(200, StatusSchema)
    def get(self, session_id: UUID) -> Any:
        """Where the certification stands, and what to do next (poll every second or two)."""
        return status_body(selfservice.session_status(ctx(), current_actor(), session_id))


@blp.route("/sessions/<uuid:session_id>/video")
class SessionVideo(MethodView):
    @blp.doc(
        requestBody={
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
                "video/mp4": {},
            }
        }
    )
    @blp.response(201, ma.Schema.from_dict({"size": f.Integer()}, name="UploadedSchema"))
    def put(self, session_id: UUID) -> Any:
        """The fallback upload through the API (a form field 'file' or a raw video body)."""
        rt = runtime()
        with upload_stream("file", rt.selfservice.max_video_bytes) as (
            stream,
            length,
            content_type,
        ):
            size = selfservice.upload_direct(
                ctx(),
                current_actor(),
                rt.object_store,
                rt.selfservice,
                session_id,
                data=stream,
                length=length,
                content_type=content_type,
            )
        return {"size": size}


@blp.route("/sessions/<uuid:session_id>/submit")
class Submit(MethodView):
    @blp.arguments(SubmitSchema)
    @blp.response(202, StatusSchema)
    def post(self, data: dict[str, Any], session_id: UUID) -> Any:
        """The upload is complete: the video is checked and queued for the decision."""
        rt = runtime()
        actor = current_actor()
        selfservice.submit(
            ctx(),
            actor,
            rt.object_store,
            rt.task_queue,
            rt.selfservice,
            session_id,
            nonce=data["nonce"],
            mirrored=data["mirrored"],
        )
        return status_body(selfservice.session_status(ctx(), actor, session_id))


class CodeSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    code = f.String(
        required=True, validate=ma.validate.Length(1, 16), metadata={"example": "482913"}
    )


class CodeCheckSchema(ma.Schema):
    official = f.Boolean(metadata={"description": "true: the agency sent this reminder"})
    due_on = f.Date(allow_none=True)
    sent_on = f.Date(allow_none=True)


@blp.route("/reminders/check")
class ReminderCheck(MethodView):
    @blp.arguments(CodeSchema)
    @blp.response(200, CodeCheckSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Was this reminder really sent by the agency? Type the code it carried."""
        from certification.services.reminders import check_reminder

        return check_reminder(ctx(), current_actor(), data["code"])


@blp.route("/sessions/<uuid:session_id>/events")
class SessionEvents(MethodView):
    @blp.doc(
        responses={
            "200": {"description": "text/event-stream of status objects"},
            "429": {"description": "Every stream slot is busy: poll the status instead."},
        }
    )
    def get(self, session_id: UUID) -> Response:
        """Server-sent events: the status each time it changes, until a decision (at most
        about a minute; then reconnect or poll). One stream per account: a new one replaces
        the old. When every slot is busy the answer is 429: poll GET /sessions/{id}."""
        actor = current_actor()
        selfservice.session_status(ctx(), actor, session_id)  # 404 now rather than in the stream
        rt = runtime()
        assert actor.account_id is not None
        gate = stream_gate()
        slot = gate.slot(actor.account_id)
        try:
            stop = slot.__enter__()
        except StreamsFull as err:
            raise TooManyRequests(
                "Too many status streams are open; poll the session's status instead.",
                retry_after=5,
            ) from err

        def events() -> Iterator[str]:
            try:
                last = None
                deadline = time.monotonic() + rt.settings.event_stream_seconds
                quiet_since = time.monotonic()
                while time.monotonic() < deadline and not stop.is_set():
                    try:
                        with rt.use_case() as use:
                            body = status_body(selfservice.session_status(use, actor, session_id))
                    except DomainError as err:  # gone meanwhile: say so and end the stream
                        yield f"event: ended\ndata: {json.dumps({'message': err.message})}\n\n"
                        return
                    text = json.dumps(body, default=str, ensure_ascii=False)
                    if text != last:
                        yield f"event: status\ndata: {text}\n\n"
                        last, quiet_since = text, time.monotonic()
                    elif time.monotonic() - quiet_since >= 1:
                        yield ": still checking\n\n"  # a closed client fails this write
                        quiet_since = time.monotonic()
                    if body["state"] not in ("open", "pending"):
                        return
                    stop.wait(0.5)
                if stop.is_set():
                    yield "event: replaced\ndata: {}\n\n"
            finally:
                slot.__exit__(None, None, None)

        return Response(
            stream_with_context(events()),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


_GATE_LOCK = threading.Lock()


def stream_gate() -> StreamGate:
    """This application's stream slots (sized by LIFECERT_MAX_EVENT_STREAMS)."""
    with _GATE_LOCK:
        gate = current_app.extensions.get("lifecert_streams")
        if gate is None:
            gate = StreamGate(runtime().settings.max_event_streams)
            current_app.extensions["lifecert_streams"] = gate
        return gate
