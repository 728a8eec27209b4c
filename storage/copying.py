"""Many new rows into one table at once: ``COPY … FROM STDIN`` on PostgreSQL (several times
faster than batched INSERTs), a batched INSERT elsewhere. Values are given as Python
values, as to an INSERT; JSON columns are encoded here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.crypto import SealedText


def copy_rows(session: Session, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts by column name; every row names the same columns) into
    ``table`` in the session's transaction. Sealed columns are refused: their values are
    sealed by the column type on an INSERT, which COPY would bypass."""
    if not rows:
        return
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    if any(isinstance(c.type, SealedText) for c in columns):
        raise ValueError(f"copy_rows cannot write the sealed columns of {table.name}")
    if session.get_bind().dialect.name != "postgresql":
        session.execute(sa.insert(table), list(rows))
        return
    encoders = [(i, encode) for i, c in enumerate(columns) if (encode := _encoder(c)) is not None]
    raw = session.connection().connection.driver_connection
    assert raw is not None
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"  # our own identifiers
    with raw.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            values = [row[name] for name in names]
            for i, encode in encoders:
                values[i] = encode(values[i])
            copy.write_row(values)


def _plain(value: Any) -> Any:
    """An enum member as its stored value (the driver would send its name)."""
    return value.value if isinstance(value, Enum) else value


def _json(value: Any) -> Any:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _encoder(column: sa.Column[Any]) -> Any:
    """How a column's Python value is sent: JSON encoded, an enum member as its value, else
    as it is (None)."""
    if isinstance(column.type, sa.JSON):
        return _json
    if isinstance(column.type, sa.Enum):
        return _plain
    return None
