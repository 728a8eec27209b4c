"""Handing committed jobs (comparison runs, feed imports) to the task queue, and the sweep
that sends again what a broker outage left queued."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

from certification.access import Actor
from certification.ports import (
    QueueUnavailable,
    TaskQueue,
)
from certification.services.context import UseCaseContext
from certification.verification import SHARD_SILENT_AFTER

log = logging.getLogger(__name__)


def hand_over(
    ctx: UseCaseContext,
    actor: Actor,
    send: Callable[[], None],
    entity_type: str,
    entity_id: UUID,
) -> bool:
    """Give a committed job to the task queue. When the queue is down the job stays queued
    (recorded, audited) and the sweep (:func:`requeue_jobs`) sends it later: the request
    succeeds and nothing is left stuck."""
    try:
        send()
    except QueueUnavailable as err:
        log.warning("%s %s stays queued for the sweep: %s", entity_type, entity_id, err)
        ctx.audit(actor, "queue.deferred", entity_type, entity_id, reason=str(err)[:300])
        ctx.uow.commit()
        return False
    return True


def requeue_jobs(ctx: UseCaseContext, queue: TaskQueue, *, older_than: timedelta) -> int:
    """The sweep: runs and imports still queued after ``older_than`` are sent again (the
    worker's claim makes a second delivery harmless), and the districts' shards of runs that
    the broker never took or whose worker died."""
    before = ctx.clock.now() - older_than
    jobs: list[tuple[UUID, Callable[[UUID], None]]] = [
        *(
            (run_id, queue.enqueue_comparison)
            for run_id in ctx.uow.comparison.queued_before(before)
        ),
        *((i, queue.enqueue_feed_import) for i in ctx.uow.feed_imports.queued_before(before)),
    ]
    sent = 0
    for job_id, send in jobs:
        try:
            send(job_id)
        except QueueUnavailable:
            return sent  # still down: the next sweep tries again
        sent += 1
    shards = ctx.uow.comparison.shards_to_send(
        queued_before=before, stale_before=ctx.clock.now() - SHARD_SILENT_AFTER
    )
    for run_id, district in shards:
        try:
            queue.enqueue_comparison_shard(run_id, district)
        except QueueUnavailable:
            break
        ctx.uow.comparison.shard_handed(run_id, district, ctx.clock.now())
        ctx.uow.commit()
        sent += 1
    return sent
