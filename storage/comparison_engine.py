"""The bulk comparison engine: DuckDB over Parquet (decision 0009).

Input, two Parquet datasets (files or globs):

- entitlements: ``entitlement_id, person_id, citizen_id_key, birth_date, kind, role,
  relationship, start_date, last_certified_on, district_code, township_code,
  suspended, in_scope`` (ids of any type; they are passed through; a suspended or
  not-yet-in-scope benefit is listed only when the data says something about it);
- events: ``event_id, citizen_id_key, event_kind, event_date`` (the stored
  department events; ``event_id`` is what the evidence refers to).

People are joined on ``citizen_id_key``, the blind index of the citizen ID (32 hex
characters of a keyed HMAC, storage/crypto.py): the engine never sees a citizen ID.

Output: one Parquet file with one row per entitlement: its list
(``qualified`` / ``lost`` / ``to_verify``), how many signs of life and of
loss were found, and the ids of up to :data:`EVIDENCE_PER_ENTRY` of each
as evidence, newest first; ``news``: on the qualified list with a sign of life newer
than the person's last certification as exported (applying the run walks these, and checks
again against the person as it is then); ``before_benefit``: news, but every such sign of
life came before the person's first benefit started (nothing to certify: counted, not
walked).

The Art. 13 applicability table comes from :func:`certification.comparison.loss_rule_rows`,
so the SQL and the Python reference (:func:`certification.comparison.classify`)
state the same rules; a test checks that they agree on generated data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from certification.comparison import (
    ALIVE_CHANNEL,
    BUS_CARD_MIN_AGE,
    LOSS_KINDS,
    ComparisonWindow,
    EventKind,
    ending_rows,
    loss_rule_rows,
)
from certification.ports import EngineOutcome

EVIDENCE_PER_ENTRY = 3


@dataclass(frozen=True, slots=True)
class EngineLimits:
    threads: int = 2
    memory_limit: str = "3GB"  # DuckDB spills to temp_directory beyond this
    temp_directory: str | None = None


@dataclass(slots=True)
class ComparisonResult:
    output: Path
    entitlements: int
    counts: dict[str, int]
    by_district: dict[str, dict[str, int]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def _sql_list(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _connect(limits: EngineLimits, spill: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    temp = limits.temp_directory or str(spill)
    con.execute(f"SET threads = {int(limits.threads)}")
    con.execute(f"SET memory_limit = '{limits.memory_limit}'")
    con.execute(f"SET temp_directory = '{temp}'")
    con.execute("SET preserve_insertion_order = false")
    return con


def run_comparison(
    entitlements: str | Path,
    events: str | Path,
    window: ComparisonWindow,
    output: str | Path,
    *,
    limits: EngineLimits | None = None,
) -> ComparisonResult:
    """Classify every entitlement; write the entries to ``output`` (Parquet)."""
    limits = limits or EngineLimits()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    con = _connect(limits, output.parent / ".spill")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    rules = loss_rule_rows()
    con.execute(
        "CREATE TEMP TABLE loss_rules (event_kind VARCHAR, kind VARCHAR, role VARCHAR, "
        "relationship VARCHAR)"
    )
    con.executemany("INSERT INTO loss_rules VALUES (?, ?, ?, ?)", rules)
    con.execute("CREATE TEMP TABLE ending_rules (ending_kind VARCHAR, loss_kind VARCHAR)")
    con.executemany("INSERT INTO ending_rules VALUES (?, ?)", ending_rows())
    alive_kinds = _sql_list(sorted(k.value for k in ALIVE_CHANNEL))
    loss_kinds = _sql_list(sorted(k.value for k in LOSS_KINDS))
    ent = str(entitlements).replace("'", "''")
    evs = str(events).replace("'", "''")
    out = str(output).replace("'", "''")
    start, end = window.starts_on.isoformat(), window.ends_on.isoformat()
    evidence = f"max_by(ev.event_id, ev.event_date, {EVIDENCE_PER_ENTRY})"
    # People are joined on their blind index read as a 128-bit integer (a fast hash join;
    # 128 bits: no two people share one at any population).
    key = "CAST('0x' || {0} AS UHUGEINT)"
    # Age on the day of an event, from the person's birth date: the difference of two
    # yyyymmdd numbers, in whole ten-thousands, is the age in years (someone born on
    # 29 February turns a year older on 1 March in a common year, as
    # certification.calendar.anniversary says).
    age = (
        "((year(ev.event_date) * 10000 + month(ev.event_date) * 100 + day(ev.event_date))"
        " - (year(b.birth_date) * 10000 + month(b.birth_date) * 100 + day(b.birth_date)))"
        " // 10000"
    )
    # Every value in the statement is ours: enum values, ISO dates, quoted paths.
    con.execute(
        f"""
        COPY (
          WITH ents AS (
            SELECT entitlement_id, person_id, birth_date, kind, role,
                   coalesce(relationship, '') AS relationship, start_date, last_certified_on,
                   coalesce(last_certified_on BETWEEN DATE '{start}' AND DATE '{end}',
                            false) AS certified,
                   district_code, township_code, {key.format("citizen_id_key")} AS pkey,
                   coalesce(in_scope, true) AND NOT coalesce(suspended, false)
                     AS verified_when_silent
            FROM read_parquet('{ent}')
          ),
          ev AS (
            SELECT {key.format("citizen_id_key")} AS pkey, event_id, event_kind, event_date
            FROM read_parquet('{evs}')
            WHERE event_date <= DATE '{end}'
          ),
          born AS (
            -- every benefit exported is in force (paid or suspended): the first start is
            -- the earliest day a sign of life can certify the person
            SELECT pkey, any_value(birth_date) AS birth_date, min(start_date) AS first_start
            FROM ents GROUP BY pkey
          ),
          alive AS (
            SELECT ev.pkey, count(*) AS n, {evidence} AS evidence,
                   max(ev.event_date) AS latest, any_value(b.first_start) AS first_start
            FROM ev JOIN born b ON b.pkey = ev.pkey
            WHERE ev.event_kind IN ({alive_kinds}) AND ev.event_date >= DATE '{start}'
              AND (ev.event_kind <> '{EventKind.BUS_CARD_REVIEW.value}'
                   OR {age} >= {int(BUS_CARD_MIN_AGE)})
            GROUP BY ev.pkey
          ),
          ended AS (
            -- the latest end of each kind of loss per person (released, found, restored)
            SELECT x.pkey, er.loss_kind, max(x.event_date) AS ended_on
            FROM ev x JOIN ending_rules er ON er.ending_kind = x.event_kind
            GROUP BY ALL
          ),
          lost AS (
            SELECT e.entitlement_id, count(*) AS n, {evidence} AS evidence
            FROM (SELECT * FROM ev WHERE event_kind IN ({loss_kinds})) ev
            JOIN ents e ON e.pkey = ev.pkey AND ev.event_date >= e.start_date
            JOIN loss_rules r ON r.event_kind = ev.event_kind AND r.kind = e.kind
              AND (r.role = '*' OR r.role = e.role)
              AND (r.relationship = '*' OR r.relationship = e.relationship)
            LEFT JOIN ended d ON d.pkey = ev.pkey AND d.loss_kind = ev.event_kind
            WHERE d.ended_on IS NULL OR d.ended_on < ev.event_date
            GROUP BY e.entitlement_id
          ),
          listed AS (
            SELECT e.entitlement_id, e.person_id, e.kind, e.district_code,
                   e.township_code,
                   CASE
                     WHEN (a.n IS NOT NULL OR e.certified) AND l.n IS NULL THEN 'qualified'
                     WHEN l.n IS NOT NULL AND NOT (a.n IS NOT NULL OR e.certified) THEN 'lost'
                     ELSE 'to_verify'
                   END AS list,
                   e.certified AS certified_in_window,
                   coalesce(a.n, 0) AS alive_count,
                   coalesce(l.n, 0) AS lost_count,
                   a.evidence AS alive_evidence,
                   l.evidence AS lost_evidence,
                   a.latest AS alive_latest,
                   a.first_start,
                   e.last_certified_on
            FROM ents e
            LEFT JOIN alive a ON a.pkey = e.pkey
            LEFT JOIN lost l ON l.entitlement_id = e.entitlement_id
            WHERE e.verified_when_silent OR a.n IS NOT NULL OR e.certified OR l.n IS NOT NULL
          )
          SELECT * EXCLUDE (last_certified_on, first_start, seen_since),
                 seen_since AS news,
                 seen_since AND alive_latest < first_start AS before_benefit
          FROM (
            SELECT *,
                   list = 'qualified' AND alive_latest IS NOT NULL
                     AND alive_latest > coalesce(last_certified_on, DATE '0001-01-01')
                     AS seen_since
            FROM listed
          )
        ) TO '{out}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 262144)
        """
    )
    timings["classify_s"] = time.perf_counter() - started
    counted = time.perf_counter()
    rows = con.execute(
        f"SELECT district_code, list, count(*) FROM read_parquet('{out}') GROUP BY ALL"
    ).fetchall()
    timings["count_s"] = time.perf_counter() - counted
    con.close()
    counts = {"qualified": 0, "lost": 0, "to_verify": 0}
    by_district: dict[str, dict[str, int]] = {}
    for district, chosen, n in rows:
        counts[chosen] += n
        key = district or ""
        by_district.setdefault(key, {"qualified": 0, "lost": 0, "to_verify": 0})[chosen] = n
    return ComparisonResult(
        output=output,
        entitlements=sum(counts.values()),
        counts=counts,
        by_district=by_district,
        timings=timings,
    )


def read_entries(path: str | Path, *, where: str = "true") -> list[dict[str, Any]]:
    """Read result rows (tests and tools; ``where`` is a trusted SQL filter)."""
    con = duckdb.connect(":memory:")
    try:
        p = str(path).replace("'", "''")
        cur = con.execute(f"SELECT * FROM read_parquet('{p}') WHERE {where}")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


class DuckDBComparisonEngine:
    """The engine behind the ``ComparisonEngine`` port of the comparison use cases."""

    def __init__(self, limits: EngineLimits | None = None) -> None:
        self.limits = limits or EngineLimits()

    def classify(
        self, entitlements: Path, events: Path, window: ComparisonWindow, output: Path
    ) -> EngineOutcome:
        result = run_comparison(entitlements, events, window, output, limits=self.limits)
        return EngineOutcome(result.output, result.counts, result.by_district, result.timings)
