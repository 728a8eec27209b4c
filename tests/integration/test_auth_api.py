"""Sign-in: passwords with lockout, rotating refresh tokens, the mobile identity provider."""

from datetime import date

import pytest

from certification.citizen_id import make_citizen_id
from certification.vocabulary import AccountKind
from tests.integration.conftest import PASSWORD, grant, new_person

pytestmark = pytest.mark.postgres


def test_wrong_password_then_lockout(client, login):
    login("yuzhong.clerk")
    for _ in range(5):
        resp = client.post(
            "/api/auth/login", json={"username": "yuzhong.clerk", "password": "wrong-password-1"}
        )
        assert resp.status_code == 401
    locked = client.post(
        "/api/auth/login", json={"username": "yuzhong.clerk", "password": PASSWORD}
    )
    assert locked.status_code == 401 and "locked" in locked.get_json()["message"]
    unknown = client.post("/api/auth/login", json={"username": "nobody", "password": "x"})
    assert unknown.status_code == 401


def test_refresh_rotates_and_a_reused_token_ends_every_session(client, login):
    login("yuzhong.clerk")
    first = client.post(
        "/api/auth/login", json={"username": "yuzhong.clerk", "password": PASSWORD}
    ).get_json()
    second = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    new = second.get_json()
    assert new["refresh_token"] != first["refresh_token"]
    reuse = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    # the copy was detected: the legitimate newer token is revoked as well
    assert (
        client.post("/api/auth/refresh", json={"refresh_token": new["refresh_token"]}).status_code
        == 401
    )


def test_a_disabled_account_is_refused_at_once(client, login):
    clerk = login("yuzhong.clerk")
    op = login("ops", None, (), kind=AccountKind.OPERATOR)
    me = clerk.get("/api/auth/me").get_json()
    resp = op.put(
        f"/api/accounts/{me['account']['id']}/active",
        json={"active": False, "reason": "left the agency"},
    )
    assert resp.status_code == 200
    assert clerk.get("/api/persons").status_code == 401


def test_mobile_beneficiary_registration_with_a_verified_phone(client, clerk):
    cid = make_citizen_id("500103", date(1951, 7, 7), 41).value
    person = new_person(clerk, cid, name="王桂兰")
    grant(clerk, person["id"])
    etag = clerk.get(f"/api/persons/{person['id']}").headers["ETag"]
    clerk.patch(
        f"/api/persons/{person['id']}",
        json={"phone": "13800138000", "reason": "phone on file"},
        headers={"If-Match": etag},
    )

    first = client.post(
        "/api/auth/mobile/login", json={"provider": "dev", "code": "dev:wang-phone:13800138000"}
    ).get_json()
    assert first["registered"] is False
    wrong_name = client.post(
        "/api/auth/mobile/register",
        json={
            "registration_token": first["registration_token"],
            "citizen_id": cid,
            "name": "王秀兰",
        },
    )
    assert wrong_name.status_code == 422 and "name" in wrong_name.get_json()["errors"]["json"]
    made = client.post(
        "/api/auth/mobile/register",
        json={
            "registration_token": first["registration_token"],
            "citizen_id": cid,
            "name": "王桂兰",
            "phone": "13800138000",
        },
    )
    assert made.status_code == 201, made.get_json()
    tokens = made.get_json()
    assert tokens["account"]["kind"] == "beneficiary" and tokens["account"]["identity_verified"]
    own = client.get(
        f"/api/persons/{person['id']}",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert own.status_code == 200
    again = client.post(
        "/api/auth/mobile/login", json={"provider": "dev", "code": "dev:wang-phone:13800138000"}
    ).get_json()
    assert again["registered"] is True


def test_unverified_beneficiaries_and_family_members_do_not_see_benefit_records(client, clerk):
    cid = make_citizen_id("500103", date(1951, 7, 7), 43).value
    person = new_person(clerk, cid, name="赵明")
    reg = client.post(
        "/api/auth/mobile/login", json={"provider": "dev", "code": "dev:zhao"}
    ).get_json()
    tokens = client.post(
        "/api/auth/mobile/register",
        json={"registration_token": reg["registration_token"], "citizen_id": cid, "name": "赵明"},
    ).get_json()
    assert tokens["account"]["identity_verified"] is False
    resp = client.get(
        f"/api/persons/{person['id']}",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert resp.status_code == 403 and "Confirm your identity" in resp.get_json()["message"]

    son = client.post(
        "/api/auth/mobile/login", json={"provider": "dev", "code": "dev:zhao-son"}
    ).get_json()
    fam = client.post(
        "/api/auth/mobile/register",
        json={
            "registration_token": son["registration_token"],
            "citizen_id": make_citizen_id("500103", date(1980, 1, 1), 45).value,
            "name": "赵小明",
        },
    ).get_json()
    assert fam["account"]["kind"] == "family"
    assert (
        client.get(
            f"/api/persons/{person['id']}",
            headers={"Authorization": f"Bearer {fam['access_token']}"},
        ).status_code
        == 403
    )


def test_unknown_provider_and_bad_codes(client):
    resp = client.post("/api/auth/mobile/login", json={"provider": "alipay", "code": "x"})
    assert resp.status_code == 422 and "available: dev" in resp.get_json()["message"]
    assert (
        client.post(
            "/api/auth/mobile/login", json={"provider": "dev", "code": "nonsense"}
        ).status_code
        == 401
    )
    expired = client.post(
        "/api/auth/mobile/register",
        json={"registration_token": "x.y.z", "citizen_id": "11010519491231002X", "name": "x"},
    )
    assert expired.status_code == 401
