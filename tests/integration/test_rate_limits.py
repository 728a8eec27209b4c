"""The request-rate limits of api/limits.py, through Flask-Limiter: the answer a client gets,
counts shared by endpoints of one scope and by every process through Redis, and a Redis
outage that leaves each process counting for itself instead of failing requests."""

from __future__ import annotations

import pytest

from lifecert.web import create_app
from tests.conftest import redis_url

pytestmark = pytest.mark.postgres


def codes(client, phones):
    return [client.post("/api/auth/sms/code", json={"phone": p}).status_code for p in phones]


def test_a_limit_answers_429_with_its_reason_and_when_to_come_back(settings):
    app = create_app(settings.model_copy(update={"sms_per_minute": 2}))
    client = app.test_client()
    assert codes(client, ["13800000001", "13800000002"]) == [202, 202]
    refused = client.post("/api/auth/sms/code", json={"phone": "13800000003"})
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["reason"] == "too_many_requests"
    assert "try again in a minute" in body["message"]
    assert 1 <= body["details"]["retry_after"] <= 60
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-Request-Id"]


def test_processes_share_the_counts_through_redis_and_an_outage_falls_back_to_memory(settings):
    shared = settings.model_copy(update={"sms_per_minute": 3, "broker_url": redis_url(2)})
    one, two = create_app(shared), create_app(shared)  # two processes of one deployment
    one.extensions["lifecert_limits"].reset()
    try:
        assert codes(one.test_client(), ["13800000011", "13800000012"]) == [202, 202]
        assert codes(two.test_client(), ["13800000013", "13800000014"]) == [202, 429]
    finally:
        one.extensions["lifecert_limits"].reset()
    down = create_app(
        settings.model_copy(update={"sms_per_minute": 2, "broker_url": "redis://127.0.0.1:1/0"})
    )
    answers = codes(down.test_client(), [f"1380000002{i}" for i in range(4)])
    assert 500 not in answers and answers[:2] == [202, 202] and answers[-1] == 429


def test_one_allowance_for_a_tip_off_through_the_api_and_through_the_page(settings):
    app = create_app(settings.model_copy(update={"tipoff_per_address_hour": 1}))
    client = app.test_client()
    # the API refuses the report's content (no check answer), but the try is counted
    first = client.post("/api/tipoffs", json={})
    assert first.status_code == 422
    page = client.post("/tipoff", data={})
    assert page.status_code == 429 and "12333" in page.get_data(as_text=True)
    assert 3500 <= int(page.headers["Retry-After"]) <= 3600


def test_a_filing_allowance_is_per_account(client, runtime):
    from datetime import date

    from certification.citizen_id import make_citizen_id
    from tests.integration.conftest import app_sign_up

    me = app_sign_up(
        client, runtime, "13900000031", make_citizen_id("500103", date(1950, 1, 1), 31).value, "甲"
    )
    other = app_sign_up(
        client, runtime, "13900000032", make_citizen_id("500103", date(1950, 1, 1), 32).value, "乙"
    )
    answers = [client.post("/api/me/appeals", json={}, headers=me).status_code for _ in range(11)]
    assert 429 not in answers[:10] and answers[10] == 429
    assert client.post("/api/me/appeals", json={}, headers=other).status_code != 429
