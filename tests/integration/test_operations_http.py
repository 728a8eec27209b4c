"""Liveness, readiness, the metrics endpoint and request ids, on the real app."""

from __future__ import annotations

import io
import logging
import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr

from infra import telemetry
from lifecert.web import create_app
from tests.conftest import MODEL_DIR

pytestmark = pytest.mark.postgres


def test_healthz_is_alive_without_asking_the_dependencies_and_readyz_asks_each(client):
    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.get_json()["status"] == "ok"
    assert "database" not in alive.get_json()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    body = ready.get_json()
    assert body == {
        "status": "ok",
        "version": body["version"],
        "database": "ok",
        "object_store": "ok",
        "broker": "ok",  # no broker: tasks run in this process
        "models": "ok",
    }


def test_readyz_names_what_is_not_ready_a_database_down_and_an_altered_model(settings, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(MODEL_DIR, models)
    altered = next(p for p in sorted(models.rglob("*.onnx")) if "peppa" in p.name.lower())
    altered.write_bytes(altered.read_bytes()[:-16] + b"\0" * 16)
    broken = settings.model_copy(
        update={
            "database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none",
            "model_dir": models,
            "broker_url": "redis://127.0.0.1:1/0",
        }
    )
    app = create_app(broken)
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["status"] == "not_ready"
    assert body["database"].startswith("unreachable: ")
    assert body["broker"].startswith("unreachable: ")
    assert body["models"] == "peppa_68 altered (sha256 differs)"
    assert body["object_store"] == "ok"
    # alive all the same: the orchestrator must not restart it for its database
    assert app.test_client().get("/healthz").status_code == 200
    (models / "recognition").rename(models / "elsewhere")
    missing = app.test_client().get("/readyz").get_json()["models"]
    assert "w600k_mbf missing" in missing


def test_metrics_are_for_the_scrape_token_or_this_machine_only(settings, app, client):
    local = client.get("/metrics")
    assert local.status_code == 200 and b"lifecert_http_requests_total" in local.data
    remote = client.get("/metrics", environ_overrides={"REMOTE_ADDR": "203.0.113.9"})
    assert remote.status_code == 404
    guarded = create_app(settings.model_copy(update={"metrics_token": SecretStr("s3cr3t-scrape")}))
    scraper = guarded.test_client()
    assert scraper.get("/metrics").status_code == 401
    assert scraper.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = scraper.get(
        "/metrics",
        headers={"Authorization": "Bearer s3cr3t-scrape"},
        environ_overrides={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert ok.status_code == 200 and ok.mimetype == "text/plain"
    assert b'lifecert_backlog_up{source="notice_backlog"} 1.0' in ok.data
    # production without a token: no metrics, even for this machine
    production = create_app(settings.model_copy(update={"environment": "production"}))
    assert production.test_client().get("/metrics").status_code == 404


def test_every_answer_has_a_request_id_a_proxys_is_kept_and_a_strange_one_replaced(client):
    fresh = client.get("/healthz").headers["X-Request-Id"]
    assert len(fresh) == 32 and fresh != client.get("/healthz").headers["X-Request-Id"]
    kept = client.get("/healthz", headers={"X-Request-Id": "proxy-1f3a9c77"})
    assert kept.headers["X-Request-Id"] == "proxy-1f3a9c77"
    for strange in ("short", "x" * 65, "bad id; level=ERROR", "../../etc"):
        got = client.get("/healthz", headers={"X-Request-Id": strange}).headers["X-Request-Id"]
        assert got != strange and len(got) == 32
    refused = client.get("/api/persons")  # refused before any view: the id is there too
    assert refused.status_code == 401 and refused.headers["X-Request-Id"]


def test_the_incident_id_of_a_500_is_the_request_id_found_in_the_log(settings):
    app = create_app(settings)

    @app.route("/api/explode")
    def explode() -> str:
        raise RuntimeError("a bug")

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(telemetry.RequestIdFilter())
    handler.setFormatter(telemetry.json_formatter())
    logging.getLogger().addHandler(handler)
    try:
        answer = app.test_client().get("/api/explode", headers={"X-Request-Id": "incident-42abc"})
    finally:
        logging.getLogger().removeHandler(handler)
    assert answer.status_code == 500
    assert "incident-42abc" in answer.get_json()["message"]
    assert answer.headers["X-Request-Id"] == "incident-42abc"
    line = next(x for x in out.getvalue().splitlines() if "unhandled error" in x)
    assert '"request_id": "incident-42abc"' in line and "RuntimeError" in line


def test_log_lines_are_json_with_the_request_id(tmp_path: Path):
    out = io.StringIO()
    telemetry.configure_logging("INFO", "json")
    root = logging.getLogger()
    ours = next(h for h in root.handlers if getattr(h, "_lifecert", False))
    assert isinstance(ours, logging.StreamHandler)
    previous = ours.setStream(out)
    token = telemetry.bind_request_id("req-json-line-01")
    try:
        logging.getLogger("lifecert.test").info("hello %s", "operators")
    finally:
        telemetry.unbind_request_id(token)
        ours.setStream(previous)
        telemetry.configure_logging("INFO", "text")
    import json

    line = json.loads(out.getvalue().splitlines()[-1])
    assert line["message"] == "hello operators" and line["request_id"] == "req-json-line-01"
    assert line["level"] == "INFO" and line["logger"] == "lifecert.test" and line["time"]


def test_a_worker_does_not_start_on_a_wrong_model_pack(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from infra.settings import get_settings
    from lifecert.cli import main

    models = tmp_path / "models"
    shutil.copytree(MODEL_DIR, models)
    (models / "recognition" / "w600k_mbf_int8.onnx").write_bytes(b"not the model")
    monkeypatch.setenv("LIFECERT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LIFECERT_MODEL_DIR", str(models))
    monkeypatch.setenv("LIFECERT_BROKER_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["worker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "w600k_mbf altered (sha256 differs)" in result.output
