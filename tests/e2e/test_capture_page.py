"""The capture page in a real browser: Chromium's fake camera plays a real selfie clip, the
page records it with MediaRecorder, uploads it through the presigned POST and certifies."""

from datetime import date

import pytest

from certification.citizen_id import make_citizen_id
from infra.sms import AliyunSms
from tests.e2e.conftest import CAMERA_CLIP, screenshot
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
    assert client.post("/api/auth/sms/code", json={"phone": phone}).status_code == 202
    first = client.post(
        "/api/auth/sms/login", json={"phone": phone, "code": sms_standin.last_code(phone)}
    ).get_json()
    made = client.post(
        "/api/auth/mobile/register",
        json={
            "registration_token": first["registration_token"],
            "citizen_id": make_citizen_id("500103", date(1978, 6, 1), 61).value,
            "name": "王小明",
        },
    ).get_json()
    son = {"Authorization": f"Bearer {made['access_token']}"}
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
