"""The capture page in a real browser: Chromium's fake camera plays a real selfie clip, the
page records it with MediaRecorder, uploads it through the presigned POST and certifies."""

from datetime import date

import pytest

from certification.citizen_id import make_citizen_id
from infra.sms import AliyunSms
from tests.e2e.conftest import CAMERA_CLIP, screenshot
from tests.integration.conftest import app_sign_up
from tests.standins import sms_provider

pytestmark = [pytest.mark.postgres, pytest.mark.s3, pytest.mark.browser]


@pytest.fixture
def sms_standin(runtime):  # type: ignore[no-untyped-def]
    """Text messages go through the Alibaba Cloud adapter to the stand-in provider."""
    state, server = sms_provider.start()
    original = runtime.sms
    runtime.sms = AliyunSms(
        sms_provider.ALIYUN_KEY_ID,
        sms_provider.ALIYUN_SECRET,
        "重庆社保",
        "SMS_000001",
        endpoint=state.url + "/",
    )
    yield state
    runtime.sms = original
    server.shutdown()


def sign_in_by_text_message(page, sms_standin, phone):  # type: ignore[no-untyped-def]
    page.goto("/capture")
    page.fill("#login-phone", phone)
    page.click("#code-button")
    page.locator("#message", has_text="5").wait_for()
    code = sms_standin.last_code(phone)
    assert code, "the stand-in provider received no message"
    page.fill("#login-code", code)
    page.click("#login-button")


def test_the_capture_page_signs_in_by_text_message_confirms_the_claim_by_face_and_certifies(
    worker, enrolled, challenge, clerk, runtime, new_page, sms_standin
):
    challenge("blink")
    p = enrolled(CAMERA_CLIP, seq=31, sign_up=False)
    before = clerk.get(f"/api/persons/{p.person['id']}").get_json()["period"]["due_on"]
    page = new_page(mobile=True)
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.url) if r.method == "POST" else None)
    sign_in_by_text_message(page, sms_standin, "13912345678")
    screenshot(page, "capture-1-sign-in")
    page.wait_for_selector("#step-register:not([hidden])")
    page.fill("#register-cid", p.citizen_id)
    page.fill("#register-name", "王建国")
    page.click("#register-button")
    page.wait_for_selector("#claim-box:not([hidden])")
    assert page.get_attribute("#capture", "data-claim") == "pending"
    screenshot(page, "capture-2-claim")
    page.click("#claim-button")
    page.wait_for_selector("#step-consent:not([hidden])")  # the face is not processed unasked
    assert "3年" in page.inner_text("#consent-zh")
    screenshot(page, "capture-2b-consent")
    page.click("#consent-button")
    page.wait_for_selector("#step-record:not([hidden])")
    page.wait_for_function("() => document.getElementById('preview').videoWidth > 0")
    page.click("#record-button")
    page.wait_for_function(
        "() => document.getElementById('instruction').textContent.includes('眨眼')"
    )
    screenshot(page, "capture-3-instruction")
    page.wait_for_selector("#step-outcome:not([hidden])", timeout=120_000)
    screenshot(page, "capture-4-outcome")
    outcome = page.get_attribute("#capture", "data-outcome")
    assert outcome == "pass", page.inner_text("#step-outcome")
    assert "本人" in page.inner_text("#outcome-title")
    bucket_posts = [u for u in uploads if "/api/" not in u]
    assert bucket_posts, uploads  # the video went straight to the object store
    page.click("#home-button")
    page.wait_for_selector("#step-home:not([hidden])")
    page.wait_for_selector("#capture[data-due-on]:not([data-due-on=''])")
    assert page.is_hidden("#claim-box")
    person = clerk.get(f"/api/persons/{p.person['id']}").get_json()
    today = runtime.clock.today()
    assert person["period"]["due_on"] == today.replace(year=today.year + 1).isoformat()
    assert person["period"]["due_on"] != before
    assert page.get_attribute("#capture", "data-due-on") == person["period"]["due_on"]
    certs = clerk.get(f"/api/persons/{p.person['id']}/certifications").get_json()["items"]
    assert [c["channel"] for c in certs] == ["self_service_face"]


def test_a_family_member_certifies_their_father_on_the_capture_page(
    worker, enrolled, challenge, clerk, client, new_page, runtime, sms_standin
):
    from tests.e2e.test_family_and_limits import approved_binding

    challenge("blink")
    p = enrolled(CAMERA_CLIP, seq=32)
    phone = "13700006161"
    son_cid = make_citizen_id("500103", date(1978, 6, 1), 61).value
    son = app_sign_up(client, runtime, phone, son_cid, "王小明", read_code=sms_standin.last_code)
    approved_binding(client, clerk, son, p.citizen_id, reason="both came to the counter")

    page = new_page(mobile=True)
    sign_in_by_text_message(page, sms_standin, phone)
    page.wait_for_selector("#family-choice:not([hidden])")
    assert "王*国" in page.inner_text("#person-choice")
    page.check("#gentle")
    screenshot(page, "capture-family-choice")
    page.click("#start-button")
    page.wait_for_selector("#step-record:not([hidden])")
    page.click("#record-button")
    page.wait_for_selector("#step-outcome:not([hidden])", timeout=120_000)
    assert page.get_attribute("#capture", "data-outcome") == "pass", page.inner_text("main")
    certs = clerk.get(f"/api/persons/{p.person['id']}/certifications").get_json()["items"]
    assert [c["channel"] for c in certs] == ["family_assisted"]
    son_id = client.get("/api/auth/me", headers=son).get_json()["account"]["id"]
    assert certs[0]["assisted_by"] == son_id

    # the result shows the receipt and the next due date; the receipt checks on the public page
    page.wait_for_selector("#outcome-receipt:not([hidden])")
    code = page.get_attribute("#capture", "data-receipt")
    due = clerk.get(f"/api/persons/{p.person['id']}").get_json()["period"]["due_on"]
    assert (
        code
        and code in page.inner_text("#outcome-receipt")
        and due in page.inner_text("#outcome-receipt")
    )
    screenshot(page, "capture-family-receipt")
    # back home: the father's record as the son sees it, and a home visit asked for him
    page.click("#home-button")
    page.wait_for_selector("#overview:not([hidden])")
    assert page.get_attribute("#capture", "data-due-on") == due
    assert "王*国" in page.inner_text("#due") and p.citizen_id not in page.inner_text("main")
    assert page.is_hidden("#notices-box")  # the father's inbox is his own
    page.click("#visit-button")
    page.locator("#message", has_text="上门").wait_for()
    visits = clerk.get("/api/home-visits").get_json()["items"]
    assert [(v["person_id"], v["requested_via"]) for v in visits] == [(p.person["id"], "family")]
    check = new_page(mobile=True)
    check.goto(f"/verify/{code}")
    assert "有效回执" in check.inner_text("#result")
    check.goto(f"/verify/{code[:-1]}{'0' if code[-1] != '0' else '1'}")
    assert "无效" in check.inner_text("#result")


def test_a_pensioner_contests_a_rejected_review_on_the_capture_page_and_sees_the_answer(
    client, clerk, login, runtime, new_page, sms_standin
):
    from tests.integration.conftest import grant, linked_at_counter, new_person, rejected_review

    cid = make_citizen_id("500103", date(1944, 8, 8), 41).value
    person = new_person(clerk, cid, name="刘桂英")
    grant(clerk, person["id"], start_date="2010-05-01")
    phone = "13600004141"
    me = app_sign_up(client, runtime, phone, cid, "刘桂英", read_code=sms_standin.last_code)
    linked_at_counter(client, clerk, me, cid, "刘桂英")  # she showed her ID card
    rejected_review(runtime, login("yuzhong.reviewer", "500103", ("reviewer",)), person["id"])

    page = new_page(mobile=True)
    sign_in_by_text_message(page, sms_standin, phone)
    page.wait_for_selector("#contest-box:not([hidden])")
    assert "审核未通过" in page.inner_text("#contestable")
    assert "乡镇" in page.inner_text("#tasks")  # the rejection sent her to the township
    page.click(".appeal-button")
    page.fill("#appeal-statement", "视频是我本人录的，家里光线暗")
    screenshot(page, "capture-appeal-form")
    page.click("#appeal-submit")
    page.wait_for_selector("#appeals li[data-status='open']")
    assert page.is_hidden("#contest-box")  # contested: no second appeal button
    screenshot(page, "capture-appeal-open")

    (appeal,) = clerk.get("/api/appeals?status=open").get_json()["items"]
    assert appeal["statement"] == "视频是我本人录的，家里光线暗"
    etag = clerk.get(f"/api/appeals/{appeal['id']}").headers["ETag"]
    decided = clerk.put(
        f"/api/appeals/{appeal['id']}/decision",
        json={"outcome": "upheld", "reason": "looked again in better contrast: it is her"},
        headers={"If-Match": etag},
    )
    assert decided.status_code == 200, decided.get_json()

    page.reload()
    sign_in_by_text_message(page, sms_standin, phone)
    page.wait_for_selector("#appeals li[data-status='upheld']")
    assert "it is her" in page.inner_text("#appeals")
    page.wait_for_selector("#receipt:not([hidden])")
    assert page.get_attribute("#capture", "data-standing") == "certified"
    assert "申诉结果" in page.inner_text("#notices") and "申诉已受理" in page.inner_text("#notices")
    assert page.is_hidden("#tasks li") or page.inner_text("#tasks") == ""
    screenshot(page, "capture-appeal-upheld")
