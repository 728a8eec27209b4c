"""The joints between the procedure's steps, on PostgreSQL through the API: a certification by
any channel asks for the suspended benefits back (Art. 21) and settles the open township
task; a dismissed loss record does not come back on the next run, a newer one does."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from certification.arrears import AmountChange, compute_arrears
from certification.calendar import YearMonth
from tests.integration.conftest import audit_actions, grant, new_person
from tests.integration.test_comparison_workflow import (
    HEADER,
    JPEG,
    TOWNSHIP,
    cid,
    days_ago,
    run_comparison,
    today,
    upload_feed,
    wait_for,
)
from tests.integration.test_suspensions_api import contact, overdue_person  # noqa: F401

pytestmark = pytest.mark.postgres

SUSPENDED_ON = "2025-12-15"


@pytest.fixture
def operator(login):
    from certification.vocabulary import AccountKind

    return login("ops", None, (), kind=AccountKind.OPERATOR)


@pytest.fixture
def counter(login):
    """A counter clerk of another district: any counter in the city certifies anyone."""
    return login("jiangbei.counter", "500105", ("counter",))


@pytest.fixture
def suspended(clerk, overdue_person):  # noqa: F811 - the fixture imported above
    """A pensioner unreachable after the period expired, suspended from 15 December 2025."""
    person, ent = overdue_person
    contact(clerk, person["id"], "phone")
    contact(clerk, person["id"], "visit", at="2025-11-25T06:00:00+00:00")
    done = clerk.post(
        f"/api/persons/{person['id']}/suspensions",
        json={"reason": "period_expired_unreachable", "suspended_on": SUSPENDED_ON},
    )
    assert done.status_code == 201, done.get_json()
    return person, ent


def restorations(clerk, status="proposed"):
    return clerk.get(f"/api/proposals?kind=restore&status={status}").get_json()["items"]


def decide(clerk, proposal_id, **body):
    url = f"/api/proposals/{proposal_id}"
    etag = clerk.get(url).headers["ETag"]
    return clerk.put(url + "/decision", json=body, headers={"If-Match": etag})


def test_a_suspended_pensioner_who_certifies_at_a_counter_gets_a_restoration_with_arrears(
    clerk, counter, suspended, runtime
):
    person, ent = suspended
    assert restorations(clerk) == []
    at_counter = counter.post(
        "/api/counter/certifications",
        json={**at_the_counter(person), "note": None},
    )
    assert at_counter.status_code == 201, at_counter.get_json()
    assert at_counter.get_json()["restoration_proposed"] is True

    [proposal] = restorations(clerk)
    assert proposal["entitlement_id"] == ent["id"] and proposal["source"] == "certification"
    assert proposal["evidence"]["channel"] == "counter"
    # a second certification does not open a second proposal for the same benefit
    again = counter.post(
        "/api/counter/certifications",
        json={**at_the_counter(person), "note": None},
    )
    assert again.status_code == 201
    assert len(restorations(clerk)) == 1

    # the counter clerk of another district cannot decide it; the district clerk can
    url = f"/api/proposals/{proposal['id']}"
    assert counter.get(url).status_code == 403
    etag = clerk.get(url).headers["ETag"]
    forged = counter.put(url + "/decision", json={"confirm": True}, headers={"If-Match": etag})
    assert forged.status_code == 403
    confirmed = decide(clerk, proposal["id"], confirm=True)
    assert confirmed.status_code == 200, confirmed.get_json()
    expected = compute_arrears(
        date.fromisoformat(SUSPENDED_ON),
        today(),
        [AmountChange(YearMonth.of(date(2010, 5, 1)), 300_000)],
    ).total_fen
    assert expected > 0
    assert confirmed.get_json()["arrears_fen"] == expected
    assert clerk.get(f"/api/entitlements/{ent['id']}").get_json()["status"] == "active"
    assert "entitlement.restored" in audit_actions(runtime)


def test_a_hand_recorded_certification_proposes_and_a_hand_restoration_answers_the_proposal(
    clerk, suspended
):
    person, ent = suspended
    cert = clerk.post(
        f"/api/persons/{person['id']}/certifications",
        json={"channel": "hospital_stay", "certified_at": "2026-03-05T04:00:00+00:00"},
    ).get_json()
    assert cert["restoration_pending"] == [ent["id"]]
    [proposal_id] = cert["restoration_proposals"]
    [suspension] = clerk.get(f"/api/suspensions?person_id={person['id']}").get_json()["items"]
    restored = clerk.post(
        f"/api/suspensions/{suspension['id']}/restoration",
        json={"restored_on": "2026-03-20", "reason": "found in hospital"},
    )
    assert restored.status_code == 201, restored.get_json()
    answered = clerk.get(f"/api/proposals/{proposal_id}").get_json()
    assert answered["status"] == "confirmed"
    assert answered["arrears_fen"] == restored.get_json()["arrears_fen"]
    assert restorations(clerk) == []


def at_the_counter(person):
    """The card on the counter, read by the reader."""
    return {
        "citizen_id": person["citizen_id"],
        "name": person["name"],
        "id_check": "chip",
        "reader_ref": "RD-0001",
    }


def test_an_open_township_task_closes_when_the_person_certifies_at_a_counter(
    operator, clerk, counter, login
):
    township_clerk = login("qixinggang.clerk", TOWNSHIP, ("clerk",))
    person = new_person(clerk, cid(72), region=TOWNSHIP)
    grant(clerk, person["id"], start_date="2015-03-01")
    run_comparison(operator)  # no data about the person: to be verified by the township
    [task] = township_clerk.get("/api/verification/tasks?status=open").get_json()["items"]
    assert task["person_id"] == person["id"]
    visit = township_clerk.post(
        f"/api/persons/{person['id']}/home-visits", json={"reason": "elderly"}
    ).get_json()
    assert visit["task_id"] == task["id"]

    at_counter = counter.post(
        "/api/counter/certifications",
        json={**at_the_counter(person), "note": None},
    )
    assert at_counter.status_code == 201, at_counter.get_json()
    assert township_clerk.get("/api/verification/tasks?status=open").get_json()["items"] == []
    # nobody travels to verify someone already verified
    [settled] = township_clerk.get("/api/home-visits?status=cancelled").get_json()["items"]
    assert settled["id"] == visit["id"] and settled["outcome"].startswith("certified (counter)")
    closed = township_clerk.get(f"/api/verification/tasks/{task['id']}").get_json()
    assert closed["status"] == "cancelled" and not closed["overdue"]
    assert closed["note"].startswith("certified (counter)")
    [certification] = clerk.get(f"/api/persons/{person['id']}/certifications").get_json()["items"]
    assert closed["evidence"] == [f"certification:{certification['id']}"]
    # a result can no longer be recorded on it
    url = f"/api/verification/tasks/{task['id']}"
    late = township_clerk.put(
        url + "/result",
        json={"result": "qualified", "channel": "app"},
        headers={"If-Match": township_clerk.get(url).headers["ETag"]},
    )
    assert late.status_code == 409


def test_a_dismissed_death_record_does_not_come_back_but_a_new_one_does(operator, clerk):
    person = new_person(clerk, cid(73))
    ent = grant(clerk, person["id"], start_date="2015-03-01")
    wrong = f"{HEADER}\n{cid(73)},death_hrss_flag,{days_ago(30)},hrss,W-73,同名人员\n"
    assert upload_feed(operator, wrong.encode())["rows_accepted"] == 1
    first = run_comparison(operator)
    assert first["applied"]["suspension_proposed"] == 1
    [proposal] = clerk.get("/api/proposals?status=proposed&kind=suspend").get_json()["items"]
    dismissed = decide(clerk, proposal["id"], confirm=False, note="死亡标识为同名人员，本人健在")
    assert dismissed.status_code == 200, dismissed.get_json()

    second = run_comparison(operator)
    assert second["applied"].get("suspension_proposed", 0) == 0
    assert second["applied"]["lost_dismissed_before"] == 1
    assert clerk.get("/api/proposals?status=proposed&kind=suspend").get_json()["items"] == []

    newer = f"{HEADER}\n{cid(73)},cremation,{days_ago(5)},civil_affairs,C-73,\n"
    assert upload_feed(operator, newer.encode())["rows_accepted"] == 1
    third = run_comparison(operator)
    assert third["applied"]["suspension_proposed"] == 1
    [again] = clerk.get("/api/proposals?status=proposed&kind=suspend").get_json()["items"]
    assert again["entitlement_id"] == ent["id"]
    assert again["evidence"]["events"][0]["record"] == "C-73"


def test_people_not_yet_in_scope_get_no_task_but_a_loss_record_still_stops_them(operator, clerk):
    """Art. 7-8: a dependant under 16 and a benefit that started this year are not due for
    certification, so silence sends nobody to them; a death record still counts."""
    child = new_person(clerk, cid(74, born=date(2015, 6, 1)))
    grant(
        clerk,
        child["id"],
        kind="work_injury_long_term",
        role="dependant",
        relationship="child",
        start_date="2020-01-01",
    )
    newcomer = new_person(clerk, cid(75))
    grant(clerk, newcomer["id"], start_date=f"{today().year}-01-01")
    due = new_person(clerk, cid(76))
    grant(clerk, due["id"], start_date="2015-01-01")

    run = run_comparison(operator)
    assert run["counts"] == {"qualified": 0, "lost": 0, "to_verify": 1}
    tasks = clerk.get("/api/verification/tasks?status=open").get_json()["items"]
    assert [t["person_id"] for t in tasks] == [due["id"]]

    death = f"{HEADER}\n{cid(75)},death_family_report,{days_ago(0)},civil_affairs,D-75,\n"
    assert upload_feed(operator, death.encode())["rows_accepted"] == 1
    second = run_comparison(operator)
    assert second["counts"]["lost"] == 1
    [proposal] = clerk.get("/api/proposals?status=proposed&kind=suspend").get_json()["items"]
    assert proposal["person_id"] == newcomer["id"]


# --- Art. 9: the daily job for expired periods -------------------------------------------


def _overdue(clerk, seq):
    person = new_person(clerk, cid(seq))
    ent = grant(clerk, person["id"], start_date="2015-01-01")
    made = clerk.post(
        f"/api/persons/{person['id']}/certifications",
        json={"channel": "partner_bank", "certified_at": "2024-06-01T03:00:00+00:00"},
    )
    assert made.status_code == 201, made.get_json()
    return person, ent


def _unreachable(clerk, person):
    for channel in ("phone", "sms"):
        contact(clerk, person["id"], channel, at="2025-08-01T02:00:00+00:00")


def daily_job(runtime, **config):
    from dataclasses import replace

    from certification.access import Actor
    from certification.services.expired_periods import act_on_expired_periods

    with runtime.use_case() as ctx:
        ctx.config = replace(ctx.config, **config)
        return act_on_expired_periods(ctx, Actor.system("test"))


def test_the_daily_job_proposes_for_the_unreachable_and_sends_the_others_to_the_township(
    clerk, runtime
):
    unreachable, pension = _overdue(clerk, 41)
    untried, _ = _overdue(clerk, 42)
    _unreachable(clerk, unreachable)

    counts = daily_job(runtime)
    assert counts["checked"] == 2
    assert counts["suspension_proposed"] == 1 and counts["verification_dispatched"] == 1
    # nothing suspended by the job: the district clerk confirms
    assert clerk.get(f"/api/entitlements/{pension['id']}").get_json()["status"] == "active"
    [proposal] = clerk.get("/api/proposals?status=proposed&kind=suspend").get_json()["items"]
    assert proposal["person_id"] == unreachable["id"] and proposal["source"] == "expired_period"
    assert proposal["evidence"]["channels_unreachable"] == ["phone", "sms"]
    [task] = clerk.get("/api/verification/tasks?status=open").get_json()["items"]
    assert task["person_id"] == untried["id"]

    again = daily_job(runtime)  # the next day: nothing twice
    assert again["already_proposed"] == 1 and again["verification_already_open"] == 1
    assert again["suspension_proposed"] == 0 and again["verification_dispatched"] == 0

    confirmed = decide(clerk, proposal["id"], confirm=True)
    assert confirmed.status_code == 200, confirmed.get_json()
    assert clerk.get(f"/api/entitlements/{pension['id']}").get_json()["status"] == "suspended"
    [suspension] = clerk.get(f"/api/suspensions?person_id={unreachable['id']}").get_json()["items"]
    assert suspension["reason"] == "period_expired_unreachable"
    assert suspension["evidence"]["channels_unreachable"] == ["phone", "sms"]
    # suspended people are no longer the job's business
    assert daily_job(runtime)["checked"] == 1


def test_a_dismissed_expired_period_proposal_is_not_made_again_for_the_same_period(clerk, runtime):
    person, _ = _overdue(clerk, 43)
    _unreachable(clerk, person)
    assert daily_job(runtime)["suspension_proposed"] == 1
    [proposal] = clerk.get("/api/proposals?status=proposed&kind=suspend").get_json()["items"]
    assert decide(clerk, proposal["id"], confirm=False, note="本人在外地住院").status_code == 200
    assert daily_job(runtime)["dismissed_for_this_period"] == 1
    assert clerk.get("/api/proposals?status=proposed&kind=suspend").get_json()["items"] == []


def test_a_configured_district_is_suspended_by_the_daily_job(clerk, runtime):
    person, pension = _overdue(clerk, 44)
    _unreachable(clerk, person)
    counts = daily_job(runtime, auto_suspend_expired_districts=frozenset({"500103"}))
    assert counts["suspended_automatically"] == 1
    assert clerk.get(f"/api/entitlements/{pension['id']}").get_json()["status"] == "suspended"
    [proposal] = clerk.get("/api/proposals?status=confirmed&kind=suspend").get_json()["items"]
    assert proposal["auto_applied"] is True


def test_the_daily_job_reaches_the_10001st_overdue_person(clerk, runtime):
    """Ten thousand people suspended long ago stay overdue; the one who expired yesterday
    is still reached (the job used to read 10,000 people oldest first and stop)."""
    import sqlalchemy as sa

    # written in bulk by SQL: clear values (as before sealing, which the columns still read)
    # and stand-in indexes, since nobody looks these people up
    with runtime.database.begin() as conn:
        conn.execute(
            sa.text(
                """
                WITH p AS (
                  INSERT INTO persons (id, citizen_id, citizen_id_key, name, name_key,
                                       birth_date, sex, region_code,
                                       district_code, due_on, created_at, updated_at, version)
                  SELECT gen_random_uuid(), '5001039990' || lpad(i::text, 8, '0'),
                         md5('5001039990' || lpad(i::text, 8, '0')), '旧案', md5('旧案'),
                         DATE '1940-01-01', 'female', '500103', '500103',
                         DATE '2020-01-01' + (i % 1000), now(), now(), 0
                  FROM generate_series(1, 10000) AS i
                  RETURNING id
                )
                INSERT INTO entitlements (id, person_id, kind, role, start_date,
                                          monthly_amount_fen, status, created_at, version)
                SELECT gen_random_uuid(), id, 'pension', 'insured', DATE '2000-01-01',
                       100000, 'suspended', now(), 0
                FROM p
                """
            )
        )
    person, _ = _overdue(clerk, 45)
    _unreachable(clerk, person)
    counts = daily_job(runtime)
    assert counts["checked"] == 1 and counts["suspension_proposed"] == 1


# --- Art. 18: what a loss is about, and a death with nobody to sign ----------------------


def _task_for_two_benefits(operator, clerk, login, seq):
    township_clerk = login("qixinggang.clerk", TOWNSHIP, ("clerk",))
    person = new_person(clerk, cid(seq, born=date(1970, 4, 4)), region=TOWNSHIP)
    pension = grant(clerk, person["id"], start_date="2015-03-01")
    injury = grant(clerk, person["id"], kind="work_injury_long_term", start_date="2016-03-01")
    run_comparison(operator)
    [task] = township_clerk.get("/api/verification/tasks?status=open").get_json()["items"]
    return township_clerk, task, pension, injury


def _photo(township_clerk, task_id):
    made = township_clerk.post(
        f"/api/verification/tasks/{task_id}/evidence",
        data={"file": (io.BytesIO(JPEG), "record.jpg")},
        content_type="multipart/form-data",
    )
    assert made.status_code == 201, made.get_json()
    return made.get_json()["key"]


def _record(township_clerk, task_id, body):
    url = f"/api/verification/tasks/{task_id}"
    etag = township_clerk.get(url).headers["ETag"]
    return township_clerk.put(url + "/result", json=body, headers={"If-Match": etag})


def test_a_loss_names_the_benefit_it_concerns(operator, clerk, login, runtime):
    township_clerk, task, pension, injury = _task_for_two_benefits(operator, clerk, login, 81)
    form = _photo(township_clerk, task["id"])
    body = {
        "result": "lost",
        "channel": "household_survey",
        "statement": {
            "reason": "2026年9月起在重庆某公司就业，工伤待遇不受影响",
            "since": "2026-09-01",
            "signer_name": "李明",
            "signer_relationship": "本人",
            "signature_key": form,
        },
    }
    unnamed = _record(township_clerk, task["id"], body)
    assert unnamed.status_code == 422 and unnamed.get_json()["field"] == "benefits"
    named = _record(township_clerk, task["id"], {**body, "benefits": [pension["id"]]})
    assert named.status_code == 200, named.get_json()
    assert [p["entitlement_id"] for p in named.get_json()["proposals"]] == [pension["id"]]
    assert clerk.get(f"/api/entitlements/{injury['id']}").get_json()["status"] == "active"
    # the task keeps the signer's name; the audit trail only its first character
    assert named.get_json()["task"]["statement"]["signer_name"] == "李明"
    with runtime.database.connect() as conn:
        details = conn.scalar(
            sa.text("SELECT details FROM audit_events WHERE action = 'verification.recorded'")
        )
    text = (
        details
        if isinstance(details, str)
        else __import__("json").dumps(details, ensure_ascii=False)
    )
    assert "李*" in text and "李明" not in text


def test_a_death_with_nobody_to_sign_closes_on_the_death_record(operator, clerk, login):
    township_clerk, task, pension, injury = _task_for_two_benefits(operator, clerk, login, 82)
    record = _photo(township_clerk, task["id"])
    body = {
        "result": "lost",
        "channel": "village_report",
        "statement": {"reason": "独居，2026年10月病故", "since": "2026-10-08"},
    }
    no_record = _record(township_clerk, task["id"], body)
    assert no_record.status_code == 422
    village = {
        **body["statement"],
        "death_record": "village_record",
        "death_record_key": record,
        "witnesses": ["王村长"],
    }
    one_witness = _record(township_clerk, task["id"], {**body, "statement": village})
    assert one_witness.status_code == 422
    assert one_witness.get_json()["field"] == "statement.witnesses"
    village["witnesses"] = ["王村长", "邻居刘芳"]
    done = _record(township_clerk, task["id"], {**body, "statement": village})
    assert done.status_code == 200, done.get_json()
    # a death ends every benefit: both proposed, no guardian needed
    proposed = {p["entitlement_id"] for p in done.get_json()["proposals"]}
    assert proposed == {pension["id"], injury["id"]}


# --- Art. 11: runs on a schedule and by district; tasks by hand --------------------------


def test_a_scheduled_run_happens_without_an_operator(clerk, runtime, settings, login):
    from certification.vocabulary import AccountKind
    from worker.celery_app import beat_schedule

    assert "comparison-run-scheduled" in beat_schedule(settings)  # monthly by default
    assert "comparison-run-scheduled" not in beat_schedule(
        settings.model_copy(update={"comparison_schedule": "off"})
    )
    person = new_person(clerk, cid(91))
    grant(clerk, person["id"], start_date="2015-01-01")
    runtime.queue_app.loader.import_default_modules()
    started = runtime.queue_app.tasks["lifecert.comparison.scheduled"].delay().get()
    assert started["started"] is True
    operator = login("ops", None, (), kind=AccountKind.OPERATOR)
    run = wait_for(
        lambda: operator.get(f"/api/comparison/runs/{started['run']}"),
        lambda r: r["status"] in ("applied", "failed"),
    )
    assert run["status"] == "applied" and run["scope_code"] == "500000", run
    assert "comparison schedule" in run["started_by_label"]
    assert run["counts"]["to_verify"] == 1
    # a second date while it runs would be skipped, not stacked: see the overlap test


def _unfinished_run(runtime, scope_code):
    import sqlalchemy as sa

    with runtime.database.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO comparison_runs (id, window_start, window_end, status, counts, "
                "by_district, applied, timings, started_at, scope_code) VALUES "
                "(gen_random_uuid(), :s, :e, 'running', '{}', '{}', '{}', '{}', now(), :scope)"
            ),
            {"s": date(today().year, 1, 1), "e": today(), "scope": scope_code},
        )


def test_a_district_runs_its_own_comparison_and_overlapping_runs_wait(
    operator, clerk, login, runtime
):
    district_operator = clerk  # a district/county agency clerk runs their own district
    township_clerk = login("qixinggang.clerk", TOWNSHIP, ("clerk",))
    assert township_clerk.post("/api/comparison/runs", json={}).status_code == 403
    other_clerk = login("dadukou.clerk", "500104", ("clerk",))
    mine = new_person(clerk, cid(92))
    grant(clerk, mine["id"], start_date="2015-01-01")
    theirs = new_person(other_clerk, cid(93, "500104"), region="500104")
    grant(other_clerk, theirs["id"], start_date="2015-01-01")

    not_theirs = district_operator.post("/api/comparison/runs", json={"district_code": "500104"})
    assert not_theirs.status_code == 403
    _unfinished_run(runtime, "500104")  # another district's run is still going: no overlap
    run = run_comparison(district_operator)
    assert run["scope_code"] == "500103" and run["counts"]["to_verify"] == 1
    tasks = clerk.get("/api/verification/tasks?status=open").get_json()["items"]
    assert [t["person_id"] for t in tasks] == [mine["id"]]
    assert other_clerk.get("/api/verification/tasks?status=open").get_json()["items"] == []
    # the city holds every district: a city run waits for the district's
    city = operator.post("/api/comparison/runs", json={})
    assert city.status_code == 409 and city.get_json()["details"]["scope_code"] == "500104"


def test_a_clerk_sends_a_person_to_verification_by_hand(clerk, login):
    township_clerk = login("qixinggang.clerk", TOWNSHIP, ("clerk",))
    person = new_person(clerk, cid(94), region=TOWNSHIP)
    grant(clerk, person["id"], start_date="2015-01-01")
    url = f"/api/verification/referrals/{person['id']}"
    assert clerk.post(url, json={"reason": "x"}).status_code == 422
    made = clerk.post(url, json={"reason": "邻居来电反映老人已长期不在家"})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["source"] == "staff"
    [task] = township_clerk.get("/api/verification/tasks?status=open").get_json()["items"]
    assert task["reason"] == "邻居来电反映老人已长期不在家"
    # the township sees where to go and whom to call
    purl = f"/api/persons/{person['id']}"
    moved = clerk.patch(
        purl,
        json={"address": "  渝中区  民族路 88 号 ", "phone": "13512345678", "reason": "来电更新"},
        headers={"If-Match": clerk.get(purl).headers["ETag"]},
    )
    assert moved.status_code == 200, moved.get_json()
    detail = township_clerk.get(f"/api/verification/tasks/{task['id']}").get_json()
    assert (detail["address"], detail["phone"]) == ("渝中区 民族路 88 号", "13512345678")
    assert detail["reason"] == task["reason"]
    again = clerk.post(url, json={"reason": "再次反映"})
    assert again.status_code == 409 and again.get_json()["details"]["task_id"] == task["id"]
    outsider = login("dadukou.clerk", "500104", ("clerk",))
    assert outsider.post(url, json={"reason": "越权转办"}).status_code == 403


# --- Art. 22: reports by phone, looked up by reference, and what a substantiated one does --


def _staff_actor(runtime, login, username, scope, roles):
    from certification.services.accounts import actor_for

    login(username, scope, roles)
    with runtime.use_case() as ctx:
        return actor_for(ctx.uow.accounts.by_username(username), None)


def _supervisor(runtime, login):
    """The district's supervisor, who assigns reports (and investigates others)."""
    return _staff_actor(runtime, login, "yuzhong.sup", "500103", ("investigator", "supervisor"))


def _report_about(person, **given):
    from certification.services.supervision import Report

    fields = dict(
        category="death_concealed",
        description="电话举报：老人去年已去世，家属仍在领取养老金。",
        subject_name=person["name"],
        district_code="500103",
        subject_citizen_id=person["citizen_id"],
        channel="phone",
    )
    return Report(**(fields | given))


def _investigate(runtime, investigator, tip_id, *, supervisor, **close):
    from certification.services import supervision

    with runtime.use_case() as ctx:
        supervision.assign(ctx, supervisor, tip_id, investigator_id=investigator.account_id)
    with runtime.use_case() as ctx:
        supervision.record_findings(ctx, investigator, tip_id, findings="走访邻居及村委会核实")
    return _close(runtime, investigator, tip_id, **close)


def _close(runtime, investigator, tip_id, *, confirmer=None, **close):
    """Closed by the investigator; a substantiated closing confirmed by ``confirmer``."""
    from certification.services import supervision

    close.setdefault("recovered_fen", 0 if close.get("substantiated") else None)
    scale = runtime.settings.reward_scale()
    with runtime.use_case() as ctx:
        tip = supervision.close(ctx, investigator, scale, tip_id, **close)
    if not close.get("substantiated"):
        return tip
    assert tip.closure_waiting and confirmer is not None
    with runtime.use_case() as ctx:
        return supervision.confirm_closure(ctx, confirmer, scale, tip_id, confirm=True)


def test_a_phoned_in_report_is_found_by_its_reference_and_substantiated_sends_a_task(
    clerk, login, runtime
):
    from certification.errors import AccessDenied, NotFound, ValidationFailed
    from certification.services import supervision

    person = new_person(clerk, cid(95))
    grant(clerk, person["id"], start_date="2015-01-01")
    desk = _staff_actor(runtime, login, "yuzhong.desk", "500103", ("clerk",))
    counter_only = _staff_actor(runtime, login, "jiangbei.desk", "500105", ("counter",))
    investigator = _staff_actor(runtime, login, "yuzhong.inv", "500103", ("investigator",))
    elsewhere = _staff_actor(runtime, login, "dadukou.inv", "500104", ("investigator",))
    with runtime.use_case() as ctx, pytest.raises(ValidationFailed):
        supervision.take_in(ctx, desk, _report_about(person, channel="web"))
    with runtime.use_case() as ctx, pytest.raises(AccessDenied):
        supervision.take_in(ctx, counter_only, _report_about(person))
    with runtime.use_case() as ctx:
        tip = supervision.take_in(ctx, desk, _report_about(person))
        reference, tip_id = tip.reference, tip.id
        assert tip.channel == "phone" and str(tip.person_id) == person["id"]

    with runtime.use_case() as ctx:  # the reporter calls back and quotes the reference
        assert supervision.find_by_reference(ctx, investigator, reference.lower()).id == tip_id
    for who, ref in ((elsewhere, reference), (investigator, "JB-20260101-AAAAAA")):
        with runtime.use_case() as ctx, pytest.raises(NotFound):
            supervision.find_by_reference(ctx, who, ref)

    second = _staff_actor(runtime, login, "yuzhong.inv2", "500103", ("investigator",))
    supervisor = _supervisor(runtime, login)
    with runtime.use_case() as ctx, pytest.raises(AccessDenied, match="supervisor"):
        supervision.assign(ctx, investigator, tip_id, investigator_id=investigator.account_id)
    with runtime.use_case() as ctx, pytest.raises(AccessDenied, match="someone else"):
        supervision.assign(ctx, supervisor, tip_id, investigator_id=supervisor.account_id)
    with runtime.use_case() as ctx:
        supervision.assign(ctx, supervisor, tip_id, investigator_id=investigator.account_id)
    with runtime.use_case() as ctx:
        supervision.record_findings(ctx, investigator, tip_id, findings="走访邻居及村委会核实")
    scale = runtime.settings.reward_scale()
    with runtime.use_case() as ctx:
        tip = supervision.close(
            ctx, investigator, scale, tip_id, substantiated=True, recovered_fen=0
        )
    assert tip.closure_waiting  # nothing happens to the benefit on one person's word
    assert clerk.get("/api/verification/tasks?status=open").get_json()["items"] == []
    for alone in (investigator,):
        with runtime.use_case() as ctx, pytest.raises(AccessDenied, match="Another investigator"):
            supervision.confirm_closure(ctx, alone, scale, tip_id, confirm=True)
    with runtime.use_case() as ctx:
        supervision.confirm_closure(ctx, second, scale, tip_id, confirm=True, note="核对了死亡证明")
    [task] = clerk.get("/api/verification/tasks?status=open").get_json()["items"]
    assert task["person_id"] == person["id"] and task["source"] == "tip_off"
    assert reference in task["reason"]


def test_a_substantiated_report_can_propose_suspending_the_benefit_named(clerk, login, runtime):
    from uuid import UUID

    from certification.errors import ValidationFailed
    from certification.services import supervision

    person = new_person(clerk, cid(96))
    pension = grant(clerk, person["id"], start_date="2015-01-01")
    desk = _staff_actor(runtime, login, "yuzhong.desk", "500103", ("clerk",))
    investigator = _staff_actor(runtime, login, "yuzhong.inv", "500103", ("investigator",))
    with runtime.use_case() as ctx:
        tip_id = supervision.take_in(ctx, desk, _report_about(person, channel="letter")).id
    named = [UUID(pension["id"])]
    with pytest.raises(ValidationFailed):  # not substantiated: nothing to suspend
        _investigate(
            runtime, investigator, tip_id, substantiated=False, suspend=named,
            supervisor=_supervisor(runtime, login),
        )  # fmt: skip
    second = _staff_actor(runtime, login, "yuzhong.inv2", "500103", ("investigator",))
    _close(
        runtime, investigator, tip_id, substantiated=True, recovered_fen=120_000, suspend=named,
        confirmer=second,
    )  # fmt: skip
    [proposal] = clerk.get("/api/proposals?status=proposed&kind=suspend").get_json()["items"]
    assert proposal["entitlement_id"] == pension["id"] and proposal["source"] == "tip_off"
    assert clerk.get("/api/verification/tasks?status=open").get_json()["items"] == []


def test_a_hand_suspension_answers_the_proposal_waiting_for_it(operator, clerk):
    person = new_person(clerk, cid(97))
    pension = grant(clerk, person["id"], start_date="2015-03-01")
    death = f"{HEADER}\n{cid(97)},cremation,{days_ago(3)},civil_affairs,C-97,\n"
    assert upload_feed(operator, death.encode())["rows_accepted"] == 1
    run_comparison(operator)
    [proposal] = clerk.get("/api/proposals?status=proposed&kind=suspend").get_json()["items"]
    made = clerk.post(
        f"/api/persons/{person['id']}/suspensions",
        json={"reason": "lost_qualification", "explanation": "家属持火化证明到窗口申报"},
    )
    assert made.status_code == 201, made.get_json()
    answered = clerk.get(f"/api/proposals/{proposal['id']}").get_json()
    assert (
        answered["status"] == "confirmed" and answered["suspension_id"] == made.get_json()[0]["id"]
    )
    assert answered["entitlement_id"] == pension["id"]
    assert clerk.get("/api/proposals?status=proposed").get_json()["items"] == []


def test_two_starts_at_the_same_moment_make_one_run(runtime):
    """Two beat instances (or the schedule and an operator) start the city's run together:
    the start is serialised, so exactly one run is made and the other is told to wait."""
    import threading

    from certification.access import Actor
    from certification.errors import RuleViolation
    from certification.services.runs import start_run

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def start() -> None:
        with runtime.use_case() as ctx:
            barrier.wait()
            try:
                start_run(ctx, Actor.system("schedule"))  # no queue: it stays queued
                outcomes.append("started")
            except RuleViolation:
                outcomes.append("refused")

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["refused", "started"]


def test_a_reward_is_recorded_as_paid_by_a_second_investigator_only(clerk, login, runtime):
    from certification.errors import AccessDenied
    from certification.services import supervision

    person = new_person(clerk, cid(96))
    grant(clerk, person["id"], start_date="2015-01-01")
    desk = _staff_actor(runtime, login, "yuzhong.desk", "500103", ("clerk",))
    investigator = _staff_actor(runtime, login, "yuzhong.inv", "500103", ("investigator",))
    second = _staff_actor(runtime, login, "yuzhong.inv2", "500103", ("investigator",))
    with runtime.use_case() as ctx:
        tip_id = supervision.take_in(
            ctx,
            desk,
            _report_about(
                person, reporter_name="孙某", reporter_phone="13900001111", wants_reward=True
            ),
        ).id
    closed = _investigate(
        runtime, investigator, tip_id, substantiated=True, recovered_fen=3_600_000,
        confirmer=second, supervisor=_supervisor(runtime, login),
    )  # fmt: skip
    assert closed.reward_fen and closed.reward_fen > 0
    with runtime.use_case() as ctx, pytest.raises(AccessDenied, match="Another investigator"):
        supervision.pay_reward(ctx, investigator, tip_id, payment_ref="JL-1")
    with runtime.use_case() as ctx:
        paid = supervision.pay_reward(ctx, second, tip_id, payment_ref="JL-2026-0002")
        assert paid.reward_paid_by == second.account_id


def test_a_township_result_through_the_app_must_name_the_app_certification(
    operator, clerk, counter, login
):
    from uuid import uuid4

    township_clerk = login("qixinggang.clerk", TOWNSHIP, ("clerk",))
    person = new_person(clerk, cid(74), region=TOWNSHIP)
    grant(clerk, person["id"], start_date="2015-03-01")
    run_comparison(operator)
    [task] = township_clerk.get("/api/verification/tasks?status=open").get_json()["items"]
    url = f"/api/verification/tasks/{task['id']}"
    for relies_on in (None, str(uuid4())):
        body = {"result": "qualified", "channel": "app"}
        if relies_on:
            body["certification_id"] = relies_on
        refused = township_clerk.put(
            url + "/result",
            json=body,
            headers={"If-Match": township_clerk.get(url).headers["ETag"]},
        )
        assert refused.status_code == 422, refused.get_json()
        assert "certification_id" in str(refused.get_json()["errors"])
    # nothing was certified on the clerk's word, and the task is still open
    assert clerk.get(f"/api/persons/{person['id']}/certifications").get_json()["items"] == []
    assert township_clerk.get(url).get_json()["status"] == "open"
