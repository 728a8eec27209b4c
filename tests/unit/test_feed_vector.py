"""The column-wise check of a regular feed gives what the row-by-row check gives: the same
events (normalised the same way) and the same refusals, by row number, code and sentence."""

import random
from datetime import date
from pathlib import Path

import pytest

from certification.citizen_id import make_citizen_id
from certification.feeds import COLUMNS, FeedNotRegular, RowProblem, parse_row
from storage.feed_files import CsvFeed, open_feed
from storage.feed_vector import scan_is_regular

TODAY = date(2026, 12, 1)


def valid_id(n: int) -> str:
    return make_citizen_id("500103", date(1950, 1, 1 + n % 28), n % 1000).value


BROKEN = [
    lambda r: (
        r | {"citizen_id": r["citizen_id"][:17] + ("0" if r["citizen_id"][17] != "0" else "1")}
    ),
    lambda r: r | {"citizen_id": r["citizen_id"].lower()},
    lambda r: r | {"citizen_id": " " + r["citizen_id"][:6] + " " + r["citizen_id"][6:] + " "},
    lambda r: r | {"citizen_id": "99" + r["citizen_id"][2:]},
    lambda r: r | {"citizen_id": "５００１０３" + r["citizen_id"][6:]},  # full-width digits
    lambda r: r | {"citizen_id": r["citizen_id"][:6] + "20300101" + r["citizen_id"][14:]},
    lambda r: r | {"citizen_id": ""},
    lambda r: r | {"event_kind": "time_travel"},
    lambda r: r | {"event_kind": " RAIL_TRAVEL "},
    lambda r: r | {"event_date": "20260230"},
    lambda r: r | {"event_date": "2026-13-01"},
    lambda r: r | {"event_date": "2026-11-05T10:00"},
    lambda r: r | {"event_date": "20261105"},
    lambda r: r | {"event_date": "2027-01-01"},
    lambda r: r | {"event_date": "1899-12-31"},
    lambda r: r | {"event_date": "5/11/2026"},
    lambda r: r | {"source_department": "aliens"},
    lambda r: r | {"source_department": "Transport"},
    lambda r: r | {"source_record_id": "R" * 64},
    lambda r: r | {"source_record_id": "R" * 65},
    lambda r: r | {"source_record_id": "  "},
    lambda r: r | {"detail": "d" * 500},
    lambda r: r | {"detail": "d" * 501},
    lambda r: r | {"detail": "  备注  "},
]


def write_feed(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    lines = [",".join(columns)] + [",".join(r.get(c, "") for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def by_rows(path: Path) -> tuple[list, list]:
    with path.open("rb") as fh:
        source = CsvFeed(fh, path.name)  # no path: the row reader
        assert source.checked_blocks(TODAY) is None
        events, problems = [], []
        for number, values, _raw in source.rows():
            outcome = values if isinstance(values, RowProblem) else parse_row(values, TODAY)
            if isinstance(outcome, RowProblem):
                problems.append((number, outcome))
            else:
                events.append(outcome)
    return events, problems


def by_columns(path: Path) -> tuple[list, list]:
    from storage.feed_repos import _events_of

    with path.open("rb") as fh:
        source = open_feed(path, fh)
        blocks = source.checked_blocks(TODAY)
        assert blocks is not None
        events, problems = [], []
        for block in blocks:
            events += _events_of(block.table) + block.events
            problems += [(number, problem) for number, problem, _raw in block.problems]
    return events, problems


@pytest.mark.parametrize("columns", [list(COLUMNS), ["detail", *reversed(COLUMNS[:5]), "x"]])
def test_the_column_check_equals_the_row_check(tmp_path: Path, columns: list[str]) -> None:
    rnd = random.Random(7)
    rows = []
    for n in range(3000):
        row = {
            "citizen_id": valid_id(n),
            "event_kind": rnd.choice(["rail_travel", "bank_in_person", "cremation"]),
            "event_date": f"2026-{rnd.randrange(1, 12):02d}-{rnd.randrange(1, 29):02d}",
            "source_department": rnd.choice(["transport", "bank", "civil_affairs"]),
            "source_record_id": f"R{n}",
            "detail": rnd.choice(["", "note"]),
            "x": "ignored",
        }
        if n % 7 == 0:
            row = rnd.choice(BROKEN)(row)
        rows.append(row)
    path = tmp_path / "feed.csv"
    write_feed(path, rows, columns)
    slow_events, slow_problems = by_rows(path)
    fast_events, fast_problems = by_columns(path)
    key = lambda e: e.source_record_id  # noqa: E731
    assert sorted(fast_events, key=key) == sorted(slow_events, key=key)
    assert sorted(fast_problems, key=lambda p: p[0]) == slow_problems
    assert len(slow_problems) > 200 and len(slow_events) > 2500


def test_irregular_files_are_left_to_the_row_reader(tmp_path: Path) -> None:
    header = ",".join(COLUMNS)
    good = f"{valid_id(1)},rail_travel,2026-11-01,transport,R1,"
    blank = tmp_path / "blank.csv"
    blank.write_text(f"{header}\n{good}\n\n{good}\n", encoding="utf-8")
    with pytest.raises(FeedNotRegular):
        scan_is_regular(blank, 1000)
    long_line = tmp_path / "long.csv"
    long_line.write_text(f"{header}\n{good}{'x' * 2000}\n", encoding="utf-8")
    with pytest.raises(FeedNotRegular):
        scan_is_regular(long_line, 1000)
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(f"{header}\n{good[:-1]}备注\n".encode("gb18030"))
    with gbk.open("rb") as fh:
        assert open_feed(gbk, fh).checked_blocks(TODAY) is None
    quoted = tmp_path / "quoted.csv"  # a line break inside a quoted detail
    quoted.write_text(f'{header}\n{good}"a\nb"\n{good}\n', encoding="utf-8")
    with quoted.open("rb") as fh, pytest.raises(FeedNotRegular):
        blocks = open_feed(quoted, fh).checked_blocks(TODAY)
        assert blocks is not None
        list(blocks)
    assert scan_is_regular(long_line, 10**6) == 2
