"""Named tasks. Ids in, a use case call, a small JSON-able result out."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from certification.access import Actor
from certification.services import audit, periods
from worker.celery_app import celery_app, worker_engine, worker_runtime

log = logging.getLogger(__name__)


@celery_app.task(name="lifecert.audit.verify_chain", soft_time_limit=3300, time_limit=3600)
def verify_audit_chain() -> dict[str, Any]:
    """Walk the audit chain; a broken chain is logged as an error for the operators' alerting."""
    with worker_runtime().use_case() as ctx:
        report = audit.verify_audit_chain(ctx, Actor.system("audit-verifier"))
    if not report.intact:
        log.error(
            "audit chain broken at sequence %s: %s", report.first_broken_sequence, report.problem
        )
    return {
        "intact": report.intact,
        "checked": report.checked,
        "first_broken_sequence": report.first_broken_sequence,
        "problem": report.problem,
    }


@celery_app.task(name="lifecert.periods.recompute", soft_time_limit=3300, time_limit=3600)
def recompute_periods() -> dict[str, int]:
    """Recompute stored due dates after the period length setting changed."""
    with worker_runtime().use_case() as ctx:
        changed = periods.recompute_periods(ctx, Actor.system("period-recompute"))
    return {"changed": changed}


class _Infrastructure(Exception):
    """Retried with backoff: storage or database unreachable. Never the verdict itself."""


def _selfservice_config() -> Any:
    from lifecert.bootstrap import selfservice_config

    return selfservice_config(worker_runtime().settings)


@celery_app.task(
    name="lifecert.selfservice.process_attempt",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=90,
    time_limit=120,
    max_retries=5,
)
def process_attempt(self: Any, attempt_id: str) -> dict[str, str]:
    """Claim, verify, apply. A redelivered or retried task finds the work done and stops."""
    from sqlalchemy.exc import OperationalError

    from certification.services.selfservice import process_attempt as run
    from lifecert.selfservice_adapters import LoggingNotifier
    from storage.objects import ObjectStoreError

    rt = worker_runtime()
    try:
        result = run(
            rt.use_case,
            worker_engine(),
            rt.object_store,
            LoggingNotifier(),
            _selfservice_config(),
            UUID(attempt_id),
        )
    except (ObjectStoreError, OperationalError) as err:
        log.warning("attempt %s: infrastructure error, retrying: %s", attempt_id, err)
        raise self.retry(exc=err, countdown=min(60, 2 ** (self.request.retries + 1))) from err
    return {"attempt": attempt_id, "outcome": result.outcome}


@celery_app.task(
    name="lifecert.selfservice.compute_template",
    bind=True,
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
    max_retries=5,
)
def compute_template(self: Any, request_id: str) -> dict[str, str]:
    from sqlalchemy.exc import OperationalError

    from certification.errors import NotFound
    from certification.services.selfservice import compute_template as run
    from storage.objects import ObjectStoreError

    rt = worker_runtime()
    try:
        with rt.use_case() as ctx:
            request = run(ctx, worker_engine(), rt.object_store, UUID(request_id))
    except NotFound:
        return {"request": request_id, "status": "gone"}  # already decided: a redelivery
    except (ObjectStoreError, OperationalError) as err:
        raise self.retry(exc=err, countdown=min(60, 2 ** (self.request.retries + 1))) from err
    return {"request": request_id, "status": request.status}


@celery_app.task(name="lifecert.selfservice.sweep", soft_time_limit=50, time_limit=60)
def sweep_pending() -> dict[str, int]:
    """The outbox: attempts, comparison runs and feed imports recorded while the broker was
    down are enqueued now."""
    from datetime import timedelta

    from certification.services.comparison import requeue_jobs
    from certification.services.selfservice import requeue_stale
    from lifecert.selfservice_adapters import CeleryTaskQueue

    queue = CeleryTaskQueue(celery_app)
    with worker_runtime().use_case() as ctx:
        sent = requeue_stale(ctx, queue, older_than=timedelta(seconds=30))
    with worker_runtime().use_case() as ctx:
        jobs = requeue_jobs(ctx, queue, older_than=timedelta(minutes=2))
    return {"requeued": sent, "jobs_requeued": jobs}


@celery_app.task(name="lifecert.evidence.sweep", soft_time_limit=3300, time_limit=3600)
def sweep_evidence() -> dict[str, int]:
    """Delete evidence whose retention has ended; keep everything else."""
    from storage.retention import sweep_expired

    rt = worker_runtime()
    report = sweep_expired(rt.object_store, rt.clock.today())
    return {"checked": report.checked, "deleted": report.deleted, "kept": report.kept}


@celery_app.task(name="lifecert.reminders.send", soft_time_limit=3300, time_limit=3600)
def send_reminders() -> dict[str, int]:
    """Reminders 60, 30 and 7 days before the due date, each with a checkable code."""
    from certification.services.reminders import send_due_reminders

    rt = worker_runtime()
    with rt.use_case() as ctx:
        sent = send_due_reminders(ctx, rt.notifier)
    return {"sent": sent}


@celery_app.task(
    name="lifecert.comparison.execute_run",
    acks_late=True,
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 300,
)
def execute_comparison_run(run_id: str) -> dict[str, Any]:
    """Classify every active benefit and apply the three lists (Art. 11-14)."""
    run = worker_runtime().execute_comparison(UUID(run_id))
    return {"run": run_id, "status": run.status, "counts": run.counts, "applied": run.applied}


@celery_app.task(
    name="lifecert.suspensions.expired_unreachable", soft_time_limit=3300, time_limit=3600
)
def suspend_expired_unreachable() -> dict[str, int]:
    """Art. 9: suspend people whose period expired while unreachable by several means."""
    from certification.services.verification import suspend_expired_unreachable as job

    rt = worker_runtime()
    with rt.use_case() as ctx:
        return job(ctx, Actor.system("expired-period job"))


@celery_app.task(
    name="lifecert.feeds.import",
    acks_late=True,
    soft_time_limit=6 * 3600,
    time_limit=6 * 3600 + 300,
)
def import_feed_file(import_id: str) -> dict[str, Any]:
    """Import an uploaded department feed, streamed from object storage."""
    import tempfile
    from pathlib import Path

    from certification.services.comparison import import_feed, refuse_import
    from storage.feed_files import FeedFileError, open_feed

    rt = worker_runtime()
    actor = Actor.system("feed import")
    with rt.use_case() as ctx:
        record = ctx.uow.feed_imports.get(UUID(import_id))
        if record is None or record.status != "queued" or not record.object_key:
            return {"import": import_id, "status": "not queued"}
        key, name = record.object_key, record.file_name
    with tempfile.TemporaryDirectory(prefix="feed-") as tmp:
        path = Path(tmp) / "feed"
        rt.object_store.fetch_to(key, str(path))
        with path.open("rb") as fh, rt.use_case() as ctx:
            try:
                source = open_feed(path, fh, name)
            except FeedFileError as err:
                done = refuse_import(ctx, actor, UUID(import_id), str(err))
            else:
                done = import_feed(ctx, actor, source, queued=UUID(import_id))
    return {"import": import_id, "status": done.status, "accepted": done.rows_accepted}
