"""Who is due in N days, who is overdue, per region."""

from datetime import date, timedelta

import pytest

from certification.citizen_id import make_citizen_id
from tests.integration.conftest import grant, new_person

pytestmark = pytest.mark.postgres


def certified(clerk, seq, days_ago, region="500103", caller=None):
    caller = caller or clerk
    person = new_person(
        caller, make_citizen_id(region[:6], date(1950, 1, 1), seq).value, region=region
    )
    grant(caller, person["id"])
    at = (date.today() - timedelta(days=days_ago)).isoformat() + "T04:00:00+00:00"
    resp = caller.post(
        f"/api/persons/{person['id']}/certifications",
        json={"channel": "partner_bank", "certified_at": at},
    )
    assert resp.status_code == 201, resp.get_json()
    return person


def test_due_soon_overdue_and_summary(clerk, login):
    soon = certified(clerk, 1, 350)  # due in ~15 days
    later = certified(clerk, 3, 100)  # due in ~265 days
    late = certified(clerk, 5, 400)  # overdue by ~35 days
    jiangbei = login("jiangbei.clerk", "500105", ("clerk",))
    certified(clerk, 7, 390, region="500105", caller=jiangbei)  # overdue, other district

    due = clerk.get("/api/periods/due?days=30").get_json()["items"]
    assert [p["id"] for p in due] == [soon["id"]]
    assert later["id"] in [
        p["id"] for p in clerk.get("/api/periods/due?days=366").get_json()["items"]
    ]
    overdue = clerk.get("/api/periods/overdue").get_json()["items"]
    assert [p["id"] for p in overdue] == [late["id"]]

    city = login("city.clerk", "500000", ("clerk",))
    summary = city.get("/api/periods/summary?days=30").get_json()
    assert summary["overdue"] == [
        {"region_code": "500103", "count": 1},
        {"region_code": "500105", "count": 1},
    ]
    assert summary["due_soon"] == [{"region_code": "500103", "count": 1}]
    narrowed = city.get("/api/periods/overdue?region=500105").get_json()["items"]
    assert len(narrowed) == 1 and narrowed[0]["district_code"] == "500105"
    assert clerk.get("/api/periods/due?days=400").status_code == 422


def test_period_status_states(clerk):
    person = certified(clerk, 9, 400)
    status = clerk.get(f"/api/persons/{person['id']}/period").get_json()
    assert status["state"] == "overdue" and status["days_left"] < 0
