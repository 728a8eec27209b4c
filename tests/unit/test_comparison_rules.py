"""Art. 12-14: which list an entitlement lands in, per benefit kind, role and relationship."""

from dataclasses import replace
from datetime import date

import pytest

from certification.citizen_id import make_citizen_id
from certification.comparison import (
    ALIVE_CHANNEL,
    DEATH_OR_MISSING,
    ENDS,
    LOSS_KINDS,
    ComparisonList,
    ComparisonWindow,
    DepartmentEvent,
    EntitlementFacts,
    EventKind,
    Polarity,
    WindowReading,
    classify,
    counts_as_alive,
    loss_applies,
    loss_rule_rows,
    polarity,
)
from certification.vocabulary import BenefitKind as K
from certification.vocabulary import DependantRelationship as Rel
from certification.vocabulary import RecipientRole as R

RUN = date(2026, 11, 27)
WINDOW = ComparisonWindow.calendar_year_to(RUN)
CID = "500103195506010013"
E = EventKind
Q, L, V = ComparisonList.QUALIFIED, ComparisonList.LOST, ComparisonList.TO_VERIFY

PENSIONER = EntitlementFacts(K.PENSION, R.INSURED, None, date(2010, 5, 1))
UNEMPLOYED = EntitlementFacts(K.UNEMPLOYMENT, R.INSURED, None, date(2025, 9, 1))
INJURED = EntitlementFacts(K.WORK_INJURY_LONG_TERM, R.INSURED, None, date(2012, 1, 1))


def survivor(rel: Rel) -> EntitlementFacts:
    return EntitlementFacts(K.WORK_INJURY_LONG_TERM, R.DEPENDANT, rel, date(2015, 3, 1))


def ev(kind: EventKind, on: date = date(2026, 6, 1), n: int = 1) -> DepartmentEvent:
    return DepartmentEvent(CID, kind, on, "public_security", f"r{n}")


def lst(ent: EntitlementFacts, *events: DepartmentEvent) -> ComparisonList | None:
    found = classify(ent, events, WINDOW)
    return found.list if found else None


# (case, entitlement, events, expected list)
CASES = [
    # Art. 12: any sign of life this year qualifies, whatever the benefit
    *[(f"alive:{k.value}", PENSIONER, [ev(k)], Q) for k in ALIVE_CHANNEL],
    ("alive last year only", PENSIONER, [ev(E.RAIL_TRAVEL, date(2025, 12, 31))], V),
    ("nothing at all", PENSIONER, [], V),
    # Art. 13 (1): death or missing from every listed source, for every kind
    *[(f"pension:{k.value}", PENSIONER, [ev(k)], L) for k in DEATH_OR_MISSING],
    *[(f"unemployment:{k.value}", UNEMPLOYED, [ev(k)], L) for k in DEATH_OR_MISSING],
    *[(f"injury:{k.value}", INJURED, [ev(k)], L) for k in DEATH_OR_MISSING],
    *[(f"survivor:{k.value}", survivor(Rel.PARENT), [ev(k)], L) for k in DEATH_OR_MISSING],
    # imprisonment stops a pension, not an unemployment or work-injury benefit
    ("pension imprisoned", PENSIONER, [ev(E.IMPRISONED)], L),
    ("pension imprisoned (HRSS flag)", PENSIONER, [ev(E.IMPRISONED_HRSS_FLAG)], L),
    ("unemployment imprisoned", UNEMPLOYED, [ev(E.IMPRISONED)], V),
    ("injury imprisoned", INJURED, [ev(E.IMPRISONED_HRSS_FLAG)], V),
    # Art. 13 (2): unemployment only
    *[
        (f"unemployment:{k.value}", UNEMPLOYED, [ev(k)], L)
        for k in (
            E.REEMPLOYED,
            E.ENLISTED,
            E.EMIGRATED,
            E.PENSION_STARTED,
            E.REFUSED_JOB_OR_TRAINING,
            E.OTHER_LOST_UNEMPLOYMENT,
        )
    ],
    # a pension that started ends the unemployment benefit, not the pension
    ("pension started, pensioner", PENSIONER, [ev(E.PENSION_STARTED)], V),
    ("re-employed pensioner", PENSIONER, [ev(E.REEMPLOYED), ev(E.BANK_IN_PERSON, n=2)], Q),
    # Art. 13 (3): work-injury dependants, by relationship
    *[
        (f"adopted {r.value}", survivor(r), [ev(E.ADOPTED)], L)
        for r in (Rel.CHILD, Rel.GRANDCHILD, Rel.SIBLING)
    ],
    ("adopted spouse?", survivor(Rel.SPOUSE), [ev(E.ADOPTED)], V),
    ("adopted parent?", survivor(Rel.PARENT), [ev(E.ADOPTED)], V),
    ("adopted injured worker", INJURED, [ev(E.ADOPTED)], V),
    ("adopted pensioner", PENSIONER, [ev(E.ADOPTED)], V),
    ("spouse remarried", survivor(Rel.SPOUSE), [ev(E.SPOUSE_REMARRIED)], L),
    ("child 'remarried'", survivor(Rel.CHILD), [ev(E.SPOUSE_REMARRIED)], V),
    ("remarried pensioner", PENSIONER, [ev(E.SPOUSE_REMARRIED)], V),
    *[
        (f"employed {r.value}", survivor(r), [ev(E.DEPENDANT_EMPLOYED)], L)
        for r in (Rel.CHILD, Rel.GRANDCHILD, Rel.SIBLING)
    ],
    *[
        (f"enlisted {r.value}", survivor(r), [ev(E.DEPENDANT_ENLISTED)], L)
        for r in (Rel.CHILD, Rel.GRANDCHILD, Rel.SIBLING)
    ],
    ("employed spouse", survivor(Rel.SPOUSE), [ev(E.DEPENDANT_EMPLOYED)], V),
    ("employed grandparent", survivor(Rel.GRANDPARENT), [ev(E.DEPENDANT_EMPLOYED)], V),
    # "other channels" are per benefit kind
    ("other lost pension", PENSIONER, [ev(E.OTHER_LOST_PENSION)], L),
    ("other lost pension, unemployed", UNEMPLOYED, [ev(E.OTHER_LOST_PENSION)], V),
    ("other lost injury", INJURED, [ev(E.OTHER_LOST_WORK_INJURY)], L),
    ("other lost injury, survivor", survivor(Rel.CHILD), [ev(E.OTHER_LOST_WORK_INJURY)], L),
    # Art. 14: both lists → to be verified (a death record and a train ticket)
    ("death and train", PENSIONER, [ev(E.CREMATION), ev(E.RAIL_TRAVEL, n=2)], V),
    (
        "death after a counter visit",
        PENSIONER,
        [ev(E.COUNTER_CERTIFICATION), ev(E.DEATH_MEDICAL_CERTIFICATE, date(2026, 9, 1), 2)],
        V,
    ),
    # signs of loss count since the benefit started, even before this year
    ("death two years ago", PENSIONER, [ev(E.DEATH_HOUSEHOLD_CANCELLED, date(2024, 4, 1))], L),
    ("death before the benefit", UNEMPLOYED, [ev(E.DEATH_HRSS_FLAG, date(2020, 1, 1))], V),
    ("event after the run date", PENSIONER, [ev(E.CREMATION, date(2026, 12, 1))], V),
]


@pytest.mark.parametrize(
    ("entitlement", "events", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_each_rule_per_benefit_kind(entitlement, events, expected):
    assert lst(entitlement, *events) is expected


def test_a_certification_this_year_qualifies_and_conflicts_with_a_death():
    certified = EntitlementFacts(K.PENSION, R.INSURED, None, date(2010, 1, 1), date(2026, 3, 1))
    assert classify(certified, [], WINDOW).list is Q
    assert classify(certified, [], WINDOW).certified_in_window
    assert lst(certified, ev(E.CREMATION)) is V
    last_year = EntitlementFacts(K.PENSION, R.INSURED, None, date(2010, 1, 1), date(2025, 3, 1))
    assert lst(last_year) is V


def test_a_suspended_or_not_yet_due_benefit_is_listed_only_when_the_data_speaks():
    """Art. 21: a sign of life brings a suspended benefit back to the clerk; Art. 7-8: a
    benefit not yet in scope needs no verification, but a sign of loss still stops it."""
    for quiet in (replace(PENSIONER, suspended=True), replace(PENSIONER, in_scope=False)):
        assert lst(quiet) is None
        assert lst(quiet, ev(E.RAIL_TRAVEL)) is Q
        assert lst(quiet, ev(E.CREMATION)) is L
        assert lst(quiet, ev(E.RAIL_TRAVEL), ev(E.CREMATION, n=2)) is V
    assert lst(PENSIONER) is V


def test_the_bus_card_review_counts_from_65():
    """Art. 12: 65岁以上老年人免费乘车卡年审. The same rule holds in the engine's SQL."""
    born = date(1961, 6, 2)
    cid = make_citizen_id("500103", born, 5).value
    on_64th_year = DepartmentEvent(cid, E.BUS_CARD_REVIEW, date(2026, 6, 1), "transport", "b1")
    on_65th_birthday = DepartmentEvent(cid, E.BUS_CARD_REVIEW, date(2026, 6, 2), "transport", "b2")
    assert lst(PENSIONER, on_64th_year) is V
    assert lst(PENSIONER, on_65th_birthday) is Q
    leapling = make_citizen_id("500103", date(1960, 2, 29), 6).value
    assert not counts_as_alive(E.BUS_CARD_REVIEW, leapling, date(2025, 2, 28))
    assert counts_as_alive(E.BUS_CARD_REVIEW, leapling, date(2025, 3, 1))
    assert counts_as_alive(E.RAIL_TRAVEL, make_citizen_id("500103", date(2000, 1, 1), 7).value, RUN)


def test_this_year_is_the_twelve_months_before_the_run_unless_the_agency_reads_it_otherwise():
    january = date(2027, 1, 15)
    december_certification = EntitlementFacts(
        K.PENSION, R.INSURED, None, date(2010, 5, 1), date(2026, 12, 20)
    )
    twelve = ComparisonWindow.read(WindowReading.TWELVE_MONTHS, january)
    assert twelve == ComparisonWindow(date(2026, 1, 16), january)
    assert classify(december_certification, [], twelve).list is Q
    calendar = ComparisonWindow.read(WindowReading.CALENDAR_YEAR, january)
    assert calendar == ComparisonWindow(date(2027, 1, 1), january)
    assert classify(december_certification, [], calendar).list is V
    leap = ComparisonWindow.twelve_months_to(date(2028, 2, 29))
    assert leap.starts_on == date(2027, 3, 1)


def test_a_release_or_a_person_found_ends_the_loss_it_answers():
    imprisoned = ev(E.IMPRISONED, date(2026, 2, 1))
    released = ev(E.RELEASED_FROM_PRISON, date(2026, 8, 1), n=2)
    assert lst(PENSIONER, imprisoned) is L
    assert lst(PENSIONER, imprisoned, released) is V  # no sign of life either: verify
    assert lst(PENSIONER, imprisoned, released, ev(E.RAIL_TRAVEL, n=3)) is Q
    again = ev(E.IMPRISONED, date(2026, 9, 1), n=4)  # a later sentence counts again
    assert lst(PENSIONER, imprisoned, released, again) is L
    early = ev(E.RELEASED_FROM_PRISON, date(2025, 12, 1), n=5)  # before this sentence
    assert lst(PENSIONER, imprisoned, early) is L
    missing = ev(E.MISSING_HRSS_FLAG, date(2026, 3, 1))
    found = ev(E.MISSING_FOUND, date(2026, 5, 1), n=2)
    assert lst(PENSIONER, missing, found) is V
    declared = ev(E.DEATH_DECLARED_BY_COURT, date(2026, 3, 1), n=3)
    assert lst(PENSIONER, declared, found) is V
    # a release answers imprisonment only, never a death
    assert lst(PENSIONER, ev(E.CREMATION, date(2026, 3, 1)), released) is L
    cancelled = ev(E.DEATH_HOUSEHOLD_CANCELLED, date(2026, 3, 1))
    assert lst(PENSIONER, cancelled, ev(E.HOUSEHOLD_RESTORED, date(2026, 4, 1), n=2)) is V


def test_the_evidence_is_kept():
    result = classify(
        PENSIONER, [ev(E.CREMATION), ev(E.RAIL_TRAVEL, n=2), ev(E.ADOPTED, n=3)], WINDOW
    )
    assert [e.source_record_id for e in result.lost] == ["r1"]
    assert [e.source_record_id for e in result.alive] == ["r2"]


def test_every_event_kind_has_a_polarity_and_every_loss_kind_a_rule():
    for kind in EventKind:
        assert (
            kind in ALIVE_CHANNEL
            or kind in ENDS
            or any(r[0] == kind.value for r in loss_rule_rows())
        ), kind
    for ending, losses in ENDS.items():
        assert polarity(ending) is Polarity.ENDING
        assert losses <= LOSS_KINDS  # it ends signs of loss, nothing else


def test_the_rule_rows_say_the_same_as_the_rules():
    rows = set(loss_rule_rows())
    for event, kind, role, rel in rows:
        relationship = None if rel == "*" else Rel(rel)
        roles = [R(role)] if role != "*" else list(R)
        for r in roles:
            assert loss_applies(EventKind(event), K(kind), r, relationship)
    assert ("adopted", "work_injury_long_term", "dependant", "spouse") not in rows
    assert ("imprisoned", "unemployment", "*", "*") not in rows


def test_a_window_cannot_end_before_it_starts():
    with pytest.raises(ValueError, match="ends before"):
        ComparisonWindow(date(2026, 2, 1), date(2026, 1, 1))
