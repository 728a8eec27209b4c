"""Claiming a beneficiary: nothing a squatter does blocks the real person or changes the
person's data; a counter clerk who saw the ID card confirms a claim; the uniform answers."""

from datetime import date

import pytest

from certification.citizen_id import make_citizen_id
from tests.integration.conftest import app_sign_up, grant, new_person

pytestmark = pytest.mark.postgres

NAME = "陈秀英"


@pytest.fixture
def pensioner(clerk):  # type: ignore[no-untyped-def]
    cid = make_citizen_id("500103", date(1948, 2, 2), 51).value
    person = new_person(clerk, cid, name=NAME)
    grant(clerk, person["id"])
    return cid, person


def app_account(client, runtime, phone, cid, name=NAME):  # type: ignore[no-untyped-def]
    return app_sign_up(client, runtime, phone, cid, name)


def test_a_squatter_never_blocks_the_real_person_and_a_clerk_confirms_at_the_counter(
    client, runtime, clerk, pensioner
):
    cid, person = pensioner
    squatter = app_account(client, runtime, "13811110001", cid)
    real = app_account(client, runtime, "13811110002", cid)  # no 409: claims coexist
    real_claim = client.get("/api/auth/me", headers=real).get_json()["claim"]
    squatter_claim = client.get("/api/auth/me", headers=squatter).get_json()["claim"]
    assert real_claim["id"] != squatter_claim["id"]

    # a clerk with the ID card in hand: a wrong card is refused and changes nothing
    wrong = clerk.post(
        f"/api/staff/claims/{real_claim['id']}/link",
        json={"citizen_id_seen": cid, "name_seen": "陈秀兰"},
    )
    assert wrong.status_code == 422
    assert client.get("/api/auth/me", headers=real).get_json()["claim"]["status"] == "pending"
    linked = clerk.post(
        f"/api/staff/claims/{real_claim['id']}/link",
        json={"citizen_id_seen": cid, "name_seen": NAME},
    )
    assert linked.status_code == 200, linked.get_json()
    assert linked.get_json()["kind"] == "beneficiary"
    me = client.get("/api/auth/me", headers=real).get_json()
    assert me["account"]["person_id"] == person["id"] and me["account"]["identity_verified"]
    assert client.get(f"/api/persons/{person['id']}", headers=real).status_code == 200
    # the squatter's claim is dropped; it sees nothing of the person
    theirs = client.get("/api/auth/me", headers=squatter).get_json()
    assert theirs["claim"]["status"] == "dropped" and theirs["account"]["kind"] == "family"
    assert client.get(f"/api/persons/{person['id']}", headers=squatter).status_code == 403
    started = client.post("/api/claims/check", json={}, headers=squatter)
    assert started.status_code == 409 and "service point" in started.get_json()["message"]
    # a second link of the same claim is refused
    again = clerk.post(
        f"/api/staff/claims/{real_claim['id']}/link",
        json={"citizen_id_seen": cid, "name_seen": NAME},
    )
    assert again.status_code == 404


def test_a_later_confirmed_claim_takes_over_and_ends_the_earlier_accounts_sessions(
    client, runtime, clerk, pensioner
):
    cid, person = pensioner
    old_phone = app_account(client, runtime, "13811110003", cid)
    claim = client.get("/api/auth/me", headers=old_phone).get_json()["claim"]
    clerk.post(
        f"/api/staff/claims/{claim['id']}/link", json={"citizen_id_seen": cid, "name_seen": NAME}
    )
    new_phone = app_account(client, runtime, "13811110004", cid)
    claim = client.get("/api/auth/me", headers=new_phone).get_json()["claim"]
    linked = clerk.post(
        f"/api/staff/claims/{claim['id']}/link", json={"citizen_id_seen": cid, "name_seen": NAME}
    )
    assert linked.status_code == 200
    assert client.get("/api/auth/me", headers=old_phone).status_code == 401  # signed out
    assert client.get(f"/api/persons/{person['id']}", headers=new_phone).status_code == 200


def test_an_unverified_claim_changes_nothing_of_the_persons(client, runtime, clerk, pensioner):
    cid, person = pensioner
    squatter = app_account(client, runtime, "13811110005", cid)
    visit = client.post(
        f"/api/persons/{person['id']}/home-visits",
        json={"reason": "elderly", "contact_phone": "13811110005", "address_note": "my flat"},
        headers=squatter,
    )
    assert visit.status_code == 403
    assert clerk.get("/api/home-visits").get_json()["items"] == []
    after = clerk.get(f"/api/persons/{person['id']}").get_json()
    assert after["phone"] is None


def test_binding_requests_answer_the_same_whatever_the_id_and_name(
    client, runtime, clerk, pensioner
):
    cid, _ = pensioner
    other_cid = make_citizen_id("500103", date(1970, 1, 1), 77).value
    helper = app_account(client, runtime, "13811110006", other_cid, "陈小明")
    unknown = make_citizen_id("500103", date(1948, 2, 2), 53).value
    answers = []
    for number, name in ((unknown, NAME), (cid, "陈秀兰"), (cid, NAME), (cid, NAME)):
        resp = client.post(
            "/api/family/bindings",
            json={"citizen_id": number, "name": name, "relationship": "child"},
            headers=helper,
        )
        answers.append((resp.status_code, resp.get_json()))
    assert all(a == answers[0] for a in answers) and answers[0][0] == 202
    assert client.get("/api/family/bindings", headers=helper).get_json() == []
    waiting = clerk.get("/api/staff/family-bindings?status=requested").get_json()["items"]
    assert len(waiting) == 1  # the one matching request, once


def test_reviewers_see_the_claims_that_look_like_fraud_in_their_region(
    client, runtime, clerk, login, pensioner
):
    cid, person = pensioner
    app_account(client, runtime, "13811110007", cid)
    app_account(client, runtime, "13811110008", cid)
    reviewer = login("yuzhong.reviewer", "500103", ("reviewer",))
    listed = reviewer.get("/api/staff/claims").get_json()["items"]
    assert len(listed) == 2 and {c["person_id"] for c in listed} == {person["id"]}
    elsewhere = login("wanzhou.reviewer", "500101", ("reviewer",))
    assert elsewhere.get("/api/staff/claims").get_json()["items"] == []
    assert clerk.get("/api/staff/claims").status_code == 403  # clerks link, they do not list
