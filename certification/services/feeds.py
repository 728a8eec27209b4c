"""Department feeds (Art. 11): :func:`import_feed` validates a feed row by row, keeps the
valid rows (idempotently, by source record id) and reports every refused row with its number
and reason."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any
from uuid import UUID, uuid4

from certification import access
from certification.access import Actor
from certification.comparison import DepartmentEvent
from certification.errors import (
    RuleViolation,
)
from certification.feeds import (
    FeedNotRegular,
    FeedSource,
    RowProblem,
    header_problems,
    parse_row,
)
from certification.ports import (
    EvidenceStore,
    Page,
    PageRequest,
    TaskQueue,
)
from certification.services.context import UseCaseContext
from certification.services.jobs import hand_over
from certification.services.records import found
from certification.services.selfservice import retention_metadata
from certification.verification import (
    FeedImport,
    ImportStatus,
)

IMPORT_BATCH = 5000
RAW_KEPT = 300  # characters of a refused row kept in the report

log = logging.getLogger(__name__)


def require_feed_operator(actor: Actor) -> None:
    """Checked before an upload is read or stored (the API asks before it reads the body),
    so nobody else can fill the store."""
    access.require_operator(actor, "import department feeds")


def receive_feed(
    ctx: UseCaseContext,
    actor: Actor,
    store: EvidenceStore,
    queue: TaskQueue | None,
    *,
    stream: Any,
    length: int,
    content_type: str,
    file_name: str,
) -> FeedImport:
    """An uploaded feed file: stored under a key of its own (never the caller's), recorded and
    handed to the worker (:func:`import_feed`); with no queue the caller imports it itself."""
    require_feed_operator(actor)  # before the upload is stored
    key = f"feeds/{uuid4().hex}"
    store.put_stream(key, stream, length, content_type, retention_metadata(ctx.clock.now()))
    record = FeedImport(
        file_name=file_name[:300] or "feed",
        file_format="unknown",
        started_by=actor.account_id,
        status=ImportStatus.QUEUED,
        object_key=key,
        started_at=ctx.clock.now(),
    )
    ctx.uow.feed_imports.add(record)
    ctx.audit(actor, "feed.queued", "feed_import", record.id, file_name=record.file_name)
    ctx.uow.commit()
    if queue is not None:
        hand_over(
            ctx, actor, lambda: queue.enqueue_feed_import(record.id), "feed_import", record.id
        )
    return record


def refuse_import(ctx: UseCaseContext, actor: Actor, import_id: UUID, message: str) -> FeedImport:
    """The file cannot be read as a feed at all: nothing is imported, the reason is kept."""
    record = found(ctx.uow.feed_imports.get(import_id), "feed import", import_id)
    return _refuse(ctx, actor, record, message)


def _refuse(ctx: UseCaseContext, actor: Actor, record: FeedImport, message: str) -> FeedImport:
    record.refuse(message, ctx.clock.now())
    ctx.audit(actor, "feed.refused", "feed_import", record.id, reason=message)
    ctx.uow.commit()
    return record


def import_feed(
    ctx: UseCaseContext,
    actor: Actor,
    source: FeedSource,
    *,
    queued: UUID | None = None,
    max_problems_kept: int = 10_000,
) -> FeedImport:
    """Import one feed file. Valid rows are kept even when others are refused; the report
    lists each refused row (up to ``max_problems_kept``; all are counted)."""
    require_feed_operator(actor)
    record: FeedImport | None = None
    if queued is not None:
        record = ctx.uow.feed_imports.get(queued, for_update=True)  # one delivery wins
        if record is None or record.status is not ImportStatus.QUEUED:
            raise RuleViolation(f"Feed import {queued} is not waiting to be imported.")
        record.start(source.file_format, source.encoding)
    else:
        record = FeedImport(
            file_name=source.file_name[:300],
            file_format=source.file_format,
            started_by=actor.account_id,
            encoding=source.encoding,
            started_at=ctx.clock.now(),
        )
        ctx.uow.feed_imports.add(record)
    missing, extra = header_problems(source.columns)
    record.ignored_columns = extra
    if missing:
        return _refuse(
            ctx,
            actor,
            record,
            "The file misses the required column(s) "
            + ", ".join(missing)
            + "; found: "
            + ", ".join(source.columns or ["(none)"])
            + ". Nothing was imported.",
        )
    ctx.uow.commit()  # the import is visible while it runs

    today = ctx.clock.today()
    tally = _Tally(ctx, record.id, max_problems_kept)
    blocks = source.checked_blocks(today)
    if blocks is not None:
        try:
            for block in blocks:
                tally.read += block.rows
                tally.accepted += ctx.uow.feed_imports.insert_checked(record.id, block.table)
                tally.add_events(block.events)
                for number, problem, text in block.problems:
                    tally.refuse(number, problem, text)
                tally.flush(record)
        except FeedNotRegular as err:
            # a block the column reader cannot take: the whole file again, row by row
            log.info("feed %s: read row by row (%s)", record.id, err)
            ctx.uow.rollback()
            record = found(ctx.uow.feed_imports.get(record.id), "feed import", record.id)
            ctx.uow.feed_imports.forget(record.id)
            tally = _Tally(ctx, record.id, max_problems_kept)
            blocks = None
    if blocks is None:
        for number, values, raw in source.rows():
            tally.read += 1
            outcome = values if isinstance(values, RowProblem) else parse_row(values, today)
            if isinstance(outcome, RowProblem):
                tally.refuse(number, outcome, raw)
            else:
                tally.add_events([outcome])
            if tally.due():
                tally.flush(record)
    tally.flush(record)
    ctx.uow.feed_imports.refresh_statistics()
    read, accepted, refused = tally.read, tally.accepted, tally.refused
    problems = tally.problems
    record.rows_duplicate = read - refused - accepted
    record.sha256 = source.sha256
    record.finish(
        f"{read} rows read: {accepted} new events kept, {record.rows_duplicate} already "
        f"known (same source record id), {refused} refused.",
        ctx.clock.now(),
    )
    ctx.audit(
        actor,
        "feed.imported",
        "feed_import",
        record.id,
        file_name=record.file_name,
        sha256=record.sha256,
        rows_read=read,
        rows_accepted=accepted,
        rows_duplicate=record.rows_duplicate,
        rows_refused=refused,
        problems_by_code=dict(problems),
    )
    ctx.uow.commit()
    return record


class _Tally:
    """An import's counts, its refused rows (the first ``kept`` with their reasons) and the
    events waiting to be stored; flushed (stored, counted on the record, committed) in
    batches so the import is visible while it runs."""

    def __init__(self, ctx: UseCaseContext, import_id: UUID, kept: int) -> None:
        self.ctx = ctx
        self.import_id = import_id
        self.kept = kept
        self.read = self.accepted = self.refused = self.kept_total = 0
        self.problems: Counter[str] = Counter()
        self.rows: list[dict[str, Any]] = []
        self.events: list[DepartmentEvent] = []

    def refuse(self, number: int, problem: RowProblem, raw: str | None) -> None:
        self.refused += 1
        self.problems[problem.code] += 1
        if self.kept_total + len(self.rows) < self.kept:
            self.rows.append(
                {
                    "row_number": number,
                    "code": problem.code,
                    "column_name": problem.column,
                    "message": problem.message,
                    "raw": (raw or "")[:RAW_KEPT] or None,
                }
            )

    def add_events(self, events: list[DepartmentEvent]) -> None:
        self.events.extend(events)

    def due(self) -> bool:
        return len(self.events) >= IMPORT_BATCH or len(self.rows) >= IMPORT_BATCH

    def flush(self, record: FeedImport) -> None:
        repo = self.ctx.uow.feed_imports
        if self.events:
            self.accepted += repo.insert_events(self.import_id, self.events)
            self.events.clear()
        if self.rows:
            repo.add_problems(self.import_id, self.rows)
            self.kept_total += len(self.rows)
            self.rows.clear()
        record.rows_read, record.rows_accepted = self.read, self.accepted
        record.rows_refused = self.refused
        record.problems_by_code = dict(self.problems)
        self.ctx.uow.commit()


def get_import(ctx: UseCaseContext, actor: Actor, import_id: UUID) -> FeedImport:
    access.require_operator(actor, "read feed imports")
    return found(ctx.uow.feed_imports.get(import_id), "feed import", import_id)


def list_imports(ctx: UseCaseContext, actor: Actor, page: PageRequest) -> Page[FeedImport]:
    access.require_operator(actor, "read feed imports")
    return ctx.uow.feed_imports.find(page)


def import_problems(
    ctx: UseCaseContext, actor: Actor, import_id: UUID, *, after_row: int, limit: int
) -> list[dict[str, Any]]:
    get_import(ctx, actor, import_id)
    return ctx.uow.feed_imports.problems(import_id, after_row, limit)
