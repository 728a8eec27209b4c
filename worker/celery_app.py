"""Celery configured from the settings.

With no broker configured (the embedded default) tasks run in-process, eagerly.
"""

from __future__ import annotations

from functools import lru_cache

from celery import Celery
from celery.schedules import crontab

from lifecert.bootstrap import Runtime, build_runtime
from lifecert.settings import Settings, get_settings


def make_celery(settings: Settings) -> Celery:
    app = Celery("lifecert", include=["worker.tasks"])
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
        beat_schedule={
            "verify-audit-chain-nightly": {
                "task": "lifecert.audit.verify_chain",
                "schedule": crontab(hour=2, minute=30),
            },
        },
    )
    return app


celery_app = make_celery(get_settings())


@lru_cache(maxsize=1)
def worker_runtime() -> Runtime:
    """One runtime (engine, pools) per worker process, created on first task."""
    return build_runtime(get_settings())
