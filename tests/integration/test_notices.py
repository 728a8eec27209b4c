"""People are told: notices from the outbox through the real provider adapters (Alibaba Cloud
and Tencent Cloud SMS, WeChat subscribe messages) against stand-ins that speak their
documented protocols, receipts anyone can check, reminders caught up, letters printed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa

from certification.model import Account, ExternalIdentity, FamilyBinding
from certification.notices import Channel, DeliveryPolicy, NoticeKind, NoticePreferences
from certification.selfservice import BindingStatus
from certification.services.context import UseCaseContext
from certification.services.notices import deliver_notices, print_letters
from certification.services.reminders import send_due_reminders
from certification.vocabulary import AccountKind
from infra.notice_channels import LoggingPush, SmsChannel, WeChatSubscribeChannel
from infra.runtime import Runtime
from infra.sms import AliyunSms, TencentSms
from tests.fakes import FakeClock
from tests.integration.conftest import app_sign_up, grant, linked_at_counter, new_person
from tests.standins import sms_provider, wechat_api
from tests.standins.sms_provider import SmsStandIn
from tests.standins.wechat_api import WeChatStandIn

pytestmark = pytest.mark.postgres

TEMPLATES = {
    "certified": "SMS_900001",
    "reminder": "SMS_900002",
    "overdue": "SMS_900003",
    "task_opened": "SMS_900004",
    "suspended": "SMS_900005",
}
NOW_POLICY = DeliveryPolicy(first_retry=timedelta(0), quiet_from=datetime.min.time(),
                            quiet_until=datetime.min.time())  # fmt: skip


@pytest.fixture
def sms() -> Iterator[SmsStandIn]:
    state, server = sms_provider.start()
    yield state
    server.shutdown()


@pytest.fixture
def wechat() -> Iterator[WeChatStandIn]:
    state, server = wechat_api.start()
    state.templates = {"TPL-certified", "TPL-reminder"}
    yield state
    server.shutdown()


def aliyun(sms: SmsStandIn) -> SmsChannel:
    sender = AliyunSms(
        sms_provider.ALIYUN_KEY_ID, sms_provider.ALIYUN_SECRET, "重庆社保", "SMS_000001",
        endpoint=sms.url + "/",
    )  # fmt: skip
    return SmsChannel(sender, TEMPLATES)


def tencent(sms: SmsStandIn) -> SmsChannel:
    sender = TencentSms(
        sms_provider.TENCENT_ID, sms_provider.TENCENT_KEY, "1400000001", "重庆社保", "100001",
        endpoint=sms.url + "/tc",
    )  # fmt: skip
    return SmsChannel(sender, TEMPLATES)


def deliver(runtime: Runtime, channels: dict[Channel, Any], policy: DeliveryPolicy = NOW_POLICY):
    return deliver_notices(runtime.use_case, channels, policy)


def certified_person(clerk: Any, citizen_id: str, phone: str | None = "13900001111", **kw: Any):
    person = new_person(clerk, citizen_id)
    if phone or kw:
        changed = clerk.patch(
            f"/api/persons/{person['id']}",
            json={"phone": phone, "reason": "更新联系方式", **kw},
            headers={"If-Match": _etag(clerk, person["id"])},
        )
        assert changed.status_code == 200, changed.get_json()
    grant(clerk, person["id"])
    done = clerk.post(
        f"/api/persons/{person['id']}/certifications", json={"channel": "partner_bank"}
    )
    assert done.status_code == 201, done.get_json()
    return person


def _etag(clerk: Any, person_id: str) -> str:
    return str(clerk.get(f"/api/persons/{person_id}").headers["ETag"])


def deliveries(runtime: Runtime) -> list[dict[str, Any]]:
    with runtime.database.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT d.channel, d.status, d.attempts, d.failures, d.recipient, n.kind, "
                "d.last_error, d.id FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id "
                "ORDER BY d.created_at"
            )
        )
        return [dict(r._mapping) for r in rows]


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_certification_is_told_once_by_text_message_with_a_receipt_anyone_can_check(
    client, clerk, runtime, sms, provider
):
    certified_person(clerk, "50010319450301123X")
    channel = aliyun(sms) if provider == "aliyun" else tencent(sms)
    report = deliver(runtime, {Channel.SMS: channel})
    assert (report.routed, report.delivered) == (1, 1)
    [sent] = sms.to("13900001111")
    assert sent.template == TEMPLATES["certified"] and sent.provider == provider
    name, certified_on, next_due, code = sent.values
    assert (
        name == "张**"
        and certified_on == runtime.clock.today().isoformat()
        and next_due > certified_on
    )
    assert sent.out_id  # the delivery's id, for the provider's delivery report
    assert deliver(runtime, {Channel.SMS: channel}).delivered == 0  # never twice
    assert len(sms.delivered) == 1

    check = client.get(f"/api/receipts/{code}").get_json()
    assert check == {
        "valid": True,
        "masked_name": "张**",
        "certified_on": certified_on,
        "next_due_on": next_due,
        "channel": "partner_bank",
    }
    assert client.get(f"/api/receipts/{code.lower().replace('-', ' ')}").get_json()["valid"]
    page = client.get(f"/verify?code={code}").get_data(as_text=True)
    assert "有效回执" in page and "张**" in page and next_due in page
    tampered = code[:-3] + ("A" if code[-3] != "A" else "B") + code[-2:]
    assert client.get(f"/api/receipts/{tampered}").get_json() == {
        "valid": False, "masked_name": None, "certified_on": None, "next_due_on": None,
        "channel": None,
    }  # fmt: skip
    # a receipt row altered in the database no longer verifies (the signature is checked)
    with runtime.database.begin() as conn:
        conn.execute(sa.text("UPDATE receipts SET next_due_on = next_due_on + 365"))
    assert client.get(f"/api/receipts/{code}").get_json()["valid"] is False
    page = client.get(f"/verify/{tampered}")
    assert page.status_code == 200 and "无效回执" in page.get_data(as_text=True)
    keys = client.get("/api/receipts/keys").get_json()["keys"]
    assert runtime.signer.key_id in keys


def test_receipt_checks_are_rate_limited_per_address(client, runtime):
    for _ in range(runtime.settings.receipt_checks_per_address_minute):
        assert client.get("/api/receipts/0000-0000-0000-0").status_code == 200
    refused = client.get("/api/receipts/0000-0000-0000-0")
    assert refused.status_code == 429 and "wait a minute" in refused.get_json()["message"]


def test_a_provider_outage_leaves_notices_pending_and_they_go_once_when_it_returns(
    clerk, runtime, sms
):
    certified_person(clerk, "50010319450301123X", phone="13900001111")
    certified_person(clerk, "500103194806122340", phone="13900002222")
    channel = tencent(sms)
    sms.down = True
    report = deliver(runtime, {Channel.SMS: channel})
    assert report.delivered == 0 and report.retrying == 2
    assert sms.requests == 1  # the channel was found down once; the other waited untried
    rows = deliveries(runtime)
    assert {r["status"] for r in rows} == {"pending"}
    assert sorted(r["attempts"] for r in rows) == [0, 1]
    assert all(r["failures"] == 0 for r in rows)  # an outage never counts toward giving up
    for _ in range(8):  # a long outage: still pending, never dead
        deliver(runtime, {Channel.SMS: channel})
    assert {r["status"] for r in deliveries(runtime)} == {"pending"}
    sms.down = False
    report = deliver(runtime, {Channel.SMS: channel})
    assert report.delivered == 2
    assert sorted(d.phone for d in sms.delivered) == ["13900001111", "13900002222"]
    assert deliver(runtime, {Channel.SMS: channel}).delivered == 0
    assert len(sms.delivered) == 2


def test_the_providers_rate_limit_defers_a_message_until_the_time_it_says(clerk, runtime, sms):
    person = certified_person(clerk, "50010319450301123X")
    sms.per_phone_per_minute = 1
    referred = clerk.post(
        f"/api/verification/referrals/{person['id']}", json={"reason": "邻居反映长期未见"}
    )
    assert referred.status_code == 201, referred.get_json()
    report = deliver(runtime, {Channel.SMS: aliyun(sms)})
    assert report.delivered == 1 and report.by_outcome == {"delivered": 1, "rate_limited": 1}
    waiting = [r for r in deliveries(runtime) if r["status"] == "pending"]
    assert len(waiting) == 1 and "isv.BUSINESS_LIMIT_CONTROL" in waiting[0]["last_error"]
    with runtime.database.connect() as conn:
        wait = conn.scalar(
            sa.text("SELECT next_attempt_at - now() FROM notice_deliveries WHERE status='pending'")
        )
    assert wait >= timedelta(seconds=55)


def test_a_refused_number_is_given_up_at_once_and_operators_can_send_it_again(
    clerk, login, runtime, sms
):
    from certification.vocabulary import AccountKind

    certified_person(clerk, "50010319450301123X")
    sms.refuse_with = "isv.MOBILE_NUMBER_ILLEGAL"
    report = deliver(runtime, {Channel.SMS: aliyun(sms)})
    assert report.dead == 1
    operator = login("ops", None, (), AccountKind.OPERATOR)
    dead = operator.get("/api/notices/deliveries?status=dead").get_json()["items"]
    assert len(dead) == 1 and "MOBILE_NUMBER_ILLEGAL" in dead[0]["last_error"]
    assert "13900001111" not in str(dead)  # operators see no address
    assert clerk.get("/api/notices/deliveries").status_code == 403
    again = operator.post(f"/api/notices/deliveries/{dead[0]['id']}/send-again")
    assert again.status_code == 200 and again.get_json()["status"] == "pending"
    sms.refuse_with = None
    assert deliver(runtime, {Channel.SMS: aliyun(sms)}).delivered == 1
    assert operator.get("/api/notices/backlog").get_json()["counts"]["delivered"] == 1


def _beneficiary_on_wechat(runtime: Runtime, person_id: str, openid: str) -> UUID:
    with runtime.use_case() as ctx:
        account = Account(
            kind=AccountKind.BENEFICIARY,
            display_name="张秀兰",
            person_id=UUID(person_id),
            identity_verified=True,
        )
        ctx.uow.accounts.add(account)
        ctx.uow.flush()
        ctx.uow.accounts.add_external(
            ExternalIdentity(provider="wechat", subject=openid, account_id=account.id)
        )
        ctx.uow.notices.add_preferences(NoticePreferences(UUID(person_id), [Channel.WECHAT]))
        ctx.uow.notices.set_wechat_accepted(account.id, True, datetime.now(UTC))
        ctx.uow.commit()
        return account.id


def test_wechat_subscribe_messages_cache_the_token_and_stop_when_the_user_refuses(
    clerk, runtime, wechat
):
    first = certified_person(clerk, "50010319450301123X", phone=None)
    second = new_person(clerk, "500103194806122340")
    grant(clerk, second["id"])
    _beneficiary_on_wechat(runtime, first["id"], "openid-first")
    second_account = _beneficiary_on_wechat(runtime, second["id"], "openid-second")
    wechat.subscribed = {"openid-first"}  # the second never accepted in the mini-program
    channel = WeChatSubscribeChannel(
        wechat_api.APPID, wechat_api.SECRET, {"certified": "TPL-certified"}, api_base=wechat.url
    )
    with runtime.database.begin() as conn:  # the first one's notice came before the account
        conn.execute(sa.text("DELETE FROM notices"))
    for person in (first, second):
        assert (
            clerk.post(
                f"/api/persons/{person['id']}/certifications", json={"channel": "partner_bank"}
            ).status_code
            == 201
        )
    report = deliver(runtime, {Channel.WECHAT: channel})
    assert report.delivered == 1 and report.dead == 1
    [sent] = wechat.sent
    assert sent.touser == "openid-first" and sent.template_id == "TPL-certified"
    assert (
        sent.data["thing1"] == "认证成功"
        and sent.data["date2"] == runtime.clock.today().isoformat()
    )
    assert wechat.tokens_issued == 1 and channel.tokens_fetched == 1
    with runtime.database.connect() as conn:
        accepted = conn.scalar(
            sa.text("SELECT accepted FROM wechat_subscriptions WHERE account_id = :a"),
            {"a": second_account},
        )
    assert accepted is False  # 43101: the next notice goes another way
    wechat.expire_token()  # WeChat replaced the token: one new token, the message still goes
    assert (
        clerk.post(
            f"/api/persons/{first['id']}/certifications",
            json={"channel": "bank_in_person", "certified_at": datetime.now(UTC).isoformat()},
        ).status_code
        == 201
    )
    assert deliver(runtime, {Channel.WECHAT: channel}).delivered == 1
    assert len(wechat.sent) == 2 and channel.tokens_fetched == 2


def _context(runtime: Runtime, uow: Any, today: date) -> UseCaseContext:
    clock = FakeClock(datetime(today.year, today.month, today.day, 2, tzinfo=UTC))
    return UseCaseContext(uow=uow, clock=clock, config=runtime.procedure)


def test_reminders_catch_up_missed_days_once_and_reach_the_family_when_asked(clerk, runtime, sms):
    person = certified_person(clerk, "50010319450301123X")
    family = Account(kind=AccountKind.FAMILY, display_name="李明", phone="13900009999")
    with runtime.use_case() as ctx:
        ctx.uow.accounts.add(family)
        ctx.uow.flush()
        ctx.uow.bindings.add(
            FamilyBinding(family.id, UUID(person["id"]), "child", status=BindingStatus.ACTIVE)
        )
        ctx.uow.notices.add_preferences(
            NoticePreferences(UUID(person["id"]), [Channel.SMS], family_copy=True)
        )
        due_on = ctx.uow.persons.get(UUID(person["id"])).due_on
        ctx.uow.commit()
    deliver(runtime, {Channel.SMS: aliyun(sms)})  # the certification's own notice
    sms.delivered.clear()

    def run_on(day: date) -> int:
        with runtime.uow() as uow:
            return send_due_reminders(_context(runtime, uow, day))

    # the job did not run 60 nor 30 days before: 25 days before, one reminder covers both
    assert run_on(due_on - timedelta(days=25)) == 1
    assert run_on(due_on - timedelta(days=25)) == 0  # a rerun the same day sends nothing
    assert run_on(due_on - timedelta(days=20)) == 0  # nothing new is owed yet
    pushed: list[Any] = []

    class App(LoggingPush):
        def send(self, message: Any) -> str:
            pushed.append(message)
            return super().send(message)

    deliver(runtime, {Channel.SMS: aliyun(sms), Channel.PUSH: App()})
    person_got = sms.to("13900001111")
    assert [d.template for d in person_got] == [TEMPLATES["reminder"]]
    assert person_got[0].values[:2] == ["张**", due_on.isoformat()]
    code = person_got[0].values[2]
    # the family member is told in their own app (their account), with the same check code
    assert [(m.address, m.kind, m.params) for m in pushed if m.kind == "reminder"] == [
        (str(family.id), "reminder",
         {"name": "张**的亲属", "due_on": due_on.isoformat(), "code": code})
    ]  # fmt: skip
    assert not sms.to("13900009999")
    # 7 days before, on the day (missed), then overdue: each stage once
    assert run_on(due_on - timedelta(days=7)) == 1
    assert run_on(due_on + timedelta(days=2)) == 1  # the due-date one was missed: overdue
    assert run_on(due_on + timedelta(days=3)) == 0
    with runtime.database.connect() as conn:
        stages = sorted(conn.scalars(sa.text("SELECT days_before FROM reminders")))
        kinds = list(conn.scalars(sa.text("SELECT kind FROM notices ORDER BY created_at")))
    assert stages == [-1, 0, 7, 30, 60]
    assert kinds == ["certified", "reminder", "reminder", "overdue"]


def test_people_no_phone_reaches_get_a_printed_letter_in_their_townships_batch(
    client, clerk, login, runtime, make_region
):
    make_region("500103001")
    person = new_person(clerk, "50010319450301123X", region="500103001")
    changed = clerk.patch(
        f"/api/persons/{person['id']}",
        json={"address": "重庆市渝中区解放碑街道民族路1号", "reason": "登记住址"},
        headers={"If-Match": _etag(clerk, person["id"])},
    )
    assert changed.status_code == 200, changed.get_json()
    grant(clerk, person["id"])
    assert (
        clerk.post(
            f"/api/persons/{person['id']}/certifications", json={"channel": "partner_bank"}
        ).status_code
        == 201
    )
    assert deliver(runtime, {Channel.PUSH: LoggingPush()}).delivered == 0  # letters wait
    with runtime.use_case() as ctx:
        [batch] = print_letters(ctx, runtime.documents, runtime.object_store)
    assert (batch["township_code"], batch["letters"]) == ("500103001", 1)
    assert [r["status"] for r in deliveries(runtime)] == ["delivered"]
    township = login("jfb.clerk", "500103001", ("clerk",))
    listed = township.get("/api/notices/letters").get_json()["items"]
    assert [b["id"] for b in listed] == [str(batch["id"])]
    pdf = township.get(f"/api/notices/letters/{batch['id']}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    other = login("other.clerk", "500104", ("clerk",))
    assert other.get(f"/api/notices/letters/{batch['id']}/pdf").status_code == 403
    # an address removed before the day's printing: that letter is not counted as sent
    assert (
        clerk.post(
            f"/api/persons/{person['id']}/certifications",
            json={"channel": "bank_in_person", "certified_at": datetime.now(UTC).isoformat()},
        ).status_code
        == 201
    )
    deliver(runtime, {Channel.PUSH: LoggingPush()})  # routed to a letter
    with runtime.database.begin() as conn:
        conn.execute(sa.text("UPDATE persons SET address = NULL"))
    with runtime.use_case() as ctx:
        assert print_letters(ctx, runtime.documents, runtime.object_store) == []
    assert [r["status"] for r in deliveries(runtime)] == ["delivered", "dead"]
    assert "no address now" in deliveries(runtime)[1]["last_error"]


def test_quiet_hours_hold_ordinary_notices_but_not_an_account_takeover_warning(clerk, runtime):
    from certification.services.notices import tell

    person = certified_person(clerk, "50010319450301123X")
    with runtime.use_case() as ctx:
        loaded = ctx.uow.persons.get(UUID(person["id"]))
        tell(ctx, loaded, NoticeKind.ACCOUNT_CONFIRMED, key=str(uuid4()))
        ctx.uow.commit()
    sent: list[str] = []

    class Recording:
        name = "sms"

        def send(self, message: Any) -> str:
            sent.append(message.kind)
            return "ok"

    always_quiet = DeliveryPolicy(quiet_from=datetime.min.time(),
                                  quiet_until=datetime.max.time())  # fmt: skip
    deliver(runtime, {Channel.SMS: Recording()}, always_quiet)
    assert sent == ["account_confirmed"]
    deliver(runtime, {Channel.SMS: Recording()}, NOW_POLICY)
    assert sent == ["account_confirmed", "certified"]


def test_only_the_person_reads_and_sets_how_they_are_told(client, clerk, runtime):
    cid = "50010319450301123X"
    person = certified_person(clerk, cid, phone="13900001111")
    me = app_sign_up(client, runtime, "13900001111", cid, "张秀兰")
    squatter = app_sign_up(client, runtime, "13900003333", cid, "张秀兰")
    linked_at_counter(client, clerk, me, cid, "张秀兰")

    # nobody else reads or changes them: the dropped squatter, a clerk, a stranger
    for headers in (squatter, clerk.headers):
        for url in ("/api/me/notices", "/api/me/notices/preferences", "/api/me/receipts/latest"):
            assert client.get(url, headers=headers).status_code == 403, url
        put = client.put("/api/me/notices/preferences", json={"channels": ["sms"]}, headers=headers)
        assert put.status_code == 403
    assert client.get("/api/me/notices").status_code == 401
    assert (
        client.put(
            "/api/me/notices/wechat", json={"accepted": True}, headers=clerk.headers
        ).status_code
        == 403
    )

    prefs = client.get("/api/me/notices/preferences", headers=me).get_json()
    assert (prefs["channels"], prefs["chosen"]) == (["push"], False)  # the app, by default
    assert prefs["reachable"] == {"sms": True, "wechat": False, "push": True, "letter": False}
    for body, field in (
        ({"channels": ["letter"]}, "channels"),  # no address on record
        ({"channels": ["wechat"]}, "channels"),  # never accepted in the mini-program
        ({"channels": ["fax"]}, "channels"),
        ({"channels": []}, "channels"),
        ({"channels": ["sms"] * 50}, "channels"),
        ({"channels": ["sms"], "language": "fr"}, "language"),
        ({"channels": ["sms"], "colour": "red"}, "colour"),
    ):
        refused = client.put("/api/me/notices/preferences", json=body, headers=me)
        assert refused.status_code == 422, (body, refused.get_json())
        assert field in str(refused.get_json()), body
    assert client.get("/api/me/notices/preferences", headers=me).get_json()["chosen"] is False
    chosen = client.put(
        "/api/me/notices/preferences",
        json={"channels": ["sms", "push", "sms"], "language": "en", "family_copy": True},
        headers=me,
    )
    assert chosen.status_code == 200, chosen.get_json()
    assert (chosen.get_json()["channels"], chosen.get_json()["version"]) == (["sms", "push"], 1)
    stale = client.put(
        "/api/me/notices/preferences",
        json={"channels": ["push"], "version": 7},
        headers=me,
    )
    assert stale.status_code == 412
    assert client.get("/api/me/notices/preferences", headers=me).get_json()["channels"] == [
        "sms", "push",
    ]  # fmt: skip

    inbox = client.get("/api/me/notices", headers=me).get_json()
    assert [n["kind"] for n in inbox] == ["account_confirmed", "certified"]
    assert inbox[0]["title"] == "Account confirmed"  # in the language chosen
    assert client.get("/api/me/notices?limit=1000", headers=me).status_code == 422

    receipt = client.get("/api/me/receipts/latest", headers=me).get_json()
    assert receipt["masked_name"] == "张**" and receipt["verify_url"].endswith(receipt["code"])
    pdf = client.get(f"/api/me/receipts/{receipt['code']}/pdf", headers=me)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    theirs = client.get(f"/api/me/receipts/{receipt['code']}/pdf", headers=squatter)
    assert theirs.status_code == 404
    assert person["id"] not in str(client.get(f"/api/receipts/{receipt['code']}").get_json())
