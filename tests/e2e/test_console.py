"""The staff console and the public tip-off page in a real browser (Debian's Chromium)."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from certification.access import Actor
from certification.citizen_id import make_citizen_id
from certification.services.persons import load_person
from certification.services.verification import dispatch_task
from certification.vocabulary import AccountKind
from tests.biometrics.conftest import SELFIES
from tests.e2e.conftest import console_sign_in, screenshot, upload_presigned, wait_for
from tests.integration.conftest import PASSWORD, grant, new_person

pytestmark = [pytest.mark.postgres, pytest.mark.s3, pytest.mark.browser]

PHOTOS = SELFIES.parents[1] / "photos"


@pytest.fixture(autouse=True)
def fresh_limits(runtime):
    runtime.limiter.reset()


def failed_case(p, worker_ready=True):
    body = p.app.post("/api/selfservice/sessions", json={}).get_json()
    upload_presigned(body, (SELFIES / "driving_d3.mp4").read_bytes())  # someone else's face
    p.app.post(
        f"/api/selfservice/sessions/{body['session_id']}/submit", json={"nonce": body["nonce"]}
    )
    return wait_for(
        lambda: p.app.get(f"/api/selfservice/sessions/{body['session_id']}").get_json(),
        lambda s: s["state"] not in ("open", "pending"),
    )


def test_a_reviewer_approves_a_case_and_a_second_reviewer_is_told_it_was_decided(
    worker, enrolled, challenge, clerk, login, new_page
):
    challenge("blink")
    p = enrolled("driving_d9")
    assert failed_case(p)["state"] == "fail"
    login("console.reviewer", "500103", ("reviewer",))
    login("console.reviewer2", "500103", ("reviewer",))

    first, second = new_page(), new_page()
    console_sign_in(first, "console.reviewer", PASSWORD)
    console_sign_in(second, "console.reviewer2", PASSWORD)
    first.goto("/console/review")
    first.click("#cases a")
    case_url = first.url
    second.goto(case_url)
    checks = first.inner_text("#checks")
    assert "face_match" in checks and "未通过" in checks
    assert first.eval_on_selector("video", "v => v.src").endswith("/media/video")
    first.wait_for_function(
        "[...document.images].every(i => i.complete && i.naturalWidth > 0)"
    )  # the enrolled photo and the best frames load, through the console
    screenshot(first, "console-review-case")

    first.check("input[name=decision][value=approve]")
    first.fill("textarea[name=comment]", "本人到窗口核验，确认为本人")
    first.click("#decision-form button[type=submit]")
    assert first.inner_text("#case-status") == "approved"

    second.check("input[name=decision][value=reject]")
    second.fill("textarea[name=comment]", "视频与登记照片不符")
    second.click("#decision-form button[type=submit]")
    message = second.inner_text(".flash.error")
    assert "Someone else changed this case" in message or "already decided" in message, message
    assert second.inner_text("#case-status") == "approved"
    certs = clerk.get(f"/api/persons/{p.person['id']}/certifications").get_json()["items"]
    assert [c["channel"] for c in certs] == ["staff_review"]


@pytest.fixture
def township_task(runtime, clerk, make_region):
    make_region("500103001", "解放碑街道")
    cid = make_citizen_id("500103", date(1940, 6, 1), 41).value
    person = new_person(clerk, cid, region="500103001", name="赵桂芳")
    grant(clerk, person["id"], start_date="2012-01-01")
    with runtime.use_case() as ctx:
        loaded = load_person(ctx, person["id"])
        task = dispatch_task(
            ctx,
            Actor.system("test"),
            loaded,
            work_injury=False,
            source="staff",
            source_id=None,
        )
        ctx.uow.commit()
        return person, task.id


def test_a_township_clerk_records_a_verification_with_an_uploaded_photo(
    township_task, login, clerk, new_page, tmp_path
):
    person, task_id = township_task
    login("jiefangbei.clerk", "500103001", ("clerk",))
    page = new_page()
    console_sign_in(page, "jiefangbei.clerk", PASSWORD)
    page.goto("/console/tasks")
    assert "赵桂芳" in page.inner_text("#tasks")
    page.click("#tasks a")
    screenshot(page, "console-task")
    assert page.inner_text("#task-reason") == "staff"  # dispatched by hand, no reason given
    page.select_option("#contact-form select[name=channel]", "visit")
    page.select_option("#contact-form select[name=outcome]", "reached")
    page.click("#contact-form button")
    assert "visit · reached" in page.inner_text("#contacts")

    fake = tmp_path / "photo.jpg"
    fake.write_text("not a photo at all")
    page.set_input_files("#evidence-form input[type=file]", str(fake))
    page.click("#evidence-form button")
    assert "content was checked" in page.inner_text(".flash.error")

    photo = sorted(PHOTOS.rglob("*.jpg"))[0]
    page.set_input_files("#evidence-form input[type=file]", str(photo))
    page.click("#evidence-form button")
    assert ".jpg" in page.inner_text("#evidence")

    page.select_option("#visit-form select[name=reason]", "elderly")
    page.fill("#visit-form input[name=contact_phone]", "13612345678")
    page.click("#visit-form button")
    task_url = page.url
    page.goto("/console/visits")
    assert "赵桂芳" in page.inner_text("#visits")
    page.fill("#visits input[name=scheduled_on]", "2099-01-05")
    page.click("#visits button:has-text('安排')")
    assert "scheduled 2099-01-05" in page.inner_text("#visits")
    page.click("#visits a.visit-result")  # the visit's result is recorded on its task
    assert page.url == task_url

    page.select_option("#result-form select[name=result]", "qualified")
    page.select_option("#result-form select[name=channel]", "home_visit")
    page.fill("textarea[name=note]", "入户走访，本人健在")
    page.click("#result-form button[type=submit]")
    assert page.inner_text("#task-status") == "done"
    certs = clerk.get(f"/api/persons/{person['id']}/certifications").get_json()["items"]
    assert [c["channel"] for c in certs] == ["township_verification"]
    assert certs[0]["evidence"] and certs[0]["evidence"][0].startswith(f"verification/{task_id}/")

    page.goto("/console/visits?status=done")  # the visit took place: done, with the result
    assert "done" in page.inner_text("#visits") and "入户走访" in page.inner_text("#visits")

    ledger = page.request.get("/console/tasks/ledger.csv")
    assert ledger.ok and "赵桂芳" in ledger.text()


def test_a_clerk_of_another_district_gets_no_access(township_task, login, new_page):
    _person, task_id = township_task
    login("jiangbei.other", "500105", ("clerk", "reviewer"))
    page = new_page()
    console_sign_in(page, "jiangbei.other", PASSWORD)
    page.goto("/console/tasks")
    assert "赵桂芳" not in page.inner_text("#tasks")
    response = page.goto(f"/console/tasks/{task_id}")
    assert response.status == 403
    assert "outside your region" in page.inner_text(".flash.error")
    screenshot(page, "console-no-access")
    page.click("text=English")
    assert "Verification tasks" in page.inner_text("header nav")
    page.goto("/console/tasks")
    assert "Verification tasks" in page.inner_text("h1")
    anonymous = new_page()
    anonymous.goto(f"/console/tasks/{task_id}")
    assert "/console/login" in anonymous.url


def answer(question: str) -> str:
    a, b = re.search(r"(\d+) \+ (\d+) = \?", question).groups()
    return str(int(a) + int(b))


def test_a_tip_off_is_submitted_investigated_and_closed_with_a_reward(login, new_page, runtime):
    page = new_page(mobile=True)
    page.goto("/tipoff")
    assert "12333" in page.inner_text(".channels")
    page.select_option("select[name=category]", "death_concealed")
    page.fill("input[name=subject_name]", "钱某<b>")
    page.select_option("select[name=district_code]", "500103")
    page.fill(
        "textarea[name=description]",
        "<script>alert('x')</script>钱某去年已去世，家属仍在领取养老金",
    )
    page.fill("input[name=reporter_name]", "孙举报")
    page.fill("input[name=reporter_phone]", "13900001111")
    page.check("input[name=wants_reward]")
    page.fill("input[name=check_answer]", "999")  # wrong: refused with a field message
    page.wait_for_timeout(3100)  # people take a few seconds; scripts do not
    page.click("#tipoff-form button[type=submit]")
    assert "验证问题" in page.inner_text(".field-error")
    assert page.input_value("textarea[name=description]").startswith("<script>")  # kept
    page.fill("input[name=check_answer]", answer(page.inner_text("#check-question")))
    page.wait_for_timeout(3100)
    screenshot(page, "tipoff-form")
    page.click("#tipoff-form button[type=submit]")
    reference = page.inner_text("#reference")
    assert re.fullmatch(r"JB-\d{8}-[A-Z0-9]{6}", reference)
    screenshot(page, "tipoff-received")

    login("jiefangbei.investigator", "500103001", ("investigator",))
    township = new_page()
    console_sign_in(township, "jiefangbei.investigator", PASSWORD)
    township.goto("/console/tipoffs")
    assert reference not in township.inner_text("#tipoffs")  # a district's, not a township's

    login("yuzhong.investigator", "500103", ("investigator",))
    login("yuzhong.colleague", "500103", ("investigator",))
    login("yuzhong.supervisor", "500103", ("investigator", "supervisor"))
    colleague = new_page()
    console_sign_in(colleague, "yuzhong.colleague", PASSWORD)
    staff = new_page()
    console_sign_in(staff, "yuzhong.investigator", PASSWORD)
    staff.goto("/console/tipoffs")
    staff.fill("#lookup-form input[name=reference]", reference.lower())  # quoted on the phone
    staff.click("#lookup-form button")
    tip_url = staff.url
    assert reference in staff.inner_text("h1")
    assert "<script>" in staff.inner_text("#tip-description")  # shown as text, never run
    assert "13900001111" not in staff.inner_text("#reporter")  # not assigned yet
    assert not staff.is_visible("#assign-form")  # an investigator does not choose their cases
    supervisor = new_page()
    console_sign_in(supervisor, "yuzhong.supervisor", PASSWORD)
    supervisor.goto(tip_url)
    supervisor.fill("#assign-form input[name=investigator]", "yuzhong.supervisor")
    supervisor.click("#assign")
    assert "someone else" in supervisor.inner_text(".flash.error, main")
    supervisor.goto(tip_url)
    supervisor.fill("#assign-form input[name=investigator]", "yuzhong.investigator")
    supervisor.click("#assign")
    assert "13900001111" not in supervisor.inner_text("#reporter")  # only the assignee sees it
    staff.goto(tip_url)
    assert "13900001111" in staff.inner_text("#reporter")
    colleague.goto(tip_url)
    assert "13900001111" not in colleague.inner_text("#reporter")
    staff.fill("#findings-form textarea", "经核实，钱某已于去年死亡，家属代领")
    staff.click("#findings-form button")
    staff.check("#close-form input[value=yes]")
    staff.fill("#close-form input[name=recovered]", "36000")
    staff.click("#close-form button")
    assert staff.inner_text("#tip-status") == "investigating"  # a second investigator confirms
    assert staff.is_visible("#closure-pending") and not staff.is_visible("#confirm-form")
    colleague.goto(tip_url)
    colleague.click("#confirm-form button:not(.secondary)")
    staff.goto(tip_url)
    assert staff.inner_text("#tip-status") == "substantiated"
    assert "¥2,300.00" in staff.inner_text("#reward")
    assert staff.is_visible("#pay-elsewhere") and not staff.is_visible("#pay-form")
    colleague.goto(tip_url)  # the payment is recorded by a second investigator
    colleague.fill("#pay-form input[name=payment_ref]", "JL-2026-0001")
    colleague.click("#pay-form button")
    assert "JL-2026-0001" in colleague.inner_text("#reward")
    screenshot(colleague, "console-tipoff-closed")

    # a report that came by phone is entered by staff and gets its own reference
    staff.goto("/console/tipoffs")
    staff.click("#intake summary")
    staff.select_option("#intake-form select[name=channel]", "phone")
    staff.fill("#intake-form input[name=subject_name]", "赵某")
    staff.fill("#intake-form input[name=district_code]", "500103")
    staff.fill("#intake-form textarea[name=description]", "来电反映赵某已出国定居多年")
    staff.click("#intake-form button")
    assert "JB-" in staff.inner_text(".flash")
    staff.goto("/console/tipoffs?status=received")
    assert "赵某" in staff.inner_text("#tipoffs")


def test_the_dashboard_audit_and_comparison_pages(
    worker, enrolled, challenge, clerk, login, new_page, runtime
):
    challenge("blink", "nod")
    p = enrolled("driving_d9")  # born 1949: the 70-79 band
    body = p.app.post("/api/selfservice/sessions", json={}).get_json()
    upload_presigned(body, (SELFIES / "driving_d9.mp4").read_bytes())
    p.app.post(
        f"/api/selfservice/sessions/{body['session_id']}/submit", json={"nonce": body["nonce"]}
    )
    wait_for(
        lambda: p.app.get(f"/api/selfservice/sessions/{body['session_id']}").get_json(),
        lambda s: s["state"] == "pass",
    )
    other = new_person(clerk, make_citizen_id("500103", date(1958, 2, 2), 52).value)
    grant(clerk, other["id"], start_date="2018-03-01")
    counter = clerk.post(
        f"/api/persons/{other['id']}/certifications",
        json={"channel": "counter"},
    )
    assert counter.status_code == 201, counter.get_json()

    login("city.auditor", "500000", ("clerk", "auditor", "reviewer", "investigator"))
    page = new_page()
    console_sign_in(page, "city.auditor", PASSWORD)
    page.goto("/console/")
    assert page.inner_text("#self-service-share") == "50.0%"  # one of two certifications
    bands = page.inner_text("#by-age-band")
    assert re.search(r"70-79\s+1\s+100.0%", bands), bands
    screenshot(page, "console-dashboard")
    page.goto("/console/audit")
    page.click("#verify-chain")
    assert "Intact" in page.inner_text("#chain-result") or "完整" in page.inner_text(
        "#chain-result"
    )
    screenshot(page, "console-audit")

    login("console.operator", None, (), kind=AccountKind.OPERATOR)
    operator = new_page()
    console_sign_in(operator, "console.operator", PASSWORD)
    operator.goto("/console/runs")
    operator.click("#start-run button")
    expect(operator.locator("#run-status")).to_have_text(
        re.compile("^(applied|failed)$"), timeout=60_000
    )  # the progress bar follows the job, then the page shows the lists
    assert operator.inner_text("#run-status") == "applied", operator.inner_text("main")
    assert operator.get_attribute("#run-bar", "value") == "100"
    screenshot(operator, "console-run")
    # the operators' outbox: the app user's certification went to their app
    from datetime import time as clock_time

    from certification.notices import Channel, DeliveryPolicy
    from certification.services.notices import deliver_notices
    from infra.notice_channels import LoggingPush

    never_quiet = DeliveryPolicy(quiet_from=clock_time(0), quiet_until=clock_time(0))
    deliver_notices(runtime.use_case, {Channel.PUSH: LoggingPush()}, never_quiet)
    operator.goto("/console/outbox?status=delivered")
    assert "push" in operator.inner_text("#deliveries"), operator.inner_text("main")


def test_a_district_clerk_finds_a_person_and_works_the_record(worker, clerk, login, new_page):
    """Person search, then on the record: a contact attempt, the address, a referral to the
    township, a suspension, a certification that proposes restoring it, and the hand
    restoration that pays the arrears and answers the proposal."""
    made = clerk.post(
        "/api/persons",
        json={
            "citizen_id": make_citizen_id("500103", date(1938, 2, 2), 52).value,
            "name": "孙玉兰",
            "phone": "13512345678",
            "region_code": "500103",
            "address": "渝中区民族路 88 号",
        },
    )
    assert made.status_code == 201, made.get_json()
    person = made.get_json()
    grant(clerk, person["id"], start_date="2012-01-01")
    login("yuzhong.desk", "500103", ("clerk",))
    page = new_page()
    console_sign_in(page, "yuzhong.desk", PASSWORD)
    page.click("header nav >> text=人员")
    page.fill("#search-form input[name=q]", "135 1234 5678")  # typed with spaces
    page.click("#search-form button")
    page.click("#persons a:has-text('孙玉兰')")
    assert "民族路 88 号" in page.inner_text("#person-address")

    page.select_option("#contact-form select[name=channel]", "phone")
    page.select_option("#contact-form select[name=outcome]", "unreachable")
    page.click("#contact-form button")
    assert "unreachable" in page.inner_text("#contacts")

    page.fill("#refer-form input[name=reason]", "邻居反映老人长期不在家")
    page.click("#refer-form button")
    assert "邻居反映" in page.inner_text("#open-task")

    page.select_option("#suspend-form select[name=reason]", "other")
    page.fill("#suspend-form input[name=suspended_on]", "2026-09-01")
    page.fill("#suspend-form input[name=explanation]", "本人书面申请暂停领取")
    page.click("#suspend-form button")
    assert "suspended" in page.inner_text("#benefits")

    page.select_option("#certify-form select[name=channel]", "counter")
    page.fill("#certify-form input[name=evidence]", "窗口核验身份证")
    page.click("#certify-form button")
    assert "Restoration proposed" in page.inner_text(".flash")
    assert "counter" in page.inner_text("#certifications")
    assert page.locator("#open-task").count() == 0  # the certification settled the task
    screenshot(page, "console-person")

    photo = sorted(PHOTOS.rglob("*.jpg"))[0]
    page.set_input_files("#enrolment-form input[type=file]", str(photo))
    page.fill("#enrolment-form input[name=consent_ref]", "CF-2026-0316")
    page.click("#enrolment-form button")
    state = wait_for(  # the worker makes the template
        lambda: clerk.get(f"/api/persons/{person['id']}/enrolment").get_json(),
        lambda s: s["latest_request"]["status"] != "pending",
    )
    assert state["latest_request"]["status"] == "accepted", state
    page.reload()
    assert "accepted" in page.inner_text("#enrolment")

    page.fill(".restore-form input[name=reason]", "本人到窗口认证，恢复发放")
    page.click(".restore-form button")
    assert "active" in page.inner_text("#benefits")
    restore = clerk.get("/api/proposals?kind=restore").get_json()["items"]
    assert [(p["status"], p["arrears_fen"] > 0) for p in restore] == [("confirmed", True)]


def test_a_counter_clerk_anywhere_certifies_the_person_at_the_counter(clerk, login, new_page):
    """Art. 5 (全市同城通办): number and name must both match; the view is minimal."""
    cid = make_citizen_id("500103", date(1941, 3, 3), 53).value
    person = new_person(clerk, cid, name="周秀英")
    grant(clerk, person["id"], start_date="2012-01-01")
    login("jiangbei.counter", "500105", ("counter",))
    page = new_page()
    console_sign_in(page, "jiangbei.counter", PASSWORD)
    page.click("header nav >> text=窗口认证")
    page.fill("#lookup-form input[name=citizen_id]", cid)
    page.fill("#lookup-form input[name=name]", "周秀")  # not the name on the card
    page.click("#lookup-form button")
    assert "No person receiving benefits" in page.inner_text(".flash.error")
    page.fill("#lookup-form input[name=citizen_id]", cid)
    page.fill("#lookup-form input[name=name]", "周秀英")
    page.click("#lookup-form button")
    shown = page.inner_text("#counter-view")
    assert "500103********" in shown and cid not in shown  # another district: masked
    page.click("#certify-form button")  # the card read, but no reader record given
    assert "reader" in page.inner_text(".flash.error")
    page.fill("#lookup-form input[name=citizen_id]", cid)
    page.fill("#lookup-form input[name=name]", "周秀英")
    page.click("#lookup-form button")
    page.fill("#certify-form input[name=reader_ref]", "RD-0311-0042")
    page.click("#certify-form button")
    assert "next due" in page.inner_text(".flash")
    certs = clerk.get(f"/api/persons/{person['id']}/certifications").get_json()["items"]
    assert [(c["channel"], c["evidence"]) for c in certs] == [
        ("counter", ["id_card:chip:RD-0311-0042"])
    ]
    # made outside the clerk's district: the person's district reviews it
    (flagged,) = clerk.get("/api/certifications/to-review").get_json()["items"]
    assert flagged["review_flag"] == "outside_clerk_district"
    reviewed = clerk.post(f"/api/certifications/{flagged['id']}/review")
    assert reviewed.status_code == 200 and reviewed.get_json()["review_cleared_at"]


def test_a_district_clerk_answers_an_appeal_on_the_appeals_page(
    clerk, client, login, new_page, runtime
):
    from tests.integration.conftest import app_sign_up, linked_at_counter

    cid = make_citizen_id("500103", date(1947, 4, 4), 44).value
    person = new_person(clerk, cid, name="赵淑珍")
    grant(clerk, person["id"], start_date="2012-01-01")
    me = app_sign_up(client, runtime, "13500004444", cid, "赵淑珍")
    linked_at_counter(client, clerk, me, cid, "赵淑珍")
    suspended = clerk.post(
        f"/api/persons/{person['id']}/suspensions",
        json={"reason": "other", "explanation": "returned mail, nobody at the address"},
    )
    assert suspended.status_code == 201, suspended.get_json()
    (contest,) = client.get("/api/me/overview", headers=me).get_json()["contestable"]
    filed = client.post(
        "/api/me/appeals",
        json={**{k: contest[k] for k in ("subject", "subject_id")}, "statement": "我一直住在原址"},
        headers=me,
    )
    assert filed.status_code == 201, filed.get_json()

    page = new_page()
    console_sign_in(page, "yuzhong.clerk", PASSWORD)
    page.goto("/console/")
    assert "Appeals" in page.inner_text("main") or "申诉" in page.inner_text("main")
    page.click("nav a[href$='/appeals']")
    row = page.locator("#appeals tr", has_text="我一直住在原址")
    expect(row).to_have_count(1)
    screenshot(page, "console-appeals")
    row.locator("input[name=reason]").fill("the address was checked: she lives there")
    row.locator("button[value=upheld]").click()
    page.wait_for_selector(".flash, .ok", timeout=10_000)
    (answered,) = clerk.get("/api/appeals?status=upheld").get_json()["items"]
    # no certification since the suspension: the township verifies her first (Art. 21)
    assert answered["remedy"] == "verification_opened"
    (pension,) = clerk.get(f"/api/persons/{person['id']}/entitlements").get_json()
    assert pension["status"] == "suspended"


def test_two_clerks_annul_a_wrong_certification_on_the_person_page(clerk, login, new_page):
    cid = make_citizen_id("500103", date(1946, 6, 6), 46).value
    person = new_person(clerk, cid, name="吴桂兰")
    grant(clerk, person["id"], start_date="2012-01-01")
    before = clerk.get(f"/api/persons/{person['id']}").get_json()["period"]["due_on"]
    made = clerk.post(
        f"/api/persons/{person['id']}/certifications",
        json={"channel": "partner_bank", "evidence": ["bank record 7"]},
    )
    assert made.status_code == 201
    page = new_page()
    console_sign_in(page, "yuzhong.clerk", PASSWORD)
    page.goto(f"/console/persons/{person['id']}")
    page.click("#certifications details.annul summary")
    page.fill("#certifications details.annul input[name=reason]", "银行记录属于同名的另一人")
    page.click("#certifications details.annul button")
    assert "another clerk" in page.inner_text(".flash")
    assert not page.is_visible(".annul-decide")  # the one who asked cannot confirm
    login("city.second", "500000", ("clerk",))
    second = new_page()
    console_sign_in(second, "city.second", PASSWORD)
    second.goto(f"/console/persons/{person['id']}")
    second.click(".annul-decide button[value=yes]")
    assert "annulled" in second.inner_text("#certifications") or "已撤销" in second.inner_text(
        "#certifications"
    )
    screenshot(second, "console-annulled")
    after = clerk.get(f"/api/persons/{person['id']}").get_json()["period"]["due_on"]
    assert after == before  # back to where it was before the wrong certification
