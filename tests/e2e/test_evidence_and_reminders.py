"""Evidence retention and reminders with checkable codes."""

import io
from datetime import UTC, date, datetime, time, timedelta

import pytest

from certification.notices import Channel, DeliveryPolicy
from certification.services.notices import deliver_notices
from certification.services.reminders import send_due_reminders
from storage.objects import LocalObjectStore
from storage.retention import sweep_expired
from tests.e2e.conftest import upload_presigned

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


class RecordingApp:
    """The app's push channel, keeping what it sent (as the phone would receive it)."""

    name = "push"

    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)
        return f"push-{message.delivery_id}"


def test_reminders_are_sent_once_and_their_code_is_recognised(enrolled, challenge, clerk, runtime):
    p = enrolled("driving_d9")
    certified = datetime.now(UTC) - timedelta(days=335)  # due in about 30 days
    clerk.post(
        f"/api/persons/{p.person['id']}/certifications",
        json={"channel": "partner_bank", "certified_at": certified.isoformat()},
    )
    due = clerk.get(f"/api/persons/{p.person['id']}").get_json()["period"]["due_on"]
    app = RecordingApp()
    never_quiet = DeliveryPolicy(quiet_from=time(0), quiet_until=time(0))
    deliver_notices(runtime.use_case, {Channel.PUSH: app}, never_quiet)  # the certification's
    app.sent.clear()
    with runtime.use_case() as ctx:
        assert send_due_reminders(ctx) == 1  # the 60-day one was missed: one message for both
    with runtime.use_case() as ctx:
        assert send_due_reminders(ctx) == 0  # never twice
    deliver_notices(runtime.use_case, {Channel.PUSH: app}, never_quiet)
    [message] = app.sent
    assert message.kind == "reminder" and message.address != p.person["id"]
    code = message.params["code"]
    assert message.params["due_on"] == due and len(code) == 6 and code in message.body
    real = p.app.post("/api/selfservice/reminders/check", json={"code": code}).get_json()
    assert real == {"official": True, "due_on": due, "sent_on": runtime.clock.today().isoformat()}
    fake_code = "000000" if code != "000000" else "111111"
    assert (
        p.app.post("/api/selfservice/reminders/check", json={"code": fake_code}).get_json()[
            "official"
        ]
        is False
    )
    inbox = p.app.get("/api/me/notices").get_json()
    assert [n["kind"] for n in inbox][:2] == ["reminder", "certified"]
    assert inbox[0]["channels"] == {"push": "delivered"}


@pytest.mark.parametrize("kind", ["s3", "local"])
def test_the_sweep_deletes_only_expired_evidence(runtime, tmp_path, kind):
    store = runtime.object_store if kind == "s3" else LocalObjectStore(tmp_path / "objects")
    today = date(2026, 11, 27)
    prefix = f"sweep-{kind}-{tmp_path.name}/"
    objects = {
        "evidence/old/frame_0.jpg": {"retain-until": "2026-11-26"},
        "evidence/new/frame_0.jpg": {"retain-until": "2029-11-27"},
        "selfservice/unknown.video": {},
        "other/notes.txt": {"retain-until": "2000-01-01"},  # not evidence: never touched
    }
    for key, meta in objects.items():
        store.put(prefix + key, io.BytesIO(b"data"), 4, "application/octet-stream", meta)
    report = sweep_expired(store, today, prefixes=(prefix + "evidence/", prefix + "selfservice/"))
    assert report.deleted == 1 and report.without_retention == 1
    assert store.stat(prefix + "evidence/old/frame_0.jpg") is None
    for key in ("evidence/new/frame_0.jpg", "selfservice/unknown.video", "other/notes.txt"):
        assert store.stat(prefix + key) is not None, key
        store.delete(prefix + key)


def test_uploaded_video_and_frames_carry_three_years_of_retention(enrolled, challenge, runtime):
    from tests.biometrics.conftest import SELFIES
    from tests.e2e.conftest import wait_for

    challenge("blink")
    p = enrolled("driving_d9")
    body = p.app.post("/api/selfservice/sessions", json={}).get_json()
    upload_presigned(body, (SELFIES / "driving_d9.mp4").read_bytes())
    p.app.post(
        f"/api/selfservice/sessions/{body['session_id']}/submit", json={"nonce": body["nonce"]}
    )
    final = wait_for(
        lambda: p.app.get(f"/api/selfservice/sessions/{body['session_id']}").get_json(),
        lambda s: s["state"] == "pass",
    )
    store = runtime.object_store
    frames = list(store.list_keys(f"evidence/{final['attempt_id']}/"))
    assert len(frames) == 3
    video_key = f"selfservice/{p.person['id']}/{body['session_id']}.video"
    for key in [*frames, video_key]:  # the phone's upload carries it too (a policy field)
        until = store.stat(key).metadata["retain-until"]
        assert date.fromisoformat(until).year == runtime.clock.now().year + 3, key
