"""Every error leaves the API as JSON with a message a person can act on.

Body: {"code": <http status>, "status": <name>, "reason": <machine code>,
       "message": <what to do>, "errors": {"json": {<field>: [<message>]}}}
"""

from __future__ import annotations

import http
import logging
import uuid
from typing import Any

from flask import Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from certification.access import Actor
from certification.errors import (
    AccessDenied,
    AlreadyExists,
    AuthenticationFailed,
    DomainError,
    NotFound,
    RuleViolation,
    ServiceUnavailable,
    StaleVersion,
    TooManyRequests,
    UnsupportedMedia,
    ValidationFailed,
)
from infra.telemetry import current_request_id
from storage.objects import InvalidObjectKey, ObjectNotFound, ObjectStoreError, UploadRefused

log = logging.getLogger(__name__)

STATUS_BY_ERROR: list[tuple[type[DomainError], int]] = [
    (TooManyRequests, 429),
    (ServiceUnavailable, 503),
    (ValidationFailed, 422),
    (UnsupportedMedia, 415),
    (NotFound, 404),
    (AlreadyExists, 409),
    (RuleViolation, 409),
    (StaleVersion, 412),
    (AuthenticationFailed, 401),
    (AccessDenied, 403),
]

_HTTP_MESSAGES = {
    404: "No such address in this API; see /api/docs for the list of endpoints.",
    405: "This address does not accept that method; see /api/docs.",
    413: "The request body is too large.",
    415: "Send the request body as JSON with the header Content-Type: application/json.",
    428: "Send the If-Match header with the ETag you read, so that concurrent changes are "
    "not overwritten.",
    412: "The record changed since you read it (ETag mismatch); read it again and retry.",
}


def error_body(
    status: int,
    message: str,
    *,
    reason: str | None = None,
    errors: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": status,
        "status": http.HTTPStatus(status).phrase,
        "reason": reason or http.HTTPStatus(status).name.lower(),
        "message": message,
    }
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def _status_for(err: DomainError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(err, cls):
            return status
    return 400


def record_denial(err: AccessDenied) -> None:
    """Art. 24: a refused attempt is logged in the audit trail, in its own transaction."""
    from api.auth import optional_actor
    from api.context import runtime

    actor = optional_actor() or Actor(kind="anonymous", origin=request.remote_addr)
    try:
        with runtime().use_case() as ctx:
            ctx.audit(
                actor,
                "access.denied",
                "request",
                None,
                reason=err.message,
                method=request.method,
                path=request.path,
            )
            ctx.uow.commit()
    except Exception:  # an audit outage must not turn a 403 into a 500
        log.exception("could not record an access denial")
    log.warning(
        "access denied: %s %s by %s (%s)", request.method, request.path, actor.label, err.message
    )


def handle_domain_error(err: DomainError) -> ResponseReturnValue:
    status = _status_for(err)
    if isinstance(err, AccessDenied):
        record_denial(err)
    errors = {"json": {err.field: [err.message]}} if err.field else None
    body = error_body(status, err.message, reason=err.code, errors=errors, field=err.field)
    if err.details:
        body["details"] = err.details
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="lifecert"'
    if isinstance(err, TooManyRequests | ServiceUnavailable):
        response.headers["Retry-After"] = str(err.retry_after)
    return response


def handle_http_exception(err: HTTPException) -> ResponseReturnValue:
    status = err.code or 500
    data = getattr(err, "data", None) or {}
    messages = data.get("messages")
    message = data.get("message") or _HTTP_MESSAGES.get(status) or err.description or ""
    if messages:
        message = "Some fields are not valid; see 'errors'."
    response = jsonify(error_body(status, message, errors=messages))
    response.status_code = status
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


STORAGE_ERRORS: tuple[type[Exception], ...] = (
    ObjectStoreError,
    ObjectNotFound,
    UploadRefused,
    InvalidObjectKey,
)


def storage_answer(err: Exception) -> tuple[int, str, str]:
    """(status, reason, message) for a failure of evidence storage; the API and the console
    pages answer with the same. Only an outage asks for a retry."""
    if isinstance(err, ObjectNotFound):
        return (
            404,
            "object_not_found",
            "This file is no longer stored (its retention ended) or was never uploaded.",
        )
    if isinstance(err, UploadRefused):
        return (
            400,
            "upload_refused",
            f"The upload was incomplete or too long ({err}); send it again.",
        )
    if isinstance(err, InvalidObjectKey):
        return (
            400,
            "invalid_object_key",
            "This evidence key is not valid; use a key returned by the evidence upload.",
        )
    log.error("object store unavailable: %s", err)
    return (
        503,
        "storage_unavailable",
        "Evidence storage is unavailable right now; nothing was recorded. Please retry in a "
        "minute.",
    )


def handle_storage_error(err: Exception) -> ResponseReturnValue:
    status, reason, message = storage_answer(err)
    response = jsonify(error_body(status, message, reason=reason))
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = "30"
    return response


def handle_unexpected(err: Exception) -> ResponseReturnValue:
    # the request's id: the same string is in every log line of this request and of the
    # tasks it queued, so the person's quote leads straight to them
    incident = current_request_id() or uuid.uuid4().hex
    current_app.logger.exception("unhandled error, incident %s", incident)
    response = jsonify(
        error_body(
            500,
            f"Something went wrong on our side; nothing was changed. Quote incident {incident} "
            "when you report it.",
            reason="internal_error",
        )
    )
    response.status_code = 500
    return response


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    for storage_error in STORAGE_ERRORS:
        app.register_error_handler(storage_error, handle_storage_error)
    app.register_error_handler(Exception, handle_unexpected)
