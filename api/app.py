"""The API's Flask application, built around a runtime the composition root made
(``lifecert.web.create_app`` adds the console pages and is what servers run)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, g, request
from flask_smorest import Api
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.middleware.proxy_fix import ProxyFix

from api.abuse import install_human_check
from api.bounds import BodyRefused, check_json_body, has_nul
from api.context import install
from api.errors import register_error_handlers
from api.resources import (
    admin,
    appeals,
    auth,
    claims,
    comparison,
    counter,
    entitlements,
    family_review,
    health,
    notices,
    periods,
    persons,
    selfservice,
    supervision,
    suspensions,
    verification,
)
from infra import telemetry
from infra.runtime import Runtime

API_DESCRIPTION = """
Benefit eligibility certification for Chongqing's social-insurance agency
(重庆市社会保险待遇领取资格认证). Everyone receiving a pension, unemployment or
long-term work-injury benefit certifies at least once per service period;
this API keeps the people, their benefits, certifications, periods,
contact attempts, suspensions and restorations, with an append-only audit trail.

Sign in at `/api/auth/login` (staff, operators) or `/api/auth/mobile/login`
(app, mini-program), then send `Authorization: Bearer <access_token>`.
Errors are JSON: `{"code", "status", "reason", "message"}` and, where they apply, `field`,
`details` and `errors` (the ApiError schema, every operation's default response). A 429 or
503 carries `Retry-After`.
Lists are paged with `?limit=&cursor=`; updates need `If-Match` with the ETag.
"""


class ApiErrorSchema(ma.Schema):
    """Every error body (api/errors.py): declared as each operation's default response."""

    code = ma.fields.Integer(required=True, metadata={"description": "The HTTP status."})
    status = ma.fields.String(required=True, metadata={"example": "Conflict"})
    reason = ma.fields.String(
        required=True,
        metadata={"description": "A machine-readable code.", "example": "rule_violation"},
    )
    message = ma.fields.String(required=True, metadata={"description": "What to do."})
    field = ma.fields.String(metadata={"description": "The request field at fault."})
    details = ma.fields.Dict(metadata={"description": "Facts for a program, e.g. retry_after."})
    errors = ma.fields.Dict(metadata={"description": "Per location and field: messages."})


class LifecertApi(Api):
    ERROR_SCHEMA = ApiErrorSchema


JSON_METHODS = frozenset({"POST", "PUT", "PATCH"})
UPLOAD_SUFFIXES = (
    "/video",
    "/enrolment",
    "/feeds",
    "/evidence",
)  # these take files, streamed (api/uploads.py)


def create_api(runtime: Runtime) -> Flask:
    settings = runtime.settings
    telemetry.configure_logging(settings.log_level, settings.log_format)

    app = Flask("lifecert")
    app.config.update(
        API_TITLE="Lifecert — benefit eligibility certification",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",
        API_SPEC_OPTIONS={
            "info": {"description": API_DESCRIPTION},
            "security": [{"bearerAuth": []}],
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
        },
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        JSON_SORT_KEYS=False,
    )
    if settings.trusted_proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.trusted_proxy_hops,
            x_proto=settings.trusted_proxy_hops,
            x_host=settings.trusted_proxy_hops,
        )
    observe(app)
    app.secret_key = settings.signing_key()  # the console's cookies, the tip-off question
    install(app, runtime)
    install_human_check(app, settings.shared_redis_url)
    api = LifecertApi(app)
    for blp in (
        health.blp,
        auth.blp,
        persons.blp,
        entitlements.blp,
        periods.blp,
        suspensions.blp,
        counter.blp,
        counter.review_blp,
        admin.regions_blp,
        admin.accounts_blp,
        admin.audit_blp,
        selfservice.blp,
        claims.blp,
        claims.staff_blp,
        family_review.family_blp,
        family_review.staff_blp,
        family_review.review_blp,
        family_review.enrolment_blp,
        comparison.feeds_blp,
        comparison.runs_blp,
        comparison.proposals_blp,
        verification.tasks_blp,
        verification.visits_blp,
        verification.national_blp,
        supervision.blp,
        notices.me_blp,
        notices.receipts_blp,
        notices.outbox_blp,
        appeals.mine_blp,
        appeals.appeals_blp,
    ):
        api.register_blueprint(blp)
    app.register_blueprint(health.docs_assets)
    register_error_handlers(app)

    @app.before_request
    def _require_json_bodies() -> None:
        if (
            request.method in JSON_METHODS
            and request.path.startswith("/api/")
            and not request.path.endswith(UPLOAD_SUFFIXES)
            and (request.content_length or request.headers.get("Transfer-Encoding"))
            and not request.is_json
        ):
            raise UnsupportedMediaType()

    @app.before_request
    def _bounded_input() -> None:
        """Deep JSON and NUL characters are refused with a 400 before anything parses them
        (query strings and form fields too)."""
        texts = [*request.args.values(), request.path]
        if request.mimetype == "application/x-www-form-urlencoded":
            texts.extend(request.form.values())
        if has_nul(texts):
            raise BadRequest("Text may not contain NUL characters (\\u0000).")
        if request.is_json and request.method in JSON_METHODS:
            try:
                check_json_body(request.get_data(cache=True))
            except BodyRefused as err:
                raise BadRequest(str(err)) from err

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.path.startswith("/api/") and not request.path.startswith("/api/docs"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def observe(app: Flask) -> None:
    """Request ids and request metrics: installed first, so every answer has both (also one
    refused by a check that runs before the view)."""

    @app.before_request
    def _request_id() -> None:
        """Every request has an id (the proxy's, or a new one): in each log line, in the
        tasks it queues, in the answer's X-Request-Id, and as the incident id of a 500."""
        g.request_started = telemetry.now()
        rid = telemetry.accept_request_id(request.headers.get(telemetry.REQUEST_ID_HEADER))
        g.request_id = rid
        g.request_id_token = telemetry.bind_request_id(rid)

    @app.teardown_request
    def _forget_request_id(_: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            telemetry.unbind_request_id(token)

    @app.after_request
    def _measured(response: Any) -> Any:
        rid = g.get("request_id")
        if rid:
            response.headers[telemetry.REQUEST_ID_HEADER] = rid
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        telemetry.observe_request(
            request.method, route, response.status_code, g.get("request_started")
        )
        return response
