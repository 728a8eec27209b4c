"""Department feed imports: the records, the kept events (COPYed in batches that skip known
source records) and the refused rows."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from uuid import UUID

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.orm import Session

from certification.comparison import DepartmentEvent, EventKind
from certification.ports import Page, PageRequest
from certification.verification import (
    FeedImport,
    ImportStatus,
)
from storage import schema
from storage.copying import pg_copy
from storage.crypto import blind_indexes
from storage.db import as_dicts, dialect_insert, refresh_statistics, rowcount
from storage.paging import page_by_time
from storage.repositories import get_row


class SqlFeedImportRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: FeedImport) -> None:
        self.session.add(record)

    def get(self, import_id: UUID, *, for_update: bool = False) -> FeedImport | None:
        return get_row(self.session, FeedImport, import_id, for_update=for_update)

    def queued_before(self, before: datetime) -> list[UUID]:
        t = schema.feed_imports
        stmt = sa.select(t.c.id).where(t.c.status == ImportStatus.QUEUED, t.c.started_at < before)
        return list(self.session.scalars(stmt.order_by(t.c.started_at).limit(100)))

    def find(self, page: PageRequest) -> Page[FeedImport]:
        t = schema.feed_imports
        return page_by_time(self.session, sa.select(FeedImport), page, t, "started_at")

    def add_problems(self, import_id: UUID, problems: list[dict[str, Any]]) -> None:
        if problems:
            rows = [{"import_id": import_id, **p} for p in problems]
            self.session.execute(sa.insert(schema.feed_import_problems), rows)

    def problems(self, import_id: UUID, after_row: int, limit: int) -> list[dict[str, Any]]:
        t = schema.feed_import_problems
        stmt = (
            sa.select(t.c.row_number, t.c.code, t.c.column_name, t.c.message, t.c.raw)
            .where(t.c.import_id == import_id, t.c.row_number > after_row)
            .order_by(t.c.row_number)
            .limit(limit)
        )
        return as_dicts(self.session.execute(stmt))

    def insert_events(self, import_id: UUID, events: list[DepartmentEvent]) -> int:
        """Store new events; a (source, record id) already stored is skipped. Returns inserted."""
        if not events:
            return 0
        self._hold_import(import_id)
        if self.session.get_bind().dialect.name == "postgresql":
            return self._copy_events(import_id, events)
        t = schema.department_events
        keys = blind_indexes("citizen_id", [e.citizen_id for e in events])
        rows = [
            {
                "citizen_id_key": key,
                "event_kind": e.kind.value,
                "event_date": e.event_date,
                "source_department": e.source,
                "source_record_id": e.source_record_id,
                "detail": e.detail,
                "import_id": import_id,
            }
            for key, e in zip(keys, events, strict=True)
        ]
        stmt = (
            dialect_insert(self.session, t)
            .on_conflict_do_nothing(index_elements=["source_department", "source_record_id"])
            .returning(t.c.id)
        )
        inserted = self.session.execute(stmt, rows).all()
        return len(inserted)

    def insert_checked(self, import_id: UUID, table: pa.Table) -> int:
        """A checked block (storage.feed_vector): the blind indexes computed over the column,
        the block sent to PostgreSQL as one CSV stream written by Arrow."""
        if table.num_rows == 0:
            return 0
        if self.session.get_bind().dialect.name != "postgresql":
            return self.insert_events(import_id, _events_of(table))
        self._hold_import(import_id)
        keys = pa.array(
            blind_indexes("citizen_id", table.column("citizen_id").to_pylist()), pa.string()
        )
        body = table.drop_columns(["citizen_id"]).add_column(0, "citizen_id_key", keys)
        buffer = io.BytesIO()
        pacsv.write_csv(body, buffer, write_options=pacsv.WriteOptions(include_header=False))
        self._stage()
        with pg_copy(self.session, _COPY_BATCH + " (FORMAT csv)") as copy:
            copy.write(buffer.getbuffer())
        return self._move(import_id)

    def refresh_statistics(self) -> None:
        refresh_statistics(self.session, schema.department_events, schema.feed_import_problems)

    def forget(self, import_id: UUID) -> None:
        for t in (schema.department_events, schema.feed_import_problems):
            self.session.execute(sa.delete(t).where(t.c.import_id == import_id))

    def _copy_events(self, import_id: UUID, events: list[DepartmentEvent]) -> int:
        """PostgreSQL: COPY the batch into a temporary table, then one INSERT … SELECT that
        skips records already stored (several times faster than row inserts). The citizen ID
        is kept only as its blind index (the comparison joins on it)."""
        self._stage()
        keys = blind_indexes("citizen_id", [e.citizen_id for e in events])
        with pg_copy(self.session, _COPY_BATCH) as copy:
            for key, e in zip(keys, events, strict=True):
                copy.write_row(
                    (
                        key,
                        e.kind.value,
                        e.event_date,
                        e.source,
                        e.source_record_id,
                        e.detail,
                    )
                )
        return self._move(import_id)

    def _stage(self) -> None:
        self.session.execute(
            sa.text(
                "CREATE TEMP TABLE IF NOT EXISTS feed_events_batch (citizen_id_key varchar(32), "
                "event_kind varchar(32), event_date date, source_department varchar(32), "
                "source_record_id varchar(64), detail text) ON COMMIT DELETE ROWS"
            )
        )

    def _hold_import(self, import_id: UUID) -> None:
        """The import events are stored under: it exists, and stays until they are committed
        (``FOR KEY SHARE``, the lock a foreign key's check takes; migration 0023)."""
        t = schema.feed_imports
        held = self.session.scalar(
            sa.select(t.c.id).where(t.c.id == import_id).with_for_update(key_share=True)
        )
        if held is None:
            raise LookupError(f"feed import {import_id} does not exist")

    def _move(self, import_id: UUID) -> int:
        """The staged batch into the events. A record already stored, or repeated inside the
        batch, is kept once: ON CONFLICT DO NOTHING skips a row that conflicts with one this
        statement inserted before it, so the file's first wins, as across batches. Its caller
        has held the import (:meth:`_hold_import`), once for the batch."""
        result = self.session.execute(
            sa.text(
                "INSERT INTO department_events (citizen_id_key, event_kind, event_date, "
                "source_department, source_record_id, detail, import_id) "
                "SELECT citizen_id_key, event_kind, event_date, source_department, "
                "source_record_id, detail, :import_id FROM feed_events_batch "
                "ON CONFLICT (source_department, source_record_id) DO NOTHING"
            ),
            {"import_id": import_id},
        )
        self.session.execute(sa.text("TRUNCATE feed_events_batch"))
        return rowcount(result)


_COPY_BATCH = (
    "COPY feed_events_batch (citizen_id_key, event_kind, event_date, source_department, "
    "source_record_id, detail) FROM STDIN"
)


def _events_of(table: pa.Table) -> list[DepartmentEvent]:
    return [
        DepartmentEvent(
            citizen_id=row["citizen_id"],
            kind=EventKind(row["event_kind"]),
            event_date=row["event_date"],
            source=row["source_department"],
            source_record_id=row["source_record_id"],
            detail=row["detail"],
        )
        for row in table.to_pylist()
    ]
