"""The deployment files operators start from: compose.yaml resolves with every secret set and
refuses to start without one; its shape keeps the promises of the README (one public door,
a scoped object-store user, models read-only); the Dockerfile builds a small, non-root image.

There is no Docker engine here: podman-compose resolves the file (interpolation, anchors,
merge keys) as ``docker compose config`` would; the image itself is built and started by
tests/e2e/test_image.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "LIFECERT_SECRET_KEY": "k" * 43,
    "POSTGRES_PASSWORD": "pg-secret",
    "LIFECERT_S3_ACCESS_KEY": "lifecert-app",
    "LIFECERT_S3_SECRET_KEY": "app-secret-123",
    "MINIO_ROOT_USER": "minio-root",
    "MINIO_ROOT_PASSWORD": "root-secret-123",
    "LIFECERT_SMS_PROVIDER": "aliyun",
    "LIFECERT_SMS_ACCESS_KEY_ID": "id",
    "LIFECERT_SMS_ACCESS_KEY_SECRET": "secret",
    "LIFECERT_SMS_SIGN_NAME": "重庆社保",
    "LIFECERT_SMS_TEMPLATE_CODE": "SMS_1",
    "LIFECERT_RECEIPT_SIGNING_KEY": "seed",
    "LIFECERT_PUBLIC_BASE_URL": "https://lifecert.example.cn",
    "LIFECERT_TEMPLATE_KEYS": "t",
    "LIFECERT_DATA_KEYS": "d",
    "LIFECERT_INDEX_KEY": "i",
    "LIFECERT_METRICS_TOKEN": "m",
    "LIFECERT_MODEL_PACK": "/srv/lifecert/models",
}
LIFECERT_SERVICES = ("migrate", "api", "worker", "beat")


def resolve(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    folder = tmp_path / "deploy"
    folder.mkdir(exist_ok=True)
    shutil.copy(ROOT / "compose.yaml", folder / "compose.yaml")
    (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    tool = Path(sys.executable).with_name("podman-compose")
    return subprocess.run(
        [str(tool), "-f", str(folder / "compose.yaml"), "config"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )


def test_compose_resolves_with_every_secret_and_keeps_its_promises(tmp_path):
    done = resolve(SECRETS, tmp_path)
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    services = config["services"]
    assert set(services) == {
        *LIFECERT_SERVICES,
        "proxy",
        "postgres",
        "redis",
        "minio",
        "minio-init",
    }
    # one public door: the proxy; nothing else publishes a port
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"proxy"}
    for name in LIFECERT_SERVICES:
        service = services[name]
        env = service["environment"]
        assert env["LIFECERT_ENVIRONMENT"] == "production"
        # the service's own MinIO user, never the root account
        assert env["LIFECERT_S3_ACCESS_KEY"] == "lifecert-app"
        assert "MINIO_ROOT_USER" not in env and "MINIO_ROOT_PASSWORD" not in env
        assert env["LIFECERT_TRUSTED_PROXY_HOPS"] == "1"
        # the operator's model pack, read-only; nothing downloads models at run time
        assert "/srv/lifecert/models:/var/lib/lifecert/models:ro" in service["volumes"]
        assert "fetch" not in " ".join(service.get("command") or [])
    assert services["worker"]["environment"]["LIFECERT_WORKER_METRICS_PORT"] == "9101"
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    policy = services["minio-init"]["command"][0]
    assert "lifecert-evidence/*" in policy and "s3:*" not in policy


def test_compose_refuses_to_start_without_a_secret(tmp_path):
    for missing in ("LIFECERT_DATA_KEYS", "LIFECERT_METRICS_TOKEN", "LIFECERT_MODEL_PACK"):
        env = {k: v for k, v in SECRETS.items() if k != missing}
        done = resolve(env, tmp_path)
        assert done.returncode != 0
        assert missing in done.stderr, done.stderr[-500:]


def test_the_dockerfile_builds_a_pinned_non_root_image_without_build_tools():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "ARG BASE=docker.io/library/python:3.11-slim-bookworm" in text
    assert "\nUSER lifecert\n" in text and "HEALTHCHECK" in text
    # dependencies before sources: a code change does not repeat the install
    assert text.index("-r /tmp/requirements.txt") < text.index("COPY api api")
    # the installers leave the final image
    assert "pip uninstall --quiet --yes pip setuptools wheel" in text
    # the service needs one OpenCV wheel (headless); the second comes only with the baseline
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    service = " ".join(project["dependencies"])
    assert "opencv-python-headless" in service
    assert "opencv-python>" not in service and "insightface" not in service
