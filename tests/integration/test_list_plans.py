"""Every region-scoped list of the API is served by an index at city scale: with sequential
scans priced out, no plan of a list page reads a large table from end to end. (At ten
million people a sequential scan of persons or certifications is seconds; issue 16.)"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import sqlalchemy as sa

from tests.integration.test_scope_table import PEOPLE_LISTINGS, ROLES, city_data

pytestmark = pytest.mark.postgres
_ = city_data  # the fixture, shared with the scope table

# tables that grow with the city (tens of millions of rows); small ones (regions, accounts,
# runs) may be scanned
LARGE = {
    "persons",
    "entitlements",
    "certifications",
    "suspensions",
    "review_cases",
    "verification_tasks",
    "home_visit_requests",
    "proposals",
    "appeals",
    "comparison_entries",
    "attempts",
    "family_bindings",
    "account_claims",
    "audit_events",
    "notice_deliveries",
    "notices",
    "department_events",
}


def parent_of(name: str) -> str:
    """The entries' table or index a run's partition (or its copy of an index) stands for:
    the name without the run's id (storage/comparison_repos.py names them so)."""
    return re.sub(r"_[0-9a-f]{32}$", "", name)


def _scans(plan: dict[str, Any], parent: str = "") -> list[str]:
    """Large tables read whole: a sequential scan, or an index walked with no condition on
    it, filtering what it returns. (An index read from one end under a LIMIT with nothing
    to filter — the audit chain's head — reads a row or two.)"""
    found = []
    node = plan.get("Node Type")
    table = plan.get("Relation Name", "?")
    walked = node in ("Index Scan", "Index Only Scan") and "Index Cond" not in plan
    if walked and parent == "Limit" and "Filter" not in plan:
        walked = False
    if node == "Seq Scan" or walked:
        found.append(f"{table} ({node} {plan.get('Index Name', '')})".replace(" )", ")"))
    for child in plan.get("Plans", []):
        found.extend(_scans(child, str(node)))
    return found


def forget_statistics(engine: sa.Engine, tables: set[str]) -> None:
    """The bulk steps ANALYZE what they fill, so the test's 1,500 people are planned as the
    small tables they are (a walk of a whole index is then the cheap plan, and it is). The
    city's tables are not small: drop what was learnt, as if never analysed, so PostgreSQL
    plans from their size on disk with the default selectivities — the plans this test
    judges."""
    # the tables, and the partitions of those partitioned (the comparison entries, by run)
    named = (
        "relkind = 'r' AND (relname = ANY(:t) OR oid IN (SELECT i.inhrelid FROM pg_inherits i "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY(:t)))"
    )
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"DELETE FROM pg_statistic WHERE starelid IN (SELECT oid FROM pg_class WHERE {named})"
            ),
            {"t": sorted(tables)},
        )
        conn.execute(
            sa.text(f"UPDATE pg_class SET reltuples = -1 WHERE {named}"), {"t": sorted(tables)}
        )


def test_every_list_page_reads_its_rows_through_an_index(city_data, login, runtime):
    forget_statistics(runtime.database, LARGE)
    callers = {
        scope: login(f"plans.{scope}", scope, ROLES) for scope in ("500000", "500103", "500103001")
    }
    statements: list[tuple[str, Any]] = []

    def seen(conn, cursor, statement, parameters, *_):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    full_scans: dict[str, set[str]] = {}
    pages = [
        (f"{listing} as {scope}", caller, path)
        for listing, (path, _how) in PEOPLE_LISTINGS.items()
        for scope, caller in callers.items()
    ]
    for listing, caller, path in pages:
        statements.clear()
        sa.event.listen(runtime.database, "before_cursor_execute", seen)
        try:
            answer = caller.get(path.format(run=city_data["run"]))
        finally:
            sa.event.remove(runtime.database, "before_cursor_execute", seen)
        assert answer.status_code == 200, (listing, answer.get_json())
        raw = runtime.database.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("SET enable_seqscan = off")
            for statement, parameters in statements:
                cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
                plan = cursor.fetchone()[0]
                plan = json.loads(plan) if isinstance(plan, str) else plan
                for scan in _scans(plan[0]["Plan"]):
                    if parent_of(scan.split(" ")[0]) in LARGE:
                        full_scans.setdefault(listing, set()).add(scan)
        finally:
            raw.rollback()
            raw.close()
    assert full_scans == {}, json.dumps({k: sorted(v) for k, v in full_scans.items()}, indent=1)
