"""Celery configured from the settings, one app per runtime.

With no broker configured (the embedded default) tasks run in-process, eagerly. The
composition root (``lifecert.bootstrap``) makes the app and attaches its runtime; a task
finds the runtime through the app it runs in (``runtime_of(task.app)``), so no module
global decides which database or broker a task uses.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.schedules import crontab

from infra import telemetry
from infra.runtime import Runtime
from infra.settings import Settings


def make_celery(settings: Settings) -> Celery:
    telemetry.instrument_celery(
        settings.log_level, settings.log_format, settings.worker_metrics_port
    )
    app = Celery("lifecert", include=["worker.tasks"])
    configure(app, settings)
    return app


def transport_options(visibility_timeout: int) -> dict[str, int]:
    """The broker keeps a delivered task until its worker acknowledges it; the task of a
    worker that died is given to another once ``visibility_timeout`` seconds have passed, when
    a worker next looks for such tasks. Kombu looks about every 100 s (every tenth check of
    10 s); here every tenth of the timeout, between 1 and 10 s, one cheap Redis range query."""
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": max(1, min(10, visibility_timeout // 10)),
        "unacked_restore_throttle": 1,
    }


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
        broker_transport_options=transport_options(settings.task_visibility_timeout),
        beat_schedule=beat_schedule(settings),
    )


# Art. 11: the information comparison runs regularly (municipal level), at 01:00 so that it
# is applied before the working day; LIFECERT_COMPARISON_SCHEDULE chooses the cadence.
COMPARISON_CADENCE = {
    "monthly": crontab(hour=1, minute=0, day_of_month=1),
    "weekly": crontab(hour=1, minute=0, day_of_week=1),
    "daily": crontab(hour=1, minute=0),
}


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    schedule: dict[str, dict[str, Any]] = {
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
        "notices-outbox": {
            "task": "lifecert.notices.deliver",
            "schedule": 30.0,
        },
        "letters-daily": {
            "task": "lifecert.notices.letters",
            "schedule": crontab(hour=6, minute=30),
        },
        "expired-periods-daily": {
            "task": "lifecert.periods.expired",
            "schedule": crontab(hour=4, minute=0),
        },
        "dashboard-summaries": {
            "task": "lifecert.reports.refresh",
            "schedule": 600.0,
        },
        "evidence-retention-nightly": {
            "task": "lifecert.evidence.sweep",
            "schedule": crontab(hour=3, minute=15),
        },
        "comparison-lists-nightly": {
            "task": "lifecert.comparison.remove_old_lists",
            "schedule": crontab(hour=3, minute=45),
        },
    }
    cadence = COMPARISON_CADENCE.get(settings.comparison_schedule)
    if cadence is not None:
        schedule["comparison-run-scheduled"] = {
            "task": "lifecert.comparison.scheduled",
            "schedule": cadence,
        }
    return schedule


RUNTIME_ATTRIBUTE = "lifecert_runtime"


def attach(app: Celery, runtime: Runtime) -> None:
    """Tasks run in this app use this runtime (its database, object store, face engine)."""
    setattr(app, RUNTIME_ATTRIBUTE, runtime)


def runtime_of(app: Any) -> Runtime:
    runtime = getattr(app, RUNTIME_ATTRIBUTE, None)
    if runtime is None:
        raise RuntimeError("this Celery app has no runtime: build it with lifecert.bootstrap")
    assert isinstance(runtime, Runtime)
    return runtime
