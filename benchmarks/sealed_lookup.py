"""Sealed personal data at city scale, on PostgreSQL: what sealing costs and whether
look-ups by citizen ID stay fast.

Loads N people with their benefits by COPY, every citizen ID, name, phone and address sealed
(AES-256-GCM) with its blind index (keyed HMAC) computed here, then measures in the same run:

- ``seal``: the crypto per person (four values sealed, three indexes computed);
- ``lookup``: look-ups by citizen ID through the repository (the blind index, unique
  B-tree, the record opened), p50 / p99, against the same record by primary key (the floor
  the database sets); and the bare index probe against the bare primary-key probe;
- ``export``: the comparison's export of every benefit to Parquet (joined on the blind
  index, nothing opened), and what opening every citizen ID on those rows would add (the
  cost sealing would put on the export had it kept joining on the number);
- ``open``: reading N people back with citizen ID and name opened (what a full ledger
  pays).

    python benchmarks/sealed_lookup.py --people 1000000

Prints one line per stage and a last line with the figures and their ratios.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scratch import scratch_database
from certification.citizen_id import make_citizen_id
from certification.periods import PeriodPolicy
from certification.regions import DISTRICTS
from infra.settings import Settings
from lifecert.bootstrap import build_runtime
from storage import schema
from storage.comparison_repos import SqlComparisonRepository
from storage.crypto import blind_index, seal_text
from storage.migrate import upgrade
from storage.repositories import SqlPersonRepository

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "秀兰建国明华英芳玉珍德文志强春梅淑桂"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _citizen_id(i: int) -> str:
    district = sorted(DISTRICTS)[i % len(DISTRICTS)]
    born = date(1935, 1, 1) + timedelta(days=(i * 7919) % 14000)
    return make_citizen_id(district, born, i // len(DISTRICTS) % 999 + 1).value


def _load(runtime: Any, people: int) -> tuple[float, float, list[str]]:
    """COPY the people and one pension each; returns (crypto seconds, total seconds, some
    citizen IDs to look up)."""
    rnd = random.Random(7)  # noqa: S311 - synthetic data
    now = datetime.now(UTC)
    crypto_s = 0.0
    started = time.perf_counter()
    sample: list[str] = []
    seen: set[str] = set()
    raw = runtime.database.raw_connection()
    try:
        cur = raw.cursor()
        person_cols = (
            "id, citizen_id, citizen_id_key, name, name_key, phone, phone_key, address, "
            "birth_date, sex, region_code, district_code, township_code, village_code, "
            "last_certified_on, period_starts_on, due_on, period_basis, created_at, "
            "updated_at, version"
        )
        ent_cols = (
            "id, person_id, kind, role, start_date, monthly_amount_fen, status, created_at, version"
        )
        batch = 50_000
        for first in range(0, people, batch):
            rows, ents = [], []
            for i in range(first, min(people, first + batch)):
                cid = _citizen_id(i)
                if cid in seen:
                    continue
                seen.add(cid)
                name = rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN)
                phone = f"1{rnd.randrange(30, 99)}{rnd.randrange(10**8):08d}"
                address = f"重庆市{rnd.randrange(1, 999)}号{rnd.randrange(1, 30)}栋"
                t0 = time.perf_counter()
                sealed = (
                    seal_text(cid, "persons.citizen_id"),
                    blind_index("citizen_id", cid),
                    seal_text(name, "persons.name"),
                    blind_index("name", name),
                    seal_text(phone, "persons.phone"),
                    blind_index("phone", phone),
                    seal_text(address, "persons.address"),
                )
                crypto_s += time.perf_counter() - t0
                pid = uuid.uuid4()
                certified = date(2026, 1, 1) + timedelta(days=i % 300)
                born = date(int(cid[6:10]), int(cid[10:12]), int(cid[12:14]))
                rows.append(
                    (
                        pid,
                        *sealed,
                        born,
                        "male" if int(cid[16]) % 2 else "female",
                        cid[:6],
                        cid[:6],
                        None,
                        None,
                        certified,
                        certified,
                        certified + timedelta(days=365),
                        "certified",
                        now,
                        now,
                        0,
                    )
                )
                ents.append(
                    (
                        uuid.uuid4(),
                        pid,
                        "pension",
                        "insured",
                        date(2010, 1, 1),
                        300_000,
                        "active",
                        now,
                        0,
                    )
                )
                if len(sample) < 5000 and rnd.random() < 0.01:
                    sample.append(cid)
            with cur.copy(f"COPY persons ({person_cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            with cur.copy(f"COPY entitlements ({ent_cols}) FROM STDIN") as copy:
                for row in ents:
                    copy.write_row(row)
            raw.commit()
        cur.execute("ANALYZE persons")
        cur.execute("ANALYZE entitlements")
        raw.commit()
    finally:
        raw.close()
    return crypto_s, time.perf_counter() - started, sample


def _percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def _lookups(runtime: Any, sample: list[str]) -> dict[str, tuple[float, float]]:
    """p50/p99 in ms: the repository's look-up by citizen ID (the index probe and the whole
    record opened, its benefits too) against the same record by primary key; and the bare
    probe of the blind index (HMAC included) against the bare probe of the primary key."""
    p = schema.persons
    times: dict[str, list[float]] = {"record_cid": [], "record_pk": [], "probe": [], "pk": []}
    with runtime.session_factory() as session:
        repo = SqlPersonRepository(session)
        ids = []
        for cid in sample:
            t0 = time.perf_counter()
            person = repo.by_citizen_id(cid)
            times["record_cid"].append(time.perf_counter() - t0)
            assert person is not None and person.citizen_id == cid
            ids.append(person.id)
            session.expunge_all()
        for pid in ids:
            t0 = time.perf_counter()
            assert repo.get(pid) is not None
            times["record_pk"].append(time.perf_counter() - t0)
            session.expunge_all()
        for cid, pid in zip(sample, ids, strict=True):
            t0 = time.perf_counter()
            key = blind_index("citizen_id", cid)
            found = session.scalar(sa.select(p.c.id).where(p.c.citizen_id_key == key))
            times["probe"].append(time.perf_counter() - t0)
            assert found == pid
            t0 = time.perf_counter()
            assert session.scalar(sa.select(p.c.id).where(p.c.id == pid)) == pid
            times["pk"].append(time.perf_counter() - t0)
    return {k: _percentiles(v) for k, v in times.items()}


def _read(runtime: Any, stmt: sa.Select[Any]) -> tuple[float, int]:
    t0 = time.perf_counter()
    n = 0
    with runtime.session_factory() as session:
        for chunk in session.execute(stmt.execution_options(yield_per=100_000)).partitions(100_000):
            n += len(chunk)
    return time.perf_counter() - t0, n


def _export(runtime: Any, folder: Path) -> tuple[float, float, int]:
    """The comparison's export of every benefit (joined on the blind index, nothing opened),
    and what opening every citizen ID on those rows would add to it (reading them opened,
    less reading them as stored)."""
    with runtime.session_factory() as session:
        t0 = time.perf_counter()
        n = SqlComparisonRepository(session).export_entitlements(
            folder / "ents.parquet",
            scope_on=date(2026, 12, 1),
            policy=PeriodPolicy(),
            district_code=None,
        )
        keyed = time.perf_counter() - t0
    p, e = schema.persons, schema.entitlements
    joined = e.join(p, p.c.id == e.c.person_id)
    stored, _ = _read(
        runtime, sa.select(e.c.id, sa.type_coerce(p.c.citizen_id, sa.Text)).select_from(joined)
    )
    opened, rows = _read(runtime, sa.select(e.c.id, p.c.citizen_id).select_from(joined))
    assert rows == n
    return keyed, max(0.0, opened - stored), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    with scratch_database(prefix="lifecert_bench_sealed", keep=args.keep) as url:
        upgrade(url)
        runtime = build_runtime(Settings(database_url=url, data_dir=folder))
        crypto_s, load_s, sample = _load(runtime, args.people)
        per_person_us = crypto_s / args.people * 1e6
        say(
            f"load: {args.people} people in {load_s:.1f} s ({args.people / load_s:,.0f}/s), "
            f"crypto {crypto_s:.1f} s = {per_person_us:.1f} µs/person"
        )
        look = _lookups(runtime, sample)
        for label, (p50, p99) in look.items():
            say(f"lookup {label} ({len(sample)}): p50 {p50:.2f} ms p99 {p99:.2f} ms")
        keyed, open_cost, n = _export(runtime, folder)
        say(
            f"export {n} benefits joined on the blind index: {keyed:.1f} s; opening every "
            f"citizen ID on those rows would add {open_cost:.1f} s"
        )
        p = schema.persons
        stored_s, _ = _read(
            runtime,
            sa.select(
                p.c.id, sa.type_coerce(p.c.citizen_id, sa.Text), sa.type_coerce(p.c.name, sa.Text)
            ),
        )
        opened_s, _ = _read(runtime, sa.select(p.c.id, p.c.citizen_id, p.c.name))
        say(
            f"read {args.people} people as stored: {stored_s:.2f} s; "
            f"with citizen ID and name opened: {opened_s:.2f} s"
        )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        say(
            f"people={args.people} seal_us_per_person={per_person_us:.1f} "
            f"lookup_p50_ms={look['record_cid'][0]:.2f} lookup_p99_ms={look['record_cid'][1]:.2f} "
            f"by_pk_p99_ms={look['record_pk'][1]:.2f} "
            f"lookup_vs_pk_p99={look['record_cid'][1] / look['record_pk'][1]:.2f}x "
            f"probe_p99_ms={look['probe'][1]:.2f} pk_probe_p99_ms={look['pk'][1]:.2f} "
            f"export_s={keyed:.1f} export_if_opened_s={keyed + open_cost:.1f} "
            f"read_opened_vs_stored={opened_s / max(stored_s, 1e-9):.1f}x peak_rss_mb={rss}"
        )
        runtime.close()


if __name__ == "__main__":
    main()
