"""The department feed format and the validation of one row.

A feed is a table with one row per event (CSV in UTF-8 or GBK/GB18030, or
Parquet). Columns, case-insensitive, in any order:

==================  =========  ================================================
column              required   content
==================  =========  ================================================
citizen_id          yes        18-character citizen ID (GB 11643 check digit)
event_kind          yes        one of :class:`certification.comparison.EventKind`
event_date          yes        ``YYYY-MM-DD`` or ``YYYYMMDD``; not in the future
source_department   yes        one of :data:`DEPARTMENTS`
source_record_id    yes        the department's own id for the record (≤ 64
                               characters); re-sending it is harmless
detail              no         free text (≤ 500 characters)
==================  =========  ================================================

Other columns are reported and ignored. A row that breaks a rule is refused
with its row number and a reason; the valid rows of the file are kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from certification.citizen_id import CitizenId
from certification.comparison import DepartmentEvent, EventKind
from certification.errors import InvalidCitizenId

REQUIRED_COLUMNS = (
    "citizen_id",
    "event_kind",
    "event_date",
    "source_department",
    "source_record_id",
)
OPTIONAL_COLUMNS = ("detail",)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# The national cross-region certification system (Art. 21): people it marked lost, who
# were suspended and then found qualified, are uploaded back to it.
NATIONAL_CROSS_REGION = "hrss_national"

DEPARTMENTS: Mapping[str, str] = {
    "public_security": "公安",
    "civil_affairs": "民政",
    "justice": "司法",
    "court": "法院",
    "transport": "交通",
    "health": "卫生健康",
    "market_regulation": "市场监管",
    "medical_insurance": "医保",
    "tax": "税务",
    "bank": "银行",
    "utilities": "公共事业",
    "hrss": "人力资源社会保障",
    NATIONAL_CROSS_REGION: "人社部异地资格认证系统",
    "employer": "参保单位",
    "big_data": "大数据认证",
    "other": "其他",
}

MAX_RECORD_ID = 64
MAX_DETAIL = 500
EARLIEST_EVENT = date(1900, 1, 1)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why a row was refused: a stable code, the column and a sentence a person can act on."""

    code: str
    message: str
    column: str | None = None


def normalise_header(names: list[str]) -> list[str]:
    return [n.replace("\ufeff", "").strip().lower() for n in names]


def header_problems(columns: list[str]) -> tuple[list[str], list[str]]:
    """The missing required columns and the unknown (ignored) ones."""
    present = set(columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    extra = [c for c in columns if c not in COLUMNS]
    return missing, extra


def _parse_date(raw: str) -> date | None:
    text = raw.strip()
    try:
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def parse_row(values: Mapping[str, object], today: date) -> DepartmentEvent | RowProblem:
    """Validate one row (values keyed by normalised column name)."""
    texts = {column: _text(values.get(column)) for column in COLUMNS}

    def text(column: str) -> str:
        return texts[column]

    for column in REQUIRED_COLUMNS:
        if not texts[column]:
            return RowProblem("missing_value", f"The column {column} is empty.", column)
    try:
        citizen = CitizenId.parse(text("citizen_id").upper(), today=today)
    except InvalidCitizenId as exc:
        return RowProblem("bad_citizen_id", str(exc), "citizen_id")
    try:
        kind = EventKind(text("event_kind").lower())
    except ValueError:
        return RowProblem(
            "unknown_event_kind",
            f"Unknown event kind {text('event_kind')[:40]!r}; see the feed format for the list.",
            "event_kind",
        )
    raw_date = values.get("event_date")
    when = raw_date if isinstance(raw_date, date) else _parse_date(text("event_date"))
    if when is None:
        return RowProblem(
            "bad_date",
            f"The event date {text('event_date')[:20]!r} is not a date (use YYYY-MM-DD).",
            "event_date",
        )
    if when > today:
        return RowProblem(
            "future_date",
            f"The event date {when.isoformat()} is in the future.",
            "event_date",
        )
    if when < EARLIEST_EVENT:
        return RowProblem(
            "bad_date", f"The event date {when.isoformat()} is too early.", "event_date"
        )
    source = text("source_department").lower()
    if source not in DEPARTMENTS:
        return RowProblem(
            "unknown_source",
            f"Unknown source department {source[:40]!r}; expected one of " + ", ".join(DEPARTMENTS),
            "source_department",
        )
    record_id = text("source_record_id")
    if len(record_id) > MAX_RECORD_ID:
        return RowProblem(
            "too_long",
            f"The source record id is longer than {MAX_RECORD_ID} characters.",
            "source_record_id",
        )
    detail = text("detail") or None
    if detail is not None and len(detail) > MAX_DETAIL:
        return RowProblem(
            "too_long", f"The detail is longer than {MAX_DETAIL} characters.", "detail"
        )
    return DepartmentEvent(
        citizen_id=str(citizen),
        kind=kind,
        event_date=when,
        source=source,
        source_record_id=record_id,
        detail=detail,
    )


class FeedNotRegular(Exception):
    """A feed that must be read row by row (see :meth:`FeedSource.checked_blocks`)."""


class CheckedBlock(Protocol):
    """A block of rows checked at once: the valid ones as a column table (opaque here; the
    feed repository stores it), valid rows only :func:`parse_row` could vouch for, and the
    refused rows as (row number, problem, raw text)."""

    @property
    def table(self) -> Any: ...

    @property
    def events(self) -> list[DepartmentEvent]: ...

    @property
    def problems(self) -> list[tuple[int, RowProblem, str]]: ...

    @property
    def rows(self) -> int: ...


class FeedSource(Protocol):
    """An opened feed file: its header, and its rows one at a time (never loaded whole)."""

    @property
    def file_name(self) -> str: ...

    @property
    def file_format(self) -> str:
        """csv | parquet"""
        ...

    @property
    def encoding(self) -> str | None: ...

    @property
    def columns(self) -> list[str]:
        """The normalised names, in file order."""
        ...

    @property
    def sha256(self) -> str | None:
        """Of the whole file; known once rows() is exhausted."""
        ...

    def rows(self) -> Iterator[tuple[int, Mapping[str, object] | RowProblem, str | None]]:
        """(row number, values by column or the problem that stopped reading it, raw text)."""
        ...

    def checked_blocks(self, today: date) -> Iterator[CheckedBlock] | None:
        """The rows in blocks checked by whole columns with the same outcome as
        :func:`parse_row` row by row, or None when the file must be read by :meth:`rows`.
        May raise FeedNotRegular part-way: the caller then undoes and reads by rows."""
        ...
