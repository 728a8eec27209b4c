"""Key rotation for sealed columns: every face template and every sealed personal value
rewritten under the current key of its ring, in batches, each its own transaction
(resumable: a value already under the current key is left alone, and found so by SQL).
Afterwards the old keys can be removed from the settings.

The sealed personal columns are found in the tables' own definitions (their type is
:class:`storage.crypto.SealedText`), so a column sealed later is rotated without a change
here. A blind index does not change with the rotation: its key is another."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from storage import schema
from storage.crypto import (
    SealedText,
    open_template,
    open_text,
    process_ring,
    seal_text,
    sealed_kid,
    sealed_text_prefix,
)


@dataclass(frozen=True, slots=True)
class Rotation:
    checked: int
    resealed: int


@dataclass(slots=True)
class PersonalRotation:
    resealed: dict[str, int] = field(default_factory=dict)  # table -> rows rewritten

    @property
    def total(self) -> int:
        return sum(self.resealed.values())


def sealed_columns() -> dict[sa.Table, list[sa.Column[Any]]]:
    """Every table with sealed personal values, and those columns."""
    found: dict[sa.Table, list[sa.Column[Any]]] = {}
    for table in schema.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, SealedText)]
        if columns:
            found[table] = columns
    return found


def reseal_templates(session_factory: sessionmaker[Session], *, batch: int = 500) -> Rotation:
    t = schema.face_templates
    raw = sa.type_coerce(t.c.template, sa.JSON)  # as stored, not opened
    current = process_ring().current
    checked = resealed = 0
    after: UUID | None = None
    while True:
        with session_factory() as session:
            stmt = sa.select(t.c.id, raw).order_by(t.c.id).limit(batch)
            if after is not None:
                stmt = stmt.where(t.c.id > after)
            rows = session.execute(stmt).all()
            if not rows:
                break
            for row_id, stored in rows:
                checked += 1
                if sealed_kid(stored) == current:
                    continue
                session.execute(
                    sa.update(t).where(t.c.id == row_id).values(template=open_template(stored))
                )
                resealed += 1
            session.commit()
            after = rows[-1][0]
    return Rotation(checked, resealed)


def reseal_personal_data(
    session_factory: sessionmaker[Session], *, batch: int = 2000
) -> PersonalRotation:
    """Rewrite every sealed personal value not under the current personal-data key (older
    keys, or clear values written before sealing) under it."""
    current = sealed_text_prefix()  # KeyMissing when no personal-data key is configured
    report = PersonalRotation()
    for table, columns in sealed_columns().items():
        pk = next(iter(table.primary_key.columns))
        raw = [sa.type_coerce(c, sa.Text).label(c.name) for c in columns]  # as stored
        stale = sa.or_(
            *(sa.and_(c.is_not(None), ~raw[i].startswith(current)) for i, c in enumerate(columns))
        )
        count = 0
        after: Any = None
        while True:
            with session_factory() as session:
                # locked until written, so a change made meanwhile is not overwritten
                stmt = sa.select(pk, *raw).where(stale).order_by(pk).limit(batch).with_for_update()
                if after is not None:
                    stmt = stmt.where(pk > after)
                rows = session.execute(stmt).all()
                if not rows:
                    break
                updates = []
                for row in rows:
                    values: dict[str, Any] = {"b_pk": row[0]}
                    for c, stored in zip(columns, row[1:], strict=True):
                        purpose = c.type.purpose  # type: ignore[attr-defined]
                        values[c.name] = (
                            None
                            if stored is None
                            else seal_text(open_text(stored, purpose), purpose)
                        )
                    updates.append(values)
                plain = sa.table(
                    table.name, sa.column(pk.name), *(sa.column(c.name, sa.Text) for c in columns)
                )
                session.execute(
                    sa.update(plain)
                    .where(plain.c[pk.name] == sa.bindparam("b_pk"))
                    .values({c.name: sa.bindparam(c.name) for c in columns}),
                    updates,
                )
                session.commit()
                count += len(rows)
                after = rows[-1][0]
        report.resealed[table.name] = count
    return report
