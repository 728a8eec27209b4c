"""Annulling a certification through the API on PostgreSQL: four eyes, the period recomputed
in SQL-backed records, the public receipt check saying "not valid"."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.integration.conftest import grant, new_person

pytestmark = pytest.mark.postgres


def test_a_second_clerk_annuls_a_certification_and_its_receipt_stops_checking(
    client, clerk, login, runtime
):
    person = new_person(clerk, "50010319450301123X")
    grant(clerk, person["id"])
    made = clerk.post(
        f"/api/persons/{person['id']}/certifications",
        json={"channel": "partner_bank", "evidence": ["bank branch record 0042"]},
    )
    assert made.status_code == 201, made.get_json()
    cert = made.get_json()["certification"]
    with runtime.database.connect() as conn:
        receipt = conn.scalar(
            sa.text("SELECT code FROM receipts WHERE certification_id = :c"), {"c": cert["id"]}
        )
    assert client.get(f"/api/receipts/{receipt}").get_json()["valid"] is True
    url = f"/api/persons/{person['id']}/certifications/{cert['id']}/annulment"
    assert clerk.post(url, json={"reason": "short"}).status_code == 422
    township = login("jiefangbei.clerk", "500103001", ("clerk",))
    assert (
        township.post(url, json={"reason": "the bank record is someone else's"}).status_code == 403
    )
    asked = clerk.post(url, json={"reason": "the bank record is someone else's"})
    assert asked.status_code == 202, asked.get_json()
    assert clerk.put(url, json={"confirm": True}).status_code == 403  # not the one who asked
    city = login("city.clerk2", "500000", ("clerk",))
    done = city.put(url, json={"confirm": True, "note": "bank confirmed the mix-up"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["annulled_at"]
    assert city.put(url, json={"confirm": True}).status_code == 409
    listed = clerk.get(f"/api/persons/{person['id']}/certifications").get_json()["items"]
    assert listed[0]["annulled_at"] is not None
    seen = clerk.get(f"/api/persons/{person['id']}").get_json()
    assert seen["last_certified_on"] is None  # no valid certification left
    assert client.get(f"/api/receipts/{receipt}").get_json()["valid"] is False
