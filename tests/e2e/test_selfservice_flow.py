"""Self-service certification through the real components."""

import pytest

from tests.biometrics.conftest import SELFIES
from tests.e2e.conftest import upload_presigned, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


def status(app, session_id):
    return app.get(f"/api/selfservice/sessions/{session_id}").get_json()


def test_a_real_selfie_certifies_the_pensioner_and_restarts_the_period(
    worker, enrolled, challenge, runtime, clerk
):
    challenge("blink", "nod")
    p = enrolled("driving_d9")
    before = clerk.get(f"/api/persons/{p.person['id']}").get_json()["period"]
    started = p.app.post("/api/selfservice/sessions", json={})
    assert started.status_code == 201, started.get_json()
    body = started.get_json()
    assert body["actions"] == ["blink", "nod"] and body["nonce"]
    upload_presigned(body, (SELFIES / "driving_d9.mp4").read_bytes())
    submitted = p.app.post(
        f"/api/selfservice/sessions/{body['session_id']}/submit", json={"nonce": body["nonce"]}
    )
    assert submitted.status_code == 202, submitted.get_json()
    again = p.app.post(
        f"/api/selfservice/sessions/{body['session_id']}/submit", json={"nonce": body["nonce"]}
    )
    assert (
        again.status_code == 202
        and again.get_json()["attempt_id"] == submitted.get_json()["attempt_id"]
    )
    final = wait_for(
        lambda: status(p.app, body["session_id"]), lambda s: s["state"] not in ("open", "pending")
    )
    assert final["state"] == "pass", final
    assert final["next"]["step"] == "done" and final["next"]["zh"]
    person = clerk.get(f"/api/persons/{p.person['id']}").get_json()
    today = runtime.clock.today()
    assert person["period"]["due_on"] == today.replace(year=today.year + 1).isoformat()
    assert person["period"]["due_on"] != before["due_on"]
    certs = clerk.get(f"/api/persons/{p.person['id']}/certifications").get_json()["items"]
    assert [c["channel"] for c in certs] == ["self_service_face"]
    assert certs[0]["source_ref"] == f"attempt:{final['attempt_id']}"
    assert len(certs[0]["evidence"]) == 4  # the video and three frames
    me = p.app.get("/api/auth/me").get_json()
    assert me["account"]["identity_verified"] is True  # the face certified the account


def test_a_failing_clip_opens_a_case_and_a_reviewer_approves_it(
    worker, enrolled, challenge, clerk, login
):
    challenge("blink")
    p = enrolled("driving_d9")
    body = p.app.post("/api/selfservice/sessions", json={}).get_json()
    upload_presigned(body, (SELFIES / "driving_d3.mp4").read_bytes())  # someone else's face
    p.app.post(
        f"/api/selfservice/sessions/{body['session_id']}/submit", json={"nonce": body["nonce"]}
    )
    final = wait_for(
        lambda: status(p.app, body["session_id"]), lambda s: s["state"] not in ("open", "pending")
    )
    assert final["state"] == "fail" and final["next"]["step"] == "review", final
    assert [r["code"] for r in final["reasons"]] == ["face_mismatch"]
    assert final["reasons"][0]["zh"] and final["reasons"][0]["en"]

    reviewer = login("yuzhong.reviewer", "500103", ("reviewer",))
    cases = reviewer.get("/api/review/cases?status=open").get_json()["items"]
    assert len(cases) == 1 and cases[0]["reason"] == "failed"
    case_url = f"/api/review/cases/{cases[0]['id']}"
    detail = reviewer.get(case_url)
    etag = detail.headers["ETag"]
    data = detail.get_json()
    assert (
        data["attempt"]["verdict"]["scores"]["face_match"]
        < data["attempt"]["verdict"]["thresholds"]["face_match"]
    )
    assert data["links"]["video"].startswith("http") and "frame_0" in data["links"]
    assert data["links"]["enrolled_photo"]
    decision = {"decision": "approve", "comment": "compared in person at the counter"}
    assert reviewer.put(f"{case_url}/decision", json=decision).status_code == 428
    ok = reviewer.put(f"{case_url}/decision", json=decision, headers={"If-Match": etag})
    assert ok.status_code == 200, ok.get_json()
    second = login("yuzhong.reviewer2", "500103", ("reviewer",))
    late = second.put(
        f"{case_url}/decision", json={**decision, "decision": "reject"}, headers={"If-Match": etag}
    )
    assert late.status_code == 412  # the first reviewer already decided
    certs = clerk.get(f"/api/persons/{p.person['id']}/certifications").get_json()["items"]
    assert [c["channel"] for c in certs] == ["staff_review"]
    assert certs[0]["source_ref"] == f"review:{cases[0]['id']}"
