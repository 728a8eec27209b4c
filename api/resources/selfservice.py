"""Self-service certification for the app and the WeChat mini-program."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import marshmallow as ma
from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_actor
from api.context import ctx, runtime
from api.uploads import upload_stream
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
        metadata={"description": "Family members: whom you help."},
    )
    gentle = f.Boolean(load_default=False, metadata={"description": "Fewer, slower actions."})


class UploadSchema(ma.Schema):
    method = f.String(
        metadata={"example": "presigned_post", "description": "presigned_post | direct"}
    )
    url = f.String()
    fields = f.Dict(
        keys=f.String(),
        values=f.String(),
        metadata={"description": "Form fields to send before the file."},
    )
    file_field = f.String(metadata={"example": "file"})
    max_bytes = f.Integer()
    content_types = f.List(f.String())


class StartedSchema(ma.Schema):
    session_id = f.UUID()
    nonce = f.String(metadata={"description": "Send it back with the submission; valid once."})
    actions = f.List(f.String(), metadata={"example": ["blink", "turn_left"]})
    seconds_per_action = f.Integer(metadata={"example": 5})
    max_video_seconds = f.Integer()
    expires_at = f.DateTime()
    upload = f.Nested(UploadSchema)


class SubmitSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    nonce = f.String(required=True, validate=ma.validate.Length(1, 128))
    mirrored = f.Boolean(load_default=False, metadata={"description": "The recording is mirrored."})


class StatusSchema(ma.Schema):
    session_id = f.UUID()
    state = f.String(
        metadata={"description": "open | pending | pass | retry | fail | expired | error"}
    )
    decision = f.String(allow_none=True)
    reasons = f.List(f.Dict(), metadata={"description": "code, kind, zh, en for each reason"})
    next = f.Dict(metadata={"description": "step (wait|done|retry|review|locked|expired), zh, en"})
    attempt_id = f.UUID(allow_none=True)
    certification_id = f.UUID(allow_none=True)


def _started(result: StartedSession) -> dict[str, Any]:
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
        return _started(result)


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
    @blp.doc(responses={"200": {"description": "text/event-stream of status objects"}})
    def get(self, session_id: UUID) -> Response:
        """Server-sent events: the status, each time it changes, until a decision (or 2 min)."""
        actor = current_actor()
        selfservice.session_status(ctx(), actor, session_id)  # 404 now rather than in the stream
        rt = runtime()

        def events() -> Iterator[str]:
            last = None
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with rt.use_case() as use:
                    body = status_body(selfservice.session_status(use, actor, session_id))
                text = json.dumps(body, default=str, ensure_ascii=False)
                if text != last:
                    yield f"event: status\ndata: {text}\n\n"
                    last = text
                if body["state"] not in ("open", "pending"):
                    return
                time.sleep(0.5)

        return Response(
            stream_with_context(events()),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
