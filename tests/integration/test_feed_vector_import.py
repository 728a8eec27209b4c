"""A feed imported by blocks on PostgreSQL: the same counts, events and refused rows as row by
row, and a file that turns out irregular half-way is read again row by row without keeping
anything twice."""

from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from certification.access import Actor
from certification.citizen_id import make_citizen_id
from certification.feeds import COLUMNS
from certification.services.feeds import import_feed, import_problems
from storage.feed_files import CsvFeed, open_feed


def feed_lines(n: int, *, today: date) -> list[str]:
    lines = [",".join(COLUMNS)]
    for i in range(n):
        cid = make_citizen_id("500103", date(1950, 1, 1 + i % 28), i % 1000).value
        if i % 50 == 0:
            cid = cid[:17] + ("0" if cid[17] != "0" else "1")  # a wrong check digit
        day = "2026-02-30" if i % 71 == 0 else today.replace(day=1).isoformat()
        lines.append(f"{cid},rail_travel,{day},transport,R{i},")
    return lines


def imported(runtime: Any, path: Path, *, rows_only: bool) -> tuple[Any, list, set]:
    with path.open("rb") as fh, runtime.use_case() as ctx:
        source = CsvFeed(fh, path.name) if rows_only else open_feed(path, fh)
        done = import_feed(ctx, Actor.system("test"), source)
        problems = import_problems(ctx, Actor.system("test"), done.id, after_row=0, limit=10_000)
        fields = ("id", "status", "sha256", "rows_read", "rows_accepted", "rows_refused")
        record = SimpleNamespace(**{k: getattr(done, k) for k in (*fields, "rows_duplicate")})
    with runtime.database.connect() as conn:
        events = set(
            conn.execute(
                sa.text(
                    "SELECT citizen_id_key, event_kind, event_date, source_record_id, detail "
                    "FROM department_events WHERE import_id = :i"
                ),
                {"i": record.id},
            ).all()
        )
    return record, [(p["row_number"], p["code"], p["message"]) for p in problems], events


def counts(record: Any) -> tuple[int, int, int, int]:
    return record.rows_read, record.rows_accepted, record.rows_refused, record.rows_duplicate


def test_blocks_and_rows_import_the_same(runtime: Any, tmp_path: Path) -> None:
    today = runtime.clock.today()
    path = tmp_path / "feed.csv"
    path.write_text("\n".join(feed_lines(4000, today=today)) + "\n", encoding="utf-8")
    fast, fast_problems, fast_events = imported(runtime, path, rows_only=False)
    assert fast.sha256 is not None and fast.status == "done"
    with runtime.database.begin() as conn:
        conn.execute(sa.text("DELETE FROM department_events"))
    slow, slow_problems, slow_events = imported(runtime, path, rows_only=True)
    assert counts(fast) == counts(slow) and fast.sha256 == slow.sha256
    assert fast_problems == slow_problems and len(fast_problems) == 135
    assert fast_events == slow_events and len(fast_events) == fast.rows_accepted
    again, _p, _e = imported(runtime, path, rows_only=False)
    assert again.rows_accepted == 0 and again.rows_duplicate == slow.rows_accepted


def test_a_file_found_irregular_half_way_is_read_again_row_by_row(
    runtime: Any, tmp_path: Path, caplog: Any
) -> None:
    today = runtime.clock.today()
    lines = feed_lines(20_000, today=today)
    # after the rows (checked and stored by blocks) a quoted detail holds a line break
    quoted = lines[6].replace(",R5,", ',R-quoted,"two\nlines"').removesuffix(",")
    assert "R-quoted" in quoted
    lines += [quoted, lines[7].replace(",R6,", ",R-last,")]
    path = tmp_path / "feed.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level("INFO", logger="certification.services.feeds"):
        record, problems, events = imported(runtime, path, rows_only=False)
    assert "read row by row" in caplog.text  # the blocks were stored, then undone
    assert record.rows_read == 20_002 and record.rows_duplicate == 0
    assert len(events) == record.rows_accepted
    assert problems[-1][0] < 20_000  # row numbers of the row reader
    with runtime.database.connect() as conn:
        details = conn.execute(
            sa.text("SELECT detail FROM department_events WHERE source_record_id = 'R-quoted'")
        ).scalar_one()
    assert details == "two\nlines"


def test_an_import_is_kept_while_its_events_are_and_events_need_their_import(
    runtime: Any, tmp_path: Path
) -> None:
    import uuid

    import pytest

    from certification.comparison import DepartmentEvent, EventKind

    path = tmp_path / "feed.csv"
    path.write_text("\n".join(feed_lines(60, today=runtime.clock.today())) + "\n")
    record, _problems, events = imported(runtime, path, rows_only=False)
    assert events
    refused = pytest.raises(sa.exc.IntegrityError, match="still has department events")
    with refused, runtime.database.begin() as conn:
        conn.execute(sa.text("DELETE FROM feed_imports WHERE id = :i"), {"i": record.id})
    with runtime.database.connect() as conn:  # nothing was removed
        kept = conn.execute(
            sa.text("SELECT count(*) FROM department_events WHERE import_id = :i"),
            {"i": record.id},
        ).scalar_one()
    assert kept == len(events)
    event = DepartmentEvent(
        citizen_id=make_citizen_id("500103", date(1950, 1, 1), 1).value,
        kind=EventKind.RAIL_TRAVEL,
        event_date=date(2026, 1, 1),
        source="transport",
        source_record_id="R-orphan",
    )
    with runtime.use_case() as ctx, pytest.raises(LookupError, match="does not exist"):
        ctx.uow.feed_imports.insert_events(uuid.uuid4(), [event])
