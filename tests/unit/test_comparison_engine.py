"""The bulk engine (DuckDB over Parquet) states the same rules as the Python reference."""

from collections import defaultdict
from datetime import date

import duckdb
import pytest

from certification.comparison import (
    LOSS_KINDS,
    ComparisonWindow,
    DepartmentEvent,
    EntitlementFacts,
    EventKind,
    classify,
    counts_as_alive,
    ended,
)
from certification.vocabulary import BenefitKind, DependantRelationship, RecipientRole
from lifecert.feedgen import generate
from storage.comparison_engine import EngineLimits, read_entries, run_comparison

RUN = date(2026, 11, 27)
WINDOW = ComparisonWindow.calendar_year_to(RUN)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("feeds")
    ent, ev = generate(folder, people=6000, events=30000, run_date=RUN, seed=7)
    out = folder / "entries.parquet"
    result = run_comparison(ent, ev, WINDOW, out, limits=EngineLimits(memory_limit="500MB"))
    return ent, ev, result


def test_engine_agrees_with_the_reference_on_every_entitlement(generated):
    ent, ev, result = generated
    events = defaultdict(list)
    for row in duckdb.sql(
        f"SELECT event_id, citizen_id, event_kind, event_date FROM read_parquet('{ev}')"
    ).fetchall():
        events[row[1]].append(DepartmentEvent(row[1], EventKind(row[2]), row[3], "x", str(row[0])))
    expected = {}
    unlisted = 0
    for eid, cid, kind, role, rel, start, last, suspended, in_scope in duckdb.sql(
        "SELECT entitlement_id, citizen_id, kind, role, relationship, start_date, "
        f"last_certified_on, suspended, in_scope FROM read_parquet('{ent}')"
    ).fetchall():
        facts = EntitlementFacts(
            BenefitKind(kind),
            RecipientRole(role),
            DependantRelationship(rel) if rel else None,
            start,
            last,
            suspended=suspended,
            in_scope=in_scope,
        )
        c = classify(facts, events[cid], WINDOW)
        if c is None:
            unlisted += 1
            continue
        expected[eid] = (c.list.value, len(c.alive), len(c.lost))
    got = {
        r["entitlement_id"]: (r["list"], r["alive_count"], r["lost_count"])
        for r in read_entries(result.output)
    }
    assert got == expected
    # the generated data exercises all three lists
    lists = {v[0] for v in got.values()}
    assert lists == {"qualified", "lost", "to_verify"}
    assert unlisted > 0  # silent suspended or not-yet-in-scope benefits: no entry at all
    # the bus-card rule is exercised: reviews of people under 65 that do not count
    young_reviews = [
        e
        for evs in events.values()
        for e in evs
        if e.kind is EventKind.BUS_CARD_REVIEW
        and not counts_as_alive(e.kind, e.citizen_id, e.event_date)
        and WINDOW.starts_on <= e.event_date
    ]
    assert young_reviews
    # and the endings: signs of loss answered by a release, a person found, a household
    # restored, which the engine must not count
    answered = [
        e
        for evs in events.values()
        for e in evs
        if e.kind in LOSS_KINDS and ended(e, [x for x in evs if x.event_date <= WINDOW.ends_on])
    ]
    assert answered
    assert result.counts["lost"] > 0 and sum(result.counts.values()) == len(expected)


def test_evidence_is_the_newest_events_that_put_the_entry_there(generated):
    _ent, ev, result = generated
    dates = dict(duckdb.sql(f"SELECT event_id, event_date FROM read_parquet('{ev}')").fetchall())
    lost = read_entries(result.output, where="list = 'lost' AND lost_count > 1")
    rows = lost or read_entries(result.output, where="list = 'lost'")
    for row in rows[:50]:
        ids = row["lost_evidence"]
        assert 1 <= len(ids) <= min(3, row["lost_count"])
        seen = [dates[i] for i in ids]
        assert seen == sorted(seen, reverse=True)
    qualified = read_entries(result.output, where="list = 'qualified' AND alive_count > 0")
    assert all(len(r["alive_evidence"]) >= 1 for r in qualified[:50])


def test_counts_are_per_district(generated):
    _ent, _ev, result = generated
    assert len(result.by_district) == 38
    total = sum(sum(v.values()) for v in result.by_district.values())
    assert total == result.entitlements


def test_the_engine_counts_the_bus_card_from_the_65th_birthday(tmp_path):
    """The SQL's age (from the person's birth date; the engine sees no citizen ID) on the
    boundary days, 29 February included, against the reference rule."""
    import hashlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    from certification.citizen_id import make_citizen_id

    run = date(2025, 12, 1)
    window = ComparisonWindow.twelve_months_to(run)
    people = {
        "leapling_on_28_feb": (date(1960, 2, 29), date(2025, 2, 28)),  # still 64
        "leapling_on_1_mar": (date(1960, 2, 29), date(2025, 3, 1)),  # 65 from 1 March
        "day_before": (date(1960, 6, 2), date(2025, 6, 1)),
        "birthday": (date(1960, 6, 2), date(2025, 6, 2)),
        "young": (date(1970, 6, 2), date(2025, 6, 2)),
    }
    cids = {
        k: make_citizen_id("500103", born, i + 1).value
        for i, (k, (born, _)) in enumerate(people.items())
    }
    pq.write_table(
        pa.table(
            {
                "entitlement_id": list(people),
                "person_id": list(people),
                "citizen_id_key": [hashlib.md5(cids[k].encode()).hexdigest() for k in people],
                "birth_date": [born for born, _ in people.values()],
                "kind": ["pension"] * len(people),
                "role": ["insured"] * len(people),
                "relationship": [None] * len(people),
                "start_date": [date(2010, 1, 1)] * len(people),
                "last_certified_on": [None] * len(people),
                "district_code": ["500103"] * len(people),
                "township_code": [None] * len(people),
                "suspended": [False] * len(people),
                "in_scope": [True] * len(people),
            }
        ),
        tmp_path / "ents.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "event_id": list(range(len(people))),
                "citizen_id_key": [hashlib.md5(cids[k].encode()).hexdigest() for k in people],
                "event_kind": ["bus_card_review"] * len(people),
                "event_date": [on for _, on in people.values()],
            }
        ),
        tmp_path / "events.parquet",
    )
    result = run_comparison(
        tmp_path / "ents.parquet", tmp_path / "events.parquet", window, tmp_path / "out.parquet"
    )
    got = {r["entitlement_id"]: r["list"] for r in read_entries(result.output)}
    for name, (_born, on) in people.items():
        facts = EntitlementFacts(BenefitKind.PENSION, RecipientRole.INSURED, None, date(2010, 1, 1))
        expected = classify(
            facts, [DepartmentEvent(cids[name], EventKind.BUS_CARD_REVIEW, on, "x", "1")], window
        )
        assert expected is not None and got[name] == expected.list.value, name
    assert got == {
        "leapling_on_28_feb": "to_verify",
        "leapling_on_1_mar": "qualified",
        "day_before": "to_verify",
        "birthday": "qualified",
        "young": "to_verify",
    }
