"""Free text as the procedure keeps it: one line, runs of whitespace (full-width spaces
included) made one space, nothing at either end. Names, addresses, reasons, statements and
references all pass through it, so that what a person typed twice compares equal (a name's
blind index, decision 0020, depends on it)."""

from __future__ import annotations


def one_line(text: str | None) -> str:
    return " ".join((text or "").split())
