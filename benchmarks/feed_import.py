"""Benchmark: importing a department feed CSV into PostgreSQL, streamed and validated.

    python benchmarks/feed_import.py --rows 1000000 \
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Writes a CSV feed of N rows from the synthetic generator (with 0.1 % broken rows; in a
child process, once, under var/bench), creates a
fresh database, migrates it, imports the file through the same use case as
``lifecert feeds import``, imports it a second time (every row already known), and drops the
database.

Last line: rows=N wall_s=X rows_per_s=Y reimport_wall_s=Z peak_rss_mb=R accepted=A refused=B
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scratch import scratch_database  # noqa: E402
from certification.access import Actor  # noqa: E402
from certification.services.feeds import import_feed  # noqa: E402
from infra.settings import Settings  # noqa: E402
from lifecert.bootstrap import build_runtime  # noqa: E402
from lifecert.feedgen import generate  # noqa: E402
from storage.feed_files import open_feed  # noqa: E402
from storage.migrate import upgrade  # noqa: E402


def write_csv(folder: Path, rows: int) -> Path:
    people = max(1, rows // 3)
    _ent, ev = generate(folder, people=people, events=rows, run_date=date(2026, 11, 27))
    out = folder / "feed.csv"
    duckdb.sql(
        f"""
        COPY (
          SELECT CASE WHEN event_id % 1000 = 0 THEN substr(citizen_id, 1, 17) || 'Z'
                      ELSE citizen_id END AS citizen_id,
                 event_kind, event_date, source_department, source_record_id, '' AS detail
          FROM read_parquet('{ev}')
        ) TO '{out}' (HEADER true)
        """  # noqa: S608 - our own paths
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "bench" / "feed-import")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.data / str(args.rows)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "feed.csv"
    if args.generate_only:
        write_csv(folder, args.rows)
        return
    if not csv_path.exists():  # generated in a child process: its memory is not counted
        subprocess.run(  # noqa: S603 - our own script
            [sys.executable, __file__, *sys.argv[1:], "--generate-only"], check=True
        )
    with scratch_database(args.admin_url) as url:
        upgrade(url)
        runtime = build_runtime(Settings(database_url=url, data_dir=args.data / "service"))
        actor = Actor.system("benchmark")
        timings = []
        records = []
        for _ in range(2):
            started = time.perf_counter()
            with csv_path.open("rb") as fh, runtime.use_case() as ctx:
                records.append(import_feed(ctx, actor, open_feed(csv_path, fh)))
            timings.append(time.perf_counter() - started)
        runtime.close()
    first, second = records
    assert second.rows_accepted == 0, "a re-import must keep nothing twice"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(  # noqa: T201 - a benchmark prints its figures
        f"rows={first.rows_read} wall_s={timings[0]:.1f} "
        f"rows_per_s={first.rows_read / timings[0]:.0f} reimport_wall_s={timings[1]:.1f} "
        f"peak_rss_mb={peak:.0f} accepted={first.rows_accepted} refused={first.rows_refused}"
    )


if __name__ == "__main__":
    main()
