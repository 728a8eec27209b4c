"""The runtime of the running app and the request's use-case context (one unit of work)."""

from __future__ import annotations

from flask import Flask, current_app, g

from certification.services.context import UseCaseContext
from infra.runtime import Runtime

EXTENSION = "lifecert"


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions[EXTENSION]
    return rt


def ctx() -> UseCaseContext:
    """This request's unit of work, opened on first use and closed at teardown."""
    if "_use_case" not in g:
        uow = runtime().uow()
        uow.__enter__()
        g._uow = uow
        g._use_case = runtime().context(uow)
    use_case: UseCaseContext = g._use_case
    return use_case


def install(app: Flask, rt: Runtime) -> None:
    app.extensions[EXTENSION] = rt

    @app.teardown_request
    def _close_unit_of_work(_exc: BaseException | None) -> None:
        uow = g.pop("_uow", None)
        g.pop("_use_case", None)
        if uow is not None:
            uow.__exit__(None, None, None)
