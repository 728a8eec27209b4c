"""Consent to face processing through the API on PostgreSQL: asked before the first face
check, recorded with the notice's version, withdrawn with the templates erased in the
database itself."""

from __future__ import annotations

import json
from uuid import UUID

import pytest
import sqlalchemy as sa

from certification.access import Actor
from certification.citizen_id import make_citizen_id
from certification.model import FaceTemplate
from certification.services import consent
from tests.integration.conftest import app_sign_up, grant, linked_at_counter, new_person

pytestmark = pytest.mark.postgres

CID = "50010319450301123X"


def test_the_person_consents_in_the_app_and_withdrawing_erases_the_templates(
    client, clerk, runtime
):
    person = new_person(clerk, CID)
    grant(clerk, person["id"])
    with runtime.use_case() as ctx:
        ctx.uow.templates.add(
            FaceTemplate(
                person_id=UUID(person["id"]),
                model=runtime.selfservice.match_model,
                model_version="test",
                template={"embedding": [0.25] * 8},
                source="photo",
            )
        )
        ctx.uow.commit()
    me = app_sign_up(client, runtime, "13900001111", CID, "张秀兰")
    linked_at_counter(client, clerk, me, CID, "张秀兰")
    refused = client.post("/api/selfservice/sessions", json={}, headers=me)
    assert refused.status_code == 409
    assert refused.get_json()["details"]["reason"] == "consent_required"

    assert client.get("/api/me/consent").status_code == 401
    assert client.get("/api/me/consent", headers=clerk.headers).status_code == 403
    shown = client.get("/api/me/consent", headers=me).get_json()
    assert shown["given"] is False and "3年" in shown["notice_zh"]
    for bad in ({"notice_version": "face-1999"}, {}, {"notice_version": "x", "extra": 1}):
        assert client.post("/api/me/consent", json=bad, headers=me).status_code == 422
    agreed = client.post(
        "/api/me/consent", json={"notice_version": shown["notice_version"]}, headers=me
    )
    assert agreed.status_code == 201 and agreed.get_json()["channel"] == "app"
    assert client.post("/api/selfservice/sessions", json={}, headers=me).status_code == 201

    withdrawn = client.post("/api/me/consent/withdrawal", headers=me)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["templates_erased"] == 1
    assert client.post("/api/me/consent/withdrawal", headers=me).status_code == 409
    with runtime.database.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT template::text, active FROM face_templates WHERE person_id = :p"),
            {"p": person["id"]},
        ).all()
        consents = conn.execute(
            sa.text(
                "SELECT channel, notice_version, withdrawn_at IS NOT NULL FROM consents "
                "WHERE person_id = :p"
            ),
            {"p": person["id"]},
        ).all()
    assert [("embedding" in r[0], r[1]) for r in rows] == [(False, False)]  # sealed, inactive
    with runtime.use_case() as ctx:
        (erased,) = ctx.uow.templates.all_for(UUID(person["id"]))
        assert erased.template == {} and erased.erased_at is not None  # no vector left
    assert consents == [("app", shown["notice_version"], True)]
    again = client.post("/api/selfservice/sessions", json={}, headers=me)
    assert again.status_code == 409  # no template and no consent: the service point

    # what is held about her, for her only; a correction reaches the district's clerks
    held = client.get("/api/me/data", headers=me).get_json()
    assert held["person"]["citizen_id"] == CID
    assert [(t["erased"], t["in_use"]) for t in held["face_templates"]] == [(True, False)]
    assert held["consents"][0]["withdrawn_at"] is not None
    assert "embedding" not in str(held) and "0.25" not in str(held)
    assert client.get("/api/me/data", headers=clerk.headers).status_code == 403
    assert client.get("/api/me/data").status_code == 401
    asked = client.post(
        "/api/me/data/corrections", json={"statement": "手机号已换为13900002222"}, headers=me
    )
    assert asked.status_code == 201, asked.get_json()
    (waiting,) = clerk.get("/api/appeals?status=open").get_json()["items"]
    assert waiting["subject"] == "record_correction" and waiting["person_id"] == person["id"]


def test_a_paper_consent_is_recorded_once_and_audited_without_the_person_s_name(clerk, runtime):
    person = new_person(clerk, CID)
    with runtime.use_case() as ctx:
        consent.record_paper(ctx, Actor.system("test"), UUID(person["id"]), "CF-2026-0001")
        consent.record_paper(ctx, Actor.system("test"), UUID(person["id"]), "CF-2026-0002")
        ctx.uow.commit()
    with runtime.database.connect() as conn:
        refs = conn.scalars(
            sa.text("SELECT reference FROM consents WHERE person_id = :p"), {"p": person["id"]}
        ).all()
        audited = conn.scalars(
            sa.text("SELECT details::text FROM audit_events WHERE action = 'consent.recorded'")
        ).all()
    assert refs == ["CF-2026-0001"]  # the consent in force stands
    assert len(audited) == 1 and "张秀兰" not in audited[0] and CID not in audited[0]


def test_faces_of_people_whose_benefits_ended_are_forgotten_once_retention_is_over(clerk, runtime):
    """One schedule for a template and its photo: all benefits ended, and 3 years since the
    photo; a living pensioner's face and a recent one are kept."""
    from datetime import datetime, timedelta

    from certification.services.consent import sweep_face_data

    store = runtime.object_store
    today = runtime.clock.today()
    people = {}
    for label, seq in (("ended_long_ago", 1), ("ended_recent_photo", 2), ("still_paid", 3)):
        cid = make_citizen_id("500103", datetime(1945, 3, 1).date(), 30 + seq).value
        person = new_person(clerk, cid)
        grant(clerk, person["id"])
        people[label] = UUID(person["id"])
    old = datetime.now().astimezone() - timedelta(days=4 * 365)
    recent = datetime.now().astimezone() - timedelta(days=200)
    with runtime.use_case() as ctx:
        for label, person_id in people.items():
            key = f"enrolment/{person_id}/photo.img"
            store.put_bytes(key, b"jpeg", "image/jpeg", {"retain-with": "face-template"})
            ctx.uow.templates.add(
                FaceTemplate(
                    person_id=person_id,
                    model=runtime.selfservice.match_model,
                    model_version="test",
                    template={"embedding": [0.5] * 8},
                    source="photo",
                    photo_key=key,
                    created_at=recent if label == "ended_recent_photo" else old,
                )
            )
            if label != "still_paid":
                person = ctx.uow.persons.get(person_id)
                for benefit in person.entitlements:
                    benefit.terminate(today - timedelta(days=30), "death record", None)
        ctx.uow.commit()
    report = sweep_face_data(runtime.use_case, store, batch=1)  # batches of one: resumable
    assert (report.people, report.templates) == (1, 1)
    with runtime.database.connect() as conn:
        held = dict(
            conn.execute(sa.text("SELECT person_id, erased_at IS NULL FROM face_templates")).all()
        )
        audited = conn.scalars(
            sa.text("SELECT entity_id FROM audit_events WHERE action = 'face_data.erased'")
        ).all()
    assert held == {
        people["ended_long_ago"]: False,
        people["ended_recent_photo"]: True,
        people["still_paid"]: True,
    }
    assert audited == [str(people["ended_long_ago"])]
    assert store.stat(f"enrolment/{people['ended_long_ago']}/photo.img") is None
    assert store.stat(f"enrolment/{people['still_paid']}/photo.img") is not None
    assert sweep_face_data(runtime.use_case, store).templates == 0  # nothing twice


def test_templates_are_sealed_in_the_database_and_rotate_to_a_new_key(clerk, runtime):
    """A copy of the table holds no vector; after rotation every row is under the new key and
    the old key can be retired."""
    import base64
    import os

    from storage import crypto
    from storage.keys import reseal_templates

    person = new_person(clerk, CID)
    with runtime.use_case() as ctx:
        ctx.uow.templates.add(
            FaceTemplate(
                person_id=UUID(person["id"]),
                model="w600k_r50",
                model_version="test",
                template={"embedding": [0.123456] * 8},
                source="photo",
            )
        )
        ctx.uow.commit()

    def stored() -> list[dict]:
        with runtime.database.connect() as conn:
            return [
                r[0] if isinstance(r[0], dict) else json.loads(r[0])
                for r in conn.execute(sa.text("SELECT template FROM face_templates"))
            ]

    (raw,) = stored()
    assert "embedding" not in str(raw) and "0.123456" not in str(raw)
    old_kid = raw["enc"]["kid"]
    with runtime.use_case() as ctx:
        (read,) = ctx.uow.templates.active_for(UUID(person["id"]))
        assert read.template == {"embedding": [0.123456] * 8}
    fresh = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    previous = crypto.process_ring().current
    crypto.configure(crypto.KeyRing.parse(fresh))
    try:
        first = reseal_templates(runtime.session_factory, batch=1)
        assert (first.checked, first.resealed) == (1, 1)
        assert reseal_templates(runtime.session_factory).resealed == 0  # resumable, idempotent
        (raw,) = stored()
        assert raw["enc"]["kid"] == crypto.key_id(base64.urlsafe_b64decode(fresh + "="))
        assert raw["enc"]["kid"] != old_kid
        with runtime.use_case() as ctx:  # readable with the new key alone
            retired = crypto.KeyRing.parse(fresh)
            assert crypto.open_template.__module__ == "storage.crypto"
            opened = __import__("json").loads(retired.decrypt(raw["enc"], crypto.TEMPLATE_AAD))
            assert opened == {"embedding": [0.123456] * 8}
    finally:
        crypto.process_ring().current = previous
