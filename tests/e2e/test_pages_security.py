"""The pages' defences over plain HTTP: CSRF, cookie flags, CSP, rate limits, the human check."""

import re
import time

import pyotp
import pytest

from api.abuse import EXTENSION
from certification.vocabulary import AccountKind
from tests.integration.conftest import PASSWORD, staff_account

pytestmark = [pytest.mark.postgres, pytest.mark.s3]

HTTPS = "https://localhost"


@pytest.fixture(autouse=True)
def fresh_limits(runtime):
    runtime.limiter.reset()


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_sign_in_needs_the_form_token_and_sets_a_locked_down_cookie(app, login):
    login("cookie.clerk", "500103", ("clerk",))
    client = app.test_client()
    refused = client.post(
        "/console/login",
        data={"username": "cookie.clerk", "password": PASSWORD},
        base_url=HTTPS,
    )
    assert refused.status_code == 403 and "reload" in refused.get_data(as_text=True)
    page = client.get("/console/login", base_url=HTTPS)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    wrong = client.post(
        "/console/login",
        data={
            "csrf_token": csrf(page.get_data(as_text=True)),
            "username": "cookie.clerk",
            "password": "not-the-password-1",
        },
        base_url=HTTPS,
    )
    assert wrong.status_code == 401 and "wrong" in wrong.get_data(as_text=True)
    ok = client.post(
        "/console/login",
        data={
            "csrf_token": csrf(wrong.get_data(as_text=True)),
            "username": "cookie.clerk",
            "password": PASSWORD,
        },
        base_url=HTTPS,
    )
    assert ok.status_code == 303
    cookie = ok.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    tasks = client.get("/console/tasks", base_url=HTTPS)
    assert tasks.status_code == 200
    # a form posted without the session's token is refused, whoever is signed in
    assert client.post("/console/logout", base_url=HTTPS).status_code == 403
    out = client.post(
        "/console/logout", data={"csrf_token": csrf(tasks.get_data(as_text=True))}, base_url=HTTPS
    )
    assert out.status_code == 303
    assert client.get("/console/tasks", base_url=HTTPS).status_code == 302  # to the login


def report(client, **overrides):
    page = client.get("/tipoff", base_url=HTTPS).get_data(as_text=True)
    form = {
        "csrf_token": csrf(page),
        "check_token": re.search(r'name="check_token" value="([^"]+)"', page).group(1),
        "category": "imprisoned",
        "subject_name": "周某",
        "district_code": "500103",
        "description": "周某正在服刑，仍在领取养老金待遇",
        "check_answer": "0",
    }
    if overrides.pop("answer", False):
        a, b = re.search(r"(\d+) \+ (\d+) = \?", page).groups()
        form["check_answer"] = str(int(a) + int(b))
    form.update(overrides)
    return client.post("/tipoff", data=form, base_url=HTTPS)


def test_the_tip_off_form_refuses_scripts_and_floods(app, monkeypatch):
    client = app.test_client()
    honeypot = report(client, website="http://spam.example")
    assert honeypot.status_code == 422
    wrong = report(client)
    assert wrong.status_code == 422 and "验证问题" in wrong.get_data(as_text=True)
    monkeypatch.setattr(app.extensions[EXTENSION], "min_seconds", 0)
    fields = report(
        client, answer=True, description="短", district_code="999999", subject_citizen_id="123"
    )
    text = fields.get_data(as_text=True)
    assert fields.status_code == 422
    assert text.count('class="field-error"') == 3  # description, district, citizen ID
    assert "至少10个字" in text and "请选择被举报人所在区县" in text and "18 characters" in text
    for _ in range(2):
        assert report(client).status_code == 422
    flooded = report(client)  # the sixth report from this address within the hour
    assert flooded.status_code == 429 and 3500 <= int(flooded.headers["Retry-After"]) <= 3600
    assert "12333" in flooded.get_data(as_text=True) or "电话" in flooded.get_data(as_text=True)


def test_the_tip_off_api_takes_a_report_with_the_check_answer(app, monkeypatch):
    monkeypatch.setattr(app.extensions[EXTENSION], "min_seconds", 0)
    client = app.test_client()
    challenge = client.get("/api/tipoffs/challenge").get_json()
    a, b = re.search(r"(\d+) \+ (\d+) = \?", challenge["question"]).groups()
    body = {
        "category": "death_concealed",
        "description": "<img src=x onerror=alert(1)>吴某已去世，家属仍在领取",
        "subject_name": "吴某",
        "district_code": "500103",
        "check_token": challenge["token"],
        "check_answer": str(int(a) + int(b)),
    }
    created = client.post("/api/tipoffs", json=body)
    assert created.status_code == 201, created.get_json()
    assert re.fullmatch(r"JB-\d{8}-[A-Z0-9]{6}", created.get_json()["reference"])
    again = client.post("/api/tipoffs", json=body)  # the same answer cannot be used twice
    assert again.status_code == 422 and again.get_json()["reason"] == "invalid"
    problems = client.post(
        "/api/tipoffs",
        json={
            **body,
            "description": "短",
            "check_token": client.get("/api/tipoffs/challenge").get_json()["token"],
            "check_answer": "x",
        },
    )
    assert problems.status_code == 422


def console_sign_in(client, username, password=PASSWORD):
    page = client.get("/console/login", base_url=HTTPS)
    return client.post(
        "/console/login",
        data={
            "csrf_token": csrf(page.get_data(as_text=True)),
            "username": username,
            "password": password,
        },
        base_url=HTTPS,
    )


def test_sign_out_and_disablement_end_the_console_session_on_the_server(app, login):
    login("session.clerk", "500103", ("clerk",))
    operator = login("session.ops", None, (), kind=AccountKind.OPERATOR)
    client = app.test_client()
    assert console_sign_in(client, "session.clerk").status_code == 303
    stolen = client.get_cookie("lifecert_session").value
    tasks = client.get("/console/tasks", base_url=HTTPS)
    assert tasks.status_code == 200
    client.post(
        "/console/logout", data={"csrf_token": csrf(tasks.get_data(as_text=True))}, base_url=HTTPS
    )
    replay = app.test_client()
    replay.set_cookie("lifecert_session", stolen, domain="localhost")
    assert replay.get("/console/tasks", base_url=HTTPS).status_code == 302  # ended, not expired

    assert console_sign_in(client, "session.clerk").status_code == 303
    assert client.get("/console/tasks", base_url=HTTPS).status_code == 200
    clerk_id = operator.get("/api/accounts").get_json()["items"]
    clerk_id = next(a["id"] for a in clerk_id if a["username"] == "session.clerk")
    operator.put(f"/api/accounts/{clerk_id}/active", json={"active": False, "reason": "left"})
    assert client.get("/console/tasks", base_url=HTTPS).status_code == 302


def test_staff_set_up_and_use_a_second_factor_in_the_console(app, login, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "staff_second_factor", True)
    staff_account(runtime, "totp.clerk")
    api_login = app.test_client().post(
        "/api/auth/login", json={"username": "totp.clerk", "password": PASSWORD}
    )
    assert api_login.status_code == 409  # set it up in the console first
    assert "console" in api_login.get_json()["message"]

    client = app.test_client()
    held = console_sign_in(client, "totp.clerk")
    assert held.status_code == 303 and "/console/second-factor" in held.headers["Location"]
    assert client.get("/console/tasks", base_url=HTTPS).status_code == 302  # not yet in
    setup = client.get("/console/second-factor", base_url=HTTPS).get_data(as_text=True)
    uri = re.search(r'href="([^"]+)" id="totp-uri"', setup).group(1).replace("&amp;", "&")
    totp = pyotp.TOTP(pyotp.parse_uri(uri).secret)
    wrong = client.post(
        "/console/second-factor",
        data={"csrf_token": csrf(setup), "otp": "000000" if totp.now() != "000000" else "111111"},
        base_url=HTTPS,
    )
    assert wrong.status_code == 422
    used = totp.now()
    done = client.post(
        "/console/second-factor",
        data={"csrf_token": csrf(wrong.get_data(as_text=True)), "otp": used},
        base_url=HTTPS,
    )
    assert done.status_code == 303
    assert client.get("/console/tasks", base_url=HTTPS).status_code == 200

    again = app.test_client()
    held = console_sign_in(again, "totp.clerk")
    assert "/console/second-factor" in held.headers["Location"]
    page = again.get("/console/second-factor", base_url=HTTPS).get_data(as_text=True)
    assert "totp-secret" not in page  # the code only, the secret is never shown again
    reused = again.post(
        "/console/second-factor",
        data={"csrf_token": csrf(page), "otp": used},  # the same code, even in the next step
        base_url=HTTPS,
    )
    assert reused.status_code == 401  # that code was used at the set-up
    fresh = again.post(
        "/console/second-factor",
        data={"csrf_token": csrf(reused.get_data(as_text=True)), "otp": totp.at(time.time() + 30)},
        base_url=HTTPS,
    )
    assert fresh.status_code == 303
    assert again.get("/console/tasks", base_url=HTTPS).status_code == 200
