"""Reliability: a killed worker, storage and broker outages, and every refusal."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import redis
import sqlalchemy as sa
from celery import Celery

from certification.services import selfservice
from infra.runtime import Runtime
from infra.selfservice_adapters import CeleryTaskQueue
from storage.objects import S3ObjectStore
from tests.biometrics.conftest import SELFIES
from tests.conftest import MODEL_DIR, PROJECT, free_port, redis_url
from tests.e2e.conftest import s3_environment, upload_presigned, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.s3]

KILL_BROKER = redis_url(1)


def start(p, challenge_actions, challenge):
    challenge(*challenge_actions)
    body = p.app.post("/api/selfservice/sessions", json={}).get_json()
    assert "session_id" in body, body
    return body


def certifications_for(runtime: Runtime, attempt_id: str) -> int:
    with runtime.database.connect() as conn:
        return conn.scalar(
            sa.text("SELECT count(*) FROM certifications WHERE source_ref = :r"),
            {"r": f"attempt:{attempt_id}"},
        )


def attempt_status(runtime: Runtime, attempt_id: str) -> str:
    with runtime.database.connect() as conn:
        return conn.scalar(sa.text("SELECT status FROM attempts WHERE id = :i"), {"i": attempt_id})


class _DeadQueue:
    """The broker is down: nothing can be enqueued (a real Celery app on a closed port)."""

    def __init__(self) -> None:
        app = Celery("down", broker=f"redis://127.0.0.1:{free_port()}/0")
        self.queue = CeleryTaskQueue(app)

    def enqueue_attempt(self, attempt_id):
        self.queue.enqueue_attempt(attempt_id)

    def enqueue_enrolment(self, request_id):
        self.queue.enqueue_enrolment(request_id)

    def enqueue_comparison(self, run_id):
        self.queue.enqueue_comparison(run_id)

    def enqueue_comparison_shard(self, run_id, district_code):
        self.queue.enqueue_comparison_shard(run_id, district_code)

    def enqueue_feed_import(self, import_id):
        self.queue.enqueue_feed_import(import_id)


def _worker_process(settings, pg_url, s3_endpoint) -> subprocess.Popen:
    env = {
        **os.environ,
        "LIFECERT_DATABASE_URL": pg_url,
        "LIFECERT_DATA_DIR": str(settings.data_dir),
        "LIFECERT_SECRET_KEY": settings.secret_key.get_secret_value(),
        **s3_environment(s3_endpoint),
        "LIFECERT_BROKER_URL": KILL_BROKER,
        "LIFECERT_MODEL_DIR": str(MODEL_DIR),
        "LIFECERT_TASK_VISIBILITY_TIMEOUT": "10",
        "LIFECERT_SELFSERVICE_CLAIM_TIMEOUT_S": "10",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "lifecert.worker_process",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_a_worker_killed_mid_task_is_redelivered_and_certifies_exactly_once(
    enrolled, challenge, runtime, settings, pg_url, s3_endpoint, monkeypatch
):
    redis.Redis.from_url(KILL_BROKER).flushdb()
    p = enrolled("driving_d6", seq=21)
    body = start(p, ("blink", "open_mouth", "nod"), challenge)
    upload_presigned(
        body, (SELFIES / "driving_d6.mp4").read_bytes()
    )  # 34 s: a few seconds to decide
    monkeypatch.setattr(Runtime, "task_queue", property(lambda self: _DeadQueue()))
    attempt_id = p.app.post(
        f"/api/selfservice/sessions/{body['session_id']}/submit", json={"nonce": body["nonce"]}
    ).get_json()["attempt_id"]
    assert attempt_status(runtime, attempt_id) == "pending"

    sender = Celery("sender", broker=KILL_BROKER)
    first = _worker_process(settings, pg_url, s3_endpoint)
    try:
        sender.send_task("lifecert.selfservice.process_attempt", args=[attempt_id])
        wait_for(
            lambda: attempt_status(runtime, attempt_id), lambda s: s == "processing", timeout=90
        )
        os.killpg(first.pid, signal.SIGKILL)  # the machine dies mid-verification
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert attempt_status(runtime, attempt_id) == "processing"
    assert certifications_for(runtime, attempt_id) == 0

    second = _worker_process(settings, pg_url, s3_endpoint)
    try:
        wait_for(lambda: attempt_status(runtime, attempt_id), lambda s: s == "decided", timeout=120)
        assert certifications_for(runtime, attempt_id) == 1
        sender.send_task("lifecert.selfservice.process_attempt", args=[attempt_id])  # a duplicate
        time.sleep(5)
        assert certifications_for(runtime, attempt_id) == 1
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=30)
    with runtime.database.connect() as conn:
        tries = conn.scalar(sa.text("SELECT tries FROM attempts WHERE id = :i"), {"i": attempt_id})
    assert tries >= 2


def test_when_the_broker_is_down_the_attempt_waits_and_the_sweep_sends_it(
    worker, enrolled, challenge, runtime, monkeypatch
):
    p = enrolled("driving_d9")
    body = start(p, ("blink",), challenge)
    upload_presigned(body, (SELFIES / "driving_d9.mp4").read_bytes())
    with monkeypatch.context() as m:
        m.setattr(Runtime, "task_queue", property(lambda self: _DeadQueue()))
        resp = p.app.post(
            f"/api/selfservice/sessions/{body['session_id']}/submit", json={"nonce": body["nonce"]}
        )
    assert resp.status_code == 202 and resp.get_json()["state"] == "pending"
    attempt_id = resp.get_json()["attempt_id"]
    time.sleep(1)
    assert attempt_status(runtime, attempt_id) == "pending"  # nothing lost, nothing done

    with runtime.use_case() as ctx:  # the broker is back: the sweep runs
        sent = selfservice.requeue_stale(ctx, runtime.task_queue, older_than=timedelta(0))
    assert sent == 1
    final = wait_for(
        lambda: p.app.get(f"/api/selfservice/sessions/{body['session_id']}").get_json(),
        lambda s: s["state"] not in ("open", "pending"),
    )
    assert final["state"] == "pass"


def test_when_the_broker_is_down_a_comparison_run_waits_queued_and_the_sweep_sends_it(
    worker, runtime, login, monkeypatch
):
    from certification.services.jobs import requeue_jobs
    from certification.vocabulary import AccountKind

    operator = login("ops.down", None, (), kind=AccountKind.OPERATOR)
    with monkeypatch.context() as m:
        m.setattr(Runtime, "task_queue", property(lambda self: _DeadQueue()))
        started = operator.post("/api/comparison/runs", json={})
    assert started.status_code == 202, started.get_json()  # recorded, not a 500
    run = started.get_json()
    assert run["status"] == "queued"
    with runtime.use_case() as ctx:  # the broker is back: the sweep sends the run
        assert requeue_jobs(ctx, runtime.task_queue, older_than=timedelta(0)) == 1
    final = wait_for(
        lambda: operator.get(f"/api/comparison/runs/{run['id']}").get_json(),
        lambda r: r["status"] in ("applied", "failed"),
    )
    assert final["status"] == "applied", final
    with runtime.use_case() as ctx:  # a second send of a finished run changes nothing
        assert requeue_jobs(ctx, runtime.task_queue, older_than=timedelta(0)) == 0


def test_when_storage_is_down_sessions_and_uploads_get_a_retriable_503(
    enrolled, challenge, runtime
):
    p = enrolled("driving_d9")
    challenge("blink")
    healthy = runtime._object_store
    runtime._object_store = S3ObjectStore(
        endpoint=f"127.0.0.1:{free_port()}",
        access_key="k",
        secret_key="s",
        bucket="unreachable-bucket",
        secure=False,
        region="us-east-1",
    )
    try:
        resp = p.app.post("/api/selfservice/sessions", json={})
        assert resp.status_code == 503
        assert resp.headers["Retry-After"] and "retry" in resp.get_json()["message"].lower()
        with runtime.database.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM challenge_sessions")) == 0
    finally:
        runtime._object_store = healthy
    body = p.app.post("/api/selfservice/sessions", json={}).get_json()
    runtime._object_store = S3ObjectStore(
        endpoint=f"127.0.0.1:{free_port()}",
        access_key="k",
        secret_key="s",
        bucket="unreachable-bucket",
        secure=False,
        region="us-east-1",
    )
    try:
        up = p.app.put(
            f"/api/selfservice/sessions/{body['session_id']}/video",
            data=b"x" * 1000,
            content_type="video/mp4",
        )
        assert up.status_code == 503
        sub = p.app.post(
            f"/api/selfservice/sessions/{body['session_id']}/submit", json={"nonce": body["nonce"]}
        )
        assert sub.status_code == 503
        with runtime.database.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM attempts")) == 0
    finally:
        runtime._object_store = healthy


def test_refusals_each_with_a_reason(enrolled, challenge, client, clerk, login):
    p = enrolled("driving_d9")
    other = enrolled("driving_d3", seq=13, name="李秀英")
    body = start(p, ("blink",), challenge)
    url = f"/api/selfservice/sessions/{body['session_id']}"
    # submitting before uploading
    early = p.app.post(f"{url}/submit", json={"nonce": body["nonce"]})
    assert early.status_code == 409 and early.get_json()["details"]["reason"] == "upload_missing"
    # another person's session
    assert other.app.get(url).status_code == 404
    assert other.app.post(f"{url}/submit", json={"nonce": body["nonce"]}).status_code == 404
    # a wrong nonce
    upload_presigned(body, (SELFIES / "driving_d9.mp4").read_bytes())
    wrong = p.app.post(f"{url}/submit", json={"nonce": "guessed"})
    assert wrong.status_code == 409 and wrong.get_json()["details"]["reason"] == "nonce_mismatch"
    # the same video again, in a new session
    ok = p.app.post(f"{url}/submit", json={"nonce": body["nonce"]})
    assert ok.status_code == 202
    body2 = start(p, ("blink",), challenge)
    upload_presigned(body2, (SELFIES / "driving_d9.mp4").read_bytes())
    reused = p.app.post(
        f"/api/selfservice/sessions/{body2['session_id']}/submit", json={"nonce": body2["nonce"]}
    )
    assert reused.status_code == 409 and reused.get_json()["details"]["reason"] == "video_reused"
    # a web page sent as video/mp4 is refused by its content, before any decoder sees it;
    # the session stays open for the real video
    upload_presigned(body2, b"<!doctype html><script>alert(1)</script>")
    page = p.app.post(
        f"/api/selfservice/sessions/{body2['session_id']}/submit", json={"nonce": body2["nonce"]}
    )
    assert page.status_code == 415 and page.get_json()["details"]["reason"] == "not_a_video"
    assert (
        p.app.get(f"/api/selfservice/sessions/{body2['session_id']}").get_json()["state"] == "open"
    )
    # staff cannot use self-service
    assert clerk.post("/api/selfservice/sessions", json={}).status_code == 403


def test_an_expired_session_is_refused(enrolled, challenge, runtime):
    p = enrolled("driving_d9")
    body = start(p, ("blink",), challenge)
    with runtime.database.begin() as conn:
        conn.execute(
            sa.text("UPDATE challenge_sessions SET expires_at = now() - interval '1 minute'")
        )
    upload = p.app.put(
        f"/api/selfservice/sessions/{body['session_id']}/video",
        data=b"x" * 100,
        content_type="video/mp4",
    )
    assert upload.status_code == 409 and upload.get_json()["details"]["reason"] == "session_expired"
    status = p.app.get(f"/api/selfservice/sessions/{body['session_id']}").get_json()
    assert status["state"] == "expired" and status["next"]["step"] == "expired"


def test_no_session_without_an_enrolled_photo(client, clerk):
    from datetime import date

    from certification.citizen_id import make_citizen_id
    from tests.integration.conftest import grant, new_person

    cid = make_citizen_id("500103", date(1950, 1, 1), 33).value
    person = new_person(clerk, cid, name="陈一")
    grant(clerk, person["id"])
    reg = client.post(
        "/api/auth/mobile/login", json={"provider": "dev", "code": "dev:chen"}
    ).get_json()
    tokens = client.post(
        "/api/auth/mobile/register",
        json={"registration_token": reg["registration_token"], "citizen_id": cid, "name": "陈一"},
    ).get_json()
    me = {"Authorization": f"Bearer {tokens['access_token']}"}
    # the claim cannot be confirmed by face without a photo: the uniform answer
    claim_check = client.post("/api/claims/check", json={}, headers=me)
    assert claim_check.status_code == 409
    assert claim_check.get_json()["details"]["reason"] == "visit_service_point"
    claim = client.get("/api/auth/me", headers=me).get_json()["claim"]
    clerk.post(
        f"/api/staff/claims/{claim['id']}/link", json={"citizen_id_seen": cid, "name_seen": "陈一"}
    )
    resp = client.post("/api/selfservice/sessions", json={}, headers=me)
    assert resp.status_code == 409
    assert resp.get_json()["details"]["reason"] == "no_enrolled_photo"
    assert "service point" in resp.get_json()["message"]


def test_a_challenge_not_performed_asks_to_retry(worker, enrolled, challenge):
    p = enrolled("driving_d9")
    body = start(p, ("turn_left", "turn_right"), challenge)  # the clip has neither
    upload_presigned(body, (SELFIES / "driving_d9.mp4").read_bytes())
    p.app.post(
        f"/api/selfservice/sessions/{body['session_id']}/submit", json={"nonce": body["nonce"]}
    )
    final = wait_for(
        lambda: p.app.get(f"/api/selfservice/sessions/{body['session_id']}").get_json(),
        lambda s: s["state"] not in ("open", "pending"),
    )
    assert final["state"] == "retry" and final["next"]["step"] == "retry"
    assert final["reasons"][0]["code"] == "challenge_not_performed"


def test_the_direct_upload_fallback_streams_to_storage(worker, enrolled, challenge):
    p = enrolled("driving_d9")
    body = start(p, ("blink",), challenge)
    video = (SELFIES / "driving_d9.mp4").read_bytes()
    up = p.app.put(
        f"/api/selfservice/sessions/{body['session_id']}/video",
        data={"file": (io.BytesIO(video), "selfie.mp4", "video/mp4")},
        content_type="multipart/form-data",
    )
    assert up.status_code == 201 and up.get_json()["size"] == len(video)
    p.app.post(
        f"/api/selfservice/sessions/{body['session_id']}/submit", json={"nonce": body["nonce"]}
    )
    events = p.app.get(f"/api/selfservice/sessions/{body['session_id']}/events")
    text = b"".join(events.response).decode()  # the stream ends at the decision
    assert "event: status" in text and '"state": "pass"' in text


def test_a_video_put_in_the_upload_key_after_submit_changes_nothing(
    worker, enrolled, challenge, runtime
):
    """The upload policy stays valid until the session expires. Whatever is posted to the
    upload key after submit, the attempt is judged, kept and shown from its own copy."""
    p = enrolled("driving_d9")
    body = start(p, ("blink", "nod"), challenge)
    video = (SELFIES / "driving_d9.mp4").read_bytes()
    upload_presigned(body, video)
    submitted = p.app.post(
        f"/api/selfservice/sessions/{body['session_id']}/submit", json={"nonce": body["nonce"]}
    )
    assert submitted.status_code == 202, submitted.get_json()
    upload_presigned(body, (SELFIES / "driving_d3.mp4").read_bytes())  # someone else's face
    final = wait_for(
        lambda: p.app.get(f"/api/selfservice/sessions/{body['session_id']}").get_json(),
        lambda s: s["state"] not in ("open", "pending"),
    )
    assert final["state"] == "pass", final
    with runtime.database.connect() as conn:
        key, digest = conn.execute(
            sa.text("SELECT object_key, sha256 FROM attempts WHERE session_id = :s"),
            {"s": body["session_id"]},
        ).one()
    assert key.endswith(".submitted.video")
    assert runtime.object_store.sha256_of(key) == digest == hashlib.sha256(video).hexdigest()
