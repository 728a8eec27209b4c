"""Personal data sealed at rest (decision 0020): a copy of the database holds no citizen ID,
name, phone or address in clear, in any table; the service still finds people by them
(exactly) through the blind index; a key rotation reseals everything and the old key can go."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
import sqlalchemy as sa

from storage import crypto, schema
from storage.keys import reseal_personal_data, sealed_columns
from tests.integration.conftest import app_sign_up, grant, new_person
from tests.integration.test_comparison_workflow import upload_feed

pytestmark = pytest.mark.postgres

CID = "50010319450301123X"
NAME = "欧阳秀兰"
PHONE = "13987654321"
ADDRESS = "渝中区解放碑民族路188号"
FAMILY_PHONE = "13712345678"
FAMILY_CID = "500103197003046317"
FAMILY_NAME = "欧阳建国"
REPORTER = "诸葛明亮"
REPORTER_PHONE = "13600001111"


def _every_text_value(runtime: Any) -> dict[str, list[str]]:
    """Every row of every table, each as one text (what a stolen dump or backup shows)."""
    found: dict[str, list[str]] = {}
    with runtime.database.connect() as conn:
        for table in schema.metadata.sorted_tables:
            rows = conn.execute(sa.text(f'SELECT CAST(t AS text) FROM "{table.name}" t')).scalars()
            found[table.name] = list(rows)
    return found


@pytest.fixture
def operator(login):
    from certification.vocabulary import AccountKind

    return login("ops", None, (), kind=AccountKind.OPERATOR)


def _populate(clerk: Any, client: Any, runtime: Any, operator: Any, login: Any) -> dict[str, Any]:
    person = new_person(clerk, CID, name=NAME)
    resp = clerk.patch(
        f"/api/persons/{person['id']}",
        json={"phone": PHONE, "address": ADDRESS, "reason": "来电更新联系方式"},
        headers={"If-Match": clerk.get(f"/api/persons/{person['id']}").headers["ETag"]},
    )
    assert resp.status_code == 200, resp.get_json()
    grant(clerk, person["id"])
    # certified at a counter of another district (a receipt, notices, a review flag, audit)
    counter = login("jiangbei.counter", "500105", ("counter",))
    at_counter = counter.post(
        "/api/counter/certifications",
        json={"citizen_id": CID, "name": NAME, "id_check": "chip", "reader_ref": "RD-1"},
    )
    assert at_counter.status_code == 201, at_counter.get_json()
    # a family member's app account, claiming the person (phone login, citizen ID typed)
    app_sign_up(client, runtime, FAMILY_PHONE, FAMILY_CID, FAMILY_NAME)
    # a tip-off naming the person, by a reporter who leaves a name and phone
    from certification.access import Actor
    from certification.services import supervision

    report = supervision.Report(
        category="death_concealed",
        description="邻居说老人已去世，家属仍在领取养老金。",
        subject_name=NAME,
        district_code="500103",
        subject_citizen_id=CID,
        reporter_name=REPORTER,
        reporter_phone=REPORTER_PHONE,
        channel="web",
    )
    with runtime.use_case() as ctx:
        supervision.submit(ctx, Actor.system("public-tipoff"), report)
    # a department feed naming the person
    feed = (
        "citizen_id,event_kind,event_date,source_department,source_record_id\n"
        f"{CID},hospital_stay,2026-06-01,health,H1\n"
    )
    assert upload_feed(operator, feed.encode())["status"] == "done"
    return person


def test_no_table_holds_a_clear_citizen_id_name_phone_or_address(
    clerk, client, runtime, operator, login
):
    _populate(clerk, client, runtime, operator, login)
    dump = _every_text_value(runtime)
    assert dump["persons"] and dump["department_events"] and dump["tip_offs"]
    secrets = [CID, NAME, PHONE, ADDRESS, FAMILY_PHONE, FAMILY_CID, FAMILY_NAME]
    secrets += [REPORTER, REPORTER_PHONE]
    leaks = [
        (table, secret, row[:200])
        for table, rows in dump.items()
        for row in rows
        for secret in secrets
        if secret in row
    ]
    assert leaks == []


def test_people_are_still_found_by_citizen_id_phone_and_whole_name(
    clerk, client, runtime, operator, login
):
    person = _populate(clerk, client, runtime, operator, login)
    from certification.ports import PageRequest
    from certification.services.accounts import actor_for
    from certification.services.persons import search_people

    with runtime.use_case() as ctx:
        actor = actor_for(ctx.uow.accounts.by_username(clerk.username), None)
        for q in (CID, CID.lower(), PHONE, NAME, f" {NAME} "):
            found = search_people(ctx, actor, q, PageRequest(limit=10))
            assert [str(p.id) for p in found.items] == [person["id"]], q
        assert search_people(ctx, actor, NAME[:2], PageRequest(limit=10)).items == []
    body = clerk.get("/api/persons", query_string={"name": NAME}).get_json()
    assert [p["id"] for p in body["items"]] == [person["id"]]
    assert clerk.get("/api/persons", query_string={"name": NAME[:2]}).get_json()["items"] == []
    read = clerk.get(f"/api/persons/{person['id']}").get_json()
    assert (read["citizen_id"], read["name"], read["phone"]) == (CID, NAME, PHONE)
    # the same citizen ID cannot be registered twice (the blind index is unique)
    again = clerk.post(
        "/api/persons", json={"citizen_id": CID, "name": "别人", "region_code": "500103"}
    )
    assert again.status_code == 409


def test_rotation_reseals_every_personal_value_and_the_old_key_can_go(
    clerk, client, runtime, operator, login
):
    _populate(clerk, client, runtime, operator, login)
    ring = crypto.process_ring(crypto.PERSONAL)
    previous = ring.current
    fresh = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    crypto.configure(crypto.KeyRing.parse(fresh), crypto.PERSONAL)
    try:
        first = reseal_personal_data(runtime.session_factory, batch=1)
        assert first.resealed["persons"] == 1 and first.resealed["tip_offs"] == 1
        again = reseal_personal_data(runtime.session_factory)
        assert again.total == 0  # resumable: nothing left under the old key
        new_only = crypto.KeyRing.parse(fresh)
        prefix = f"{crypto.SEALED_TEXT}{new_only.current}."
        opened = 0
        with runtime.database.connect() as conn:
            for table, columns in sealed_columns().items():
                for column in columns:
                    raw = sa.type_coerce(column, sa.Text)
                    for (stored,) in conn.execute(sa.select(raw).where(column.is_not(None))):
                        assert stored.startswith(prefix), (table.name, column.name)
                        kid, n, ct = stored[len(crypto.SEALED_TEXT) :].split(".")
                        doc = {"kid": kid, "n": n, "ct": ct}
                        purpose = column.type.purpose.encode()  # type: ignore[attr-defined]
                        new_only.decrypt(doc, purpose)  # opens with the new key alone
                        opened += 1
        assert opened >= 8
        read = clerk.get("/api/persons", query_string={"name": NAME}).get_json()["items"]
        assert read[0]["citizen_id"] == CID
    finally:
        ring.current = previous
