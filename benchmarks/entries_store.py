"""Benchmark: storing a comparison run's lists (``SqlComparisonRepository.load_entries``,
DuckDB → CSV → ``COPY``) in the order the engine writes them (list, district, person) against
the same entries shuffled, one after the other in the same run and database.

    python benchmarks/entries_store.py --entries 10000000 [--rounds 1]

The entries are synthetic (ids time-ordered like the service's, 40 districts, 96 %
qualified, 3 % to verify, 1 % lost, up to three evidence ids each), written once under
var/bench. Each store is its own run; its entries are dropped after it is timed.

Last line: entries=N ordered_s=A shuffled_s=B shuffled_vs_ordered=R peak_rss_mb=M
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import duckdb
import sqlalchemy as sa
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scratch import ADMIN, scratch_database  # noqa: E402
from certification.ids import new_id  # noqa: E402
from storage import schema  # noqa: E402
from storage.comparison_repos import SqlComparisonRepository  # noqa: E402
from storage.migrate import upgrade  # noqa: E402


def write_entries(folder: Path, n: int) -> tuple[Path, Path]:
    """The same entries twice: in the engine's order, and shuffled."""
    ordered, shuffled = folder / "ordered.parquet", folder / "shuffled.parquet"
    if ordered.exists() and shuffled.exists():
        return ordered, shuffled
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(":memory:")
    con.execute("SET threads = 2")
    con.execute(
        f"""
        CREATE TABLE e AS
        SELECT printf('01930000-%04x-7%03x-8000-%012x', i // 16777216, (i // 4096) % 4096, i)
                 AS entitlement_id,
               printf('01920000-%04x-7%03x-8000-%012x', i // 16777216, (i // 4096) % 4096, i)
                 AS person_id,
               'pension' AS kind,
               printf('5001%02d', hash(i) % 40) AS district_code,
               NULL::VARCHAR AS township_code,
               CASE WHEN hash(i * 7) % 100 < 96 THEN 'qualified'
                    WHEN hash(i * 7) % 100 < 99 THEN 'to_verify' ELSE 'lost' END AS list,
               hash(i * 3) % 2 = 0 AS certified_in_window,
               (hash(i * 5) % 4)::INTEGER AS alive_count,
               0 AS lost_count,
               [i * 3, i * 3 + 1, i * 3 + 2][1:(hash(i * 5) % 4)::INTEGER] AS alive_evidence,
               []::BIGINT[] AS lost_evidence,
               DATE '2026-01-01' + (hash(i * 11) % 330)::INTEGER AS alive_latest,
               hash(i * 13) % 100 < 45 AS news
        FROM range({n}) t(i)
        """  # noqa: S608 - our own numbers
    )
    con.execute(
        f"COPY (SELECT * FROM e ORDER BY list, district_code, person_id) TO '{ordered}' "  # noqa: S608
        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 262144)"
    )
    con.execute(
        f"COPY (SELECT * FROM e ORDER BY hash(entitlement_id)) TO '{shuffled}' "  # noqa: S608
        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 262144)"
    )
    con.close()
    return ordered, shuffled


def store(engine: sa.Engine, parquet: Path) -> float:
    run_id: UUID = new_id()
    with Session(engine) as session:
        session.execute(
            schema.comparison_runs.insert().values(
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
        session.commit()
        started = time.perf_counter()
        SqlComparisonRepository(session).load_entries(run_id, parquet)
        session.commit()
        took = time.perf_counter() - started
    with engine.begin() as conn:  # the next store starts from an empty table
        conn.execute(sa.text("TRUNCATE comparison_entries"))
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--admin-url", default=ADMIN)
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "bench" / "entries")
    args = parser.parse_args()
    ordered, shuffled = write_entries(args.data / str(args.entries), args.entries)
    times: dict[str, list[float]] = {"ordered": [], "shuffled": []}
    with scratch_database(args.admin_url) as url:
        upgrade(url)
        engine = sa.create_engine(url)
        for _ in range(args.rounds):
            for name, path in (("shuffled", shuffled), ("ordered", ordered)):
                took = store(engine, path)
                times[name].append(took)
                print(f"stage={name} entries={args.entries} wall_s={took:.1f}", flush=True)  # noqa: T201
        engine.dispose()
    a, b = min(times["ordered"]), min(times["shuffled"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(  # noqa: T201 - a benchmark prints its figures
        f"entries={args.entries} ordered_s={a:.1f} shuffled_s={b:.1f} "
        f"shuffled_vs_ordered={b / a:.2f} peak_rss_mb={peak:.0f}"
    )


if __name__ == "__main__":
    main()
