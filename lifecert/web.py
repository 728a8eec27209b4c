"""The whole web service: the API and the console pages on one runtime."""

from __future__ import annotations

from flask import Flask

import console
from api import limits
from api.app import create_api
from infra.runtime import Runtime
from infra.settings import Settings, get_settings
from lifecert.bootstrap import build_runtime


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """The app servers run: with no broker configured, its background work runs in this
    process on the same runtime (the embedded mode)."""
    runtime = runtime or build_runtime(settings or get_settings())
    app = create_api(runtime)
    console.register(app, runtime.settings)
    limits.install(app, runtime.limiter, runtime.settings)  # after every view is registered
    return app
