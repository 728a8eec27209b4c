"""The append-only, hash-chained audit trail.

Records queued during a unit of work are written at commit, after the
business rows, under a lock that makes the chain linear:
PostgreSQL takes a transaction-scoped advisory lock; SQLite already allows one
writer at a time. Triggers created by the migration refuse UPDATE and DELETE
on the table; the hash chain finds what gets past them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from certification.audit import GENESIS_HASH, AuditContent, ChainedRecord, chain_hash
from certification.model import AuditRecord
from certification.ports import Page, PageRequest
from storage import schema
from storage.copying import copy_rows
from storage.paging import keyset_page

# Any constant shared by every writer; the advisory lock namespace of this service.
AUDIT_LOCK_KEY = 0x6C696665636572  # "lifecer"


class SqlAuditLog:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._pending: list[dict[str, Any]] = []

    def append(
        self,
        *,
        occurred_at: datetime,
        actor_id: str | None,
        actor_kind: str,
        actor_label: str | None,
        origin: str | None,
        action: str,
        entity_type: str,
        entity_id: str | None,
        reason: str | None,
        details: Mapping[str, Any],
    ) -> None:
        self._pending.append(
            {
                "occurred_at": occurred_at,
                "actor_id": actor_id,
                "actor_kind": actor_kind,
                "actor_label": (actor_label or "")[:128] or None,
                "origin": (origin or "")[:64] or None,
                "action": action,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "reason": reason,
                # Through JSON once so the hash covers exactly what the database returns.
                "details": _json_roundtrip(details),
            }
        )

    def discard_pending(self) -> None:
        self._pending.clear()

    def mark(self) -> int:
        return len(self._pending)

    def discard_after(self, mark: int) -> None:
        del self._pending[mark:]

    def write_pending(self) -> None:
        """Chain and insert the queued records. Called inside the committing transaction."""
        if not self._pending:
            return
        t = schema.audit_events
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(AUDIT_LOCK_KEY)))
        last = self.session.execute(
            sa.select(t.c.sequence, t.c.hash).order_by(t.c.sequence.desc()).limit(1)
        ).first()
        sequence, prev = (int(last[0]), str(last[1])) if last else (0, GENESIS_HASH)
        rows = []
        for fields in self._pending:
            sequence += 1
            content = AuditContent(sequence=sequence, **fields)
            digest = chain_hash(prev, content)
            rows.append({**fields, "sequence": sequence, "prev_hash": prev, "hash": digest})
            prev = digest
        copy_rows(self.session, t, rows)
        self._pending.clear()

    def find(
        self,
        *,
        entity_type: str | None,
        entity_id: str | None,
        actor_id: str | None,
        action: str | None,
        page: PageRequest,
    ) -> Page[AuditRecord]:
        t = schema.audit_events
        stmt = sa.select(AuditRecord)
        for column, value in (
            (t.c.entity_type, entity_type),
            (t.c.entity_id, entity_id),
            (t.c.actor_id, actor_id),
            (t.c.action, action),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        return keyset_page(
            self.session, stmt, page, [t.c.sequence], [int], lambda r: (str(r.sequence),)
        )

    def chain(self, batch_size: int = 5000) -> Iterator[ChainedRecord]:
        t = schema.audit_events
        last = 0
        while True:
            rows = self.session.execute(
                sa.select(t).where(t.c.sequence > last).order_by(t.c.sequence).limit(batch_size)
            ).all()
            if not rows:
                return
            for row in rows:
                yield ChainedRecord(
                    content=AuditContent(
                        sequence=int(row.sequence),
                        occurred_at=row.occurred_at,
                        actor_id=row.actor_id,
                        actor_kind=row.actor_kind,
                        actor_label=row.actor_label,
                        origin=row.origin,
                        action=row.action,
                        entity_type=row.entity_type,
                        entity_id=row.entity_id,
                        reason=row.reason,
                        details=row.details,
                    ),
                    prev_hash=row.prev_hash,
                    hash=row.hash,
                )
            last = int(rows[-1].sequence)


_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)


def _json_roundtrip(details: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``details`` as the database will return them: through JSON, unless they are
    plain JSON values already (most are; the round trip would give them back equal)."""
    copied = _plain_copy(dict(details))
    if copied is not _NOT_PLAIN:
        return cast(dict[str, Any], copied)
    loaded: dict[str, Any] = json.loads(_ENCODER.encode(dict(details)))
    return loaded


_NOT_PLAIN = object()


def _plain_copy(value: Any) -> Any:
    """A deep copy of texts, whole numbers, true/false, null, and lists and text-keyed objects
    of them — what JSON gives back unchanged — or ``_NOT_PLAIN`` (a float, an enum member, a
    tuple, a date, a number as a key: JSON changes them)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is list:
        items = [_plain_copy(v) for v in value]
        return _NOT_PLAIN if any(v is _NOT_PLAIN for v in items) else items
    if kind is dict:
        if not all(type(k) is str for k in value):
            return _NOT_PLAIN
        pairs = {k: _plain_copy(v) for k, v in value.items()}
        return _NOT_PLAIN if any(v is _NOT_PLAIN for v in pairs.values()) else pairs
    return _NOT_PLAIN
