"""Benchmark: the city in the real database — the register loaded, a department feed imported,
a comparison run classified and applied, a second run with 1 % changes, the dashboard and a
list page — each through the same use cases as the service.

    python benchmarks/city_scale.py --people 1000000 [--processes 2] [--workers 2] [--keep]

The register files (one per process) and the two feeds are generated once per size under
``var/bench/city-<people>`` (in child processes; not timed, not counted in memory). A fresh
database is made, migrated and dropped at the end (``--keep`` keeps it and prints its URL).

Stages, one line each, then the last line:
``people=N load_s=A compare_s=B apply_s=C second_run_apply_s=D feed_rows_per_s=E
dashboard_ms=F page_ms=G peak_rss_mb=R``
(compare_s: export, classification and storing the lists; apply_s: applying them;
page_ms: the median of a city-wide due list's first page and a page deep in it; peak_rss_mb:
this process or any one loader, whichever is larger).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import duckdb
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scratch import ADMIN, scratch_database  # noqa: E402
from certification.access import Actor  # noqa: E402
from certification.ports import PageRequest  # noqa: E402
from certification.services.dashboard import dashboard, refresh_summaries  # noqa: E402
from certification.services.feeds import import_feed  # noqa: E402
from certification.services.persons import list_persons  # noqa: E402
from certification.services.register_import import RegisterReport  # noqa: E402
from certification.services.runs import start_run  # noqa: E402
from infra.settings import Settings  # noqa: E402
from lifecert.bootstrap import build_runtime  # noqa: E402
from lifecert.cli import import_register_file  # noqa: E402
from lifecert.demo import generate_csv_file  # noqa: E402
from lifecert.demo_load import ensure_demo_regions_for  # noqa: E402
from storage.feed_files import open_feed  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

SEED = 20261205
BROKER = "redis://127.0.0.1:6379/9"  # the benchmark's own Redis database, emptied first


def say(line: str) -> None:
    print(line, flush=True)  # noqa: T201 - a benchmark prints its figures


def _generate_shard(path: Path, count: int, shard: int, shards: int, today: date) -> int:
    return generate_csv_file(path, count, SEED, today, shard=shard, shards=shards)


def write_feeds(folder: Path, files: list[Path], today: date) -> None:
    sources = ", ".join(f"'{f}'" for f in files)
    year = (today - timedelta(days=330)).isoformat()
    con = duckdb.connect()
    con.execute(
        f"""
        CREATE TEMP TABLE people AS
        SELECT citizen_id, row_number() OVER () AS n, hash(citizen_id) % 1000 AS roll
        FROM (SELECT DISTINCT citizen_id FROM read_csv([{sources}], header = true,
                                                      all_varchar = true))
        """  # noqa: S608 - our own paths
    )
    con.execute(
        f"""
        COPY (
          SELECT citizen_id, 'rail_travel' AS event_kind,
                 DATE '{year}' + CAST(hash(citizen_id, 1) % 300 AS INTEGER) AS event_date,
                 'transport' AS source_department, 'L' || n AS source_record_id, '' AS detail
          FROM people WHERE roll < 700 OR roll >= 990
          UNION ALL
          SELECT citizen_id, 'cremation',
                 DATE '{year}' + CAST(hash(citizen_id, 2) % 300 AS INTEGER),
                 'civil_affairs', 'D' || n, ''
          FROM people WHERE roll BETWEEN 970 AND 999
          ORDER BY source_record_id
        ) TO '{folder / "feed-1.csv"}' (HEADER true)
        """  # noqa: S608
    )
    con.execute(
        f"""
        COPY (
          SELECT citizen_id, 'bank_in_person' AS event_kind,
                 DATE '{today.isoformat()}' AS event_date, 'bank' AS source_department,
                 'S' || n AS source_record_id, '' AS detail
          FROM people WHERE hash(citizen_id, 3) % 100 = 0
        ) TO '{folder / "feed-2.csv"}' (HEADER true)
        """  # noqa: S608
    )
    con.close()


def generate(folder: Path, people: int, processes: int, today: date) -> list[Path]:
    """The register in ``processes`` files, and two feeds: the year's events (70 % seen
    alive, 2 % a cremation record, 1 % both) and a second one with a new sign of life for
    1 % of people."""
    files = [folder / f"register-{k}.csv" for k in range(processes)]
    if (folder / "complete").exists():
        return files
    folder.mkdir(parents=True, exist_ok=True)
    shares = [people // processes + (1 if k < people % processes else 0) for k in range(processes)]
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        list(
            pool.map(
                _generate_shard,
                files,
                shares,
                range(processes),
                [processes] * processes,
                [today] * processes,
            )
        )
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        pool.submit(write_feeds, folder, files, today).result()  # its memory is not ours
    (folder / "complete").touch()
    return files


def _import_file(settings: Settings, path: Path) -> tuple[RegisterReport, float]:
    report = import_register_file(settings, path, by="benchmark")
    return report, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_ms(call: Any, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def runs(runtime: Any, actor: Actor, folder: Path) -> tuple[float, float, float, float]:
    """The feed imported, a first run, a second feed with 1 % news and a second run."""
    feed = folder / "feed-1.csv"
    started = time.perf_counter()
    with feed.open("rb") as fh, runtime.use_case() as ctx:
        record = import_feed(ctx, actor, open_feed(feed, fh))
    feed_s = time.perf_counter() - started
    feed_rate = record.rows_read / feed_s
    say(
        f"stage=feed rows={record.rows_read} accepted={record.rows_accepted} "
        f"wall_s={feed_s:.1f} rows_per_s={feed_rate:.0f}"
    )

    def run_once(label: str) -> tuple[float, float]:
        with runtime.use_case() as ctx:
            run = start_run(ctx, actor)
        done = runtime.execute_comparison(run.id)
        while not done.finished:  # the workers are applying its shards
            time.sleep(1)
            with runtime.use_case() as ctx:
                done = ctx.uow.comparison.get(run.id) or done
                ctx.uow.commit()  # ends the read; the record stays readable
        t = done.timings
        compare = t.get("export_s", 0) + t.get("classify_s", 0) + t.get("store_s", 0)
        say(
            f"stage={label} export_s={t.get('export_s', 0):.1f} "
            f"classify_s={t.get('classify_s', 0):.1f} store_s={t.get('store_s', 0):.1f} "
            f"apply_s={t.get('apply_s', 0):.1f} "
            + " ".join(
                f"{k}={t[k]:.1f}" for k in sorted(t) if k.startswith("apply_") and k != "apply_s"
            )
            + f" counts={done.counts} applied={done.applied}"
        )
        return compare, t.get("apply_s", 0.0)

    compare_s, apply_s = run_once("first_run")
    second = folder / "feed-2.csv"
    with second.open("rb") as fh, runtime.use_case() as ctx:
        import_feed(ctx, actor, open_feed(second, fh))
    _compare2, second_apply_s = run_once("second_run")
    return compare_s, apply_s, second_apply_s, feed_rate


@contextmanager
def workers(count: int, settings: Settings) -> Iterator[None]:
    """``count`` Celery worker processes on the benchmark's database and a Redis broker of
    its own: the comparison runs' shards are applied by them, as in production."""
    if count == 0:
        yield
        return
    assert settings.broker_url is not None
    redis.Redis.from_url(settings.broker_url).flushdb()
    env = {
        **os.environ,
        "LIFECERT_DATABASE_URL": str(settings.database_url),
        "LIFECERT_DATA_DIR": str(settings.data_dir),
        "LIFECERT_BROKER_URL": settings.broker_url,
    }
    command = [sys.executable, "-m", "celery", "-A", "lifecert.worker_process", "worker"]
    command += ["--concurrency", str(count), "--pool", "prefork", "--loglevel", "WARNING"]
    log = (settings.data_dir / "workers.log").open("ab")
    process = subprocess.Popen(  # noqa: S603 - our own command
        command, env=env, cwd=ROOT, stdout=log, stderr=log
    )
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--admin-url", default=ADMIN)
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="apply the runs' district shards in N Celery worker processes through Redis "
        "(0: in this process, one after another)",
    )
    parser.add_argument(
        "--skip-runs",
        action="store_true",
        help="load and read only (no feed import, no comparison runs: their figures print 0)",
    )
    args = parser.parse_args()
    today = date.today()
    folder = args.data / f"city-{args.people}-{args.processes}-{today.isoformat()}"
    started = time.perf_counter()
    files = generate(folder, args.people, args.processes, today)
    say(f"stage=generate files={len(files)} wall_s={time.perf_counter() - started:.1f}")
    loader_peak = 0.0
    with scratch_database(args.admin_url, prefix="lifecert_city", keep=args.keep) as url:
        upgrade(url)
        broker = BROKER if args.workers else None
        settings = Settings(database_url=url, data_dir=folder / "service", broker_url=broker)
        ensure_demo_regions_for(settings)
        runtime = build_runtime(settings)
        actor = Actor.system("benchmark")

        started = time.perf_counter()
        with ProcessPoolExecutor(args.processes, mp_context=get_context("spawn")) as pool:
            results = list(pool.map(_import_file, [settings] * len(files), files))
        load_s = time.perf_counter() - started
        loaded = sum(r.people_loaded for r, _ in results)
        refused = sum(r.rows_refused for r, _ in results)
        loader_peak = max(peak for _, peak in results)
        say(
            f"stage=load people={loaded} refused_rows={refused} wall_s={load_s:.1f} "
            f"people_per_s={loaded / load_s:.0f}"
        )

        compare_s = apply_s = second_apply_s = feed_rate = 0.0
        if not args.skip_runs:
            with workers(args.workers, settings):
                compare_s, apply_s, second_apply_s, feed_rate = runs(runtime, actor, folder)

        started = time.perf_counter()
        with runtime.use_case() as ctx:  # once, counted live over the whole city
            dashboard(ctx, Actor.system("benchmark"))
        dashboard_live_ms = (time.perf_counter() - started) * 1000
        with runtime.use_case() as ctx:
            started = time.perf_counter()
            rows = refresh_summaries(ctx)
            refresh_s = time.perf_counter() - started
        say(
            f"stage=summaries rows={rows} refresh_s={refresh_s:.1f} "
            f"dashboard_live_ms={dashboard_live_ms:.0f}"
        )

        city_clerk = Actor.system("benchmark")  # the whole city (from the summaries)

        def show_dashboard() -> None:
            with runtime.use_case() as ctx:
                dashboard(ctx, city_clerk)

        dashboard_ms = timed_ms(show_dashboard)
        cursor: list[Any] = [None]

        def first_page() -> None:
            with runtime.use_case() as ctx:
                page = list_persons(
                    ctx, city_clerk, region_code=None, name=None, page=PageRequest(limit=50)
                )
                cursor[0] = page.next_after

        def deep_page() -> None:
            with runtime.use_case() as ctx:
                after = cursor[0]
                for _ in range(20):  # twenty pages on, each from the cursor of the last
                    page = list_persons(
                        ctx,
                        city_clerk,
                        region_code=None,
                        name=None,
                        page=PageRequest(limit=50, after=after),
                    )
                    after = page.next_after

        first_ms = timed_ms(first_page)
        deep_ms = timed_ms(deep_page) / 20
        page_ms = statistics.median([first_ms, deep_ms])
        say(
            f"stage=reading dashboard_ms={dashboard_ms:.0f} first_page_ms={first_ms:.1f} "
            f"deep_page_ms={deep_ms:.1f}"
        )
        runtime.close()
        if args.keep:
            say(f"database kept: {url}")
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, loader_peak)
    say(
        f"people={loaded} load_s={load_s:.1f} compare_s={compare_s:.1f} apply_s={apply_s:.1f} "
        f"second_run_apply_s={second_apply_s:.1f} feed_rows_per_s={feed_rate:.0f} "
        f"dashboard_ms={dashboard_ms:.0f} page_ms={page_ms:.1f} peak_rss_mb={peak:.0f}"
    )


if __name__ == "__main__":
    main()
