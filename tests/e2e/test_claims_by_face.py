"""Claiming a pensioner's record with the face, through the real worker and models: a squatter
holding the leaked ID and name fails against the agency's photo, pays with its own claim's
lock, and leaves the real pensioner free to claim and certify."""

import pytest

from tests.biometrics.conftest import SELFIES
from tests.e2e.conftest import upload_presigned, wait_for
from tests.integration.conftest import app_sign_up

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


def face_check(client, headers, clip):  # type: ignore[no-untyped-def]
    notice = client.get("/api/me/consent", headers=headers).get_json()["notice_version"]
    agreed = client.post("/api/me/consent", json={"notice_version": notice}, headers=headers)
    assert agreed.status_code == 201, agreed.get_json()  # the claimant's own, for their face
    started = client.post("/api/claims/check", json={}, headers=headers)
    assert started.status_code == 201, started.get_json()
    body = started.get_json()
    upload_presigned(body, (SELFIES / f"{clip}.mp4").read_bytes())
    submitted = client.post(
        f"/api/selfservice/sessions/{body['session_id']}/submit",
        json={"nonce": body["nonce"]},
        headers=headers,
    )
    assert submitted.status_code == 202, submitted.get_json()
    return wait_for(
        lambda: client.get(
            f"/api/selfservice/sessions/{body['session_id']}", headers=headers
        ).get_json(),
        lambda s: s["state"] not in ("open", "pending"),
    )


def test_a_squatter_fails_the_face_check_and_the_real_pensioner_then_claims_and_certifies(
    worker, enrolled, challenge, client, clerk, runtime
):
    challenge("blink")
    p = enrolled("driving_d9", seq=71, sign_up=False)
    squatter = app_sign_up(client, runtime, "13600007101", p.citizen_id, "王建国")
    others = ("driving_d3", "driving_d6", "driving_d12")  # other people's faces
    steps = [face_check(client, squatter, clip)["next"]["step"] for clip in others]
    assert steps == ["claim_retry", "claim_retry", "locked"]
    locked = client.post("/api/claims/check", json={}, headers=squatter)
    assert locked.status_code == 409 and locked.get_json()["details"]["reason"] == "claim_locked"
    # the person's own record is untouched: no case, no lock, no certification
    assert clerk.get("/api/review/cases?status=open").get_json()["items"] == []
    assert clerk.get(f"/api/persons/{p.person['id']}/certifications").get_json()["items"] == []

    real = app_sign_up(client, runtime, "13600007102", p.citizen_id, "王建国")
    final = face_check(client, real, "driving_d9")
    assert final["state"] == "pass" and final["next"]["step"] == "confirmed", final
    me = client.get("/api/auth/me", headers=real).get_json()
    assert me["account"]["kind"] == "beneficiary" and me["account"]["person_id"] == p.person["id"]
    certs = clerk.get(f"/api/persons/{p.person['id']}/certifications").get_json()["items"]
    assert [c["channel"] for c in certs] == ["self_service_face"]
    theirs = client.get("/api/auth/me", headers=squatter).get_json()
    assert theirs["claim"]["status"] == "dropped"
    listed = login_reviewer(clerk)
    assert {c["failed_attempts"] for c in listed} >= {3}


def login_reviewer(clerk):  # type: ignore[no-untyped-def]
    resp = clerk.get("/api/staff/claims")  # the e2e clerk is also a reviewer
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]
