"""Background tasks in the embedded (in-process) mode, and the WeChat identity provider."""

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from certification.citizen_id import make_citizen_id
from certification.errors import AuthenticationFailed
from lifecert.adapters import WeChatMiniProgramProvider
from tests.integration.conftest import grant, new_person

pytestmark = pytest.mark.postgres


def test_tasks_run_in_process_without_a_broker(clerk, runtime, monkeypatch):
    from worker import celery_app as module
    from worker import tasks

    assert module.celery_app.conf.task_always_eager is True
    assert module.celery_app.conf.task_acks_late is True
    monkeypatch.setattr(module, "worker_runtime", lambda: runtime)
    monkeypatch.setattr(tasks, "worker_runtime", lambda: runtime)
    person = new_person(clerk, make_citizen_id("500103", date(1950, 1, 1), 3).value)
    grant(clerk, person["id"])
    result = tasks.verify_audit_chain.delay().get()
    assert result["intact"] is True and result["checked"] >= 3
    assert tasks.recompute_periods.delay().get() == {"changed": 0}


class _FakeWeChat(BaseHTTPRequestHandler):
    def do_GET(self):
        code = self.path.split("js_code=")[1].split("&")[0]
        body = (
            {"openid": "o-abc123", "session_key": "k"}
            if code == "good"
            else {"errcode": 40029, "errmsg": "invalid code"}
        )
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


def test_wechat_code2session_success_refusal_and_outage():
    server = HTTPServer(("127.0.0.1", 0), _FakeWeChat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        provider = WeChatMiniProgramProvider("wx-app", "secret", base)
        assert provider.exchange("good").subject == "o-abc123"
        with pytest.raises(AuthenticationFailed, match="40029"):
            provider.exchange("bad")
    finally:
        server.shutdown()
    down = WeChatMiniProgramProvider("wx-app", "secret", base, timeout=1)
    with pytest.raises(AuthenticationFailed, match="could not be reached"):
        down.exchange("good")
