"""The pages' defences over plain HTTP: CSRF, cookie flags, CSP, rate limits, the human check."""

import re

import pytest

from console import public
from tests.integration.conftest import PASSWORD

pytestmark = [pytest.mark.postgres, pytest.mark.s3]

HTTPS = "https://localhost"


@pytest.fixture(autouse=True)
def fresh_limits():
    public.limiter.reset()


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
    monkeypatch.setattr(public.human_check, "min_seconds", 0)
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
    assert flooded.status_code == 429 and flooded.headers["Retry-After"] == "3600"


def test_the_tip_off_api_takes_a_report_with_the_check_answer(app, monkeypatch):
    monkeypatch.setattr(public.human_check, "min_seconds", 0)
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
