"""People and benefits through the real API on PostgreSQL."""

from datetime import date

import pytest
import sqlalchemy as sa

from certification.citizen_id import make_citizen_id
from tests.integration.conftest import audit_actions, grant, new_person

pytestmark = pytest.mark.postgres


def cid(seq: int = 11, born: date = date(1950, 3, 1), region: str = "500103") -> str:
    return make_citizen_id(region, born, seq).value


def test_register_a_person_with_benefits_and_see_the_period(clerk, runtime):
    person = new_person(clerk, cid())
    assert person["birth_date"] == "1950-03-01"
    assert person["sex"] == "male"
    assert person["period"] is None  # no benefit yet
    ent = grant(clerk, person["id"], start_date="2025-06-15")
    assert ent["status"] == "active"
    got = clerk.get(f"/api/persons/{person['id']}").get_json()
    assert got["period"] == {
        "starts_on": "2026-01-01",
        "due_on": "2026-12-31",
        "basis": "first_period",
    }
    detail = clerk.get(f"/api/entitlements/{ent['id']}").get_json()
    assert detail["amounts"][0]["monthly_amount_fen"] == 300_000
    assert detail["status_changes"][0]["to_status"] == "active"
    assert audit_actions(runtime) == [
        "account.created",
        "auth.signed_in",
        "person.registered",
        "entitlement.granted",
        "person.read",  # a staff member's read of a person's record leaves a trace
    ]


def test_dependant_under_16_has_no_period_until_the_16th_birthday(clerk):
    child = new_person(clerk, cid(12, date(2015, 8, 20)), name="李小雨")
    grant(
        clerk,
        child["id"],
        kind="work_injury_long_term",
        role="dependant",
        relationship="child",
        start_date="2019-04-01",
        monthly_amount_fen=120_000,
    )
    period = clerk.get(f"/api/persons/{child['id']}/period").get_json()
    assert period["period"]["starts_on"] == "2031-08-20"
    assert period["state"] == "not_started"


def test_one_benefit_of_each_kind_in_force(clerk):
    person = new_person(clerk, cid())
    grant(clerk, person["id"])
    resp = clerk.post(
        f"/api/persons/{person['id']}/entitlements",
        json={"kind": "pension", "start_date": "2012-01-01", "monthly_amount_fen": 1},
    )
    assert resp.status_code == 409
    assert resp.get_json()["errors"]["json"]["kind"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"citizen_id": "500103195003011110"}, "citizen_id"),  # wrong check digit
        ({"citizen_id": "50010319500230111X"}, "citizen_id"),  # 30 February
        ({"citizen_id": "5001031950"}, "citizen_id"),
        ({"region_code": "500199"}, "region_code"),  # not a Chongqing district
        ({"region_code": "500103999"}, "region_code"),  # township not registered
        ({"phone": "12345"}, "phone"),
        ({"name": "   "}, "name"),
        ({"extra": 1}, "extra"),  # unknown field
    ],
)
def test_bad_person_input_gets_a_field_message_and_writes_nothing(clerk, runtime, body, field):
    payload = {"citizen_id": cid(), "name": "张秀兰", "region_code": "500103", **body}
    resp = clerk.post("/api/persons", json=payload)
    assert resp.status_code == 422, resp.get_json()
    data = resp.get_json()
    assert field in data["errors"]["json"]
    assert data["message"]
    with runtime.database.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM persons")) == 0
    assert "person.registered" not in audit_actions(runtime)


def test_duplicate_person_is_a_conflict(clerk):
    new_person(clerk, cid())
    resp = clerk.post(
        "/api/persons", json={"citizen_id": cid(), "name": "X", "region_code": "500103"}
    )
    assert resp.status_code == 409
    assert resp.get_json()["reason"] == "already_exists"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start_date": "2023-02-30"}, "start_date"),  # impossible date
        ({"start_date": "1940-01-01"}, "start_date"),  # before birth
        ({"monthly_amount_fen": -100}, "monthly_amount_fen"),
        ({"monthly_amount_fen": 0}, "monthly_amount_fen"),
        ({"monthly_amount_fen": 3000.5}, "monthly_amount_fen"),
        ({"monthly_amount_fen": "300000"}, "monthly_amount_fen"),
        ({"kind": "lottery"}, "kind"),
        ({"role": "dependant"}, "role"),  # pensions have no dependants
        ({"kind": "work_injury_long_term", "role": "dependant"}, "relationship"),
    ],
)
def test_bad_benefit_input_leaves_the_person_untouched(clerk, runtime, body, field):
    person = new_person(clerk, cid())
    resp = clerk.post(
        f"/api/persons/{person['id']}/entitlements",
        json={"kind": "pension", "start_date": "2010-05-01", "monthly_amount_fen": 300_000, **body},
    )
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["errors"]["json"]
    after = clerk.get(f"/api/persons/{person['id']}").get_json()
    assert after["entitlements"] == [] and after["version"] == person["version"]


def test_patch_needs_the_etag_and_refuses_a_stale_one(clerk):
    person = new_person(clerk, cid())
    url = f"/api/persons/{person['id']}"
    etag = clerk.get(url).headers["ETag"]
    body = {"phone": "13800138000", "reason": "moved house, new phone"}
    assert clerk.patch(url, json=body).status_code == 428
    assert clerk.patch(url, json=body, headers={"If-Match": '"nope"'}).status_code == 412
    ok = clerk.patch(url, json=body, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.get_json()["phone"] == "13800138000"
    again = clerk.patch(url, json={**body, "phone": "13900139000"}, headers={"If-Match": etag})
    assert again.status_code == 412  # the first change made that ETag stale


def test_moving_a_person_updates_the_indexed_levels(clerk, make_region):
    make_region("500103002")
    make_region("500103002005", "和平社区")
    person = new_person(clerk, cid())
    url = f"/api/persons/{person['id']}"
    etag = clerk.get(url).headers["ETag"]
    moved = clerk.patch(
        url,
        json={"region_code": "500103002005", "reason": "household moved"},
        headers={"If-Match": etag},
    )
    assert moved.status_code == 200
    body = moved.get_json()
    assert (body["township_code"], body["village_code"]) == ("500103002", "500103002005")


def test_cursor_pagination_walks_every_person_once(clerk):
    ids = {new_person(clerk, cid(seq))["citizen_id"] for seq in range(1, 8)}
    seen: list[str] = []
    url = "/api/persons?limit=3"
    while url:
        page = clerk.get(url).get_json()
        seen += [p["citizen_id"] for p in page["items"]]
        url = f"/api/persons?limit=3&cursor={page['next_cursor']}" if page["next_cursor"] else None
    assert sorted(seen) == sorted(ids) and len(seen) == len(ids)
    bad = clerk.get("/api/persons?cursor=not-a-cursor")
    assert bad.status_code == 422 and "cursor" in bad.get_json()["errors"]["json"]


def test_amount_changes_and_termination(clerk):
    person = new_person(clerk, cid())
    ent = grant(clerk, person["id"])
    resp = clerk.post(
        f"/api/entitlements/{ent['id']}/amounts",
        json={
            "effective_from": "2027-01",
            "monthly_amount_fen": 312_000,
            "reason": "annual adjustment",
        },
    )
    assert resp.status_code == 201
    bad_month = clerk.post(
        f"/api/entitlements/{ent['id']}/amounts",
        json={"effective_from": "2027-13", "monthly_amount_fen": 1, "reason": "annual adjustment"},
    )
    assert bad_month.status_code == 422
    ended = clerk.post(
        f"/api/entitlements/{ent['id']}/termination",
        json={"terminated_on": "2026-10-31", "reason": "death confirmed by civil affairs"},
    )
    assert ended.status_code == 200 and ended.get_json()["status"] == "terminated"
    got = clerk.get(f"/api/persons/{person['id']}").get_json()
    assert got["period"] is None
