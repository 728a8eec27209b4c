"""Appeals through the API on PostgreSQL: filed by a bound family member from the app,
listed for the district's clerks with a deadline, decided with If-Match, the remedy applied,
the outcome told through the outbox to the person and to the son who filed it, counted on
the dashboard, written in the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from certification.access import Actor
from certification.citizen_id import make_citizen_id
from certification.notices import Channel
from certification.services import dashboard
from infra.notice_channels import LoggingPush, SmsChannel
from infra.sms import AliyunSms
from tests.integration.conftest import app_sign_up, rejected_review
from tests.integration.test_notices import NOW_POLICY, certified_person, deliveries
from tests.standins import sms_provider
from tests.standins.sms_provider import SmsStandIn

pytestmark = pytest.mark.postgres

CID = "50010319450301123X"
TEMPLATES = {"appeal_received": "SMS_900011", "appeal_decided": "SMS_900012"}


@pytest.fixture
def sms() -> Iterator[SmsStandIn]:
    state, server = sms_provider.start()
    yield state
    server.shutdown()


def _son_bound(client: Any, runtime: Any, clerk: Any) -> dict[str, str]:
    son_cid = make_citizen_id("500103", date(1978, 6, 1), 61).value
    son = app_sign_up(client, runtime, "13700006161", son_cid, "王小明")
    asked = client.post(
        "/api/family/bindings",
        json={"citizen_id": CID, "name": "张秀兰", "relationship": "child"},
        headers=son,
    )
    assert asked.status_code == 202
    (waiting,) = clerk.get("/api/staff/family-bindings?status=requested").get_json()["items"]
    approved = clerk.post(
        f"/api/staff/family-bindings/{waiting['id']}/decision",
        json={"approve": True, "reason": "both came with the household book"},
    )
    assert approved.status_code == 200
    return son


def test_a_sons_appeal_reaches_the_district_clerk_and_both_are_told_the_outcome(
    client,
    clerk,
    login,
    runtime,
    sms,
    make_region,
):
    make_region("500103001")
    person = certified_person(clerk, CID, phone="13900001111")
    pid = person["id"]
    with runtime.database.begin() as conn:
        conn.execute(
            sa.text("UPDATE persons SET township_code = '500103001', region_code = '500103001' "
                    "WHERE id = :id"),
            {"id": pid},
        )  # fmt: skip
    case_id = rejected_review(runtime, login("yuzhong.reviewer", "500103", ("reviewer",)), pid)
    son = _son_bound(client, runtime, clerk)
    stranger = app_sign_up(
        client,
        runtime,
        "13700007777",
        make_citizen_id("500103", date(1980, 1, 1), 71).value,
        "李四",
    )

    # the family view: the mother's record under a masked name, and what can be contested
    seen = client.get(f"/api/me/overview?person_id={pid}", headers=son)
    assert seen.status_code == 200, seen.get_json()
    view = seen.get_json()
    assert view["name"] == "张*兰" and view["viewer"] == "family"
    assert view["due_on"] and view["last_certified_on"] and view["receipt_code"]
    assert CID not in str(view) and "13900001111" not in str(view)
    assert view["open_tasks"] == [
        {"who": "township", "deadline_on": view["open_tasks"][0]["deadline_on"]}
    ]
    assert [(c["subject"], c["subject_id"]) for c in view["contestable"]] == [
        ("rejected_review", case_id)
    ]
    for headers in (stranger, clerk.headers):
        assert client.get(f"/api/me/overview?person_id={pid}", headers=headers).status_code == 403
    assert client.get(f"/api/me/overview?person_id={pid}").status_code == 401

    body = {
        "person_id": pid,
        "subject": "rejected_review",
        "subject_id": case_id,
        "statement": "视频里就是我母亲本人，她在家里光线暗",
    }
    assert client.post("/api/me/appeals", json=body, headers=stranger).status_code == 403
    for bad in (
        {**body, "subject": "pension"},
        {**body, "colour": "red"},
        {**body, "statement": ""},
    ):
        refused = client.post("/api/me/appeals", json=bad, headers=son)
        assert refused.status_code == 422, refused.get_json()
    filed = client.post("/api/me/appeals", json=body, headers=son)
    assert filed.status_code == 201, filed.get_json()
    appeal = filed.get_json()
    assert appeal["status"] == "open" and appeal["filed_via"] == "family"
    assert client.post("/api/me/appeals", json=body, headers=son).status_code == 409

    # the district's clerks see it, nearest deadline first; another district's do not
    listed = clerk.get("/api/appeals?status=open").get_json()["items"]
    assert [a["id"] for a in listed] == [appeal["id"]]
    township = login("jiefangbei.clerk", "500103001", ("clerk",))
    assert [a["id"] for a in township.get("/api/appeals").get_json()["items"]] == [appeal["id"]]
    other = login("jiangbei.clerk", "500105", ("clerk",))
    assert other.get("/api/appeals").get_json()["items"] == []
    assert other.get(f"/api/appeals/{appeal['id']}").status_code == 404
    assert clerk.get("/api/appeals?status=sideways").status_code == 422

    decision = {"outcome": "upheld", "reason": "second look: the same woman as the ID photo"}
    url = f"/api/appeals/{appeal['id']}/decision"
    assert clerk.put(url, json=decision).status_code == 428
    etag = clerk.get(f"/api/appeals/{appeal['id']}").headers["ETag"]
    assert township.put(url, json=decision, headers={"If-Match": etag}).status_code == 403
    decided = clerk.put(url, json=decision, headers={"If-Match": etag})
    assert decided.status_code == 200, decided.get_json()
    assert (decided.get_json()["status"], decided.get_json()["remedy"]) == ("upheld", "certified")
    assert clerk.put(url, json=decision, headers={"If-Match": etag}).status_code == 412
    certs = clerk.get(f"/api/persons/{pid}/certifications").get_json()["items"]
    assert certs[0]["channel"] == "staff_review"
    after = client.get(f"/api/me/overview?person_id={pid}", headers=son).get_json()
    assert after["open_tasks"] == [] and after["contestable"] == []
    assert [(a["status"], a["remedy"]) for a in after["appeals"]] == [("upheld", "certified")]

    # told: the mother by text message, the son who filed in his app, each notice once
    sender = AliyunSms(
        sms_provider.ALIYUN_KEY_ID, sms_provider.ALIYUN_SECRET, "重庆社保", "SMS_000001",
        endpoint=sms.url + "/",
    )  # fmt: skip
    with runtime.database.begin() as conn:  # the mother's notices go by text message
        conn.execute(
            sa.text("INSERT INTO notice_preferences (person_id, channels, language, family_copy, "
                    "version) VALUES (:p, '[\"sms\"]', 'zh', false, 1)"),
            {"p": pid},
        )  # fmt: skip
    from certification.services.notices import deliver_notices

    channels = {Channel.SMS: SmsChannel(sender, TEMPLATES), Channel.PUSH: LoggingPush()}
    deliver_notices(runtime.use_case, channels, NOW_POLICY)
    assert deliver_notices(runtime.use_case, channels, NOW_POLICY).delivered == 0  # never twice
    appeal_rows = [d for d in deliveries(runtime) if d["kind"].startswith("appeal_")]
    assert sorted((d["kind"], d["recipient"], d["channel"], d["status"]) for d in appeal_rows) == [
        ("appeal_decided", "family", "push", "delivered"),
        ("appeal_decided", "person", "sms", "delivered"),
        ("appeal_received", "family", "push", "delivered"),
        ("appeal_received", "person", "sms", "delivered"),
    ]
    texts = [m for m in sms.delivered if m.template == "SMS_900012"]
    assert len(texts) == 1 and texts[0].phone.endswith("13900001111")
    assert "申诉成立，已为您完成认证" in texts[0].values

    # on the dashboard, and in the audit trail
    with runtime.use_case() as ctx:
        figures = dashboard.dashboard(ctx, Actor.system("test"))
    assert figures.appeals.get("upheld") == 1 and figures.appeals["overdue"] == 0
    with runtime.database.connect() as conn:
        actions = conn.scalars(
            sa.text(
                "SELECT action FROM audit_events WHERE entity_type = 'appeal' ORDER BY sequence"
            )
        ).all()
    assert actions == ["appeal.filed", "appeal.upheld"]
