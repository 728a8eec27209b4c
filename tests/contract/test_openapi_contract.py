"""The contract is the schema: a property-based run over every operation of the OpenAPI
document (schemathesis), as each kind of caller. Whatever it sends, the service answers
without a server error, with the status codes, content types and bodies it declares (errors
included), and no operation that needs a token works without one."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from api.auth import issue_access_token
from certification.access import Actor
from certification.citizen_id import make_citizen_id
from certification.model import Account, Region
from certification.regions import RegionLevel
from certification.services import accounts as account_service
from certification.services import entitlements, persons
from certification.vocabulary import AccountKind, BenefitKind, RecipientRole
from infra.settings import Settings
from lifecert.bootstrap import Runtime, build_runtime
from lifecert.web import create_app
from tests.integration.conftest import PASSWORD

pytestmark = pytest.mark.postgres

ROLES = ("anonymous", "city", "district", "township", "operator", "beneficiary", "family")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Operations that end the caller's own sessions would sign every later call out.
SKIP = {("POST", "/api/auth/logout")}


@pytest.fixture(scope="module")
def contract_runtime(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    settings_ = Settings(
        database_url=pg_url,
        data_dir=tmp_path_factory.mktemp("contract"),
        secret_key="contract-key-" + secrets.token_hex(16),
        db_pool_size=4,
    )
    rt = build_runtime(settings_)
    yield rt
    from tests.conftest import truncate_all

    truncate_all(rt.database)
    rt.close()


@pytest.fixture(scope="module")
def contract_app(contract_runtime: Runtime) -> Any:
    app = create_app(contract_runtime.settings, contract_runtime)
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def accounts(contract_runtime: Runtime) -> dict[str, Account]:
    """One account of each kind, and a person with a benefit for the others to look at."""
    rt = contract_runtime
    system = Actor.system("contract")
    made: dict[str, Account] = {}
    with rt.use_case() as ctx:
        if ctx.uow.regions.get("500103001") is None:
            ctx.uow.regions.add(
                Region(
                    code="500103001",
                    name="解放碑街道",
                    level=RegionLevel.TOWNSHIP,
                    parent_code="500103",
                )
            )
            ctx.uow.commit()
    staff = {
        "city": ("500000", ["clerk", "reviewer", "auditor", "counter"]),
        "district": ("500103", ["clerk", "reviewer"]),
        "township": ("500103001", ["clerk"]),
    }
    for role, (scope, roles) in staff.items():
        with rt.use_case() as ctx:
            made[role] = account_service.create_staff(
                ctx,
                system,
                rt.passwords,
                kind=AccountKind.STAFF,
                username=f"contract.{role}",
                display_name=role,
                password=PASSWORD,
                region_code=scope,
                roles=roles,
            )
    with rt.use_case() as ctx:
        made["operator"] = account_service.create_staff(
            ctx,
            system,
            rt.passwords,
            kind=AccountKind.OPERATOR,
            username="contract.ops",
            display_name="ops",
            password=PASSWORD,
            region_code=None,
            roles=[],
        )
    cid = make_citizen_id("500103", date(1950, 5, 5), 7).value
    with rt.use_case() as ctx:
        person = persons.register_person(
            ctx, system, citizen_id=cid, name="合同测", phone=None, region_code="500103001"
        )
    with rt.use_case() as ctx:
        entitlements.grant_entitlement(
            ctx,
            system,
            person.id,
            kind=BenefitKind.PENSION,
            role=RecipientRole.INSURED,
            relationship=None,
            start_date=date(2010, 5, 1),
            monthly_amount_fen=300_000,
        )
    with rt.use_case() as ctx:
        for kind in ("beneficiary", "family"):
            account = Account(
                kind=AccountKind(kind),
                display_name=kind,
                identity_verified=True,
                person_id=person.id if kind == "beneficiary" else None,
            )
            ctx.uow.accounts.add(account)
            made[kind] = account
        ctx.uow.commit()
    return made


@pytest.fixture(scope="module")
def api_schema(contract_app: Any, accounts: dict[str, Account]) -> Any:
    return schemathesis.openapi.from_wsgi("/api/openapi.json", contract_app)


@pytest.fixture
def token_for(contract_app: Any, accounts: dict[str, Account]) -> Callable[[str], dict[str, str]]:
    def headers(role: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        with contract_app.test_request_context():
            token, _ = issue_access_token(accounts[role])
        return {"Authorization": f"Bearer {token}"}

    return headers


EXAMPLES_PER_OPERATION = 12


def test_every_operation_keeps_its_contract_for_every_caller(
    api_schema: Any, token_for: Callable[[str], dict[str, str]]
) -> None:
    """Each operation gets a few generated requests (plus its documented examples), each sent
    as every kind of caller; failures are collected and reported together."""
    failures: list[str] = []
    operations = 0
    calls: list[int] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        operations += 1

        strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
            GenerationMode.NEGATIVE
        )

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            for role in ROLES:
                calls.append(1)
                headers = {**(case.headers or {}), **token_for(role)}
                case.call_and_validate(
                    headers=headers,
                    checks=CHECKS if role != "city" else [*CHECKS, ignored_auth],
                )

        try:
            run()
        except Exception as err:  # noqa: BLE001 - every operation's failure is reported
            failures.append(f"{operation.method.upper()} {operation.path}: {err}"[:2000])
    assert operations > 80
    print(f"{operations} operations, {len(calls)} requests")  # noqa: T201 - the run's size
    assert len(calls) >= operations * len(ROLES) * 2  # at least two requests per op and role
    assert not failures, "\n\n".join(failures)
