"""Reading department feed files, streamed: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) and
Parquet. A file of any size is read one row (or one Parquet batch) at a time.

Row numbers in reports are the file's line numbers for CSV (the header is line 1) and
1-based row positions for Parquet.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from certification.feeds import (
    COLUMNS,
    CheckedBlock,
    FeedNotRegular,
    RowProblem,
    normalise_header,
)
from storage.feed_vector import checked_blocks, scan_is_regular
from storage.read_ahead import read_ahead

SNIFF_BYTES = 256 * 1024
MAX_LINE_BYTES = 64 * 1024
MAX_CONTINUATION_LINES = 20
PARQUET_BATCH = 20_000

Row = tuple[int, Mapping[str, object] | RowProblem, str | None]


class FeedFileError(ValueError):
    """The file cannot be read as a feed at all (nothing is imported)."""


def _utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) unless most lines with non-ASCII text are not UTF-8 but
    decode as GB18030 (a superset of GBK and GB2312). Lines in the other encoding are then
    refused one by one rather than read as garbage."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FeedFileError("The file is UTF-16; save it as UTF-8 (or GBK) CSV and send it again.")
    lines = sample.split(b"\n")
    if len(sample) >= SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut inside a character
    utf8 = gbk = 0
    for line in lines:
        if line.isascii():
            continue
        if _utf8(line):
            utf8 += 1
        else:
            try:
                line.decode("gb18030")
                gbk += 1
            except UnicodeDecodeError:
                pass
    return "gb18030" if gbk > utf8 else "utf-8"


class CsvFeed:
    file_format = "csv"

    def __init__(self, fh: BinaryIO, file_name: str, path: Path | None = None) -> None:
        self.fh = fh
        self.path = path
        self.file_name = file_name
        self.sha256: str | None = None
        self._hash = hashlib.sha256()
        sample = fh.read(SNIFF_BYTES)
        fh.seek(0)
        self.encoding: str | None = detect_encoding(sample)
        self.line_no = 0
        header = self._next_line()
        if header is None:
            raise FeedFileError("The file is empty.")
        raw_header, _ = header
        try:
            text = raw_header.decode(self.encoding)
        except UnicodeDecodeError as err:
            raise FeedFileError(f"The header line is not valid {self.encoding} text.") from err
        self.delimiter = "\t" if "\t" in text and "," not in text else ","
        names = next(csv.reader([text], delimiter=self.delimiter), [])
        self.columns = normalise_header(names)

    def _next_line(self) -> tuple[bytes, bool] | None:
        """The next physical line (without its end), and whether it was too long."""
        chunk = self.fh.readline(MAX_LINE_BYTES + 1)
        if not chunk:
            return None
        self._hash.update(chunk)
        self.line_no += 1
        too_long = False
        while len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
            too_long = True
            chunk = self.fh.readline(MAX_LINE_BYTES + 1)  # skip the rest of the line
            if not chunk:
                break
            self._hash.update(chunk)
        if too_long:
            return b"", True
        return chunk.rstrip(b"\r\n"), False

    def rows(self) -> Iterator[Row]:
        assert self.encoding is not None
        width = len(self.columns)
        while True:
            line = self._next_line()
            if line is None:
                break
            start = self.line_no
            raw, too_long = line
            if too_long:
                yield (
                    start,
                    RowProblem("too_long", f"The row is longer than {MAX_LINE_BYTES} bytes."),
                    None,
                )
                continue
            # a quoted field may hold a line break: join lines until the quotes balance
            extra = 0
            while raw.count(b'"') % 2 == 1 and extra < MAX_CONTINUATION_LINES:
                more = self._next_line()
                if more is None or more[1]:
                    break
                raw += b"\n" + more[0]
                extra += 1
            if not raw.strip():
                continue  # a blank line holds no row
            try:
                if self.encoding == "gb18030" and not raw.isascii() and _utf8(raw):
                    raise UnicodeDecodeError("gb18030", raw, 0, 1, "a UTF-8 row in a GBK file")
                text = raw.decode(self.encoding)
            except UnicodeDecodeError:
                shown = raw.decode(self.encoding, errors="replace")
                yield (
                    start,
                    RowProblem(
                        "bad_encoding",
                        f"The row is not valid {self.encoding} text (mixed encodings?).",
                    ),
                    shown,
                )
                continue
            try:
                fields = next(csv.reader([text], delimiter=self.delimiter, strict=True))
            except (csv.Error, StopIteration):
                yield start, RowProblem("malformed", "The row is not well-formed CSV."), text
                continue
            if len(fields) != width:
                yield (
                    start,
                    RowProblem(
                        "wrong_field_count",
                        f"The row has {len(fields)} fields; the header has {width}.",
                    ),
                    text,
                )
                continue
            yield start, dict(zip(self.columns, fields, strict=True)), text
        self.sha256 = self._hash.hexdigest()

    def checked_blocks(self, today: date) -> Iterator[CheckedBlock] | None:
        """Column-wise checking for a regular UTF-8 file on disk (storage.feed_vector)."""
        if self.path is None or self.encoding not in ("utf-8", "utf-8-sig"):
            return None
        if len(set(self.columns)) != len(self.columns):
            return None
        try:
            lines = scan_is_regular(self.path, MAX_LINE_BYTES)
        except FeedNotRegular:
            return None
        return read_ahead(self._blocks(self.path, today, lines))  # checked while stored

    def _blocks(self, path: Path, today: date, lines: int) -> Iterator[CheckedBlock]:
        rows = 0
        for block in checked_blocks(path, self.columns, self.delimiter, today):
            rows += block.rows
            yield block
        if rows != lines - 1:  # a quoted line break: rows and lines parted
            raise FeedNotRegular(f"{lines - 1} lines after the header but {rows} rows")
        self.sha256 = _file_sha256(path)


class ParquetFeed:
    file_format = "parquet"
    encoding = None

    def __init__(self, path: Path, file_name: str) -> None:
        self.file_name = file_name
        try:
            self.parquet = pq.ParquetFile(str(path))
        except (pa.ArrowInvalid, OSError) as err:
            raise FeedFileError(f"The file is not a readable Parquet file: {err}") from err
        self.names = list(self.parquet.schema_arrow.names)
        self.columns = normalise_header(self.names)
        self.sha256: str | None = _file_sha256(path)

    def checked_blocks(self, today: date) -> Iterator[CheckedBlock] | None:
        return None  # read row by row

    def rows(self) -> Iterator[Row]:
        wanted = [n for n, c in zip(self.names, self.columns, strict=True) if c in COLUMNS]
        rename = dict(zip(self.names, self.columns, strict=True))
        number = 0
        try:
            for batch in self.parquet.iter_batches(batch_size=PARQUET_BATCH, columns=wanted):
                for row in batch.to_pylist():
                    number += 1
                    values = {rename[k]: v for k, v in row.items()}
                    yield number, values, None
        except (pa.ArrowInvalid, OSError) as err:
            yield (
                number + 1,
                RowProblem("malformed", f"The file is damaged from this row on: {err}"),
                None,
            )


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def open_feed(path: Path, fh: BinaryIO, file_name: str | None = None) -> CsvFeed | ParquetFeed:
    """Recognise the format by content (Parquet's magic bytes), not by the file's name."""
    name = file_name or path.name
    head = fh.read(4)
    fh.seek(0)
    if head == b"PAR1":
        return ParquetFeed(path, name)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FeedFileError("The file is UTF-16; save it as UTF-8 (or GBK) CSV and send it again.")
    if b"\x00" in fh.read(4096):
        fh.seek(0)
        raise FeedFileError("The file is neither CSV text nor Parquet.")
    fh.seek(0)
    return CsvFeed(fh, name, path)


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    """A CSV document (for tests and tools)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode(encoding)
