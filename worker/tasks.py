"""Named tasks. Ids in, a use case call, a small JSON-able result out."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from celery import shared_task
from sqlalchemy.exc import OperationalError

from certification.access import Actor
from certification.services import audit, periods
from certification.verification import ImportStatus
from storage.objects import ObjectStoreError
from worker.celery_app import runtime_of

log = logging.getLogger(__name__)


@shared_task(name="lifecert.audit.verify_chain", soft_time_limit=3300, time_limit=3600, bind=True)
def verify_audit_chain(self: Any) -> dict[str, Any]:
    """Walk the audit chain; a broken chain is logged as an error for the operators' alerting."""
    with runtime_of(self.app).use_case() as ctx:
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


@shared_task(name="lifecert.periods.recompute", soft_time_limit=3300, time_limit=3600, bind=True)
def recompute_periods(self: Any) -> dict[str, int]:
    """Recompute stored due dates after the period length setting changed."""
    with runtime_of(self.app).use_case() as ctx:
        changed = periods.recompute_periods(ctx, Actor.system("period-recompute"))
    return {"changed": changed}


@contextmanager
def retried_on_outage(task: Any, what: str) -> Iterator[None]:
    """The object store or the database unreachable: the task is retried with backoff (at
    most a minute apart, ``max_retries`` times). Never the verdict itself."""
    try:
        yield
    except (ObjectStoreError, OperationalError) as err:
        log.warning("%s: infrastructure error, retrying: %s", what, err)
        raise task.retry(exc=err, countdown=min(60, 2 ** (task.request.retries + 1))) from err


@shared_task(
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
    from certification.services.selfservice import process_attempt as run

    rt = runtime_of(self.app)
    with retried_on_outage(self, f"attempt {attempt_id}"):
        result = run(
            rt.use_case,
            rt.face_engine,
            rt.object_store,
            rt.selfservice,
            UUID(attempt_id),
        )
    log.info("self-service attempt %s: %s", attempt_id, result.outcome)
    return {"attempt": attempt_id, "outcome": result.outcome}


@shared_task(
    name="lifecert.selfservice.compute_template",
    bind=True,
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
    max_retries=5,
)
def compute_template(self: Any, request_id: str) -> dict[str, str]:
    from certification.errors import NotFound
    from certification.services.selfservice import compute_template as run

    rt = runtime_of(self.app)
    try:
        with retried_on_outage(self, f"enrolment {request_id}"), rt.use_case() as ctx:
            request = run(ctx, rt.face_engine, rt.object_store, UUID(request_id))
    except NotFound:
        return {"request": request_id, "status": "gone"}  # already decided: a redelivery
    return {"request": request_id, "status": request.status}


@shared_task(name="lifecert.selfservice.sweep", soft_time_limit=50, time_limit=60, bind=True)
def sweep_pending(self: Any) -> dict[str, int]:
    """The outbox: attempts, comparison runs and feed imports recorded while the broker was
    down are enqueued now."""
    from datetime import timedelta

    from certification.services.jobs import requeue_jobs
    from certification.services.selfservice import requeue_stale

    rt = runtime_of(self.app)
    queue = rt.task_queue
    with rt.use_case() as ctx:
        sent = requeue_stale(ctx, queue, older_than=timedelta(seconds=30))
    with rt.use_case() as ctx:
        jobs = requeue_jobs(ctx, queue, older_than=timedelta(minutes=2))
    return {"requeued": sent, "jobs_requeued": jobs}


@shared_task(name="lifecert.evidence.sweep", soft_time_limit=3300, time_limit=3600, bind=True)
def sweep_evidence(self: Any) -> dict[str, int]:
    """Delete evidence whose retention has ended, and forget the faces of people whose
    benefits have all ended once their photo's retention is over; keep everything else."""
    from certification.services.consent import sweep_face_data
    from storage.retention import sweep_expired

    rt = runtime_of(self.app)
    report = sweep_expired(rt.object_store, rt.clock.today())
    faces = sweep_face_data(rt.use_case, rt.object_store)
    return {
        "checked": report.checked,
        "deleted": report.deleted,
        "kept": report.kept,
        "faces_forgotten": faces.people,
        "templates_erased": faces.templates,
    }


@shared_task(name="lifecert.reminders.send", soft_time_limit=3300, time_limit=3600, bind=True)
def send_reminders(self: Any) -> dict[str, int]:
    """Reminders before and on the due date and once overdue, caught up when a day was
    missed, each with a checkable code (queued in the outbox)."""
    from certification.services.reminders import send_due_reminders

    rt = runtime_of(self.app)
    with rt.use_case() as ctx:
        sent = send_due_reminders(ctx)
    return {"sent": sent}


@shared_task(
    name="lifecert.comparison.remove_old_lists", soft_time_limit=1200, time_limit=1500, bind=True
)
def remove_old_lists(self: Any) -> dict[str, int]:
    """The lists of finished runs older than each scope's newest few removed (nightly)."""
    from certification.access import Actor
    from certification.services.runs import remove_old_lists as run

    rt = runtime_of(self.app)
    return {"runs": len(run(rt.run_contexts(), Actor.system("comparison lists")))}


@shared_task(name="lifecert.reports.refresh", soft_time_limit=1200, time_limit=1500, bind=True)
def refresh_summaries(self: Any) -> dict[str, int]:
    """The dashboards' summary tables recomputed (every 10 minutes by beat)."""
    from certification.services.dashboard import refresh_summaries as run

    rt = runtime_of(self.app)
    with rt.use_case() as ctx:
        return {"rows": run(ctx)}


@shared_task(name="lifecert.notices.deliver", soft_time_limit=240, time_limit=300, bind=True)
def deliver_notices(self: Any) -> dict[str, Any]:
    """One pass of the notice outbox (every 30 s by beat; overlapping passes skip each
    other's rows)."""
    from certification.services.notices import deliver_notices as run

    rt = runtime_of(self.app)
    report = run(rt.use_case, rt.notice_channels, rt.delivery_policy)
    return {
        "routed": report.routed,
        "delivered": report.delivered,
        "retrying": report.retrying,
        "dead": report.dead,
        "uncertain": report.uncertain,
    }


@shared_task(name="lifecert.notices.letters", soft_time_limit=3300, time_limit=3600, bind=True)
def print_letters(self: Any) -> dict[str, int]:
    """The day's letters for people no phone reaches: one PDF per township for its staff."""
    from certification.services.notices import print_letters as run

    rt = runtime_of(self.app)
    with retried_on_outage(self, "letters"), rt.use_case() as ctx:
        batches = run(ctx, rt.documents, rt.object_store)
    return {"batches": len(batches), "letters": sum(b["letters"] for b in batches)}


@shared_task(
    name="lifecert.comparison.execute_run",
    acks_late=True,
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 300,
    bind=True,
)
def execute_comparison_run(self: Any, run_id: str) -> dict[str, Any]:
    """Classify every active benefit and apply the three lists (Art. 11-14)."""
    run = runtime_of(self.app).execute_comparison(UUID(run_id))
    return {"run": run_id, "status": run.status, "counts": run.counts, "applied": run.applied}


@shared_task(
    name="lifecert.comparison.apply_shard",
    acks_late=True,
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 300,
    bind=True,
)
def apply_comparison_shard(self: Any, run_id: str, district_code: str) -> dict[str, Any]:
    """One district's part of a run's three lists; the last shard done finishes the run. A
    second delivery (the worker died) takes the shard over where it stopped."""
    run = runtime_of(self.app).apply_comparison_shard(UUID(run_id), district_code)
    status = run.status if run is not None else "already done"
    return {"run": run_id, "district": district_code, "status": status}


@shared_task(name="lifecert.comparison.scheduled", bind=True)
def start_scheduled_comparison(self: Any) -> dict[str, Any]:
    """Art. 11: the regular city-wide comparison, started by the schedule (no operator). A
    run still going is left alone: this one is skipped, and the next date tries again."""
    from certification.errors import RuleViolation
    from certification.services.runs import start_run

    rt = runtime_of(self.app)
    try:
        with rt.use_case() as ctx:
            run = start_run(ctx, Actor.system("comparison schedule"), rt.task_queue)
    except RuleViolation as err:
        log.warning("scheduled comparison skipped: %s", err)
        return {"started": False, "reason": str(err)}
    return {"started": True, "run": str(run.id)}


@shared_task(
    name="lifecert.periods.expired",
    soft_time_limit=3300,
    time_limit=3600,
    bind=True,
)
def act_on_expired_periods(self: Any) -> dict[str, int]:
    """Art. 9: for every person whose period expired, a suspension proposal when unreachable
    by several means, else a township task to reach them."""
    from certification.services.expired_periods import act_on_expired_periods as job

    rt = runtime_of(self.app)
    with rt.use_case() as ctx:
        return job(ctx, Actor.system("expired-period job"))


@shared_task(
    name="lifecert.feeds.import",
    acks_late=True,
    soft_time_limit=6 * 3600,
    time_limit=6 * 3600 + 300,
    bind=True,
)
def import_feed_file(self: Any, import_id: str) -> dict[str, Any]:
    """Import an uploaded department feed, streamed from object storage."""
    import tempfile
    from pathlib import Path

    from certification.services.feeds import import_feed, refuse_import
    from storage.feed_files import FeedFileError, open_feed

    rt = runtime_of(self.app)
    actor = Actor.system("feed import")
    with rt.use_case() as ctx:
        record = ctx.uow.feed_imports.get(UUID(import_id))
        if record is None or record.status is not ImportStatus.QUEUED or not record.object_key:
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
