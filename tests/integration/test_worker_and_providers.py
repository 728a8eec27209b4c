"""Background tasks in the embedded (in-process) mode, and the WeChat identity provider."""

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from certification.citizen_id import make_citizen_id
from certification.errors import AuthenticationFailed
from infra.adapters import WeChatMiniProgramProvider
from tests.integration.conftest import grant, new_person

pytestmark = pytest.mark.postgres


def test_tasks_run_in_process_without_a_broker(clerk, runtime):
    app = runtime.queue_app
    assert app.conf.task_always_eager is True
    assert app.conf.task_acks_late is True
    app.loader.import_default_modules()
    person = new_person(clerk, make_citizen_id("500103", date(1950, 1, 1), 3).value)
    grant(clerk, person["id"])
    result = app.tasks["lifecert.audit.verify_chain"].delay().get()
    assert result["intact"] is True and result["checked"] >= 3
    assert app.tasks["lifecert.periods.recompute"].delay().get() == {"changed": 0}


def test_each_runtime_keeps_its_own_task_app(runtime, tmp_path):
    """Building a second runtime (another broker setting) leaves the first one's tasks where
    they were: no process-wide Celery configuration to overwrite."""
    from infra.settings import Settings
    from lifecert.bootstrap import build_runtime

    other = build_runtime(
        Settings(data_dir=tmp_path / "var", broker_url="redis://127.0.0.1:6379/15")
    )
    try:
        assert other.queue_app is not runtime.queue_app
        assert other.queue_app.conf.task_always_eager is False
        assert runtime.queue_app.conf.task_always_eager is True
        other.queue_app.loader.import_default_modules()
        runtime.queue_app.loader.import_default_modules()
        name = "lifecert.periods.recompute"
        assert other.queue_app.tasks[name].app is other.queue_app
        assert runtime.queue_app.tasks[name].app is runtime.queue_app
    finally:
        other.close()


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
