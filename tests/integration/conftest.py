"""Integration fixtures: a fresh PostgreSQL database per test session, the real app on it."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from certification.access import Actor
from certification.model import Region, ReviewCase
from certification.regions import RegionLevel
from certification.services.accounts import create_staff
from certification.vocabulary import AccountKind
from infra.settings import Settings
from lifecert.bootstrap import Runtime, build_runtime
from lifecert.web import create_app
from tests.conftest import MODEL_DIR, truncate_all

PASSWORD = "correct-horse-battery-9"


@pytest.fixture(scope="session")
def settings(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("data")
    return Settings(
        database_url=pg_url,
        data_dir=data,
        secret_key="test-signing-key-" + secrets.token_hex(16),
        dev_identity_provider=True,
        db_pool_size=4,
        model_dir=MODEL_DIR,
    )


@pytest.fixture(scope="session")
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings)
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def app(settings: Settings, runtime: Runtime):  # type: ignore[no-untyped-def]
    application = create_app(settings, runtime)
    application.config["TESTING"] = True
    return application


@pytest.fixture(autouse=True)
def clean_database(runtime: Runtime) -> Iterator[None]:
    """Each test starts from the migrated state."""
    yield
    truncate_all(runtime.database)
    runtime.login_failures.reset()  # sign-in delays and request counts start afresh
    runtime.limiter.reset()


@dataclass
class Caller:
    """A signed-in API client."""

    client: FlaskClient
    token: str
    username: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(
            url, json=json, headers={**self.headers, **kw.pop("headers", {})}, **kw
        )

    def patch(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.patch(
            url, json=json, headers={**self.headers, **kw.pop("headers", {})}, **kw
        )

    def put(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(
            url, json=json, headers={**self.headers, **kw.pop("headers", {})}, **kw
        )


@pytest.fixture
def client(app) -> FlaskClient:  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def make_region(runtime: Runtime):  # type: ignore[no-untyped-def]
    def _make(code: str, name: str = "测试街道") -> None:
        level = RegionLevel.TOWNSHIP if len(code) == 9 else RegionLevel.VILLAGE
        with runtime.use_case() as ctx:
            if ctx.uow.regions.get(code) is None:
                ctx.uow.regions.add(
                    Region(code=code, name=name, level=level, parent_code=code[:-3])
                )
                ctx.uow.commit()

    return _make


def staff_account(
    runtime: Runtime,
    username: str,
    scope: str | None = "500103",
    roles: tuple[str, ...] = ("clerk",),
    kind: AccountKind = AccountKind.STAFF,
) -> None:
    """A staff (or operator) account with the test password, made as an operator would."""
    with runtime.use_case() as ctx:
        create_staff(
            ctx,
            Actor.system("test"),
            runtime.passwords,
            kind=kind,
            username=username,
            display_name=username,
            password=PASSWORD,
            region_code=scope if kind is AccountKind.STAFF else None,
            roles=list(roles) if kind is AccountKind.STAFF else [],
        )


def app_sign_up(
    client: FlaskClient,
    runtime: Runtime,
    phone: str,
    citizen_id: str,
    name: str,
    where: dict[str, str] | None = None,
    read_code: Callable[[str], str | None] | None = None,
) -> dict[str, str]:
    """A new app account signed in by a text-message code (the logging sender's, or where
    ``read_code`` reads it), registered with a citizen ID and name (a pending claim): its
    Authorization header."""
    environ = where or {}
    read_code = read_code or runtime.sms.last_code
    sent = client.post("/api/auth/sms/code", json={"phone": phone}, environ_base=environ)
    assert sent.status_code == 202, sent.get_json()
    first = client.post(
        "/api/auth/sms/login",
        json={"phone": phone, "code": read_code(phone)},
        environ_base=environ,
    ).get_json()
    made = client.post(
        "/api/auth/mobile/register",
        json={
            "registration_token": first["registration_token"],
            "citizen_id": citizen_id,
            "name": name,
        },
        environ_base=environ,
    )
    assert made.status_code == 201, made.get_json()
    return {"Authorization": f"Bearer {made.get_json()['access_token']}"}


@pytest.fixture
def login(client: FlaskClient, runtime: Runtime, make_region):  # type: ignore[no-untyped-def]
    """login(username, scope, roles) creates the account if needed and signs in."""

    def _login(
        username: str,
        scope: str | None = "500103",
        roles: tuple[str, ...] = ("clerk",),
        kind: AccountKind = AccountKind.STAFF,
    ) -> Caller:
        with runtime.use_case() as ctx:
            exists = ctx.uow.accounts.by_username(username) is not None
        if not exists:
            if scope and len(scope) == 9:
                make_region(scope)
            staff_account(runtime, username, scope, roles, kind)
        resp = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert resp.status_code == 200, resp.get_json()
        return Caller(client, resp.get_json()["access_token"], username)

    return _login


@pytest.fixture
def clerk(login) -> Caller:  # type: ignore[no-untyped-def]
    """A district clerk of 渝中区 (500103) who may also suspend and restore."""
    return login("yuzhong.clerk", "500103", ("clerk",))


def linked_at_counter(
    client: FlaskClient, clerk: Caller, headers: dict[str, str], citizen_id: str, name: str
) -> None:
    """The app account's pending claim confirmed by a clerk who saw the ID card: the account
    becomes the person's, identity verified."""
    claim = client.get("/api/auth/me", headers=headers).get_json()["claim"]
    linked = clerk.post(
        f"/api/staff/claims/{claim['id']}/link",
        json={"citizen_id_seen": citizen_id, "name_seen": name},
    )
    assert linked.status_code == 200, linked.get_json()


def rejected_review(runtime: Runtime, reviewer: Caller, person_id: str) -> str:
    """A failed self-service clip's review case for the person, rejected by ``reviewer``
    through the API: the case id."""
    with runtime.use_case() as ctx:
        case = ReviewCase(person_id=UUID(person_id), reason="failed")
        ctx.uow.review_cases.add(case)
        ctx.uow.commit()
        case_id = str(case.id)
    etag = reviewer.get(f"/api/review/cases/{case_id}").headers["ETag"]
    rejected = reviewer.put(
        f"/api/review/cases/{case_id}/decision",
        json={"decision": "reject", "comment": "cannot see the face in the dark"},
        headers={"If-Match": etag},
    )
    assert rejected.status_code == 200, rejected.get_json()
    return case_id


def new_person(
    caller: Caller, citizen_id: str, region: str = "500103", name: str = "张秀兰"
) -> dict[str, Any]:
    resp = caller.post(
        "/api/persons", json={"citizen_id": citizen_id, "name": name, "region_code": region}
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def grant(caller: Caller, person_id: str, **body: Any) -> dict[str, Any]:
    payload = {"kind": "pension", "start_date": "2010-05-01", "monthly_amount_fen": 300_000, **body}
    resp = caller.post(f"/api/persons/{person_id}/entitlements", json=payload)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def audit_actions(runtime: Runtime) -> list[str]:
    with runtime.database.connect() as conn:
        return list(conn.scalars(sa.text("SELECT action FROM audit_events ORDER BY sequence")))
