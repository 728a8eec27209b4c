"""Comparison runs: their records, the export of entitlements and events for the engine, the
stored entries and the changes between runs."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.orm import Session

from certification.access import Scope
from certification.periods import PeriodPolicy, scope_cutoffs
from certification.ports import Page, PageRequest
from certification.verification import (
    RUN_LIFECYCLE,
    ComparisonRun,
    ProposalKind,
    ProposalStatus,
    RunStatus,
    ShardRecord,
    ShardStatus,
    TaskStatus,
)
from certification.vocabulary import EntitlementStatus
from storage import schema
from storage.copying import copy_csv, copy_rows, export_parquet
from storage.db import as_dicts, refresh_statistics
from storage.paging import page_by_time
from storage.repositories import get_row
from storage.rules_sql import in_scope_clause
from storage.scoping import within_scope
from storage.sets import among

ENTRY_BATCH = 50_000  # entries stored at once
POSTGRES_NAME_LIMIT = 63
REMOVAL_LOCK_WAIT = "5s"  # removing a run's lists waits this long for the entries' readers

# A stored entry's columns, each from the engine's output (storage/comparison_engine.py).
ENTRY_COLUMNS = {
    "run_id": "CAST(? AS VARCHAR)",
    "entitlement_id": "entitlement_id",
    "person_id": "person_id",
    "district_code": "district_code",
    "township_code": "township_code",
    "benefit_kind": "kind",
    "list": "list",
    "certified_in_window": "certified_in_window",
    "alive_count": "alive_count",
    "lost_count": "lost_count",
    "alive_evidence": "alive_evidence",
    "lost_evidence": "lost_evidence",
    "alive_latest": "alive_latest",
    "news": "news",
    "before_benefit": "before_benefit",
}

# What the engine reads (storage/comparison_engine.py), column for column.
ENTITLEMENTS_FOR_ENGINE = pa.schema(
    [
        ("entitlement_id", pa.string()),
        ("person_id", pa.string()),
        ("citizen_id_key", pa.string()),
        ("birth_date", pa.date32()),
        ("kind", pa.string()),
        ("role", pa.string()),
        ("relationship", pa.string()),
        ("start_date", pa.date32()),
        ("last_certified_on", pa.date32()),
        ("district_code", pa.string()),
        ("township_code", pa.string()),
        ("suspended", pa.bool_()),
        ("in_scope", pa.bool_()),
    ]
)
EVENTS_FOR_ENGINE = pa.schema(
    [
        ("event_id", pa.int64()),
        ("citizen_id_key", pa.string()),
        ("event_kind", pa.string()),
        ("event_date", pa.date32()),
    ]
)


# an advisory lock key of its own (the audit chain has another): starting runs
RUN_START_LOCK_KEY = 0x6C6966652D7275  # "life-ru"


class SqlComparisonRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_starts(self) -> None:
        """Serialise run starts until this transaction ends, so that two starts at the same
        moment (two beat instances, an operator and the schedule) cannot both find no
        overlapping run. SQLite already has one writer at a time."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(RUN_START_LOCK_KEY)))

    def add(self, run: ComparisonRun) -> None:
        self.session.add(run)

    def get(self, run_id: UUID, *, for_update: bool = False) -> ComparisonRun | None:
        if for_update:
            return get_row(self.session, ComparisonRun, run_id, for_update=True)
        return self.session.get(ComparisonRun, run_id, populate_existing=True)

    def queued_before(self, before: datetime) -> list[UUID]:
        t = schema.comparison_runs
        stmt = sa.select(t.c.id).where(t.c.status == RunStatus.QUEUED, t.c.started_at < before)
        return list(self.session.scalars(stmt.order_by(t.c.started_at).limit(10)))

    def latest(
        self, *, status: RunStatus | None = None, scope_code: str | None = None
    ) -> ComparisonRun | None:
        t = schema.comparison_runs
        stmt = sa.select(ComparisonRun).order_by(t.c.started_at.desc()).limit(1)
        if status is not None:
            stmt = stmt.where(t.c.status == status)
        if scope_code is not None:
            stmt = stmt.where(t.c.scope_code == scope_code)
        return self.session.scalars(stmt).first()

    def unfinished(self) -> list[ComparisonRun]:
        t = schema.comparison_runs
        unfinished = [s for s in RunStatus if not RUN_LIFECYCLE.is_final(s)]
        stmt = sa.select(ComparisonRun).where(t.c.status.in_(unfinished))
        return list(self.session.scalars(stmt))

    def with_lists(self) -> list[ComparisonRun]:
        """The finished runs whose lists are still stored, newest first."""
        t = schema.comparison_runs
        finished = [s for s in RunStatus if RUN_LIFECYCLE.is_final(s)]
        stmt = (
            sa.select(ComparisonRun)
            .where(t.c.status.in_(finished), t.c.entries_removed_at.is_(None))
            .order_by(t.c.started_at.desc())
        )
        return list(self.session.scalars(stmt))

    def find(self, page: PageRequest) -> Page[ComparisonRun]:
        t = schema.comparison_runs
        return page_by_time(self.session, sa.select(ComparisonRun), page, t, "started_at")

    # --- bulk: export to the engine, load its entries back -----------------------------

    def export_entitlements(
        self, path: Path, *, scope_on: date, policy: PeriodPolicy, district_code: str | None
    ) -> int:
        """Active and suspended entitlements with what the comparison needs, to Parquet;
        ``in_scope`` says whether the benefit has entered the certification scope by
        ``scope_on`` (Art. 7-8, by the periods' own rule)."""
        e, p = schema.entitlements, schema.persons
        stmt = (
            sa.select(
                e.c.id.label("entitlement_id"),
                p.c.id.label("person_id"),
                p.c.citizen_id_key,
                p.c.birth_date,
                e.c.kind,
                e.c.role,
                e.c.relationship,
                e.c.start_date,
                p.c.last_certified_on,
                p.c.district_code,
                p.c.township_code,
                (e.c.status == EntitlementStatus.SUSPENDED).label("suspended"),
                in_scope_clause(e, p.c.birth_date, scope_cutoffs(scope_on, policy)).label(
                    "in_scope"
                ),
            )
            .join(p, p.c.id == e.c.person_id)
            .where(e.c.status.in_([EntitlementStatus.ACTIVE, EntitlementStatus.SUSPENDED]))
        )
        if district_code is not None:
            stmt = stmt.where(p.c.district_code == district_code)
        return export_parquet(self.session, stmt, path, ENTITLEMENTS_FOR_ENGINE)

    def export_events(self, path: Path, until: date) -> int:
        t = schema.department_events
        stmt = sa.select(
            t.c.id.label("event_id"), t.c.citizen_id_key, t.c.event_kind, t.c.event_date
        ).where(t.c.event_date <= until)
        return export_parquet(self.session, stmt, path, EVENTS_FOR_ENGINE)

    def load_entries(self, run_id: UUID, output: Path) -> int:
        """Store the engine's entries (its Parquet output, storage/comparison_engine.py) as
        the run's lists. On PostgreSQL DuckDB turns them into CSV text and ``COPY`` stores
        it, a batch at a time; no Python runs per entry."""
        if self.session.get_bind().dialect.name != "postgresql":
            total = self._insert_entries(run_id, output)
            refresh_statistics(self.session, schema.comparison_entries)
            return total
        # PostgreSQL: the run's partition is filled as a table of its own, then indexed (one
        # sorted build per index, not ten million insertions into each), then attached:
        # attaching locks the entries only against other attachments, not against reading
        # or writing them, and its check says every row is the run's without a scan.
        part = entries_partition(run_id)
        self.session.execute(
            sa.text(f"CREATE TABLE {part} (LIKE comparison_entries INCLUDING DEFAULTS)")
        )
        total = self._copy_entries(run_id, output, into=part)
        for statement in _partition_keys(part, run_id):
            self.session.execute(sa.text(statement))
        self.session.execute(
            sa.text(
                f"ALTER TABLE comparison_entries ATTACH PARTITION {part} FOR VALUES IN ('{run_id}')"
            )
        )
        self.session.execute(sa.text(f"ANALYZE {part}"))  # the apply plans on them
        return total

    def remove_entries(self, run_id: UUID) -> None:
        """Remove a run's lists: on PostgreSQL its partition is dropped (waiting at most a
        few seconds for readers of the entries to finish; then ``LockTimeout``)."""
        if self.session.get_bind().dialect.name != "postgresql":
            t = schema.comparison_entries
            self.session.execute(sa.delete(t).where(t.c.run_id == run_id))
            return
        self.session.execute(sa.text(f"SET LOCAL lock_timeout = '{REMOVAL_LOCK_WAIT}'"))
        self.session.execute(sa.text(f"DROP TABLE IF EXISTS {entries_partition(run_id)}"))

    def _insert_entries(self, run_id: UUID, output: Path) -> int:
        """Any database: a batch of entries read into Python and inserted at a time."""
        total = 0
        for batch in _entry_rows(run_id, output, evidence_as_json=False):
            rows = [
                {
                    **r,
                    "run_id": run_id,
                    "entitlement_id": UUID(r["entitlement_id"]),
                    "person_id": UUID(r["person_id"]),
                    "alive_evidence": r["alive_evidence"] or [],
                    "lost_evidence": r["lost_evidence"] or [],
                }
                for r in batch.to_pylist()
            ]
            copy_rows(self.session, schema.comparison_entries, rows)
            total += len(rows)
        return total

    def _copy_entries(self, run_id: UUID, output: Path, *, into: str) -> int:
        """PostgreSQL: DuckDB writes the entries as CSV text, ``COPY`` reads it into the
        table named ``into`` (the run's partition)."""
        total = 0
        options = pa_csv.WriteOptions(include_header=False)

        def blocks() -> Iterator[bytes]:
            nonlocal total
            for batch in _entry_rows(run_id, output, evidence_as_json=True):
                sink = io.BytesIO()
                pa_csv.write_csv(batch, sink, options)
                total += batch.num_rows
                yield sink.getvalue()

        copy_csv(self.session, into, list(ENTRY_COLUMNS), blocks())
        return total

    def entries(
        self,
        run_id: UUID,
        *,
        list_name: str | None,
        scope: Scope,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        t = schema.comparison_entries
        stmt = sa.select(t).where(t.c.run_id == run_id)
        if list_name:
            stmt = stmt.where(t.c.list == list_name)
        stmt = within_scope(stmt, scope, t)
        if after is not None:
            stmt = stmt.where(
                sa.tuple_(t.c.person_id, t.c.entitlement_id)
                > sa.tuple_(
                    sa.literal(UUID(after[0]), sa.Uuid), sa.literal(UUID(after[1]), sa.Uuid)
                )
            )
        stmt = stmt.order_by(t.c.person_id, t.c.entitlement_id).limit(limit)
        return as_dicts(self.session.execute(stmt))

    def person_batches(
        self,
        run_id: UUID,
        list_name: str,
        batch_size: int,
        *,
        district_code: str,
        news_only: bool = False,
        without_open_task: bool = False,
        without_open_proposal: bool = False,
    ) -> Iterator[list[dict[str, Any]]]:
        """Entries of one list in one district grouped by person, in pages of persons (for
        applying a run's shard). ``news_only``: only people with a sign of life newer than
        their last certification and after their first benefit started (the others have
        nothing to apply from the qualified list); they are the entries the engine marked
        ``news`` and not ``before_benefit`` (as the people were exported), checked again
        against the people as they are now. ``without_open_task``: only people with no open
        verification task. ``without_open_proposal``: only entries whose benefit is not an
        active one with a suspension proposal waiting."""
        t = schema.comparison_entries
        p = schema.persons
        after: UUID | None = None
        mine = _on_list(run_id, list_name, district_code)
        if without_open_proposal:
            mine = sa.and_(mine, ~_proposal_waiting(t.c.entitlement_id))
        vt = schema.verification_tasks
        while True:
            # Each table joined is bounded by the batch's start as well: PostgreSQL does not
            # carry "person_id > after" across the join, and a merge join would read the
            # persons' (or the tasks') index from its first row for every batch.
            start = after if after is not None else UUID(int=0)
            people = sa.select(t.c.person_id).where(mine, t.c.person_id > start)
            if news_only:  # the run's news (its own index), checked against the person now
                people = people.join(p, p.c.id == t.c.person_id).where(
                    t.c.news,
                    ~t.c.before_benefit,
                    p.c.id > start,
                    t.c.alive_latest > sa.func.coalesce(p.c.last_certified_on, date.min),
                )
            if without_open_task:
                people = people.where(
                    ~sa.exists().where(
                        vt.c.person_id == t.c.person_id,
                        vt.c.person_id > start,
                        vt.c.status == TaskStatus.OPEN.value,
                    )
                )
            ids = list(
                self.session.scalars(
                    people.group_by(t.c.person_id).order_by(t.c.person_id).limit(batch_size)
                )
            )
            if not ids:
                return
            # a range on the district's index: a range scan, not a list filter
            stmt = sa.select(t).where(mine, t.c.person_id >= ids[0], t.c.person_id <= ids[-1])
            if news_only or without_open_task:  # the range also holds those passed over
                stmt = stmt.where(among(self.session, t.c.person_id, ids))
            yield as_dicts(self.session.execute(stmt))
            after = ids[-1]

    def on_list(
        self, run_id: UUID, list_name: str, *, district_code: str, before_benefit: bool = False
    ) -> tuple[int, int]:
        """How many people and entries are on a list in one district; ``before_benefit``:
        only those the engine found seen alive only before their benefit started (read on
        the news index)."""
        t = schema.comparison_entries
        stmt = sa.select(sa.func.count(sa.distinct(t.c.person_id)), sa.func.count()).where(
            _on_list(run_id, list_name, district_code)
        )
        if before_benefit:
            stmt = stmt.where(t.c.news, t.c.before_benefit)
        people, entries = self.session.execute(stmt).one()
        return int(people or 0), int(entries or 0)

    # --- shards: a run's lists applied a district at a time ------------------------------

    def plan_shards(self, run_id: UUID, districts: Sequence[str], at: datetime) -> None:
        if not districts:
            return
        self.session.execute(
            sa.insert(schema.comparison_shards),
            [
                {
                    "run_id": run_id,
                    "district_code": d,
                    "status": ShardStatus.QUEUED.value,
                    "applied": {},
                    "timings": {},
                    "queued_at": at,
                }
                for d in districts
            ],
        )

    def claim_shard(
        self, run_id: UUID, district_code: str, at: datetime, *, stale_before: datetime
    ) -> bool:
        """Take a shard (locked until the transaction ends): a queued one, or a running one
        whose worker has not been heard of since ``stale_before`` (it died). A shard done,
        or running with a live worker, is left to it (False)."""
        t = schema.comparison_shards
        mine = sa.and_(t.c.run_id == run_id, t.c.district_code == district_code)
        row = self.session.execute(
            sa.select(t.c.status, t.c.beat_at).where(mine).with_for_update()
        ).first()
        if row is None or row.status == ShardStatus.DONE.value:
            return False
        if row.status == ShardStatus.RUNNING.value and row.beat_at and row.beat_at >= stale_before:
            return False
        self._update_shard(
            run_id,
            district_code,
            status=ShardStatus.RUNNING.value,
            attempts=t.c.attempts + 1,
            started_at=sa.func.coalesce(t.c.started_at, at),
            beat_at=at,
        )
        return True

    def shard_progress(
        self, run_id: UUID, district_code: str, people_done: int, at: datetime
    ) -> int:
        """Record a shard's people done (and that its worker is alive); returns the run's
        people done over all shards."""
        t = schema.comparison_shards
        self._update_shard(run_id, district_code, people_done=people_done, beat_at=at)
        total = self.session.scalar(
            sa.select(sa.func.sum(t.c.people_done)).where(t.c.run_id == run_id)
        )
        return int(total or 0)

    def finish_shard(
        self,
        run_id: UUID,
        district_code: str,
        applied: dict[str, int],
        timings: dict[str, float],
        at: datetime,
    ) -> list[ShardRecord]:
        """Mark a shard done with what it applied; returns every shard of the run."""
        self._update_shard(
            run_id,
            district_code,
            status=ShardStatus.DONE.value,
            applied=applied,
            timings=timings,
            finished_at=at,
            people_done=sum(applied.values()),
        )
        return self.shards(run_id)

    def shards(self, run_id: UUID) -> list[ShardRecord]:
        t = schema.comparison_shards
        rows = self.session.execute(
            sa.select(t).where(t.c.run_id == run_id).order_by(t.c.district_code)
        )
        return [
            ShardRecord(
                district_code=r.district_code,
                status=ShardStatus(r.status),
                people_done=r.people_done,
                applied=dict(r.applied or {}),
                timings=dict(r.timings or {}),
                started_at=r.started_at,
                finished_at=r.finished_at,
                attempts=r.attempts,
            )
            for r in rows
        ]

    def shard_handed(self, run_id: UUID, district_code: str, at: datetime) -> None:
        self._update_shard(run_id, district_code, handed_at=at)

    def _update_shard(self, run_id: UUID, district_code: str, **values: Any) -> None:
        t = schema.comparison_shards
        self.session.execute(
            sa.update(t)
            .where(t.c.run_id == run_id, t.c.district_code == district_code)
            .values(**values)
        )

    def shards_to_send(
        self, *, queued_before: datetime, stale_before: datetime
    ) -> list[tuple[UUID, str]]:
        """Shards of running runs the broker never took (it was down when they were made),
        and running shards whose worker has not been heard of since ``stale_before`` (not
        sent again since then either: one sweep sends such a shard once)."""
        t, r = schema.comparison_shards, schema.comparison_runs
        never_taken = sa.and_(
            t.c.status == ShardStatus.QUEUED.value,
            t.c.handed_at.is_(None),
            t.c.queued_at < queued_before,
        )
        abandoned = sa.and_(
            t.c.status == ShardStatus.RUNNING.value,
            t.c.beat_at < stale_before,
            sa.or_(t.c.handed_at.is_(None), t.c.handed_at < stale_before),
        )
        stmt = (
            sa.select(t.c.run_id, t.c.district_code)
            .join(r, r.c.id == t.c.run_id)
            .where(sa.or_(never_taken, abandoned), r.c.status == RunStatus.RUNNING)
            .order_by(t.c.queued_at)
            .limit(100)
        )
        return [(row.run_id, row.district_code) for row in self.session.execute(stmt)]

    def changes(
        self, run_id: UUID, previous_id: UUID, *, scope: Scope, limit: int, after: str | None
    ) -> list[dict[str, Any]]:
        """Entitlements whose list differs from the previous run (or that are new)."""
        cur = schema.comparison_entries.alias("cur")
        prev = schema.comparison_entries.alias("prev")
        stmt = (
            sa.select(
                cur.c.entitlement_id,
                cur.c.person_id,
                cur.c.district_code,
                prev.c.list.label("previous_list"),
                cur.c.list.label("list"),
            )
            .select_from(
                cur.outerjoin(
                    prev,
                    sa.and_(
                        prev.c.run_id == previous_id,
                        prev.c.entitlement_id == cur.c.entitlement_id,
                    ),
                )
            )
            .where(cur.c.run_id == run_id)
            .where(sa.or_(prev.c.list.is_(None), prev.c.list != cur.c.list))
        )
        stmt = within_scope(stmt, scope, cur)
        if after:
            stmt = stmt.where(cur.c.entitlement_id > sa.literal(UUID(after), sa.Uuid))
        stmt = stmt.order_by(cur.c.entitlement_id).limit(limit)
        return as_dicts(self.session.execute(stmt))

    def events(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        if not ids:
            return []
        t = schema.department_events
        stmt = sa.select(
            t.c.id,
            t.c.event_kind,
            t.c.event_date,
            t.c.source_department,
            t.c.source_record_id,
            t.c.detail,
        ).where(among(self.session, t.c.id, ids))
        return as_dicts(self.session.execute(stmt))


def _on_list(run_id: UUID, list_name: str, district_code: str) -> sa.ColumnElement[bool]:
    """A run's entries on one list in one district (the district index's prefix)."""
    t = schema.comparison_entries
    return sa.and_(t.c.run_id == run_id, t.c.list == list_name, t.c.district_code == district_code)


def entries_partition(run_id: UUID) -> str:
    """The name of a run's partition of the entries (PostgreSQL)."""
    return f"{schema.comparison_entries.name}_{run_id.hex}"


def _partition_keys(part: str, run_id: UUID) -> list[str]:
    """What a run's partition needs before it is attached: the entries' primary key and
    indexes (as storage/schema.py defines them, so attaching adopts them instead of building
    its own) and a check that every row is the run's."""
    t = schema.comparison_entries
    key = ", ".join(c.name for c in t.primary_key.columns)
    statements = [
        f"ALTER TABLE {part} ADD CHECK (run_id = '{run_id}')",
        f"ALTER TABLE {part} ADD CONSTRAINT {_own(t.primary_key.name, run_id)} PRIMARY KEY ({key})",
    ]
    for index in sorted(t.indexes, key=lambda i: str(i.name)):
        columns = ", ".join(c.name for c in index.columns)
        where = index.dialect_options["postgresql"]["where"]
        statements.append(
            f"CREATE INDEX {_own(index.name, run_id)} ON {part} ({columns})"
            + (f" WHERE {where}" if where is not None else "")
        )
    return statements


def _own(name: object, run_id: UUID) -> str:
    """A partition's copy of the entries' index ``name``: the name, then the run's id (so a
    plan that names it says which of the entries' indexes it is)."""
    own = f"{name}_{run_id.hex}"
    if len(own) > POSTGRES_NAME_LIMIT:
        raise ValueError(f"{own!r} is longer than PostgreSQL keeps a name")
    return own


def _proposal_waiting(entitlement_id: sa.ColumnElement[UUID]) -> sa.ColumnElement[bool]:
    """The benefit is active and a proposal to suspend it waits for a decision (the lost
    list has nothing to add: applying it says ``lost_already_proposed``)."""
    dp, en = schema.decision_proposals, schema.entitlements
    return sa.exists().where(
        dp.c.entitlement_id == entitlement_id,
        dp.c.kind == ProposalKind.SUSPEND.value,
        dp.c.status == ProposalStatus.PROPOSED.value,
        en.c.id == entitlement_id,
        en.c.status == EntitlementStatus.ACTIVE.value,
    )


def _entry_rows(run_id: UUID, output: Path, *, evidence_as_json: bool) -> Iterator[pa.RecordBatch]:
    """The engine's output as :data:`ENTRY_COLUMNS`, a batch at a time; the evidence as JSON
    text (for ``COPY``) or as lists."""
    exprs = {
        **ENTRY_COLUMNS,
        **{
            name: f"coalesce(to_json({name}), '[]')" if evidence_as_json else name
            for name in ("alive_evidence", "lost_evidence")
        },
    }
    select = ", ".join(f"{expr} AS {name}" for name, expr in exprs.items())
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET threads = 2")
        statement = f"SELECT {select} FROM read_parquet(?)"  # noqa: S608 (our columns)
        reader: pa.RecordBatchReader = con.sql(
            statement, params=[str(run_id), str(output)]
        ).to_arrow_reader(ENTRY_BATCH)
        yield from reader
    finally:
        con.close()
