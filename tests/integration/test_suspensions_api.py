"""Art. 9 and 21: suspension for an expired period needs several failed means of contact;
restoration needs a certification and pays arrears by the month-boundary rule."""

from datetime import date

import pytest

from certification.citizen_id import make_citizen_id
from tests.integration.conftest import audit_actions, grant, new_person

pytestmark = pytest.mark.postgres


@pytest.fixture
def overdue_person(clerk):
    """Pension since 2010, last certified 10 Nov 2024: the period expired on 10 Nov 2025."""
    person = new_person(clerk, make_citizen_id("500103", date(1949, 4, 4), 31).value)
    ent = grant(clerk, person["id"], start_date="2010-05-01", monthly_amount_fen=300_000)
    resp = clerk.post(
        f"/api/persons/{person['id']}/certifications",
        json={"channel": "partner_bank", "certified_at": "2024-11-10T03:00:00+00:00"},
    )
    assert resp.status_code == 201
    assert resp.get_json()["period"]["due_on"] == "2025-11-10"
    return person, ent


def contact(clerk, person_id, channel, outcome="unreachable", at="2025-11-20T02:00:00+00:00"):
    resp = clerk.post(
        f"/api/persons/{person_id}/contact-attempts",
        json={"channel": channel, "outcome": outcome, "attempted_at": at},
    )
    assert resp.status_code == 201, resp.get_json()


def test_suspension_then_restoration_across_a_year_boundary_with_arrears(
    clerk, overdue_person, runtime
):
    person, ent = overdue_person
    pid = person["id"]
    body = {"reason": "period_expired_unreachable", "suspended_on": "2025-12-15"}

    contact(clerk, pid, "phone")
    refused = clerk.post(f"/api/persons/{pid}/suspensions", json=body)
    assert refused.status_code == 409
    assert "at least 2 different means" in refused.get_json()["message"]

    contact(clerk, pid, "visit", at="2025-11-25T06:00:00+00:00")
    reach = clerk.get(f"/api/persons/{pid}/reachability").get_json()
    assert reach["unreachable"] and sorted(reach["channels_tried"]) == ["phone", "visit"]

    made = clerk.post(f"/api/persons/{pid}/suspensions", json=body)
    assert made.status_code == 201, made.get_json()
    suspension = made.get_json()[0]
    assert suspension["evidence"]["channels_unreachable"] == ["phone", "visit"]
    assert clerk.get(f"/api/entitlements/{ent['id']}").get_json()["status"] == "suspended"

    # The annual adjustment from January 2026 applies to arrears for January on.
    clerk.post(
        f"/api/entitlements/{ent['id']}/amounts",
        json={
            "effective_from": "2026-01",
            "monthly_amount_fen": 312_000,
            "reason": "2026 annual adjustment",
        },
    )
    restore_url = f"/api/suspensions/{suspension['id']}/restoration"
    no_proof = clerk.post(
        restore_url, json={"restored_on": "2026-03-20", "reason": "found in hospital"}
    )
    assert no_proof.status_code == 409
    assert "certification" in no_proof.get_json()["message"]

    cert = clerk.post(
        f"/api/persons/{pid}/certifications",
        json={"channel": "hospital_stay", "certified_at": "2026-03-05T04:00:00+00:00"},
    ).get_json()
    assert cert["restoration_pending"] == [ent["id"]]

    restored = clerk.post(
        restore_url, json={"restored_on": "2026-03-20", "reason": "found in hospital, alive"}
    )
    assert restored.status_code == 201, restored.get_json()
    out = restored.get_json()
    assert out["arrears_months"] == [
        {"month": "2026-01", "amount_fen": 312_000},
        {"month": "2026-02", "amount_fen": 312_000},
        {"month": "2026-03", "amount_fen": 312_000},
    ]
    assert out["arrears_fen"] == 936_000
    assert out["suspension"]["status"] == "lifted"
    twice = clerk.post(restore_url, json={"restored_on": "2026-03-21", "reason": "double click"})
    assert twice.status_code == 409

    detail = clerk.get(f"/api/entitlements/{ent['id']}").get_json()
    assert [c["to_status"] for c in detail["status_changes"]] == ["active", "suspended", "active"]
    assert [c["effective_on"] for c in detail["status_changes"]] == [
        "2010-05-01",
        "2025-12-15",
        "2026-03-20",
    ]
    actions = audit_actions(runtime)
    assert (
        actions.count("entitlement.suspended") == 1 and actions.count("entitlement.restored") == 1
    )


def test_no_suspension_for_expiry_before_the_period_ends(clerk):
    person = new_person(clerk, make_citizen_id("500103", date(1952, 1, 1), 3).value)
    grant(clerk, person["id"])
    clerk.post(f"/api/persons/{person['id']}/certifications", json={"channel": "counter"})
    resp = clerk.post(
        f"/api/persons/{person['id']}/suspensions", json={"reason": "period_expired_unreachable"}
    )
    assert resp.status_code == 409
    assert "has not expired" in resp.get_json()["message"]


def test_a_reached_person_is_not_unreachable(clerk, overdue_person):
    person, _ = overdue_person
    for channel in ("phone", "sms", "wechat"):
        contact(clerk, person["id"], channel)
    contact(clerk, person["id"], "visit", outcome="reached", at="2025-12-01T02:00:00+00:00")
    resp = clerk.post(
        f"/api/persons/{person['id']}/suspensions",
        json={"reason": "period_expired_unreachable", "suspended_on": "2025-12-15"},
    )
    assert resp.status_code == 409 and "reached" in resp.get_json()["message"]


def test_other_reasons_need_an_explanation_and_list_by_status(clerk, overdue_person):
    person, _ = overdue_person
    url = f"/api/persons/{person['id']}/suspensions"
    assert clerk.post(url, json={"reason": "lost_qualification"}).status_code == 422
    made = clerk.post(
        url,
        json={"reason": "lost_qualification", "explanation": "imprisonment record from the court"},
    )
    assert made.status_code == 201
    listed = clerk.get("/api/suspensions?status=in_force").get_json()["items"]
    assert [s["person_id"] for s in listed] == [person["id"]]
    assert (
        clerk.post(url, json={"reason": "other", "explanation": "again please"}).status_code == 409
    )


def test_future_dates_are_refused(clerk, overdue_person):
    person, _ = overdue_person
    resp = clerk.post(
        f"/api/persons/{person['id']}/suspensions",
        json={"reason": "other", "explanation": "explained", "suspended_on": "2099-01-01"},
    )
    assert resp.status_code == 422
    resp = clerk.post(
        f"/api/persons/{person['id']}/certifications",
        json={"channel": "counter", "certified_at": "2099-01-01T00:00:00+00:00"},
    )
    assert resp.status_code == 422
