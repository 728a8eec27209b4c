"""/healthz and the API documentation assets."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

import swagger_ui_bundle
from flask import send_from_directory
from flask.typing import ResponseReturnValue

from api.blueprint import Blueprint
from api.context import runtime
from api.schemas import HealthSchema
from storage.db import ping
from storage.objects import ObjectStoreError

blp = Blueprint("health", __name__, description="Service health for operators and load balancers.")


def _version() -> str:
    try:
        return version("lifecert")
    except PackageNotFoundError:
        return "unknown"


@blp.route("/healthz")
@blp.doc(security=[])
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="A dependency is unreachable.")
def healthz() -> Any:
    """Database and object store reachability."""
    rt = runtime()
    body = {"status": "ok", "database": "ok", "object_store": "ok", "version": _version()}
    try:
        ping(rt.database)
    except Exception as err:  # noqa: BLE001 - any failure means unreachable
        body["database"] = f"unreachable: {type(err).__name__}"
    try:
        rt.object_store.ping()
    except ObjectStoreError as err:
        body["object_store"] = f"unreachable: {err}"
    if body["database"] != "ok" or body["object_store"] != "ok":
        body["status"] = "degraded"
        return body, 503
    return body


docs_assets = Blueprint("docs_assets", __name__)


@docs_assets.route("/api/docs/assets/<path:filename>")
@docs_assets.doc(hide=True)
def swagger_assets(filename: str) -> ResponseReturnValue:
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
