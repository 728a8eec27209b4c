"""Many rows in or out of the database at once.

In: ``COPY … FROM STDIN`` on PostgreSQL (several times faster than batched INSERTs), a
batched INSERT elsewhere. Values are given as Python values, as to an INSERT: the columns'
own types prepare them as they would for an INSERT (a sealed column seals, a UTC column checks
its zone), JSON is encoded and enums sent as values. Or, for rows already made by a columnar
engine, as CSV text in PostgreSQL's own format (:func:`copy_csv`).

Out: a query's rows to a Parquet file (:func:`export_parquet`): on PostgreSQL the server
formats them (``COPY (…) TO STDOUT``, CSV) and Arrow's CSV reader parses the stream, so no
Python runs per row."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any
from uuid import UUID

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator


@contextmanager
def pg_copy(session: Session, statement: str) -> Iterator[Any]:
    """A ``COPY … FROM STDIN`` or ``COPY … TO STDOUT`` on the session's own PostgreSQL
    connection, in its transaction: the driver's copy object, to write or read blocks."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(statement) as copy:
        yield copy


def copy_rows(session: Session, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts by column name; every row names the same columns) into
    ``table`` in the session's transaction."""
    if not rows:
        return
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(sa.insert(table), list(rows))
        return
    encoders = [
        (i, encode) for i, c in enumerate(columns) if (encode := _encoder(c, dialect)) is not None
    ]
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"  # our own identifiers
    with pg_copy(session, statement) as copy:
        for row in rows:
            values = [row[name] for name in names]
            for i, encode in encoders:
                values[i] = encode(values[i])
            copy.write_row(values)


def _plain(value: Any) -> Any:
    """An enum member as its stored value (the driver would send its name)."""
    return value.value if isinstance(value, Enum) else value


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json(value: Any) -> Any:
    return None if value is None else _JSON.encode(value)


def _encoder(column: sa.Column[Any], dialect: Any) -> Any:
    """How a column's Python value is sent (None: as it is): through the column type's own
    bind processing if it has one, then JSON encoded or an enum member as its value."""
    column_type: Any = column.type
    prepare = None
    if isinstance(column_type, TypeDecorator):
        prepare = column_type.process_bind_param
        column_type = column_type.impl_instance
    if isinstance(column_type, sa.JSON):
        send = _json
    elif isinstance(column_type, sa.Enum):
        send = _plain
    else:
        send = None
    if prepare is None:
        return send
    if send is None:
        return lambda value: prepare(value, dialect)
    return lambda value: send(prepare(value, dialect))


def copy_csv(session: Session, table: str, names: Sequence[str], blocks: Iterable[bytes]) -> None:
    """Stream CSV text (PostgreSQL's CSV: an unquoted empty field is NULL; no header) into
    the columns ``names`` of the table named ``table`` in the session's transaction.
    PostgreSQL only: the rows were made by a columnar engine, which other databases get as
    :func:`copy_rows`."""
    statement = f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT csv)"  # ours
    with pg_copy(session, statement) as copy:
        for block in blocks:
            copy.write(block)


EXPORT_BLOCK = 16 << 20  # bytes of CSV parsed at once: bounds the export's memory
EXPORT_BATCH = 100_000  # rows at once on other databases


def export_parquet(
    session: Session, stmt: sa.Select[Any], path: Path, arrow_schema: pa.Schema
) -> int:
    """Write the rows of ``stmt`` to a Parquet file; its columns are those of
    ``arrow_schema``, in that order (strings, dates, booleans, integers). Returns the number
    of rows. Memory stays bounded whatever the number of rows."""
    total = 0
    with pq.ParquetWriter(str(path), arrow_schema, compression="zstd") as writer:
        for batch in _export_batches(session, stmt, arrow_schema):
            writer.write_batch(batch)
            total += batch.num_rows
        if total == 0:
            writer.write_table(arrow_schema.empty_table())
    return total


def _export_batches(
    session: Session, stmt: sa.Select[Any], arrow_schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    if session.get_bind().dialect.name == "postgresql":
        return _copied_batches(session, stmt, arrow_schema)
    return _fetched_batches(session, stmt, arrow_schema)


def _fetched_batches(
    session: Session, stmt: sa.Select[Any], arrow_schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    """Any database: rows fetched and converted a column at a time."""
    result = session.execute(stmt.execution_options(yield_per=EXPORT_BATCH))
    for chunk in result.partitions(EXPORT_BATCH):
        columns = list(zip(*chunk, strict=True))
        yield pa.record_batch(
            [
                pa.array([_exported(v) for v in col], type=field.type)
                for col, field in zip(columns, arrow_schema, strict=True)
            ],
            schema=arrow_schema,
        )


def _copied_batches(
    session: Session, stmt: sa.Select[Any], arrow_schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    """PostgreSQL: the server writes CSV, Arrow parses it."""
    dialect = session.get_bind().dialect
    # The bound values are rendered as quoted SQL literals (COPY takes no parameters).
    query = stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    session.execute(sa.text("SET LOCAL datestyle = 'ISO, YMD'"))
    with pg_copy(session, f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
        blocks = iter(copy)
        first = next(blocks, None)
        if first is None:  # no rows (Arrow refuses an empty text)
            return
        reader = pa_csv.open_csv(
            io.BufferedReader(_CopyOut(itertools.chain([first], blocks)), EXPORT_BLOCK),
            read_options=pa_csv.ReadOptions(
                column_names=arrow_schema.names, block_size=EXPORT_BLOCK, use_threads=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=arrow_schema,
                true_values=["t"],
                false_values=["f"],
                null_values=[""],  # PostgreSQL's NULL, and only that: not "NULL" or "N/A"
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,  # "" is an empty text
            ),
        )
        yield from reader


def _exported(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    return _plain(value)


class _CopyOut(io.RawIOBase):
    """The blocks of a ``COPY … TO STDOUT`` read as a file."""

    def __init__(self, blocks: Iterator[Any]) -> None:
        self._blocks = blocks
        self._rest = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        """As many blocks as fit (the server sends one a row): fewer, larger reads."""
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            if not self._rest:
                block = next(self._blocks, None)
                if block is None:
                    break
                self._rest = memoryview(block)
            n = min(len(view) - filled, len(self._rest))
            view[filled : filled + n] = self._rest[:n]
            self._rest = self._rest[n:]
            filled += n
        return filled
