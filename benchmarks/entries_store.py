"""Benchmark: storing a comparison run's lists — the engine's output (one entry per benefit)
written into PostgreSQL as the run's entries, then the lists of the oldest run removed.

    python benchmarks/entries_store.py --entries 2000000 [--runs 2]

A synthetic engine output of N entries (random ids, the lists in the city's proportions,
evidence for most) is made once under ``var/bench``; a fresh database is migrated; each of
``--runs`` runs stores it through the repository the service uses, and the last line is
``entries=N store_s=<first run> store_again_s=<last run> entries_per_s=<first run>
remove_s=<the first run's lists removed, where the code can>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

import duckdb
import sqlalchemy as sa
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scratch import ADMIN, scratch_database  # noqa: E402
from storage import schema  # noqa: E402
from storage.comparison_repos import SqlComparisonRepository  # noqa: E402
from storage.migrate import upgrade  # noqa: E402


def say(line: str) -> None:
    print(line, flush=True)  # noqa: T201 - a benchmark prints its figures


def engine_output(path: Path, entries: int) -> Path:
    """What the engine writes (storage/comparison_engine.py), for ``entries`` benefits."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(":memory:")
    try:
        con.execute(
            f"""
            COPY (
              SELECT uuid()::VARCHAR AS entitlement_id, uuid()::VARCHAR AS person_id,
                     'pension' AS kind, (500101 + i % 38)::VARCHAR AS district_code,
                     (500101 + i % 38)::VARCHAR || lpad((i % 20)::VARCHAR, 3, '0')
                       AS township_code,
                     CASE WHEN i % 100 < 96 THEN 'qualified'
                          WHEN i % 100 < 97 THEN 'lost' ELSE 'to_verify' END AS list,
                     i % 2 = 0 AS certified_in_window,
                     (i % 4)::BIGINT AS alive_count, (i % 100 = 96)::BIGINT AS lost_count,
                     CASE WHEN i % 4 = 0 THEN NULL ELSE [i, i + 1] END AS alive_evidence,
                     CASE WHEN i % 100 = 96 THEN [i + 2] ELSE NULL END AS lost_evidence,
                     DATE '2026-01-01' + (i % 300)::INTEGER AS alive_latest,
                     i % 100 = 5 AS news, false AS before_benefit
              FROM range({int(entries)}) t(i)
            ) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 262144)
            """  # noqa: S608 - a number and our own path
        )
    finally:
        con.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "bench")
    args = parser.parse_args()
    output = engine_output(args.data / f"entries-{args.entries}.parquet", args.entries)
    times: list[float] = []
    with scratch_database(ADMIN, prefix="lifecert_entries") as url:
        upgrade(url)
        database = sa.create_engine(url)
        runs = []
        for _ in range(args.runs):
            run_id = uuid4()
            with Session(database) as session:
                session.execute(
                    schema.comparison_runs.insert().values(
                        id=run_id,
                        window_start=date(2025, 12, 1),
                        window_end=date(2026, 11, 30),
                        status="applied",
                        counts={},
                        by_district={},
                        applied={},
                        timings={},
                        started_at=datetime.now(UTC),
                    )
                )
                started = time.perf_counter()
                stored = SqlComparisonRepository(session).load_entries(run_id, output)
                session.commit()
                times.append(time.perf_counter() - started)
            assert stored == args.entries, stored
            runs.append(run_id)
            say(f"stage=store run={len(runs)} wall_s={times[-1]:.1f}")
        remove_s = float("nan")
        with Session(database) as session:
            repo = SqlComparisonRepository(session)
            remove = getattr(repo, "remove_entries", None)
            if remove is not None:
                started = time.perf_counter()
                remove(runs[0])
                session.commit()
                remove_s = time.perf_counter() - started
        database.dispose()
    say(
        f"entries={args.entries} store_s={times[0]:.1f} store_again_s={times[-1]:.1f} "
        f"entries_per_s={args.entries / times[0]:.0f} remove_s={remove_s:.2f}"
    )


if __name__ == "__main__":
    main()
