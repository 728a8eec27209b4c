"""Synthetic beneficiaries and department feeds, at any scale, for benchmarks and demos.

Generated with DuckDB SQL straight to Parquet, so 10 million beneficiaries and
30 million events take seconds, not hours. Deterministic for a given seed.

The population: every person has valid citizen ID (GB 11643 check digit) from
one of Chongqing's 38 districts, one entitlement (80 % pension, 8 %
unemployment, 12 % work injury, half of them survivors' dependants with a
relationship), and 5 % a second one. About 30 % certified this year.

The events: two thirds are signs of life for about 70 % of the beneficiaries
(travel, hospital stays, banks... dated over the last two years), about
1.5 % are signs of loss (mostly deaths, from every listed source, plus the
benefit-specific ones), and the rest concern people who are not
beneficiaries at all, as real feeds do.

Both files carry the citizen ID (for the reference checks) and a stand-in for its blind
index (``citizen_id_key``: an md5 of it, the same 32 hex characters wide), which is what the
engine joins on; the service's own exports hold the keyed HMAC and no citizen ID.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb

from certification.citizen_id import WEIGHTS
from certification.comparison import ALIVE_CHANNEL, DEATH_OR_MISSING, ENDS, LOSS_KINDS
from certification.feeds import DEPARTMENTS
from certification.regions import DISTRICTS
from certification.vocabulary import DependantRelationship


def _list(values: list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def _macros(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    districts = _list(sorted(DISTRICTS))
    con.execute(f"CREATE MACRO district_of(i) AS ({districts})[(i % {len(DISTRICTS)}) + 1]")
    con.execute(
        # 1930 to 1995, spread over the people (7919 is prime to 24000: one birth date per
        # sequence number, so the IDs stay unique)
        f"CREATE MACRO birth_of(i) AS DATE '1930-01-01' + "
        f"CAST(((i // {len(DISTRICTS)}) * 7919) % 24000 AS INTEGER)"
    )
    con.execute(
        "CREATE MACRO first17(i) AS district_of(i) || strftime(birth_of(i), '%Y%m%d') || "
        f"lpad(CAST((i // {len(DISTRICTS)}) // 24000 AS VARCHAR), 3, '0')"
    )
    weights = "[" + ", ".join(map(str, WEIGHTS)) + "]"
    con.execute(
        "CREATE MACRO cid(i) AS first17(i) || ('10X98765432')[CAST(1 + (list_sum(list_transform("
        f"range(17), lambda k: CAST(substr(first17(i), k + 1, 1) AS INTEGER) * {weights}[k + 1]))"
        " % 11) AS BIGINT)]"
    )
    con.execute(f"CREATE MACRO rnd(i, salt) AS CAST(hash(i, salt + {seed}) >> 1 AS BIGINT)")


def generate(
    out_dir: str | Path,
    *,
    people: int,
    events: int,
    run_date: date,
    seed: int = 20261127,
    threads: int = 2,
) -> tuple[Path, Path]:
    """Write ``entitlements.parquet`` and ``events.parquet`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ent_path, ev_path = out / "entitlements.parquet", out / "events.parquet"
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {threads}")
    con.execute("SET preserve_insertion_order = false")
    _macros(con, seed)
    year_start = date(run_date.year, 1, 1).isoformat()
    days_this_year = (run_date - date(run_date.year, 1, 1)).days + 1
    relationships = _list([r.value for r in DependantRelationship])
    second = people // 20
    con.execute(
        f"""
        COPY (
          WITH p AS (
            SELECT i, rnd(i, 1) % 1000 AS r, rnd(i, 2) AS r2 FROM range({people}) t(i)
            UNION ALL
            SELECT i, 900 + rnd(i, 3) % 100 AS r, rnd(i, 4) AS r2
            FROM range({second}) t(i)
          )
          SELECT
            row_number() OVER () AS entitlement_id,
            i AS person_id,
            cid(i) AS citizen_id,
            md5(cid(i)) AS citizen_id_key,
            strptime(substr(cid(i), 7, 8), '%Y%m%d')::DATE AS birth_date,
            CASE WHEN r < 800 THEN 'pension' WHEN r < 880 THEN 'unemployment'
                 ELSE 'work_injury_long_term' END AS kind,
            CASE WHEN r >= 940 THEN 'dependant' ELSE 'insured' END AS role,
            CASE WHEN r >= 940 THEN {relationships}[1 + r2 % 6] END AS relationship,
            DATE '1995-01-01' + CAST(r2 % 10950 AS INTEGER) AS start_date,
            CASE WHEN r2 % 10 < 3
                 THEN DATE '{year_start}' + CAST(r2 % {days_this_year} AS INTEGER)
                 WHEN r2 % 10 < 8
                 THEN DATE '{year_start}' - CAST(1 + r2 % 365 AS INTEGER)
            END AS last_certified_on,
            district_of(i) AS district_code,
            district_of(i) || lpad(CAST(i % 20 + 1 AS VARCHAR), 3, '0') AS township_code,
            r2 % 50 = 7 AS suspended,
            r2 % 40 <> 3 AS in_scope
          FROM p
        ) TO '{ent_path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 262144)
        """
    )
    alive = _list(sorted(k.value for k in ALIVE_CHANNEL))
    deaths = _list(sorted(k.value for k in DEATH_OR_MISSING))
    other_loss = _list(sorted(k.value for k in LOSS_KINDS - DEATH_OR_MISSING))
    departments = _list(sorted(DEPARTMENTS))
    n_alive = events * 2 // 3
    n_loss = max(1, events * 15 // 1000)
    n_ending = n_loss // 3
    n_outside = events - n_alive - n_loss - n_ending
    endings = _list(sorted(k.value for k in ENDS))
    n_other = len(LOSS_KINDS - DEATH_OR_MISSING)
    active_people = max(1, people * 7 // 10)
    con.execute(
        f"""
        COPY (
          WITH raw AS (
            SELECT i, rnd(i, 11) % {active_people} AS who, 'a' AS part
            FROM range({n_alive}) t(i)
            UNION ALL
            SELECT i, rnd(i, 12) % {max(people, 1)} AS who, 'l' AS part
            FROM range({n_loss}) t(i)
            UNION ALL
            SELECT i, {people} + rnd(i, 13) % {max(people, 1)} AS who, 'o' AS part
            FROM range({n_outside}) t(i)
            UNION ALL
            -- endings for the first people with a sign of loss (the same ``who``): some
            -- answer it, some are of another kind or dated before it
            SELECT i, rnd(i, 12) % {max(people, 1)} AS who, 'e' AS part
            FROM range({n_ending}) t(i)
          )
          SELECT
            row_number() OVER () AS event_id,
            cid(who) AS citizen_id,
            md5(cid(who)) AS citizen_id_key,
            CASE
              WHEN part = 'a' THEN {alive}[1 + rnd(i, 14) % {len(ALIVE_CHANNEL)}]
              WHEN part = 'l' AND rnd(i, 15) % 10 < 7
                THEN {deaths}[1 + rnd(i, 16) % {len(DEATH_OR_MISSING)}]
              WHEN part = 'l' THEN {other_loss}[1 + rnd(i, 17) % {n_other}]
              WHEN part = 'e' THEN {endings}[1 + rnd(i, 21) % {len(ENDS)}]
              ELSE {alive}[1 + rnd(i, 18) % {len(ALIVE_CHANNEL)}]
            END AS event_kind,
            DATE '{run_date.isoformat()}' - CAST(rnd(i, 19) % 730 AS INTEGER) AS event_date,
            {departments}[1 + rnd(i, 20) % {len(DEPARTMENTS)}] AS source_department,
            part || '-' || CAST(i AS VARCHAR) AS source_record_id
          FROM raw
        ) TO '{ev_path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 262144)
        """
    )
    con.close()
    return ent_path, ev_path


def fingerprint(people: int, events: int, run_date: date, seed: int) -> str:
    text = f"{people}:{events}:{run_date.isoformat()}:{seed}:v4"
    return hashlib.sha256(text.encode()).hexdigest()[:16]
