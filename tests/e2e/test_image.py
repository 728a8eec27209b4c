"""The production image, started as operators start it: the API (gunicorn) and a Celery
worker from the image, on this machine's PostgreSQL and Redis and the S3 test server, with
the face models mounted read-only. A pensioner certifies with a real clip through the
image's API and worker; the production API answers /healthz, /readyz and /metrics; the
logs are JSON lines with request ids and no personal data.

The test command builds the image (scripts/build-image) while the other tests run and names
it in LIFECERT_TEST_IMAGE; this test waits for the build to end (LIFECERT_TEST_IMAGE_BUILT
names the file its exit status is written to). Without it (pytest run by hand) this module is
skipped."""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.biometrics.conftest import SELFIES, frame_at, jpeg
from tests.conftest import MODEL_DIR, free_port, redis_url
from tests.e2e.conftest import s3_environment, upload_presigned
from tests.integration.conftest import PASSWORD, staff_account

IMAGE = os.environ.get("LIFECERT_TEST_IMAGE")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.s3,
    pytest.mark.skipif(
        not IMAGE, reason="LIFECERT_TEST_IMAGE names the image (the test command builds it)"
    ),
]
BUILT = os.environ.get("LIFECERT_TEST_IMAGE_BUILT")
PODMAN = ["podman", "--runtime", "runc"]
# this kind of host refuses a container's default rlimits (scripts/build-image)
LIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]
BROKER = redis_url(2)  # no in-process test worker consumes this one


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def wait_for_the_build(timeout: float = 1200) -> None:
    """The image is built in the background by the test command: wait for its exit status."""
    if not BUILT:
        return
    status = Path(BUILT)
    deadline = time.monotonic() + timeout
    while not status.exists():
        assert time.monotonic() < deadline, "the image build did not end in time"
        time.sleep(1)
    code = status.read_text().strip()
    log = status.with_suffix(".log")
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    assert code == "0", f"the image did not build (exit {code}):\n{tail}"


@pytest.fixture
def containers() -> Iterator[Callable[..., str]]:
    wait_for_the_build()
    started: list[str] = []

    def run(name: str, env: dict[str, str], *command: str) -> str:
        args = [*PODMAN, "run", "--detach", "--network", "host", *LIMITS]
        args += ["--name", f"lifecert-test-{name}-{secrets.token_hex(3)}"]
        args += ["--volume", f"{MODEL_DIR}:/var/lib/lifecert/models:ro"]
        for key, value in env.items():
            args += ["--env", f"{key}={value}"]
        out = subprocess.run(
            [*args, IMAGE or "", *command], capture_output=True, text=True, check=False
        )
        assert out.returncode == 0, out.stderr
        started.append(out.stdout.strip())
        return out.stdout.strip()

    yield run
    for cid in started:
        subprocess.run([*PODMAN, "rm", "--force", cid], capture_output=True, check=False)


def logs(cid: str) -> str:
    out = subprocess.run([*PODMAN, "logs", cid], capture_output=True, text=True, check=False)
    return out.stdout + out.stderr


def until_up(url: str, cid: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still loading
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not come up:\n{logs(cid)[-3000:]}")


def test_the_image_serves_and_certifies_a_clip_with_its_worker(
    containers, pg_url, s3_endpoint, runtime
):
    shared = {
        "LIFECERT_DATABASE_URL": pg_url,
        "LIFECERT_BROKER_URL": BROKER,
        **s3_environment(s3_endpoint),
        **{
            k: os.environ[k]
            for k in ("LIFECERT_TEMPLATE_KEYS", "LIFECERT_DATA_KEYS", "LIFECERT_INDEX_KEY")
        },
    }
    production = {
        **shared,
        "LIFECERT_SECRET_KEY": secrets.token_urlsafe(32),
        "LIFECERT_RECEIPT_SIGNING_KEY": _key(),
        "LIFECERT_PUBLIC_BASE_URL": "https://lifecert.example.cn",
        "LIFECERT_SMS_PROVIDER": "aliyun",
        "LIFECERT_SMS_ACCESS_KEY_ID": "unused-here",
        "LIFECERT_SMS_ACCESS_KEY_SECRET": "unused-here",
        "LIFECERT_SMS_SIGN_NAME": "重庆社保",
        "LIFECERT_SMS_TEMPLATE_CODE": "SMS_000001",
        "LIFECERT_METRICS_TOKEN": "scrape-" + secrets.token_hex(8),
    }
    worker_metrics = free_port()
    worker = containers(
        "worker",
        {**production, "LIFECERT_WORKER_METRICS_PORT": str(worker_metrics)},
        "lifecert",
        "worker",
        "--concurrency=1",
    )
    prod_port = free_port()
    prod = containers(
        "api", {**production, "LIFECERT_PORT": str(prod_port), "LIFECERT_WEB_PROCESSES": "2"}
    )
    # the pensioner's flow needs a challenge a recorded clip can meet: the same image in
    # development mode, on the same services (production refuses a fixed challenge)
    flow_port = free_port()
    flow = containers(
        "flow",
        {
            **shared,
            "LIFECERT_ENVIRONMENT": "development",
            "LIFECERT_SECRET_KEY": secrets.token_urlsafe(32),
            "LIFECERT_PORT": str(flow_port),
            "LIFECERT_WEB_PROCESSES": "1",
            "LIFECERT_DEV_IDENTITY_PROVIDER": "true",
            "LIFECERT_SELFSERVICE_FIXED_CHALLENGE": "blink,nod",
        },
    )
    api, app_url = f"http://127.0.0.1:{prod_port}", f"http://127.0.0.1:{flow_port}"
    until_up(api, prod)
    until_up(app_url, flow)

    ready = requests.get(f"{api}/readyz", timeout=30)
    assert ready.status_code == 200, ready.text
    assert {k: ready.json()[k] for k in ("database", "object_store", "broker", "models")} == {
        "database": "ok",
        "object_store": "ok",
        "broker": "ok",
        "models": "ok",
    }

    # staff prepare the pensioner through the image's API; the worker computes the template
    staff_account(runtime, "image.clerk", "500103", ("clerk",))
    signed = requests.post(
        f"{app_url}/api/auth/login",
        json={"username": "image.clerk", "password": PASSWORD},
        timeout=10,
    )
    assert signed.status_code == 200, signed.text
    clerk = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    from certification.citizen_id import make_citizen_id

    cid, name = make_citizen_id("500103", date(1948, 6, 2), 27).value, "司马春兰"
    person = requests.post(
        f"{app_url}/api/persons",
        json={"citizen_id": cid, "name": name, "region_code": "500103"},
        headers=clerk,
        timeout=10,
    ).json()
    granted = requests.post(
        f"{app_url}/api/persons/{person['id']}/entitlements",
        json={"kind": "pension", "start_date": "2010-05-01", "monthly_amount_fen": 300_000},
        headers=clerk,
        timeout=10,
    )
    assert granted.status_code == 201, granted.text
    photo = jpeg(frame_at(SELFIES / "driving_d9.mp4", 0.5))
    enrol = requests.put(
        f"{app_url}/api/persons/{person['id']}/enrolment",
        files={"photo": ("id.jpg", io.BytesIO(photo), "image/jpeg")},
        data={"consent_ref": "CF-IMAGE"},
        headers=clerk,
        timeout=10,
    )
    assert enrol.status_code == 202, enrol.text

    def enrolment() -> str:
        return str(
            requests.get(
                f"{app_url}/api/persons/{person['id']}/enrolment", headers=clerk, timeout=10
            ).json()["latest_request"]["status"]
        )

    waited = _wait(enrolment, lambda s: s != "pending", 120)
    assert waited == "accepted", logs(worker)[-3000:]

    # the pensioner signs up in the app, claims the record by face and certifies
    reg = requests.post(
        f"{app_url}/api/auth/mobile/login",
        json={"provider": "dev", "code": "dev:image-27"},
        timeout=10,
    ).json()
    tokens = requests.post(
        f"{app_url}/api/auth/mobile/register",
        json={"registration_token": reg["registration_token"], "citizen_id": cid, "name": name},
        timeout=10,
    ).json()
    me = {"Authorization": f"Bearer {tokens['access_token']}"}
    notice = requests.get(f"{app_url}/api/me/consent", headers=me, timeout=10).json()
    requests.post(
        f"{app_url}/api/me/consent",
        json={"notice_version": notice["notice_version"]},
        headers=me,
        timeout=10,
    )
    rid = "image-smoke-" + secrets.token_hex(6)
    started = requests.post(
        f"{app_url}/api/claims/check", json={}, headers={**me, "X-Request-Id": rid}, timeout=10
    )
    assert started.status_code in (200, 201), started.text
    body = started.json()
    upload_presigned(body, (SELFIES / "driving_d9.mp4").read_bytes())
    submitted = requests.post(
        f"{app_url}/api/selfservice/sessions/{body['session_id']}/submit",
        json={"nonce": body["nonce"]},
        headers={**me, "X-Request-Id": rid},
        timeout=10,
    )
    assert submitted.status_code == 202, submitted.text

    def state() -> dict[str, Any]:
        return dict(
            requests.get(
                f"{app_url}/api/selfservice/sessions/{body['session_id']}", headers=me, timeout=10
            ).json()
        )

    try:
        final = _wait(state, lambda s: s["state"] not in ("open", "pending"), 120)
    except AssertionError as err:
        raise AssertionError(f"{err}\n{logs(worker)[-4000:]}") from err
    assert final["state"] == "pass", (final, logs(worker)[-3000:])
    certs = requests.get(
        f"{app_url}/api/persons/{person['id']}/certifications", headers=clerk, timeout=10
    ).json()["items"]
    assert [c["channel"] for c in certs] == ["self_service_face"]

    # the operators' view: metrics of the API and of the worker, behind the token
    token = production["LIFECERT_METRICS_TOKEN"]
    assert requests.get(f"{api}/metrics", timeout=10).status_code == 401
    scraped = requests.get(
        f"{api}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert scraped.status_code == 200 and "lifecert_http_requests_total" in scraped.text
    assert 'route="/readyz"' in scraped.text  # counted by whichever gunicorn process answered
    assert 'lifecert_queue_depth{state="celery"}' in scraped.text
    worker_text = requests.get(f"http://127.0.0.1:{worker_metrics}/metrics", timeout=10).text
    assert (
        'lifecert_tasks_total{outcome="success",task="lifecert.selfservice.process_attempt"} 1.0'
        in worker_text
    )
    assert 'lifecert_selfservice_decisions_total{decision="pass",reason="none"} 1.0' in worker_text
    assert 'lifecert_engine_stage_seconds_count{stage="match"}' in worker_text

    # the logs: JSON lines; the worker's lines of this attempt carry the app request's id;
    # nobody's ID number, name or phone anywhere
    worker_log = logs(worker)
    lines = [json.loads(x) for x in worker_log.splitlines() if x.startswith("{")]
    assert lines, worker_log[-2000:]
    assert any(x.get("request_id") == rid for x in lines), worker_log[-3000:]
    everything = worker_log + logs(prod) + logs(flow)
    for secret in (cid, name, json.dumps(name)[1:-1]):
        assert secret not in everything, f"personal data in the image's logs: {secret}"


def _wait(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value):
        assert time.monotonic() < deadline, f"timed out; last value: {value}"
        time.sleep(0.5)
        value = fetch()
    return value
