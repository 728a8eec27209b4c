"""Benchmark: generate the synthetic population as CSV, streamed.

    python benchmarks/population.py --people 1000000 [--out /tmp/population.csv]

Last line: people=N rows=R wall_s=X people_per_s=Y peak_rss_mb=M
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from datetime import date
from pathlib import Path

from lifecert.demo import PopulationGenerator, write_csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--out", type=Path, default=None, help="default: /dev/null")
    args = parser.parse_args()
    out_path = args.out or Path(os.devnull)
    started = time.perf_counter()
    with out_path.open("w", encoding="utf-8", newline="") as fh:
        people = write_csv(
            PopulationGenerator(args.seed, date(2026, 11, 27)).people(args.people), fh
        )
    wall = time.perf_counter() - started
    rows = None
    if args.out:
        with args.out.open(encoding="utf-8") as fh:
            rows = sum(1 for _ in fh) - 1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(  # noqa: T201 - a benchmark prints its figures
        f"people={people} rows={rows if rows is not None else 'n/a'} wall_s={wall:.1f} "
        f"people_per_s={people / wall:.0f} peak_rss_mb={peak_mb:.0f}"
    )


if __name__ == "__main__":
    main()
