"""/healthz (alive), /readyz (ready to work), /metrics, and the API documentation assets."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import swagger_ui_bundle
from flask import Response, request, send_from_directory
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound, Unauthorized

from api.blueprint import Blueprint
from api.context import runtime
from api.schemas import HealthSchema, ReadinessSchema
from certification.access import Actor
from certification.services import notices
from certification.services.context import UseCaseContext
from infra import readiness, telemetry
from infra.runtime import Runtime

blp = Blueprint("health", __name__, description="Service health for operators and load balancers.")


def _version() -> str:
    try:
        return version("lifecert")
    except PackageNotFoundError:
        return "unknown"


@blp.route("/healthz")
@blp.doc(security=[])
@blp.response(200, HealthSchema)
def healthz() -> Any:
    """Liveness: the process answers. It asks no dependency (see /readyz), so an outage of
    the database does not make the orchestrator restart healthy processes."""
    return {"status": "ok", "version": _version()}


@blp.route("/readyz")
@blp.doc(security=[])
@blp.response(200, ReadinessSchema)
@blp.alt_response(503, schema=ReadinessSchema, description="A dependency is not ready.")
def readyz() -> Any:
    """Readiness: the database, the object store and the broker answer, and the face models
    on disk are the registered ones (sha256)."""
    checks = readiness.check(runtime())
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ready else "not_ready", "version": _version(), **checks}
    return (body, 200) if ready else (body, 503)


@blp.route("/metrics")
@blp.doc(hide=True)
def metrics() -> ResponseReturnValue:
    """Prometheus exposition: with LIFECERT_METRICS_TOKEN, for a bearer of that token;
    without one, for this machine only, and never in production."""
    rt = runtime()
    token = rt.settings.metrics_token
    if token is not None:
        offered = request.headers.get("Authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(offered.encode(), expected.encode()):
            raise Unauthorized("Metrics need the scrape token (Authorization: Bearer …).")
    elif rt.settings.environment == "production" or request.remote_addr not in LOOPBACK:
        # production without a token serves no metrics at all: behind a misconfigured proxy
        # a forged X-Forwarded-For could otherwise pass for this machine
        raise NotFound()
    body, content_type = telemetry.render(
        telemetry.Backlogs(
            {
                "queue_depth": lambda: readiness.queue_depth(rt),
                "notice_backlog": lambda: _as_operator(rt, notices.backlog),
                "reminder_backlog": lambda: _as_operator(rt, notices.reminder_backlog),
            }
        )
    )
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})


LOOPBACK = ("127.0.0.1", "::1")


def _as_operator(
    rt: Runtime, read: Callable[[UseCaseContext, Actor], dict[str, int]]
) -> dict[str, int]:
    """An operator's count, read for the scrape."""
    with rt.use_case() as ctx:
        return read(ctx, Actor.system("metrics"))


docs_assets = Blueprint("docs_assets", __name__)


@docs_assets.route("/api/docs/assets/<path:filename>")
@docs_assets.doc(hide=True)
def swagger_assets(filename: str) -> ResponseReturnValue:
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
