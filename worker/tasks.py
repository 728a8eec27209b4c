"""Named tasks. Ids in, a use case call, a small JSON-able result out."""

from __future__ import annotations

import logging
from typing import Any

from certification.access import Actor
from certification.services import audit, periods
from worker.celery_app import celery_app, worker_runtime

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
