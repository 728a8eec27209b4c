"""Benchmark: self-service certifications through the whole path, sustained.

    python benchmarks/make_clip.py --height 480
    python benchmarks/selfservice_load.py --clip var/bench/selfie_480p_5s.mp4 --workers 2 --clips 60

Starts, as separate processes: the API (waitress), an S3 server (moto's, standing in for
MinIO), one or more Celery workers (the real face models) on this machine's Redis,
against a fresh PostgreSQL database. Then pensioners' apps, in parallel, start a session,
upload the clip by presigned POST, submit, and poll until the decision. Latency is from
the submit call (the upload is complete) to the decision seen by the app.

Last line:
    clips=N workers=W concurrency=C wall_s=X clips_per_s=Y p50_s=A p95_s=B p99_s=D decided=...
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from uuid import UUID

import requests
import sqlalchemy as sa

PROJECT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get(
    "LIFECERT_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS = "redis://127.0.0.1:6379/13"
MODELS = os.environ.get("LIFECERT_MODEL_DIR", str(PROJECT.parent / "shared" / "models"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"port {port} did not open")


@dataclass
class App:
    token: str
    person_id: str


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--clip", type=Path, default=PROJECT / "var" / "bench" / "selfie_480p_5s.mp4"
    )
    parser.add_argument("--challenge", default="blink")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=6)
    args = parser.parse_args()

    import redis

    redis.Redis.from_url(REDIS).flushdb()
    dbname = f"lifecert_bench_{secrets.token_hex(3)}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{dbname}"'))
    db_url = sa.make_url(PG_ADMIN).set(database=dbname).render_as_string(hide_password=False)
    s3_port, api_port = free_port(), free_port()
    data_dir = PROJECT / "var" / "bench" / dbname
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "LIFECERT_DATABASE_URL": db_url,
        "LIFECERT_DATA_DIR": str(data_dir),
        "LIFECERT_SECRET_KEY": secrets.token_urlsafe(40),
        "LIFECERT_OBJECT_STORE": "s3",
        "LIFECERT_S3_ENDPOINT": f"127.0.0.1:{s3_port}",
        "LIFECERT_S3_ACCESS_KEY": "bench",
        "LIFECERT_S3_SECRET_KEY": "bench-secret",
        "LIFECERT_S3_SECURE": "false",
        "LIFECERT_S3_REGION": "us-east-1",
        "LIFECERT_BROKER_URL": REDIS,
        "LIFECERT_MODEL_DIR": MODELS,
        "LIFECERT_SELFSERVICE_FIXED_CHALLENGE": args.challenge,
        "LIFECERT_DEV_IDENTITY_PROVIDER": "true",
        "LIFECERT_LOG_LEVEL": "WARNING",
    }
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(cmd: list[str]) -> None:
        procs.append(
            subprocess.Popen(  # noqa: S603 - this script's own fixed commands
                cmd,
                cwd=PROJECT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )

    try:
        spawn([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)])
        wait_port(s3_port)
        subprocess.run(
            [sys.executable, "-m", "lifecert.cli", "migrate"],
            cwd=PROJECT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        apps = setup_people(env, args.concurrency)
        spawn(
            [
                sys.executable,
                "-m",
                "lifecert.cli",
                "serve",
                "--no-migrate",
                "--port",
                str(api_port),
                "--threads",
                "16",
            ]
        )
        for _ in range(args.workers):
            spawn(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "lifecert.worker_process",
                    "worker",
                    "--pool=solo",
                    "--loglevel=WARNING",
                    "--without-gossip",
                    "--without-mingle",
                ]
            )
        wait_port(api_port)
        base = f"http://127.0.0.1:{api_port}"
        video = args.clip.read_bytes()
        counter = iter(range(10**9))
        lock = threading.Lock()

        def one(app: App) -> tuple[float, str]:
            with lock:
                n = next(counter)
            h = {"Authorization": f"Bearer {app.token}"}
            started = requests.post(
                f"{base}/api/selfservice/sessions", json={}, headers=h, timeout=30
            ).json()
            up = started["upload"]
            requests.post(
                up["url"],
                data={**up["fields"], "Content-Type": "video/mp4"},
                files={"file": ("selfie.mp4", video + n.to_bytes(8, "big"), "video/mp4")},
                timeout=60,
            ).raise_for_status()
            t0 = time.perf_counter()
            requests.post(
                f"{base}/api/selfservice/sessions/{started['session_id']}/submit",
                json={"nonce": started["nonce"]},
                headers=h,
                timeout=30,
            ).raise_for_status()
            while True:
                state = requests.get(
                    f"{base}/api/selfservice/sessions/{started['session_id']}",
                    headers=h,
                    timeout=30,
                ).json()["state"]
                if state not in ("open", "pending"):
                    return time.perf_counter() - t0, state
                time.sleep(0.25)  # an app polls a few times a second

        def run(total: int) -> tuple[list[float], Counter[str], float]:
            latencies: list[float] = []
            outcomes: Counter[str] = Counter()
            remaining = iter(range(total))
            t_start = time.perf_counter()

            def loop(app: App) -> None:
                while True:
                    with lock:
                        if next(remaining, None) is None:
                            return
                    latency, state = one(app)
                    with lock:
                        latencies.append(latency)
                        outcomes[state] += 1

            threads = [threading.Thread(target=loop, args=(a,)) for a in apps]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return latencies, outcomes, time.perf_counter() - t_start

        run(args.warmup)  # models loaded, caches warm
        latencies, outcomes, wall = run(args.clips)
        q = statistics.quantiles(latencies, n=100)
        print(  # noqa: T201 - a benchmark prints its figures
            f"clips={len(latencies)} workers={args.workers} concurrency={args.concurrency} "
            f"wall_s={wall:.1f} clips_per_s={len(latencies) / wall:.2f} "
            f"p50_s={statistics.median(latencies):.2f} p95_s={q[94]:.2f} p99_s={q[98]:.2f} "
            f"decided={dict(outcomes)}"
        )
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))


def setup_people(env: dict[str, str], count: int) -> list[App]:
    """Pensioners with benefits and enrolled templates, and their app tokens (in-process)."""
    for key, value in env.items():
        if key.startswith("LIFECERT_"):
            os.environ[key] = value
    from certification.access import Actor
    from certification.citizen_id import make_citizen_id
    from certification.model import Entitlement, FaceTemplate, Person
    from certification.regions import RegionPlacement
    from certification.services.selfservice import confirm_claim
    from certification.vocabulary import BenefitKind, RecipientRole
    from infra.settings import get_settings
    from lifecert.bootstrap import build_engine, build_runtime
    from lifecert.web import create_app
    from storage.objects import S3ObjectStore

    settings = get_settings()
    runtime = build_runtime(settings)
    store = runtime.object_store
    assert isinstance(store, S3ObjectStore)
    store.ensure_bucket()
    engine = build_engine(settings)
    import av
    import cv2

    clip = av.open(
        str(
            Path(sys.argv[sys.argv.index("--clip") + 1])
            if "--clip" in sys.argv
            else PROJECT / "var" / "bench" / "selfie_480p_5s.mp4"
        )
    )
    frame = next(f for f in clip.decode(clip.streams.video[0]) if (f.time or 0) >= 0.5).to_ndarray(
        format="bgr24"
    )
    clip.close()
    template = engine.enrol(cv2.imencode(".jpg", frame)[1].tobytes()).template
    app = create_app(settings, runtime).test_client()
    apps = []
    for i in range(count):
        cid = make_citizen_id("500103", date(1950, 1, 1), 100 + i)
        with runtime.use_case() as ctx:
            person = Person.register(
                citizen_id=cid, name=f"测试{i}", phone=None, placement=RegionPlacement.of("500103")
            )
            ent = Entitlement(
                person.id, BenefitKind.PENSION, RecipientRole.INSURED, date(2010, 5, 1), 300_000
            )
            ent.open(None)
            person.entitlements.append(ent)
            person.refresh_period(ctx.config.period)
            ctx.uow.persons.add(person)
            ctx.uow.flush()
            ctx.uow.templates.add(
                FaceTemplate(
                    person.id, template.model, template.model_version, template.to_dict(), "photo"
                )
            )
            ctx.audit(Actor.system("bench"), "bench.person", "person", person.id)
            ctx.uow.commit()
        # the app's sign-in: a text-message code (logged), registration, and the claim
        # confirmed as a counter clerk would after checking the ID card
        phone, where = f"139{i:08d}", {"REMOTE_ADDR": f"10.9.{i // 250}.{i % 250}"}
        app.post("/api/auth/sms/code", json={"phone": phone}, environ_base=where)
        reg = app.post(
            "/api/auth/sms/login",
            json={"phone": phone, "code": runtime.sms.last_code(phone)},
            environ_base=where,
        ).get_json()
        tokens = app.post(
            "/api/auth/mobile/register",
            json={
                "registration_token": reg["registration_token"],
                "citizen_id": cid.value,
                "name": f"测试{i}",
            },
            environ_base=where,
        ).get_json()
        with runtime.use_case() as ctx:
            (claim,) = ctx.uow.claims.for_account(UUID(tokens["account"]["id"]))
            confirm_claim(ctx, claim, person, Actor.system("bench"), how="counter")
            ctx.uow.commit()
        # the person agrees to face processing in the app, as the capture page asks first
        me = {"Authorization": f"Bearer {tokens['access_token']}"}
        notice = app.get("/api/me/consent", headers=me).get_json()["notice_version"]
        agreed = app.post("/api/me/consent", json={"notice_version": notice}, headers=me)
        assert agreed.status_code == 201, agreed.get_json()
        apps.append(App(tokens["access_token"], str(person.id)))
    runtime.close()
    return apps


if __name__ == "__main__":
    main()
