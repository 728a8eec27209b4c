"""Reading a register file (CSV in UTF-8, UTF-8 with BOM or GBK/GB18030), streamed: rows as
(line number, values by column) for ``certification.services.register_import``."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from certification.feeds import normalise_header
from certification.services.register_import import header_problems
from storage.feed_files import SNIFF_BYTES, FeedFileError, detect_encoding


class RegisterFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as fh:
            self.encoding = detect_encoding(fh.read(SNIFF_BYTES))
        with path.open(encoding=self.encoding, errors="replace", newline="") as fh:
            header = next(csv.reader(fh), None)
        if not header:
            raise FeedFileError("The file is empty.")
        self.columns = normalise_header(header)
        missing = header_problems(self.columns)
        if missing:
            raise FeedFileError(
                "The file misses the required column(s) " + ", ".join(missing) + "."
            )

    def rows(self) -> Iterator[tuple[int, dict[str, str | None]]]:
        """(line number of the row's first line, values); the header is line 1."""
        with self.path.open(encoding=self.encoding, errors="replace", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            start = reader.line_num + 1
            try:
                for record in reader:
                    yield start, dict(zip(self.columns, record, strict=False))
                    start = reader.line_num + 1
            except csv.Error as err:
                raise FeedFileError(f"Line {start} cannot be read as CSV ({err}).") from None
