"""The embedded default (README command 1): SQLite, a local object folder, no broker, the
worker inside the API process. A real selfie certifies a pensioner there too."""

import io
from datetime import date

from certification.citizen_id import make_citizen_id
from infra.settings import Settings
from lifecert.bootstrap import build_runtime
from lifecert.web import create_app
from storage.migrate import upgrade
from tests.biometrics.conftest import SELFIES, frame_at, jpeg
from tests.conftest import MODEL_DIR
from tests.integration.conftest import PASSWORD, staff_account


def test_self_service_works_on_the_embedded_defaults(tmp_path, runtime, face_engine):
    embedded = Settings(
        data_dir=tmp_path / "var", model_dir=MODEL_DIR, selfservice_fixed_challenge="blink,nod"
    )
    upgrade(embedded.resolved_database_url)
    local = build_runtime(embedded)
    local.use_face_engine(face_engine)  # the models are loaded once for the whole session
    app = create_app(embedded, local).test_client()
    try:
        assert local.queue_app.conf.task_always_eager is True
        assert runtime.queue_app.conf.task_always_eager is False  # the broker's app untouched
        staff_account(local, "clerk")
        token = app.post(
            "/api/auth/login", json={"username": "clerk", "password": PASSWORD}
        ).get_json()["access_token"]
        staff = {"Authorization": f"Bearer {token}"}
        cid = make_citizen_id("500103", date(1949, 3, 1), 81).value
        person = app.post(
            "/api/persons",
            json={"citizen_id": cid, "name": "刘八", "region_code": "500103"},
            headers=staff,
        ).get_json()
        app.post(
            f"/api/persons/{person['id']}/entitlements",
            json={"kind": "pension", "start_date": "2010-05-01", "monthly_amount_fen": 300000},
            headers=staff,
        )
        photo = jpeg(frame_at(SELFIES / "driving_d9.mp4", 0.5))
        enrol = app.put(
            f"/api/persons/{person['id']}/enrolment",
            data={"photo": (io.BytesIO(photo), "id.jpg", "image/jpeg"), "consent_ref": "CF-0002"},
            content_type="multipart/form-data",
            headers=staff,
        )
        assert enrol.status_code == 202
        assert (
            app.get(f"/api/persons/{person['id']}/enrolment", headers=staff).get_json()[
                "latest_request"
            ]["status"]
            == "accepted"
        )
        # the embedded defaults sign in by text message (logged, not sent) and confirm the
        # claim on the record with the face
        assert app.post("/api/auth/sms/code", json={"phone": "13800000081"}).status_code == 202
        reg = app.post(
            "/api/auth/sms/login",
            json={"phone": "13800000081", "code": local.sms.last_code("13800000081")},
        ).get_json()
        tokens = app.post(
            "/api/auth/mobile/register",
            json={
                "registration_token": reg["registration_token"],
                "citizen_id": cid,
                "name": "刘八",
            },
        ).get_json()
        me = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (
            app.post(
                "/api/auth/mobile/login", json={"provider": "dev", "code": "dev:x"}
            ).status_code
            == 422
        )  # no development provider outside the demo
        refused = app.post("/api/claims/check", json={}, headers=me)
        assert refused.get_json()["details"]["reason"] == "consent_required"
        notice = app.get("/api/me/consent", headers=me).get_json()["notice_version"]
        app.post("/api/me/consent", json={"notice_version": notice}, headers=me)
        body = app.post("/api/claims/check", json={}, headers=me).get_json()
        assert body["upload"]["method"] == "direct"  # a local folder takes no presigned POST
        video = (SELFIES / "driving_d9.mp4").read_bytes()
        up = app.put(
            body["upload"]["url"],
            data={"file": (io.BytesIO(video), "selfie.mp4", "video/mp4")},
            content_type="multipart/form-data",
            headers=me,
        )
        assert up.status_code == 201
        done = app.post(
            f"/api/selfservice/sessions/{body['session_id']}/submit",
            json={"nonce": body["nonce"]},
            headers=me,
        ).get_json()
        assert done["state"] == "pass", done  # decided in-process, within the request
        certs = app.get(f"/api/persons/{person['id']}/certifications", headers=staff).get_json()[
            "items"
        ]
        assert [c["channel"] for c in certs] == ["self_service_face"]
        assert app.get("/api/auth/me", headers=me).get_json()["account"]["kind"] == "beneficiary"
    finally:
        local.close()
