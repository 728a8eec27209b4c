"""Sign-in: staff passwords with growing delays (no lock a stranger can set), sessions that
end at once, text-message codes, single-use registration steps, the development provider only
where it belongs."""

from datetime import date

import pyotp
import pytest

from certification.citizen_id import make_citizen_id
from certification.vocabulary import AccountKind
from infra.settings import Settings, SettingsError
from tests.integration.conftest import PASSWORD, grant, new_person

pytestmark = pytest.mark.postgres

STRANGER = {"REMOTE_ADDR": "203.0.113.9"}
OFFICE = {"REMOTE_ADDR": "10.20.30.40"}


def password_login(client, username, password, where=None, **extra):
    return client.post(
        "/api/auth/login",
        json={"username": username, "password": password, **extra},
        environ_base=where or {},
    )


def test_wrong_passwords_slow_the_guesser_and_never_lock_the_owner(client, login):
    login("yuzhong.clerk")
    answers = [
        password_login(client, "yuzhong.clerk", "wrong-password-1", STRANGER).status_code
        for _ in range(4)
    ]
    assert answers[:3] == [401, 401, 401]
    assert answers[3] == 429  # the stranger now waits, longer after each failure
    waiting = password_login(client, "yuzhong.clerk", PASSWORD, STRANGER)
    assert waiting.status_code == 429 and int(waiting.headers["Retry-After"]) >= 1
    assert "wait" in waiting.get_json()["message"]
    # the clerk at her desk is not locked out by the stranger
    assert password_login(client, "yuzhong.clerk", PASSWORD, OFFICE).status_code == 200
    unknown = password_login(client, "nobody", "x", OFFICE)
    assert unknown.status_code == 401
    assert unknown.get_json()["message"] == "The username or password is wrong."


def test_refresh_rotates_and_a_reused_token_ends_every_session_at_once(client, login):
    login("yuzhong.clerk")
    first = password_login(client, "yuzhong.clerk", PASSWORD).get_json()
    second = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    new = second.get_json()
    assert new["refresh_token"] != first["refresh_token"]
    bearer = {"Authorization": f"Bearer {new['access_token']}"}
    assert client.get("/api/auth/me", headers=bearer).status_code == 200
    reuse = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    # the copy was detected: the newer refresh token and the access tokens end as well
    again = client.post("/api/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert again.status_code == 401
    refused = client.get("/api/auth/me", headers=bearer)
    assert refused.status_code == 401 and "signed out" in refused.get_json()["message"]


def test_sign_out_and_disablement_end_access_tokens_at_once(client, login):
    clerk = login("yuzhong.clerk")
    assert clerk.post("/api/auth/logout").status_code == 204
    assert clerk.get("/api/auth/me").status_code == 401
    back = login("yuzhong.clerk")  # a new sign-in right after works
    assert back.get("/api/auth/me").status_code == 200

    op = login("ops", None, (), kind=AccountKind.OPERATOR)
    me = back.get("/api/auth/me").get_json()
    resp = op.put(
        f"/api/accounts/{me['account']['id']}/active",
        json={"active": False, "reason": "left the agency"},
    )
    assert resp.status_code == 200
    assert back.get("/api/persons").status_code == 401


def sms_sign_in(client, runtime, phone, where=None):
    sent = client.post("/api/auth/sms/code", json={"phone": phone}, environ_base=where or {})
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["demo_code"] is None  # only the demo shows the code
    code = runtime.sms.last_code(phone.replace(" ", "")[-11:])
    resp = client.post("/api/auth/sms/login", json={"phone": phone, "code": code})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def register(client, first, cid, name):
    return client.post(
        "/api/auth/mobile/register",
        json={"registration_token": first["registration_token"], "citizen_id": cid, "name": name},
    )


def test_a_text_message_code_signs_in_and_registers_with_a_claim(client, clerk, runtime):
    first = sms_sign_in(client, runtime, "138 0013 8000")
    assert first["registered"] is False and first["registration_token"]
    cid = make_citizen_id("500103", date(1951, 7, 7), 41).value
    person = new_person(clerk, cid, name="王桂兰")
    grant(clerk, person["id"])
    made = register(client, first, cid, "王桂兰")
    assert made.status_code == 201, made.get_json()
    account = made.get_json()["account"]
    # the ID and name match, yet the account is not the person's until the face check
    assert account["kind"] == "family" and account["identity_verified"] is False
    bearer = {"Authorization": f"Bearer {made.get_json()['access_token']}"}
    me = client.get("/api/auth/me", headers=bearer).get_json()
    assert me["claim"]["status"] == "pending" and me["claim"]["next"] == "face_check"
    assert client.get(f"/api/persons/{person['id']}", headers=bearer).status_code == 403
    # the registration step worked once
    assert register(client, first, cid, "王桂兰").status_code == 401
    again = sms_sign_in(client, runtime, "13800138000")
    assert again["registered"] is True


def test_the_code_is_throttled_and_dies_after_five_wrong_tries(client, runtime):
    phone = "13900001111"
    assert client.post("/api/auth/sms/code", json={"phone": phone}).status_code == 202
    soon = client.post("/api/auth/sms/code", json={"phone": phone})
    assert soon.status_code == 429 and 1 <= int(soon.headers["Retry-After"]) <= 61
    code = runtime.sms.last_code(phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        bad = client.post("/api/auth/sms/login", json={"phone": phone, "code": wrong})
        assert bad.status_code == 401
    late = client.post("/api/auth/sms/login", json={"phone": phone, "code": code})
    assert late.status_code == 401  # five tries used: the right code no longer works
    malformed = client.post("/api/auth/sms/code", json={"phone": "12345"})
    assert malformed.status_code == 422 and "phone" in malformed.get_json()["errors"]["json"]


def test_registration_answers_the_same_for_unknown_mismatched_and_matching_ids(
    client, clerk, runtime
):
    cid = make_citizen_id("500103", date(1950, 3, 1), 17).value
    person = new_person(clerk, cid, name="刘德兰")
    grant(clerk, person["id"])
    unknown_cid = make_citizen_id("500103", date(1950, 3, 1), 19).value
    bodies = []
    for phone, (number, name) in zip(
        ("13700000001", "13700000002", "13700000003"),
        ((unknown_cid, "刘德兰"), (cid, "刘德华"), (cid, "刘德兰")),
        strict=True,
    ):
        made = register(client, sms_sign_in(client, runtime, phone), number, name)
        assert made.status_code == 201
        bearer = {"Authorization": f"Bearer {made.get_json()['access_token']}"}
        me = client.get("/api/auth/me", headers=bearer).get_json()
        account = made.get_json()["account"]
        bodies.append(
            (
                sorted(made.get_json()),
                account["kind"],
                account["identity_verified"],
                account["person_id"],
                me["claim"]["status"],
                me["claim"]["next"],
            )
        )
    assert bodies[0] == bodies[1] == bodies[2]


def test_claims_on_one_citizen_id_are_limited_per_day(client, clerk, runtime):
    cid = make_citizen_id("500103", date(1950, 3, 1), 23).value
    answers = [
        register(client, sms_sign_in(client, runtime, f"1360000000{i}"), cid, "某某").status_code
        for i in range(4)
    ]
    assert answers == [201, 201, 201, 429]


def test_a_second_factor_is_asked_once_set_up_and_each_code_works_once(client, login, runtime):
    login("yuzhong.clerk")
    with runtime.use_case() as ctx:
        from certification.services import accounts

        account = ctx.uow.accounts.by_username("yuzhong.clerk")
        uri = accounts.start_second_factor(ctx, runtime.totp, account)
        secret = pyotp.parse_uri(uri).secret
        accounts.confirm_second_factor(ctx, runtime.totp, account, pyotp.TOTP(secret).now(), None)
    missing = password_login(client, "yuzhong.clerk", PASSWORD)
    assert missing.status_code == 401 and missing.get_json()["field"] == "otp"
    totp = pyotp.TOTP(secret)
    import time

    code = totp.at(time.time() + 30)  # the next step (one step of drift is allowed)
    ok = password_login(client, "yuzhong.clerk", PASSWORD, otp=code)
    assert ok.status_code == 200, ok.get_json()
    replay = password_login(client, "yuzhong.clerk", PASSWORD, otp=code)
    assert replay.status_code == 401 and "already used" in replay.get_json()["message"]
    # the phone was lost: an operator clears the factor, the clerk's sessions end
    signed_in = {"Authorization": f"Bearer {ok.get_json()['access_token']}"}
    op = login("ops", None, (), kind=AccountKind.OPERATOR)
    reset = op.post(
        f"/api/accounts/{ok.get_json()['account']['id']}/second-factor/reset",
        json={"reason": "phone lost, identity checked in person"},
    )
    assert reset.status_code == 200
    assert client.get("/api/auth/me", headers=signed_in).status_code == 401
    assert password_login(client, "yuzhong.clerk", PASSWORD).status_code == 200


def test_the_development_provider_lives_only_in_the_demo_and_never_in_production(tmp_path):
    plain = Settings(data_dir=tmp_path)
    assert plain.dev_identity_enabled is False  # `serve` on the embedded defaults
    assert Settings(data_dir=tmp_path, demo=True).dev_identity_enabled is True
    production = dict(
        environment="production",
        secret_key="p" * 40,
        database_url="postgresql+psycopg://x@y/z",
        broker_url="redis://localhost:6379/0",
        object_store="s3",
        s3_endpoint="minio:9000",
        s3_access_key="a",
        s3_secret_key="b",
        sms_provider="aliyun",
        sms_access_key_id="id",
        sms_access_key_secret="secret",
        sms_sign_name="重庆社保",
        sms_template_code="SMS_1",
        receipt_signing_key="A" * 43,
        template_keys="B" * 43,
        data_keys="C" * 43,
        index_key="D" * 43,
        public_base_url="https://lifecert.example.gov.cn",
    )
    settled = Settings(**production)
    assert settled.dev_identity_enabled is False and settled.second_factor_required is True
    for refused in (
        {"dev_identity_provider": True},
        {"demo": True},
        {"sms_provider": "log"},
        {"staff_second_factor": False},
        {"receipt_signing_key": None},
        {"template_keys": None},
        {"data_keys": None},
        {"index_key": None},
        {"public_base_url": "http://lifecert.example.gov.cn"},
    ):
        with pytest.raises((SettingsError, ValueError)):
            Settings(**{**production, **refused})


def test_unknown_provider_and_bad_codes(client):
    resp = client.post("/api/auth/mobile/login", json={"provider": "alipay", "code": "x"})
    assert resp.status_code == 422 and "available: dev" in resp.get_json()["message"]
    nonsense = client.post("/api/auth/mobile/login", json={"provider": "dev", "code": "nonsense"})
    assert nonsense.status_code == 401
    expired = client.post(
        "/api/auth/mobile/register",
        json={"registration_token": "x.y.z", "citizen_id": "11010519491231002X", "name": "x"},
    )
    assert expired.status_code == 401
