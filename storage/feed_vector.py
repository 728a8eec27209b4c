"""Checking a regular CSV feed a block at a time with Arrow instead of row by row.

The rule for a row stays :func:`certification.feeds.parse_row`; this module only decides,
over whole columns at once, which rows certainly pass it (the plain cases: an 18-character
ID with a good check digit, a known kind and department, ``YYYY-MM-DD`` or ``YYYYMMDD``,
lengths within bounds) and normalises them as it would. Every other row is handed to
``parse_row`` itself, so refusals carry the same codes and sentences, and the equality of the
two paths is tested on files full of broken rows (tests/integration/test_feed_vector.py).

Only a *regular* file takes this path: UTF-8, one physical line per row (a quoted line
break would shift row numbers), no blank lines, no line over the row limit, distinct column
names. Anything else, or a block Arrow cannot parse, is read by the row reader
(``storage.feed_files.CsvFeed.rows``) instead; the caller undoes what it stored first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from certification.citizen_id import CHECK_CHARS, EARLIEST_BIRTH, PROVINCE_PREFIXES, WEIGHTS
from certification.comparison import DepartmentEvent, EventKind
from certification.feeds import (
    COLUMNS,
    DEPARTMENTS,
    EARLIEST_EVENT,
    MAX_DETAIL,
    MAX_RECORD_ID,
    FeedNotRegular,
    RowProblem,
    parse_row,
)

BLOCK_BYTES = 16 << 20
SCAN_BYTES = 8 << 20

_WEIGHTS = np.array(WEIGHTS, dtype=np.int64)
_CHECKS = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)
_KINDS = pa.array(sorted(k.value for k in EventKind))
_SOURCES = pa.array(sorted(DEPARTMENTS))
_PROVINCES = pa.array(sorted(PROVINCE_PREFIXES))


@dataclass(frozen=True, slots=True)
class CheckedBlock:
    """One block of rows: the valid ones as columns (``citizen_id`` normalised, ``event_kind``,
    ``event_date``, ``source_department``, ``source_record_id``, ``detail``), the valid rows
    that only ``parse_row`` could vouch for, and the refused rows with their line numbers."""

    table: pa.Table
    events: list[DepartmentEvent]
    problems: list[tuple[int, RowProblem, str]]
    rows: int


def scan_is_regular(path: Path, max_line: int) -> int:
    """The number of physical lines, if every line is non-blank and within ``max_line``
    bytes; FeedNotRegular otherwise. One pass in blocks (numpy finds the line ends)."""
    lines = 0
    carry = 0  # length of the unfinished line at the end of the previous block
    last_byte = b"\n"
    with path.open("rb") as fh:
        while block := fh.read(SCAN_BYTES):
            arr = np.frombuffer(block, dtype=np.uint8)
            ends = np.flatnonzero(arr == 10)
            if ends.size:
                lengths = np.diff(ends, prepend=-1)  # each line plus its end
                lengths[0] += carry
                if lengths.max() - 1 > max_line:
                    raise FeedNotRegular("a line is too long")
                if (lengths <= 1).any() or ((lengths == 2) & (arr[ends - 1] == 13)).any():
                    raise FeedNotRegular("a blank line")
                carry = len(block) - int(ends[-1]) - 1
            else:
                carry += len(block)
            if carry > max_line:
                raise FeedNotRegular("a line is too long")
            lines += int(ends.size)
            last_byte = block[-1:]
    return lines + (0 if last_byte == b"\n" else 1)


def _trim(column: pa.ChunkedArray | pa.Array) -> Any:
    return pc.utf8_trim_whitespace(column)


def _date_of(text: Any, fmt: str) -> Any:
    """The dates ``text`` spells in ``fmt``, null where it spells none. Strict: Arrow reads
    30 February as 2 March, so a date that does not print back as the text is none."""
    parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
    spelled = pc.equal(pc.strftime(parsed, format=fmt), text)
    return pc.if_else(pc.fill_null(spelled, False), pc.cast(parsed, pa.date32()), None)


def _check_digits(ids: Any, plain: np.ndarray) -> np.ndarray:
    """Whether each plain ID (18 ASCII characters, by the shape test) carries its check
    character, computed over the packed bytes of all of them at once."""
    ok = np.zeros(len(plain), dtype=bool)
    if not plain.any():
        return ok
    chosen = pc.filter(ids, pa.array(plain))
    if isinstance(chosen, pa.ChunkedArray):
        chosen = chosen.combine_chunks()
    offsets = np.frombuffer(chosen.buffers()[1], dtype=np.int32)
    offsets = offsets[chosen.offset : chosen.offset + len(chosen) + 1]
    data = np.frombuffer(chosen.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    grid = data.reshape(-1, 18).astype(np.int64)
    expected = _CHECKS[(grid[:, :17] - 48) @ _WEIGHTS % 11]
    ok[np.flatnonzero(plain)] = expected == grid[:, 17]
    return ok


def check_block(batch: pa.RecordBatch, first_line: int, today: date) -> CheckedBlock:
    """Check one block whose first row is on line ``first_line``."""
    n = batch.num_rows
    col = {name: batch.column(name) for name in batch.schema.names}
    empty = pa.nulls(n, pa.string())
    cid = pc.utf8_upper(_trim(col["citizen_id"]))
    kind = pc.utf8_lower(_trim(col["event_kind"]))
    raw_date = _trim(col["event_date"])
    source = pc.utf8_lower(_trim(col["source_department"]))
    record = _trim(col["source_record_id"])
    detail = _trim(col["detail"]) if "detail" in col else pc.fill_null(empty, "")

    shape = pc.fill_null(pc.match_substring_regex(cid, r"^[0-9]{17}[0-9X]$"), False)
    born = _date_of(pc.utf8_slice_codeunits(cid, 6, 14), "%Y%m%d")
    ok = pc.and_(shape, pc.is_in(pc.utf8_slice_codeunits(cid, 0, 2), value_set=_PROVINCES))
    ok = pc.and_(ok, pc.fill_null(pc.greater_equal(born, pa.scalar(EARLIEST_BIRTH)), False))
    ok = pc.and_(ok, pc.fill_null(pc.less_equal(born, pa.scalar(today)), False))
    ok = pc.and_(ok, pc.is_in(kind, value_set=_KINDS))
    iso = pc.fill_null(pc.match_substring_regex(raw_date, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), False)
    compact = pc.fill_null(pc.match_substring_regex(raw_date, r"^[0-9]{8}$"), False)
    when = pc.coalesce(
        pc.if_else(iso, _date_of(raw_date, "%Y-%m-%d"), pa.scalar(None, pa.date32())),
        pc.if_else(compact, _date_of(raw_date, "%Y%m%d"), pa.scalar(None, pa.date32())),
    )
    ok = pc.and_(ok, pc.fill_null(pc.less_equal(when, pa.scalar(today)), False))
    ok = pc.and_(ok, pc.fill_null(pc.greater_equal(when, pa.scalar(EARLIEST_EVENT)), False))
    ok = pc.and_(ok, pc.is_in(source, value_set=_SOURCES))
    record_len = pc.fill_null(pc.utf8_length(record), 0)
    ok = pc.and_(ok, pc.and_(pc.greater(record_len, 0), pc.less_equal(record_len, MAX_RECORD_ID)))
    ok = pc.and_(ok, pc.less_equal(pc.fill_null(pc.utf8_length(detail), 0), MAX_DETAIL))
    plain = np.asarray(pc.fill_null(ok, False).to_numpy(zero_copy_only=False), dtype=bool)
    plain &= _check_digits(cid, plain)

    mask = pa.array(plain)
    detail_or_null = pc.if_else(pc.equal(detail, ""), pa.scalar(None, pa.string()), detail)
    table = pa.table(
        {
            "citizen_id": pc.filter(cid, mask),
            "event_kind": pc.filter(kind, mask),
            "event_date": pc.filter(when, mask),
            "source_department": pc.filter(source, mask),
            "source_record_id": pc.filter(record, mask),
            "detail": pc.filter(detail_or_null, mask),
        }
    )
    events: list[DepartmentEvent] = []
    problems: list[tuple[int, RowProblem, str]] = []
    for i in np.flatnonzero(~plain).tolist():
        values = {name: col[name][i].as_py() for name in batch.schema.names}
        outcome = parse_row(values, today)
        if isinstance(outcome, RowProblem):
            raw = ",".join(str(values[c] or "") for c in batch.schema.names)
            problems.append((first_line + i, outcome, raw))
        else:
            events.append(outcome)
    return CheckedBlock(table, events, problems, n)


def checked_blocks(
    path: Path, columns: list[str], delimiter: str, today: date
) -> Iterator[CheckedBlock]:
    """The file's rows in checked blocks (the header is line 1). FeedNotRegular when a block
    cannot be read as plain CSV with the header's width."""
    wanted = [c for c in columns if c in COLUMNS]
    try:
        reader = pacsv.open_csv(
            str(path),
            read_options=pacsv.ReadOptions(
                column_names=columns, skip_rows=1, block_size=BLOCK_BYTES
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns},
                include_columns=wanted,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        line = 2
        for batch in reader:
            block = check_block(batch, line, today)
            line += batch.num_rows
            yield block
    except (pa.ArrowInvalid, UnicodeDecodeError) as err:
        raise FeedNotRegular(str(err)) from err
