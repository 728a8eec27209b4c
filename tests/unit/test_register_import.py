"""The register import's checks on fakes: every refused row is reported with its number and
a reason, a person with one bad row is refused whole, and people already registered are
counted, never written twice."""

from datetime import date

import pytest

from certification.access import Actor
from certification.citizen_id import make_citizen_id
from certification.errors import AccessDenied
from certification.model import Entitlement, Person
from certification.periods import PeriodPolicy
from certification.regions import RegionPlacement
from certification.services.register_import import REGISTER_COLUMNS, import_register
from certification.vocabulary import CertificationChannel
from tests.fakes import staff, use_case

VILLAGE = "500103001002"
PENSIONER = make_citizen_id("500103", date(1950, 3, 1), 11).value
WIDOW = make_citizen_id("500103", date(1962, 7, 9), 22).value


def row(**given: str) -> dict[str, str]:
    values = {
        "citizen_id": PENSIONER,
        "name": "张三",
        "phone": "13812345678",
        "region_code": VILLAGE,
        "kind": "pension",
        "role": "insured",
        "relationship": "",
        "start_date": "2010-03-01",
        "monthly_amount_fen": "300000",
        "last_certified_on": "2026-02-10",
        "last_certified_channel": "counter",
    }
    values.update(given)
    assert set(values) == set(REGISTER_COLUMNS)
    return values


def run(rows: list[dict[str, str]], *, batch: int = 100):  # type: ignore[no-untyped-def]
    ctx = use_case()
    ctx.uow.register_load.regions = {VILLAGE, VILLAGE[:9]}
    report = import_register(
        ctx,
        Actor.system("test"),
        enumerate(rows, start=2),
        source="register.csv",
        batch_people=batch,
    )
    return ctx, report


def test_a_valid_person_is_written_with_the_period_of_a_person_registered_at_the_counter():
    ctx, report = run([row(), row(kind="unemployment", start_date="2026-01-05")])
    assert report.problems == []  # unemployment while on a pension is allowed by the form
    person = ctx.uow.register_load.people[PENSIONER]
    assert person.rows == [2, 3] and len(person.benefits) == 2
    counter = Person.register(
        citizen_id=person.citizen,
        name="张三",
        phone="13812345678",
        placement=RegionPlacement.of(VILLAGE),
    )
    for b in person.benefits:
        e = Entitlement(counter.id, b.kind, b.role, b.start_date, b.monthly_amount_fen)
        e.open(None)
        counter.entitlements.append(e)
    counter.last_certified_on = date(2026, 2, 10)
    assert person.period == counter.period(PeriodPolicy())
    assert person.last_certified_channel is CertificationChannel.COUNTER
    assert report.people_loaded == 1 and report.rows_read == 2
    assert ctx.uow.audit.actions() == ["register.imported"]


@pytest.mark.parametrize(
    ("given", "code", "column"),
    [
        ({"citizen_id": PENSIONER[:17] + "0"}, "invalid_citizen_id", "citizen_id"),
        ({"name": " "}, "missing_value", "name"),
        ({"phone": "12345"}, "invalid", "phone"),
        ({"region_code": "500103009009"}, "unknown_region", "region_code"),
        ({"region_code": "500000"}, "unknown_region", "region_code"),
        ({"kind": "bonus"}, "invalid", "kind"),
        ({"role": "dependant"}, "invalid", "role"),
        ({"start_date": "2010-02-30"}, "invalid", "start_date"),
        ({"start_date": "1940-01-01"}, "invalid", "start_date"),
        ({"monthly_amount_fen": "3000.50"}, "invalid", "monthly_amount_fen"),
        ({"monthly_amount_fen": "0"}, "invalid", "monthly_amount_fen"),
        ({"last_certified_on": "2031-01-01"}, "invalid", "last_certified_on"),
        ({"last_certified_channel": "psychic"}, "invalid", "last_certified_channel"),
        ({"name": "张\ufffd"}, "bad_encoding", None),
    ],
)
def test_each_broken_row_is_refused_with_its_number_and_a_reason(given, code, column):
    widow = row(
        citizen_id=WIDOW,
        name="李四",
        kind="work_injury_long_term",
        role="dependant",
        relationship="spouse",
        start_date="2015-06-01",
    )
    ctx, report = run([widow, row(**given)])
    assert [(n, p.code, p.column) for n, p in report.problems] == [(3, code, column)]
    assert report.problems[0][1].message  # a sentence a clerk can act on
    assert list(ctx.uow.register_load.people) == [WIDOW]  # the valid person is kept
    assert report.rows_refused == 1 and report.problems_by_code == {code: 1}


def test_a_person_with_one_bad_row_is_refused_whole_and_disagreeing_rows_are_refused():
    _ctx, report = run([row(), row(kind="unemployment", start_date="bad")])
    assert [(n, p.code) for n, p in report.problems] == [(3, "invalid"), (2, "person_refused")]
    assert "row 3" in report.problems[1][1].message
    _ctx, report = run([row(), row(kind="unemployment", start_date="2026-01-05", name="张四")])
    assert {p.code for _n, p in report.problems} == {"inconsistent_person"}
    _ctx, report = run([row(), row()])
    assert {p.code for _n, p in report.problems} == {"duplicate_benefit"}
    assert report.people_loaded == 0


def test_people_already_registered_are_counted_not_written_again_and_batches_are_bounded():
    rows = [
        row(citizen_id=make_citizen_id("500103", date(1950, 3, 1), serial).value)
        for serial in range(10, 30)
    ]
    ctx, report = run(rows, batch=7)
    assert ctx.uow.register_load.batches == [7, 7, 6] and ctx.uow.commits == 4
    again = import_register(
        ctx, Actor.system("test"), enumerate(rows[:5], start=2), source="again.csv"
    )
    assert (again.people_loaded, again.people_known) == (0, 5)
    assert report.people_loaded == 20


def test_only_operators_import_the_register():
    ctx = use_case()
    with pytest.raises(AccessDenied):
        import_register(
            ctx, staff(scope="500000"), enumerate([row()], start=2), source="register.csv"
        )
    assert ctx.uow.register_load.batches == []
