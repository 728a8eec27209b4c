"""The capture page in a real browser: Chromium's fake camera plays a real selfie clip, the
page records it with MediaRecorder, uploads it through the presigned POST and certifies."""

import pytest

from tests.e2e.conftest import CAMERA_CLIP, screenshot

pytestmark = [pytest.mark.postgres, pytest.mark.s3, pytest.mark.browser]


def test_the_capture_page_certifies_the_pensioner_with_the_front_camera(
    worker, enrolled, challenge, clerk, runtime, new_page
):
    challenge("blink")
    p = enrolled(CAMERA_CLIP, seq=31)
    before = clerk.get(f"/api/persons/{p.person['id']}").get_json()["period"]["due_on"]
    page = new_page(mobile=True)
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.url) if r.method == "POST" else None)
    page.goto("/capture")
    page.fill("#login-code", "dev:p31")
    screenshot(page, "capture-1-sign-in")
    page.click("#login-button")
    page.wait_for_selector("#step-home:not([hidden])")
    assert "王建国" in page.inner_text("#greeting")
    page.click("#start-button")
    page.wait_for_selector("#step-record:not([hidden])")
    page.wait_for_function("document.getElementById('preview').videoWidth > 0")
    page.click("#record-button")
    page.wait_for_function("document.getElementById('instruction').textContent.includes('眨眼')")
    screenshot(page, "capture-2-instruction")
    page.wait_for_selector("#step-outcome:not([hidden])", timeout=120_000)
    screenshot(page, "capture-3-outcome")
    outcome = page.get_attribute("#capture", "data-outcome")
    assert outcome == "pass", page.inner_text("#step-outcome")
    assert "认证成功" in page.inner_text("#outcome-title")
    bucket_posts = [u for u in uploads if "/api/" not in u]
    assert bucket_posts, uploads  # the video went straight to the object store
    person = clerk.get(f"/api/persons/{p.person['id']}").get_json()
    today = runtime.clock.today()
    assert person["period"]["due_on"] == today.replace(year=today.year + 1).isoformat()
    assert person["period"]["due_on"] != before
    certs = clerk.get(f"/api/persons/{p.person['id']}/certifications").get_json()["items"]
    assert [c["channel"] for c in certs] == ["self_service_face"]


def test_a_family_member_certifies_their_father_on_the_capture_page(
    worker, enrolled, challenge, clerk, client, new_page
):
    from tests.e2e.test_family_and_limits import approved_binding, family_member

    challenge("blink")
    p = enrolled(CAMERA_CLIP, seq=32)
    son = family_member(client, 61)
    approved_binding(client, clerk, son, p.citizen_id, reason="both came to the counter")

    page = new_page(mobile=True)
    page.goto("/capture")
    page.fill("#login-code", "dev:family61")
    page.click("#login-button")
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
