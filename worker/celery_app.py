"""Celery configured from the settings.

With no broker configured (the embedded default) tasks run in-process, eagerly.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Celery
from celery.schedules import crontab

from lifecert.bootstrap import Runtime, build_runtime
from lifecert.settings import Settings, get_settings


def make_celery(settings: Settings) -> Celery:
    app = Celery("lifecert", include=["worker.tasks"])
    configure(app, settings)
    return app


def configure(app: Celery, settings: Settings) -> None:
    """(Re)configure the app from settings; tests point it at their broker this way."""
    eager = not settings.broker_url
    app.conf.update(
        broker_url=settings.broker_url or "memory://",
        result_backend=settings.result_backend,
        task_always_eager=eager,
        task_eager_propagates=eager,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        timezone=settings.timezone,
        enable_utc=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.task_visibility_timeout},
        beat_schedule={
            "verify-audit-chain-nightly": {
                "task": "lifecert.audit.verify_chain",
                "schedule": crontab(hour=2, minute=30),
            },
            "requeue-pending-attempts": {
                "task": "lifecert.selfservice.sweep",
                "schedule": 60.0,
            },
            "reminders-daily": {
                "task": "lifecert.reminders.send",
                "schedule": crontab(hour=9, minute=0),
            },
            "suspend-expired-unreachable-daily": {
                "task": "lifecert.suspensions.expired_unreachable",
                "schedule": crontab(hour=4, minute=0),
            },
            "evidence-retention-nightly": {
                "task": "lifecert.evidence.sweep",
                "schedule": crontab(hour=3, minute=15),
            },
        },
    )


celery_app = make_celery(get_settings())


_overrides: dict[str, Any] = {}


def use_runtime(runtime: Runtime, engine: Any | None = None) -> None:
    """Run tasks in this process with an existing runtime (and face engine): the embedded
    mode shares the API's, and tests pass theirs."""
    _overrides["runtime"] = runtime
    if engine is not None:
        _overrides["engine"] = engine


def worker_runtime() -> Runtime:
    """One runtime (database pool, object store) per worker process, created on first task."""
    return _overrides.get("runtime") or _default_runtime()


@lru_cache(maxsize=1)
def _default_runtime() -> Runtime:
    return build_runtime(get_settings())


def worker_engine() -> Any:
    """One face engine (all models loaded) per worker process."""
    return _overrides.get("engine") or _default_engine()


@lru_cache(maxsize=1)
def _default_engine() -> Any:
    from lifecert.bootstrap import build_engine
    from lifecert.selfservice_adapters import BiometricFaceEngine

    engine = build_engine(worker_runtime().settings)
    engine.warm_up()
    return BiometricFaceEngine(engine)
