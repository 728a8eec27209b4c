"""End to end: the real API, an S3 server on loopback, a Celery worker on this machine's
Redis, PostgreSQL, and the real face models on the shared clips."""

from __future__ import annotations

import io
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pytest
import redis
import requests

from api.app import create_app
from certification.selfservice import FixedChallengePolicy
from lifecert.bootstrap import Runtime, build_runtime, selfservice_config
from lifecert.settings import Settings
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
    from lifecert.selfservice_adapters import BiometricFaceEngine
    from models.store import ModelStore

    engine = Engine(ModelStore.open(MODEL_DIR))
    engine.warm_up()
    return BiometricFaceEngine(engine)


@pytest.fixture(scope="session")
def worker(app: Any, runtime: Runtime, face_engine: Any) -> Iterator[None]:
    """A real Celery worker consuming the Redis broker, in a thread of this process."""
    from celery.contrib.testing.worker import start_worker

    from worker.celery_app import celery_app, use_runtime

    redis.Redis.from_url(REDIS_URL).flushdb()
    use_runtime(runtime, face_engine)
    with start_worker(
        celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=60
    ):
        yield


@pytest.fixture(autouse=True)
def clean(runtime: Runtime) -> Iterator[None]:
    yield
    truncate_all(runtime.engine)
    runtime.selfservice_override = None


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

    def make(clip: str = "driving_d9", seq: int = 11, name: str = "王建国") -> Pensioner:
        from certification.citizen_id import make_citizen_id

        cid = make_citizen_id("500103", date(1949, 3, 1), seq).value
        person = new_person(clerk, cid, name=name)
        grant(clerk, person["id"], start_date="2010-05-01")
        photo = jpeg(frame_at(SELFIES / f"{clip}.mp4", 0.5))
        resp = clerk.put(
            f"/api/persons/{person['id']}/enrolment",
            data={"photo": (io.BytesIO(photo), "id.jpg", "image/jpeg")},
            content_type="multipart/form-data",
        )
        assert resp.status_code == 202, resp.get_json()
        state = wait_for(
            lambda: clerk.get(f"/api/persons/{person['id']}/enrolment").get_json(),
            lambda s: s["latest_request"]["status"] != "pending",
        )
        assert state["latest_request"]["status"] == "accepted", state
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
        return Pensioner(person, Caller(client, tokens["access_token"], name), cid)

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
