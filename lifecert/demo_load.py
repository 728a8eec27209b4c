"""Loading the synthetic population and demo accounts into the database.

The population goes through the register import (the same checks, periods and bulk
writing as an agency's register file), in one process or several side by side.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from itertools import islice
from multiprocessing import get_context
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from certification.access import Actor
from certification.model import Region
from certification.regions import RegionLevel, level_of, parent_of
from certification.services import accounts as account_service
from certification.services.register_import import RegisterReport, import_register
from certification.vocabulary import (
    AccountKind,
    StaffRole,
)
from infra.runtime import Runtime
from infra.settings import Settings
from lifecert.bootstrap import build_runtime
from lifecert.demo import DemoPerson, PopulationGenerator, demo_regions, register_rows
from storage import schema


def ensure_demo_regions(engine: Engine) -> int:
    """Insert the synthetic townships and villages that are not registered yet."""
    t = schema.regions
    with engine.begin() as conn:
        existing = set(conn.scalars(sa.select(t.c.code)))
        rows = [
            {
                "code": r.code,
                "name": r.name,
                "level": level_of(r.code).value,
                "parent_code": parent_of(r.code),
            }
            for r in demo_regions()
            if r.code not in existing
        ]
        for chunk in _chunks(rows, 2000):
            conn.execute(sa.insert(t), chunk)
    return len(rows)


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def load_population(runtime: Runtime, people: Iterable[DemoPerson]) -> RegisterReport:
    """Load people with their benefits and last certification through the register import
    (the same checks and the same bulk writing as an agency's register file)."""
    ensure_demo_regions(runtime.database)
    numbered = enumerate(register_rows(people), start=2)  # row 1 is a file's header
    with runtime.use_case() as ctx:
        return import_register(
            ctx, Actor.system("demo-loader"), numbered, source="synthetic population"
        )


def _load_shard(
    settings: Settings, count: int, seed: int, today: date, shard: int, shards: int
) -> RegisterReport:
    runtime = build_runtime(settings)
    try:
        people = PopulationGenerator(seed, today).people(count, shard=shard, shards=shards)
        return load_population(runtime, people)
    finally:
        runtime.close()


def load_population_parallel(
    settings: Settings, count: int, seed: int, today: date, processes: int
) -> list[RegisterReport]:
    """``count`` synthetic people loaded by ``processes`` processes, each its own shard of
    the generator and its own connection (PostgreSQL takes the batches side by side)."""
    ensure_demo_regions_for(settings)
    shares = [count // processes + (1 if k < count % processes else 0) for k in range(processes)]
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(_load_shard, settings, share, seed, today, k, processes)
            for k, share in enumerate(shares)
            if share
        ]
        return [f.result() for f in futures]


def ensure_demo_regions_for(settings: Settings) -> None:
    """The synthetic regions, created once before shards start (they would race)."""
    runtime = build_runtime(settings)
    try:
        ensure_demo_regions(runtime.database)
    finally:
        runtime.close()


@dataclass(frozen=True, slots=True)
class DemoLogin:
    username: str
    password: str
    description: str


DEMO_STAFF: tuple[tuple[str, AccountKind, str, str | None, list[StaffRole]], ...] = (
    ("operator", AccountKind.OPERATOR, "值班运维", None, []),
    ("city.clerk", AccountKind.STAFF, "市社保局经办", "500000",
     [StaffRole.CLERK, StaffRole.COUNTER, StaffRole.AUDITOR, StaffRole.REVIEWER,
      StaffRole.INVESTIGATOR, StaffRole.SUPERVISOR]),
    ("yuzhong.clerk", AccountKind.STAFF, "渝中区经办", "500103",
     [StaffRole.CLERK, StaffRole.COUNTER, StaffRole.REVIEWER, StaffRole.INVESTIGATOR]),
    ("jiangbei.clerk", AccountKind.STAFF, "江北区经办", "500105", [StaffRole.CLERK]),
    ("yuzhong.township", AccountKind.STAFF, "渝中区第一街道", "500103001", [StaffRole.CLERK]),
    ("wanzhou.counter", AccountKind.STAFF, "万州区窗口", "500101", [StaffRole.COUNTER]),
)  # fmt: skip


def ensure_demo_accounts(runtime: Runtime) -> list[DemoLogin]:
    """Create the demo staff accounts that do not exist yet, with fresh random passwords."""
    logins: list[DemoLogin] = []
    for username, kind, display, scope, roles in DEMO_STAFF:
        with runtime.use_case() as ctx:
            if ctx.uow.accounts.by_username(username) is not None:
                continue
            if scope and len(scope) == 9 and ctx.uow.regions.get(scope) is None:
                ctx.uow.regions.add(
                    Region(
                        code=scope, name=display, level=RegionLevel.TOWNSHIP, parent_code=scope[:6]
                    )
                )
                ctx.uow.commit()
            password = f"demo-{secrets.token_urlsafe(9)}"
            account_service.create_staff(
                ctx,
                Actor.system("demo-loader"),
                runtime.passwords,
                kind=kind,
                username=username,
                display_name=display,
                password=password,
                region_code=scope,
                roles=[r.value for r in roles],
            )
            where = f"scope {scope}" if scope else "no region scope"
            logins.append(
                DemoLogin(
                    username, password, f"{kind.value}, {where}, roles {','.join(roles) or '-'}"
                )
            )
    return logins
