"""Family assistance, attempt limits, enrolment refusals."""

import io
from datetime import date

import pytest

from certification.citizen_id import make_citizen_id
from tests.biometrics.conftest import FACEDATA, SELFIES
from tests.e2e.conftest import upload_presigned, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


def family_member(client, seq):
    reg = client.post(
        "/api/auth/mobile/login", json={"provider": "dev", "code": f"dev:family{seq}"}
    ).get_json()
    cid = make_citizen_id("500103", date(1978, 6, 1), seq).value
    tokens = client.post(
        "/api/auth/mobile/register",
        json={"registration_token": reg["registration_token"], "citizen_id": cid, "name": "王小明"},
    ).get_json()
    assert tokens["account"]["kind"] == "family"
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def approved_binding(client, clerk, helper, citizen_id, reason="checked the household book"):
    """The helper asks to be bound (as the beneficiary's child) and staff approve it."""
    asked = client.post(
        "/api/family/bindings",
        json={"citizen_id": citizen_id, "name": "王建国", "relationship": "child"},
        headers=helper,
    )
    assert asked.status_code == 202 and asked.get_json()["status"] == "recorded"
    binding = waiting_binding(clerk)
    approved = clerk.post(
        f"/api/staff/family-bindings/{binding}/decision", json={"approve": True, "reason": reason}
    )
    assert approved.status_code == 200 and approved.get_json()["status"] == "active"
    return binding


def waiting_binding(clerk):
    waiting = clerk.get("/api/staff/family-bindings?status=requested").get_json()["items"]
    assert len(waiting) == 1, waiting
    return waiting[0]["id"]


def decide(app_client, headers, session):
    wait_for(
        lambda: app_client.get(f"/api/selfservice/sessions/{session}", headers=headers).get_json(),
        lambda s: s["state"] not in ("open", "pending"),
    )
    return app_client.get(f"/api/selfservice/sessions/{session}", headers=headers).get_json()


def test_a_bound_family_member_helps_and_the_certification_records_it(
    enrolled, challenge, client, clerk
):
    challenge("blink", "nod")
    p = enrolled("driving_d9")
    son = family_member(client, 51)
    # not bound yet: refused
    assert (
        client.post(
            "/api/selfservice/sessions", json={"person_id": p.person["id"]}, headers=son
        ).status_code
        == 403
    )
    wrong = client.post(
        "/api/family/bindings",
        json={"citizen_id": p.citizen_id, "name": "别人", "relationship": "child"},
        headers=son,
    )
    assert wrong.status_code == 202  # the same answer whatever the ID and name
    asked = client.post(
        "/api/family/bindings",
        json={"citizen_id": p.citizen_id, "name": "王建国", "relationship": "child"},
        headers=son,
    )
    assert asked.get_json() == wrong.get_json()
    binding = waiting_binding(clerk)
    # still only requested: refused
    assert (
        client.post(
            "/api/selfservice/sessions", json={"person_id": p.person["id"]}, headers=son
        ).status_code
        == 403
    )
    # someone else's app account cannot confirm it for the person
    assert (
        client.post(f"/api/family/bindings/{binding}/confirmation", headers=son).status_code == 403
    )
    approved = clerk.post(
        f"/api/staff/family-bindings/{binding}/decision",
        json={"approve": True, "reason": "both came to the counter"},
    )
    assert approved.status_code == 200 and approved.get_json()["status"] == "active"

    body = client.post(
        "/api/selfservice/sessions", json={"person_id": p.person["id"]}, headers=son
    ).get_json()
    upload_presigned(body, (SELFIES / "driving_d9.mp4").read_bytes())  # the beneficiary's own face
    client.post(
        f"/api/selfservice/sessions/{body['session_id']}/submit",
        json={"nonce": body["nonce"]},
        headers=son,
    )
    final = decide(client, son, body["session_id"])
    assert final["state"] == "pass", final
    cert = clerk.get(f"/api/persons/{p.person['id']}/certifications").get_json()["items"][0]
    assert cert["channel"] == "family_assisted"
    son_id = client.get("/api/auth/me", headers=son).get_json()["account"]["id"]
    assert cert["assisted_by"] == son_id

    # the beneficiary revokes it; the family member can no longer start sessions
    revoked = p.app.post(
        f"/api/family/bindings/{binding}/revocation", json={"reason": "I can do it myself"}
    )
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    assert (
        client.post(
            "/api/selfservice/sessions", json={"person_id": p.person["id"]}, headers=son
        ).status_code
        == 403
    )


def test_a_family_member_holding_up_someone_else_is_refused_by_the_match(
    enrolled, challenge, client, clerk
):
    challenge("blink")
    p = enrolled("driving_d9")
    daughter = family_member(client, 53)
    approved_binding(client, clerk, daughter, p.citizen_id)
    body = client.post(
        "/api/selfservice/sessions", json={"person_id": p.person["id"]}, headers=daughter
    ).get_json()
    upload_presigned(body, (SELFIES / "driving_d3.mp4").read_bytes())  # her own face, not his
    client.post(
        f"/api/selfservice/sessions/{body['session_id']}/submit",
        json={"nonce": body["nonce"]},
        headers=daughter,
    )
    final = decide(client, daughter, body["session_id"])
    assert final["state"] == "fail" and [r["code"] for r in final["reasons"]] == ["face_mismatch"]
    case = clerk.get("/api/review/cases?status=open").get_json()["items"][0]
    detail = clerk.get(f"/api/review/cases/{case['id']}").get_json()
    daughter_id = client.get("/api/auth/me", headers=daughter).get_json()["account"]["id"]
    assert detail["attempt"]["assisted_by"] == daughter_id  # the reviewer sees who helped


def test_a_verified_beneficiary_confirms_a_binding_in_the_app(enrolled, challenge, client):
    challenge("blink", "nod")
    p = enrolled("driving_d9")
    body = p.app.post("/api/selfservice/sessions", json={}).get_json()
    upload_presigned(body, (SELFIES / "driving_d9.mp4").read_bytes())
    p.app.post(
        f"/api/selfservice/sessions/{body['session_id']}/submit", json={"nonce": body["nonce"]}
    )
    assert decide(p.app.client, p.app.headers, body["session_id"])["state"] == "pass"
    wife = family_member(client, 55)
    asked = client.post(
        "/api/family/bindings",
        json={"citizen_id": p.citizen_id, "name": "王建国", "relationship": "spouse"},
        headers=wife,
    )
    assert asked.status_code == 202
    mine = p.app.get("/api/family/bindings").get_json()
    assert [(b["status"], b["person_name"]) for b in mine] == [("requested", None)]
    binding = mine[0]["id"]
    assert client.get("/api/family/bindings", headers=wife).get_json() == []  # not yet
    confirmed = p.app.post(f"/api/family/bindings/{binding}/confirmation")
    assert (
        confirmed.status_code == 200
        and confirmed.get_json()["decided_how"] == "beneficiary_confirmed"
    )
    theirs = client.get("/api/family/bindings", headers=wife).get_json()
    assert [(b["id"], b["person_name"]) for b in theirs] == [(binding, "王*国")]


def test_five_unsuccessful_attempts_lock_self_service_and_open_a_case(
    enrolled, challenge, client, login
):
    challenge("turn_left", "turn_right")  # the clip has neither: every attempt is a retry
    p = enrolled("driving_d9")
    video = (SELFIES / "driving_d9.mp4").read_bytes()
    for i in range(5):
        body = p.app.post("/api/selfservice/sessions", json={}).get_json()
        assert "session_id" in body, body
        # every video must be new: append harmless trailing bytes after the MP4 boxes
        upload_presigned(body, video + b"\0" * (i + 1))
        p.app.post(
            f"/api/selfservice/sessions/{body['session_id']}/submit", json={"nonce": body["nonce"]}
        )
        last = decide(p.app.client, p.app.headers, body["session_id"])
        assert last["state"] == "retry", last
    assert last["next"]["step"] == "locked"
    locked = p.app.post("/api/selfservice/sessions", json={})
    assert locked.status_code == 409 and locked.get_json()["details"]["reason"] == "locked_out"
    reviewer = login("yuzhong.reviewer", "500103", ("reviewer",))
    cases = reviewer.get("/api/review/cases?status=open").get_json()["items"]
    assert [c["reason"] for c in cases] == ["too_many_attempts"]


def test_an_unusable_enrolment_photo_is_refused_with_a_reason(worker, clerk):
    from tests.integration.conftest import grant, new_person

    person = new_person(clerk, make_citizen_id("500103", date(1950, 1, 1), 61).value, name="赵六")
    grant(clerk, person["id"])
    photo = (FACEDATA / "negatives" / "multi_face_t1.jpg").read_bytes()
    unconsented = clerk.put(  # no signed consent form: no face is processed
        f"/api/persons/{person['id']}/enrolment",
        data={"photo": (io.BytesIO(photo), "group.jpg", "image/jpeg")},
        content_type="multipart/form-data",
    )
    assert unconsented.status_code == 422
    assert "consent_ref" in str(unconsented.get_json()["errors"])
    assert clerk.get(f"/api/persons/{person['id']}/enrolment").get_json()["latest_request"] is None
    resp = clerk.put(
        f"/api/persons/{person['id']}/enrolment",
        data={"photo": (io.BytesIO(photo), "group.jpg", "image/jpeg"), "consent_ref": "CF-61"},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 202
    state = wait_for(
        lambda: clerk.get(f"/api/persons/{person['id']}/enrolment").get_json(),
        lambda s: s["latest_request"]["status"] != "pending",
    )
    assert state["latest_request"]["status"] == "refused"
    assert state["latest_request"]["reason"] == "multiple_faces"
    assert state["templates"] == []
    text = clerk.put(
        f"/api/persons/{person['id']}/enrolment", data=b"hello", content_type="text/plain"
    )
    assert text.status_code == 422


def test_batch_enrolment_import_of_id_photos(
    worker, clerk, runtime, tmp_path, monkeypatch, settings, pg_url
):
    from click.testing import CliRunner

    from infra.settings import get_settings
    from lifecert.cli import main
    from tests.biometrics.conftest import frame_at, jpeg
    from tests.integration.conftest import grant, new_person

    cid = make_citizen_id("500103", date(1950, 1, 1), 71).value
    person = new_person(clerk, cid, name="周七")
    grant(clerk, person["id"])
    folder = tmp_path / "id-photos"
    folder.mkdir()
    (folder / f"{cid}.jpg").write_bytes(jpeg(frame_at(SELFIES / "driving_d9.mp4", 0.5)))
    (folder / "110105194912310021.jpg").write_bytes(b"bad check digit")
    for key, value in {
        "LIFECERT_DATABASE_URL": pg_url,
        "LIFECERT_DATA_DIR": str(settings.data_dir),
        "LIFECERT_OBJECT_STORE": "s3",
        "LIFECERT_S3_ENDPOINT": settings.s3_endpoint,
        "LIFECERT_S3_ACCESS_KEY": "testing",
        "LIFECERT_S3_SECRET_KEY": "testing",
        "LIFECERT_S3_BUCKET": settings.s3_bucket,
        "LIFECERT_S3_SECURE": "false",
        "LIFECERT_S3_REGION": "us-east-1",
        "LIFECERT_BROKER_URL": settings.broker_url,
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            main, ["enrolment", "import", str(folder), "--consent-ref", "CF-BATCH-2026-12"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "queued 1 photos; 1 refused" in result.output
    state = wait_for(
        lambda: clerk.get(f"/api/persons/{person['id']}/enrolment").get_json(),
        lambda s: s["latest_request"]["status"] != "pending",
    )
    assert state["latest_request"]["status"] == "accepted" and len(state["templates"]) == 1
