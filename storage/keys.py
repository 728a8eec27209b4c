"""Key rotation for sealed columns: every face template and every sealed personal value
rewritten under the current key of its ring, in batches, each locked and its own transaction
(resumable: a value already under the current key is left alone).
Afterwards the old keys can be removed from the settings.

The sealed personal columns are found in the tables' own definitions (their type is
:class:`storage.crypto.SealedText`), so a column sealed later is rotated without a change
here. A blind index does not change with the rotation: its key is another."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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


def _locked_batches(
    session_factory: sessionmaker[Session],
    stmt: sa.Select[Any],
    pk: sa.ColumnElement[Any],
    batch: int,
) -> Iterator[tuple[Session, list[Any]]]:
    """The rows of ``stmt`` in primary-key order, ``batch`` at a time, each batch locked and
    in its own transaction, committed when the next is asked for: a value changed meanwhile
    (a template erased, a name corrected) is not overwritten by its resealed old self."""
    after: Any = None
    while True:
        with session_factory() as session:
            page = stmt.order_by(pk).limit(batch).with_for_update()
            if after is not None:
                page = page.where(pk > after)
            rows = list(session.execute(page).all())
            if not rows:
                return
            yield session, rows
            session.commit()
            after = rows[-1][0]


def reseal_templates(session_factory: sessionmaker[Session], *, batch: int = 500) -> Rotation:
    t = schema.face_templates
    raw = sa.type_coerce(t.c.template, sa.JSON)  # as stored, not opened
    current = process_ring().current
    checked = resealed = 0
    for session, rows in _locked_batches(session_factory, sa.select(t.c.id, raw), t.c.id, batch):
        for row_id, stored in rows:
            checked += 1
            if sealed_kid(stored) == current:
                continue
            session.execute(
                sa.update(t).where(t.c.id == row_id).values(template=open_template(stored))
            )
            resealed += 1
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
        plain = sa.table(
            table.name, sa.column(pk.name), *(sa.column(c.name, sa.Text) for c in columns)
        )
        rewrite = (
            sa.update(plain)
            .where(plain.c[pk.name] == sa.bindparam("b_pk"))
            .values({c.name: sa.bindparam(c.name) for c in columns})
        )
        count = 0
        stmt = sa.select(pk, *raw).where(stale)
        for session, rows in _locked_batches(session_factory, stmt, pk, batch):
            updates = []
            for row in rows:
                values: dict[str, Any] = {"b_pk": row[0]}
                for c, stored in zip(columns, row[1:], strict=True):
                    purpose = c.type.purpose  # type: ignore[attr-defined]
                    values[c.name] = (
                        None if stored is None else seal_text(open_text(stored, purpose), purpose)
                    )
                updates.append(values)
            session.execute(rewrite, updates)
            count += len(rows)
        report.resealed[table.name] = count
    return report
