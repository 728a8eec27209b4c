"""What operators watch, read during a real self-service certification: the metrics series,
the request id from the API into the worker's task, and log lines free of personal data."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import time
from typing import Any

import pytest
from celery import signals

from certification.services.notices import deliver_notices
from infra import telemetry
from tests.biometrics.conftest import SELFIES
from tests.e2e.conftest import upload_presigned, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log record of this process (API and worker thread), as the image writes them:
    JSON lines with the request id, at DEBUG."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(telemetry.RequestIdFilter())
    handler.setFormatter(telemetry.json_formatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def series(text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus text (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_certification_shows_in_the_metrics_carries_its_request_id_and_logs_no_person(
    worker, enrolled, challenge, clerk, client, runtime, log_lines
):
    seen_in_tasks: list[tuple[str, str | None]] = []

    def in_task(task: Any = None, **_: Any) -> None:
        seen_in_tasks.append((task.name, telemetry.current_request_id()))

    signals.task_prerun.connect(in_task, weak=False)
    try:
        challenge("blink", "nod")
        p = enrolled("driving_d9", name="欧阳秀英")
        url, phone = f"/api/persons/{p.person['id']}", "13912345678"
        changed = clerk.patch(
            url,
            json={"phone": phone, "reason": "new phone"},
            headers={"If-Match": clerk.get(url).headers["ETag"]},
        )
        assert changed.status_code == 200  # texts about the certification go to this number
        before = client.get("/metrics").get_data(as_text=True)
        rid = "req-operator-signals-0001"
        started = p.app.post("/api/selfservice/sessions", json={}, headers={"X-Request-Id": rid})
        assert started.status_code == 201 and started.headers["X-Request-Id"] == rid
        body = started.get_json()
        upload_presigned(body, (SELFIES / "driving_d9.mp4").read_bytes())
        submitted = p.app.post(
            f"/api/selfservice/sessions/{body['session_id']}/submit",
            json={"nonce": body["nonce"]},
            headers={"X-Request-Id": rid},
        )
        assert submitted.status_code == 202
        final = wait_for(
            lambda: p.app.get(f"/api/selfservice/sessions/{body['session_id']}").get_json(),
            lambda s: s["state"] not in ("open", "pending"),
        )
        assert final["state"] == "pass", final
        # the receipt notice goes out on the text-message channel (logged here, masked)
        any_hour = replace(runtime.delivery_policy, quiet_from=time(0), quiet_until=time(0))
        sent = deliver_notices(runtime.use_case, runtime.notice_channels, any_hour)
        assert sent.delivered >= 1, sent
    finally:
        signals.task_prerun.disconnect(in_task)

    # the worker's task ran under the request id of the request that queued it
    assert ("lifecert.selfservice.process_attempt", rid) in seen_in_tasks

    after = client.get("/metrics")
    assert after.status_code == 200 and after.mimetype == "text/plain"
    text = after.get_data(as_text=True)

    def grew(name: str, **labels: str) -> float:
        return series(text, name, **labels) - series(before, name, **labels)

    route = "/api/selfservice/sessions/<uuid:session_id>/submit"
    assert grew("lifecert_http_requests_total", method="POST", route=route, status="202") == 1
    assert grew("lifecert_http_request_duration_seconds_count", method="POST", route=route) == 1
    assert (
        grew("lifecert_tasks_total", task="lifecert.selfservice.process_attempt", outcome="success")
        == 1
    )
    assert grew("lifecert_task_duration_seconds_count", task="lifecert.selfservice.process_attempt")
    assert grew("lifecert_selfservice_decisions_total", decision="pass", reason="none") == 1
    for stage in ("decode", "track", "liveness", "match", "total"):
        assert grew("lifecert_engine_stage_seconds_count", stage=stage) == 1, stage
    assert series(text, "lifecert_backlog_up", source="queue_depth") == 1
    assert series(text, "lifecert_backlog_up", source="notice_backlog") == 1
    assert 'lifecert_queue_depth{state="celery"}' in text
    assert 'lifecert_notice_backlog{state="pending"}' in text
    assert 'lifecert_reminder_backlog{state="pending"}' in text
    # no path with an id as a label: routes are URL rules
    assert str(body["session_id"]) not in text

    # every log line of the flow, API and worker: JSON with a request id, no personal data
    logged = log_lines.getvalue()
    assert logged, "the flow logged nothing"
    assert rid in logged
    for secret in (p.citizen_id, "欧阳秀英", phone):
        assert secret and secret not in logged, f"personal data in the logs: {secret}"
        assert secret.encode("unicode_escape").decode() not in logged
