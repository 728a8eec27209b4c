"""Rows moved in bulk through PostgreSQL's COPY arrive exactly as the row-by-row path moves
them: texts with commas, quotes, line breaks and Chinese, empty texts apart from NULLs, dates,
booleans, large integers and ids — out to the comparison engine and back as a run's lists."""

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage import schema
from storage.comparison_repos import SqlComparisonRepository, entries_partition
from storage.copying import _copied_batches, _fetched_batches

TEXTS = [None, "", "a,b", 'say "hi"', "two\nlines", "重庆市渝中区", " spaced ", "\\N", "NULL"]


def test_an_export_through_copy_equals_the_rows_fetched_one_by_one(runtime: Any) -> None:
    probe = sa.Table(
        "transfer_probe",
        sa.MetaData(),
        sa.Column("u", sa.Uuid),
        sa.Column("t", sa.Text),
        sa.Column("d", sa.Date),
        sa.Column("b", sa.Boolean),
        sa.Column("n", sa.BigInteger),
        prefixes=["TEMPORARY"],
    )
    arrow_schema = pa.schema(
        [("u", pa.string()), ("t", pa.string()), ("d", pa.date32()), ("b", pa.bool_()),
         ("n", pa.int64())]
    )  # fmt: skip
    rows = [
        {
            "u": uuid4(),
            "t": text,
            "d": None if i == 1 else date(1930 + i, 2, 28),
            "b": None if i == 2 else i % 2 == 0,
            "n": None if i == 3 else 2**62 + i,
        }
        for i, text in enumerate(TEXTS)
    ]
    with Session(runtime.database) as session:
        probe.create(session.connection())
        session.execute(probe.insert(), rows)
        stmt = sa.select(probe).order_by(probe.c.u)
        copied = pa.Table.from_batches(list(_copied_batches(session, stmt, arrow_schema)))
        fetched = pa.Table.from_batches(list(_fetched_batches(session, stmt, arrow_schema)))
        empty = list(_copied_batches(session, stmt.where(sa.false()), arrow_schema))
        session.rollback()
    assert copied.to_pylist() == fetched.to_pylist()
    assert copied.schema == fetched.schema
    assert copied.column("t").to_pylist() == [
        r["t"] for r in sorted(rows, key=lambda r: str(r["u"]))
    ]
    assert empty == []


def test_a_runs_lists_stored_through_copy_equal_the_rows_inserted_one_by_one(
    runtime: Any, tmp_path: Path
) -> None:
    n = len(TEXTS)
    entries = pa.table(
        {
            "entitlement_id": [str(uuid4()) for _ in range(n)],
            "person_id": [str(uuid4()) for _ in range(n)],
            "kind": ["pension"] * n,
            "district_code": ["500103"] * n,
            "township_code": [None, "500103001", *(["500103002"] * (n - 2))],
            "list": ["qualified", "lost", "to_verify", *(["qualified"] * (n - 3))],
            "certified_in_window": [i % 2 == 0 for i in range(n)],
            "alive_count": list(range(n)),
            "lost_count": [0, 2**31 - 1, *([1] * (n - 2))],
            "alive_evidence": [None, [], [1], [2**62, 7, 3], *([[5]] * (n - 4))],
            "lost_evidence": [[9, 8], None, *([[]] * (n - 2))],
            "alive_latest": [None, *([date(2026, 2, 28)] * (n - 1))],
            "news": [False, False, False, *([True, False] * n)][:n],
            "before_benefit": [False, False, False, True, *([False] * (n - 4))],
        },
        schema=pa.schema(
            [
                ("entitlement_id", pa.string()),
                ("person_id", pa.string()),
                ("kind", pa.string()),
                ("district_code", pa.string()),
                ("township_code", pa.string()),
                ("list", pa.string()),
                ("certified_in_window", pa.bool_()),
                ("alive_count", pa.int64()),
                ("lost_count", pa.int64()),
                ("alive_evidence", pa.list_(pa.int64())),
                ("lost_evidence", pa.list_(pa.int64())),
                ("alive_latest", pa.date32()),
                ("news", pa.bool_()),
                ("before_benefit", pa.bool_()),
            ]
        ),
    )
    output = tmp_path / "entries.parquet"
    pq.write_table(entries, output)
    runs = schema.comparison_runs
    copied_run, inserted_run = uuid4(), uuid4()
    with Session(runtime.database) as session:
        for run_id in (copied_run, inserted_run):
            session.execute(
                runs.insert().values(
                    id=run_id,
                    window_start=date(2025, 12, 1),
                    window_end=date(2026, 11, 30),
                    status="running",
                    counts={},
                    by_district={},
                    applied={},
                    timings={},
                    started_at=datetime.now(UTC),
                )
            )
        repo = SqlComparisonRepository(session)
        assert repo.load_entries(copied_run, output) == n  # a partition of its own, by COPY
        # the row path (other databases), here into a partition made for it
        part = entries_partition(inserted_run)
        session.execute(
            sa.text(
                f"CREATE TABLE {part} PARTITION OF comparison_entries "
                f"FOR VALUES IN ('{inserted_run}')"
            )
        )
        assert repo._insert_entries(inserted_run, output) == n
        session.commit()

        def stored(run_id: UUID) -> list[tuple[Any, ...]]:
            e = schema.comparison_entries
            columns = [c for c in e.c if c.name != "run_id"]
            as_text = [sa.cast(c, sa.Text) if isinstance(c.type, sa.JSON) else c for c in columns]
            stmt = sa.select(*as_text).where(e.c.run_id == run_id).order_by(e.c.entitlement_id)
            return [tuple(r) for r in session.execute(stmt)]

        copied, inserted = stored(copied_run), stored(inserted_run)
    assert copied == inserted
    assert len(copied) == n
    assert {r[3] for r in copied} >= {None, "500103001"}  # the township: NULL stays NULL
    assert {r[-2] for r in copied} == {True, False}  # news, as the engine marked them
    assert sum(r[-1] for r in copied) == 1  # before the benefit: one
