"""Staff see and change only people in their region; refusals are 403 and audited; the
city-wide counter is the one exception (Art. 5)."""

from datetime import date

import pytest
import sqlalchemy as sa

from certification.citizen_id import make_citizen_id
from certification.vocabulary import AccountKind
from tests.integration.conftest import grant, new_person

pytestmark = pytest.mark.postgres

CID = make_citizen_id("500103", date(1948, 10, 2), 21).value


@pytest.fixture
def yuzhong_person(clerk):
    person = new_person(clerk, CID)
    grant(clerk, person["id"], start_date="2008-10-01")
    return person


def denials(runtime):
    with runtime.database.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT actor_label, details FROM audit_events WHERE action = 'access.denied' "
                "ORDER BY sequence"
            )
        ).all()


def test_a_district_clerk_cannot_read_another_districts_person(login, yuzhong_person, runtime):
    jiangbei = login("jiangbei.clerk", "500105", ("clerk",))
    resp = jiangbei.get(f"/api/persons/{yuzhong_person['id']}")
    assert resp.status_code == 403
    assert "outside your region" in resp.get_json()["message"]
    rows = denials(runtime)
    assert len(rows) == 1
    assert rows[0].actor_label == "jiangbei.clerk"
    assert rows[0].details["path"] == f"/api/persons/{yuzhong_person['id']}"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "/entitlements", None),
        ("get", "/certifications", None),
        ("get", "/period", None),
        ("post", "/certifications", {"channel": "partner_bank"}),
        ("post", "/contact-attempts", {"channel": "phone", "outcome": "unreachable"}),
        ("post", "/suspensions", {"reason": "other", "explanation": "test explanation"}),
    ],
)
def test_every_read_and_change_outside_the_region_is_refused_and_logged(
    login, yuzhong_person, runtime, method, suffix, body
):
    jiangbei = login("jiangbei.clerk", "500105", ("clerk",))
    url = f"/api/persons/{yuzhong_person['id']}{suffix}"
    resp = getattr(jiangbei, method)(url, json=body) if body else getattr(jiangbei, method)(url)
    assert resp.status_code == 403
    assert len(denials(runtime)) == 1


def test_lists_only_show_the_clerks_region(login, clerk, yuzhong_person):
    other = new_person(
        login("jiangbei.clerk", "500105", ("clerk",)),
        make_citizen_id("500105", date(1950, 1, 1), 3).value,
        region="500105",
    )
    assert [p["id"] for p in clerk.get("/api/persons").get_json()["items"]] == [
        yuzhong_person["id"]
    ]
    city = login("city.clerk", "500000", ("clerk",))
    assert {p["id"] for p in city.get("/api/persons").get_json()["items"]} == {
        yuzhong_person["id"],
        other["id"],
    }
    assert clerk.get("/api/persons?region=500105").status_code == 403


def test_a_township_clerk_sees_only_their_township(login, clerk, make_region):
    make_region("500103001")
    make_region("500103002")
    inside = new_person(
        clerk, make_citizen_id("500103", date(1950, 1, 1), 5).value, region="500103001"
    )
    outside = new_person(
        clerk, make_citizen_id("500103", date(1950, 1, 1), 7).value, region="500103002"
    )
    township = login("yuzhong.township", "500103001", ("clerk",))
    assert township.get(f"/api/persons/{inside['id']}").status_code == 200
    assert township.get(f"/api/persons/{outside['id']}").status_code == 403


def test_townships_cannot_suspend_or_restore(login, clerk, make_region):
    make_region("500103001")
    person = new_person(
        clerk, make_citizen_id("500103", date(1950, 1, 1), 5).value, region="500103001"
    )
    grant(clerk, person["id"])
    township = login("yuzhong.township", "500103001", ("clerk",))
    resp = township.post(
        f"/api/persons/{person['id']}/suspensions",
        json={"reason": "other", "explanation": "verification found x"},
    )
    assert resp.status_code == 403
    assert "district/county or municipal" in resp.get_json()["message"]


def test_a_counter_clerk_anywhere_certifies_anyone_seeing_only_what_it_needs(
    login, yuzhong_person, runtime
):
    wanzhou = login("wanzhou.counter", "500101", ("counter",))
    assert wanzhou.get(f"/api/persons/{yuzhong_person['id']}").status_code == 403
    unknown = wanzhou.post("/api/counter/lookup", json={"citizen_id": CID, "name": "李四"})
    assert unknown.status_code == 404  # the name differs: the same answer as an unknown ID
    view = wanzhou.post("/api/counter/lookup", json={"citizen_id": CID, "name": "张秀兰"})
    assert view.status_code == 200
    body = view.get_json()
    assert body["citizen_id_masked"] == CID[:6] + "********" + CID[14:]
    assert set(body) == {
        "person_id",
        "citizen_id_masked",
        "name",
        "birth_year",
        "district_code",
        "benefit_kinds",
        "due_on",
    }
    done = wanzhou.post(
        "/api/counter/certifications",
        json={
            "citizen_id": CID,
            "name": "张秀兰",
            "note": "came to the Wanzhou counter",
            "id_check": "visual",
        },
    )
    assert done.status_code == 201
    cert = done.get_json()["certification"]
    assert cert["channel"] == "counter" and cert["source_ref"] == "counter:500101"
    # the card only looked at, by a counter of another district: 渝中区 reviews it
    assert cert["review_flag"] == "id_card_not_read,outside_clerk_district"
    assert cert["evidence"] == ["id_card:visual"]
    today = runtime.clock.today()
    assert done.get_json()["due_on"] == today.replace(year=today.year + 1).isoformat()


def test_the_counter_needs_the_counter_role(clerk, login):
    jiangbei = login("jiangbei.clerk", "500105", ("clerk",))
    lookup = {"citizen_id": CID, "name": "张秀兰"}
    assert jiangbei.post("/api/counter/lookup", json=lookup).status_code == 403
    # a well-formed ID and name without the role: refused for the role
    well_formed = {"citizen_id": "11010519491231002X", "name": "某人"}
    assert clerk.post("/api/counter/lookup", json=well_formed).status_code == 403
    # a malformed ID is refused by the schema for anyone, before any record is read
    bad = clerk.post("/api/counter/lookup", json={"citizen_id": "123", "name": "x"})
    assert bad.status_code == 422 and "citizen_id" in bad.get_json()["errors"]["json"]


def test_operators_manage_accounts_but_see_no_people(login, yuzhong_person):
    op = login(
        "ops",
        None,
        (),
        kind=AccountKind.OPERATOR,
    )
    assert op.get(f"/api/persons/{yuzhong_person['id']}").status_code == 403
    assert op.get("/api/persons").status_code == 403
    created = op.post(
        "/api/accounts",
        json={
            "username": "nan.an.clerk",
            "display_name": "南岸区经办",
            "password": "long-enough-pass-1",
            "region_code": "500108",
            "roles": ["clerk"],
        },
    )
    assert created.status_code == 201
    weak = op.post(
        "/api/accounts",
        json={
            "username": "weak.user",
            "display_name": "x",
            "password": "aaaaaaaaaaaaaaaa",
            "region_code": "500108",
            "roles": ["clerk"],
        },
    )
    assert weak.status_code == 422 and "password" in weak.get_json()["errors"]["json"]
