"""Benchmark: the information comparison of N beneficiaries against M department events.

    python benchmarks/comparison.py --people 10000000 --events 30000000

Generates the synthetic beneficiaries and feeds once (cached under
``var/bench/comparison-<fingerprint>``; generation runs in a child process
so its memory is not counted), then runs the comparison engine
(``storage.comparison_engine``, DuckDB over Parquet, 2 threads, 2 GB memory
limit) and prints the wall time of the comparison and the peak resident
memory of this process.

Last line:
people=N events=M wall_s=X peak_rss_mb=R qualified=A lost=B to_verify=C
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from certification.comparison import ComparisonWindow  # noqa: E402
from lifecert.feedgen import fingerprint, generate  # noqa: E402
from storage.comparison_engine import EngineLimits, run_comparison  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000_000)
    parser.add_argument("--events", type=int, default=30_000_000)
    parser.add_argument("--run-date", type=date.fromisoformat, default=date(2026, 11, 27))
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.data / (
        "comparison-" + fingerprint(args.people, args.events, args.run_date, args.seed)
    )
    ent, ev = folder / "entitlements.parquet", folder / "events.parquet"
    if args.generate_only:
        started = time.perf_counter()
        generate(
            folder,
            people=args.people,
            events=args.events,
            run_date=args.run_date,
            seed=args.seed,
        )
        (folder / "complete").touch()
        print(f"generated in {time.perf_counter() - started:.1f} s: {folder}")  # noqa: T201
        return
    if not (folder / "complete").exists():
        subprocess.run(  # noqa: S603 - our own script
            [sys.executable, __file__, *sys.argv[1:], "--generate-only"], check=True
        )
    started = time.perf_counter()
    result = run_comparison(
        ent,
        ev,
        ComparisonWindow.calendar_year_to(args.run_date),
        folder / "entries.parquet",
        limits=EngineLimits(threads=2, memory_limit=args.memory_limit),
    )
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    c = result.counts
    print(  # noqa: T201 - a benchmark prints its figures
        f"entitlements={result.entitlements} districts={len(result.by_district)} "
        f"classify_s={result.timings['classify_s']:.1f}"
    )
    print(  # noqa: T201
        f"people={args.people} events={args.events} wall_s={wall:.1f} peak_rss_mb={peak:.0f} "
        f"qualified={c['qualified']} lost={c['lost']} to_verify={c['to_verify']}"
    )


if __name__ == "__main__":
    main()
