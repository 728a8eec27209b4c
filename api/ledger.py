"""The verification ledger (业务台账) as a download: CSV (UTF-8 with BOM) or XLSX."""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
from collections.abc import Iterable
from datetime import date
from typing import Any

from flask import Response, send_file

from certification.services import ledger

# A text cell that a spreadsheet would run as a formula (=HYPERLINK(…), +cmd, -1+1, @SUM):
# CSV gets the usual apostrophe in front; XLSX cells are typed as text, so they show as
# written and never compute.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _header() -> list[str]:
    return [f"{zh} {key}" for key, zh in ledger.LEDGER_COLUMNS]


def ledger_response(rows: Iterable[dict[str, Any]], fmt: str) -> Response:
    keys = [key for key, _ in ledger.LEDGER_COLUMNS]
    stamp = date.today().isoformat()
    # Written to a spooled file first: the request's transaction ends with the request,
    # not when a slow client finishes downloading.
    # the first row is read before any file is made: a refusal (access, a bad filter) raised
    # by the query leaves no half-written workbook behind
    pending = iter(rows)
    first = next(pending, None)
    rows = pending if first is None else itertools.chain([first], pending)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    if fmt == "xlsx":
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        book = Workbook(write_only=True)
        sheet = book.create_sheet("业务台账")
        sheet.append(_header())

        def text_cell(value: Any) -> Any:
            if not isinstance(value, str):
                return value
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text, even when it starts with "="
            return cell

        for row in rows:
            sheet.append([text_cell(row[k]) for k in keys])
        book.save(spool)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
        writer = csv.writer(text, lineterminator="\r\n")  # Excel reads UTF-8 CSV with a BOM
        writer.writerow(_header())
        for row in rows:
            writer.writerow([csv_safe(row[k]) for k in keys])
        text.flush()
        text.detach()
        mimetype = "text/csv; charset=utf-8"
    spool.seek(0)
    return send_file(
        spool, mimetype=mimetype, as_attachment=True, download_name=f"ledger-{stamp}.{fmt}"
    )
