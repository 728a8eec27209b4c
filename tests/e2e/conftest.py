"""End to end: the real API, an S3 server on loopback, a Celery worker on this machine's
Redis, PostgreSQL, and the real face models on the shared clips."""

from __future__ import annotations

import io
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from certification.selfservice import FixedChallengePolicy
from infra.runtime import Runtime, selfservice_config
from infra.settings import Settings
from lifecert.bootstrap import build_runtime
from lifecert.web import create_app
from storage.objects import S3ObjectStore
from tests.biometrics.conftest import SELFIES, frame_at, jpeg
from tests.conftest import MODEL_DIR, REDIS_URL, truncate_all
from tests.integration.conftest import (  # noqa: F401 - fixtures shared with integration
    Caller,
    client,
    grant,
    login,
    make_region,
    new_person,
)

BUCKET = "lifecert-e2e"


def s3_environment(s3_endpoint: str) -> dict[str, str]:
    """The S3 test server's settings for a process started apart (a worker, a container)."""
    return {
        "LIFECERT_OBJECT_STORE": "s3",
        "LIFECERT_S3_ENDPOINT": s3_endpoint,
        "LIFECERT_S3_ACCESS_KEY": "testing",
        "LIFECERT_S3_SECRET_KEY": "testing",
        "LIFECERT_S3_BUCKET": BUCKET,
        "LIFECERT_S3_SECURE": "false",
        "LIFECERT_S3_REGION": "us-east-1",
    }


def e2e_settings(pg_url: str, s3_endpoint: str, tmp: Any, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=pg_url,
        data_dir=tmp,
        secret_key="e2e-signing-key-" + secrets.token_hex(16),
        object_store="s3",
        s3_endpoint=s3_endpoint,
        s3_access_key="testing",
        s3_secret_key="testing",
        s3_bucket=BUCKET,
        s3_secure=False,
        s3_region="us-east-1",
        broker_url=REDIS_URL,
        model_dir=MODEL_DIR,
        dev_identity_provider=True,
        db_pool_size=4,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def settings(pg_url: str, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return e2e_settings(pg_url, s3_endpoint, tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="session")
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings)
    store = rt.object_store
    assert isinstance(store, S3ObjectStore)
    store.ensure_bucket()
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def app(settings: Settings, runtime: Runtime):  # type: ignore[no-untyped-def]
    application = create_app(settings, runtime)
    application.config["TESTING"] = True
    return application


@pytest.fixture(scope="session")
def face_engine() -> Any:
    from biometrics.engine import Engine
    from infra.selfservice_adapters import BiometricFaceEngine
    from models.store import ModelStore

    engine = Engine(ModelStore.open(MODEL_DIR))
    engine.warm_up()
    return BiometricFaceEngine(engine)


@pytest.fixture(scope="session")
def worker(app: Any, runtime: Runtime, face_engine: Any) -> Iterator[None]:
    """A real Celery worker consuming the Redis broker, in a thread of this process."""
    from celery.contrib.testing.worker import start_worker

    redis.Redis.from_url(REDIS_URL).flushdb()
    runtime.use_face_engine(face_engine)
    with start_worker(
        runtime.queue_app,
        pool="solo",
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=60,
    ):
        yield


@pytest.fixture(autouse=True)
def clean(runtime: Runtime) -> Iterator[None]:
    yield
    truncate_all(runtime.database)
    runtime.selfservice_override = None
    runtime.login_failures.reset()  # sign-in delays and request counts start afresh
    runtime.limiter.reset()


@pytest.fixture
def challenge(runtime: Runtime) -> Callable[..., None]:
    def set_actions(*actions: str) -> None:
        runtime.selfservice_override = replace(
            selfservice_config(runtime.settings),
            policy=FixedChallengePolicy(actions=tuple(actions)),
        )

    return set_actions


def wait_for(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last value: {value}")
        time.sleep(0.3)
        value = fetch()
    return value


@dataclass
class Pensioner:
    person: dict[str, Any]
    app: Caller  # the pensioner's own app session
    citizen_id: str


@pytest.fixture
def enrolled(worker: None, client: Any, clerk: Caller) -> Callable[..., Pensioner]:  # noqa: F811
    """A pensioner whose enrolled photo is a frame of a shared clip, signed in to the app."""

    def make(
        clip: str = "driving_d9", seq: int = 11, name: str = "王建国", sign_up: bool = True
    ) -> Pensioner:
        from certification.citizen_id import make_citizen_id

        cid = make_citizen_id("500103", date(1949, 3, 1), seq).value
        person = new_person(clerk, cid, name=name)
        grant(clerk, person["id"], start_date="2010-05-01")
        photo = jpeg(frame_at(SELFIES / f"{clip}.mp4", 0.5))
        resp = clerk.put(
            f"/api/persons/{person['id']}/enrolment",
            data={"photo": (io.BytesIO(photo), "id.jpg", "image/jpeg"), "consent_ref": "CF-0001"},
            content_type="multipart/form-data",
        )
        assert resp.status_code == 202, resp.get_json()
        state = wait_for(
            lambda: clerk.get(f"/api/persons/{person['id']}/enrolment").get_json(),
            lambda s: s["latest_request"]["status"] != "pending",
        )
        assert state["latest_request"]["status"] == "accepted", state
        if not sign_up:
            return Pensioner(person, Caller(client, "", name), cid)
        login_resp = client.post(
            "/api/auth/mobile/login", json={"provider": "dev", "code": f"dev:p{seq}"}
        ).get_json()
        tokens = client.post(
            "/api/auth/mobile/register",
            json={
                "registration_token": login_resp["registration_token"],
                "citizen_id": cid,
                "name": name,
            },
        ).get_json()
        app = Caller(client, tokens["access_token"], name)
        claim = app.get("/api/auth/me").get_json()["claim"]
        linked = clerk.post(  # the pensioner showed the ID card at the counter
            f"/api/staff/claims/{claim['id']}/link",
            json={"citizen_id_seen": cid, "name_seen": name},
        )
        assert linked.status_code == 200, linked.get_json()
        return Pensioner(person, app, cid)

    return make


@pytest.fixture
def clerk(login: Any) -> Caller:  # noqa: F811
    return login("yuzhong.clerk", "500103", ("clerk", "reviewer"))


def upload_presigned(started: dict[str, Any], video: bytes) -> None:
    up = started["upload"]
    assert up["method"] == "presigned_post", up
    resp = requests.post(
        up["url"],
        data={**up["fields"], "Content-Type": "video/mp4"},
        files={up["file_field"]: ("selfie.mp4", video, "video/mp4")},
        timeout=30,
    )
    assert resp.status_code in (200, 201, 204), resp.text


# --- the browser: Debian's Chromium driven by Playwright, against the service on loopback ----

CHROMIUM = os.environ.get("LIFECERT_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CAMERA_CLIP = "driving_d0"  # 3 s, one blink: Chromium loops it as the front camera


@pytest.fixture(scope="session")
def live_url(app: Any) -> Iterator[str]:
    """The app served over HTTP on loopback, in a thread of this process."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def write_y4m(clip: Path, out: Path) -> Path:
    """The clip as raw I420 frames (.y4m), which Chromium's fake camera plays in a loop."""
    import cv2

    cap = cv2.VideoCapture(str(clip))
    fps = round(cap.get(cv2.CAP_PROP_FPS) or 25)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        h, w = frame.shape[:2]
        frames.append(cv2.cvtColor(frame[: h - h % 2, : w - w % 2], cv2.COLOR_BGR2YUV_I420))
    cap.release()
    assert frames, f"no frames in {clip}"
    height, width = frames[0].shape[0] * 2 // 3, frames[0].shape[1]
    with out.open("wb") as fh:
        fh.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for yuv in frames:
            fh.write(b"FRAME\n")
            fh.write(yuv.tobytes())
    return out


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is not at {CHROMIUM}; the test command installs Debian's chromium package "
            "(or set LIFECERT_TEST_CHROMIUM)."
        )
    camera = write_y4m(SELFIES / f"{CAMERA_CLIP}.mp4", tmp_path_factory.mktemp("cam") / "cam.y4m")
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={camera}",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any, live_url: str) -> Iterator[Callable[..., Any]]:
    """new_page(mobile=False): a page in a fresh browser profile (its own cookies)."""
    contexts: list[Any] = []

    def make(mobile: bool = False) -> Any:
        options: dict[str, Any] = {"base_url": live_url, "locale": "zh-CN"}
        if mobile:
            options.update(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        context = browser.new_context(**options)
        context.grant_permissions(["camera"], origin=live_url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda d: pytest.fail(f"a script opened a dialog: {d.message}"))
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def console_sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/**")
    assert "/console/login" not in page.url, page.content()[:2000]
