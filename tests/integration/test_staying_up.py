"""Staying up under hostile load: status streams are rationed and free their thread when the
client goes; bounded input is refused with a 400, never a server error."""

import threading
import time
from datetime import date
from uuid import UUID

import pytest
import requests
import sqlalchemy as sa

from certification.access import Actor
from certification.citizen_id import make_citizen_id
from certification.model import FaceTemplate
from certification.services import consent
from tests.integration.conftest import app_sign_up, grant, linked_at_counter, new_person

pytestmark = pytest.mark.postgres


@pytest.fixture
def served(app):  # type: ignore[no-untyped-def]
    """The app behind waitress with 8 threads, as `lifecert serve` runs it."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    # Streams whose clients went away free their slots at the next heartbeat: wait for them,
    # so that the next test in this process starts with every slot free.
    gate = app.extensions.get("lifecert_streams")
    deadline = time.monotonic() + 15
    while gate is not None and gate.open_count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gate is None or gate.open_count == 0, "status streams left open after the test"


def open_session(client, runtime, clerk, seq):  # type: ignore[no-untyped-def]
    """A beneficiary signed in to the app with an open face-check session."""
    cid = make_citizen_id("500103", date(1950, 1, 1), 100 + seq).value
    person = new_person(clerk, cid, name="周长寿")
    grant(clerk, person["id"])
    with runtime.use_case() as ctx:
        ctx.uow.templates.add(
            FaceTemplate(
                person_id=person["id"],
                model=runtime.selfservice.match_model,
                model_version="test",
                template={"embedding": [0.0] * 8},
                source="photo",
            )
        )
        consent.record_paper(ctx, Actor.system("test"), UUID(person["id"]), "CF-100")
        ctx.uow.commit()
    headers = app_sign_up(client, runtime, f"1350000{seq:04d}", cid, "周长寿")
    linked_at_counter(client, clerk, headers, cid, "周长寿")
    started = client.post("/api/selfservice/sessions", json={}, headers=headers)
    assert started.status_code == 201, started.get_json()
    return headers, started.get_json()["session_id"]


def test_fifty_streams_leave_the_service_answering(served, app, client, runtime, clerk):
    callers = [open_session(client, runtime, clerk, i) for i in range(6)]
    answers: list[int] = []
    responses: list[requests.Response] = []
    lock = threading.Lock()

    def stream(headers, session_id):  # type: ignore[no-untyped-def]
        resp = requests.get(
            f"{served}/api/selfservice/sessions/{session_id}/events",
            headers=headers,
            stream=True,
            timeout=30,
        )
        with lock:
            answers.append(resp.status_code)
            responses.append(resp)

    threads = [threading.Thread(target=stream, args=callers[i % len(callers)]) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    started = time.monotonic()
    health = requests.get(f"{served}/healthz", timeout=5)
    took = time.monotonic() - started
    assert health.status_code == 200 and took < 1.0, took
    assert len(answers) == 50
    assert set(answers) <= {200, 429}  # refusals are 429, never a hang or a 500
    assert 429 in answers
    assert app.extensions["lifecert_streams"].open_count <= runtime.settings.max_event_streams
    refused = next(r for r in responses if r.status_code == 429)
    assert int(refused.headers["Retry-After"]) >= 1
    # clients go away: their threads and slots are freed within a few seconds
    for r in responses:
        r.close()
    headers, session_id = callers[0]
    deadline = time.monotonic() + 10
    while True:
        again = requests.get(
            f"{served}/api/selfservice/sessions/{session_id}/events",
            headers=headers,
            stream=True,
            timeout=10,
        )
        if again.status_code == 200 or time.monotonic() > deadline:
            break
        again.close()
        time.sleep(0.5)
    assert again.status_code == 200
    first = next(again.iter_lines(decode_unicode=True))
    assert first.startswith("event: status") or first.startswith(":")
    again.close()


def test_deep_json_nul_characters_and_bad_keys_are_a_400(client, clerk):
    deep = "[" * 100_000 + "]" * 100_000
    resp = client.post("/api/auth/login", data=deep, content_type="application/json")
    assert resp.status_code == 400 and "nested" in resp.get_json()["message"]
    nul = client.post(
        "/api/auth/login",
        json={"username": "a\u0000b", "password": "x"},
    )
    assert nul.status_code == 400 and "NUL" in nul.get_json()["message"]
    assert clerk.get("/api/persons?cursor=%00").status_code == 400


def test_a_township_account_reads_the_proposals_of_its_township(login, make_region):
    township = login("jiefangbei.clerk", "500103001", ("clerk",))
    assert township.get("/api/proposals").status_code == 200


def test_the_embedded_database_makes_concurrent_writers_wait_instead_of_failing(tmp_path):
    from infra.settings import Settings
    from lifecert.bootstrap import build_runtime
    from lifecert.web import create_app
    from storage.migrate import upgrade
    from tests.integration.conftest import PASSWORD, staff_account

    embedded = Settings(data_dir=tmp_path / "var")
    upgrade(embedded.resolved_database_url)
    local = build_runtime(embedded)
    try:
        app = create_app(embedded, local)
        staff_account(local, "clerk")
        token = (
            app.test_client()
            .post("/api/auth/login", json={"username": "clerk", "password": PASSWORD})
            .get_json()["access_token"]
        )
        answers: list[int] = []

        def failed_logins() -> None:
            client = app.test_client()
            for i in range(9):
                resp = client.post(
                    "/api/auth/login",
                    json={"username": "clerk", "password": "wrong-password-1"},
                    environ_base={"REMOTE_ADDR": f"10.0.0.{i}"},
                )
                answers.append(resp.status_code)

        def registrations() -> None:
            client = app.test_client()
            for i in range(9):
                cid = make_citizen_id("500103", date(1950, 1, 1), 200 + i).value
                resp = client.post(
                    "/api/persons",
                    json={"citizen_id": cid, "name": "并发", "region_code": "500103"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                answers.append(resp.status_code)

        workers = [threading.Thread(target=failed_logins), threading.Thread(target=registrations)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        assert sorted(set(answers)) == [201, 401], answers
    finally:
        local.close()


def test_a_session_gone_while_its_status_is_streamed_ends_the_stream_cleanly(
    client, runtime, clerk
):
    headers, session_id = open_session(client, runtime, clerk, 77)
    resp = client.get(
        f"/api/selfservice/sessions/{session_id}/events", headers=headers, buffered=False
    )
    assert resp.status_code == 200
    chunks = iter(resp.response)
    first = next(chunks)
    assert b"event: status" in first
    with runtime.database.begin() as conn:  # the session disappears (a purge, an operator)
        conn.execute(
            sa.text("DELETE FROM challenge_sessions WHERE id = :s"),
            {"s": session_id},
        )
    rest = b"".join(chunks)  # ends instead of raising inside the server
    assert b"event: ended" in rest and b"No such certification session" in rest
    resp.close()
