"""Loading the synthetic population and demo accounts into the database, in bulk.

Periods are computed by the same domain rules the API uses; rows are inserted
with Core statements in batches (bounded memory at any size). One audit record
summarises each load.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from certification.access import Actor
from certification.calendar import YearMonth
from certification.model import Region
from certification.periods import EntitlementFacts, PeriodPolicy, current_period
from certification.regions import RegionLevel, level_of, parent_of
from certification.services import accounts as account_service
from certification.vocabulary import (
    AccountKind,
    CertificationChannel,
    EntitlementStatus,
    StaffRole,
)
from infra.runtime import Runtime
from lifecert.demo import DemoPerson, demo_regions
from storage import schema
from storage.crypto import blind_index

ART12_CHANNELS = (
    CertificationChannel.DATA_COMPARISON,
    CertificationChannel.DATA_COMPARISON,
    CertificationChannel.SELF_SERVICE_FACE,
    CertificationChannel.COUNTER,
    CertificationChannel.PARTNER_BANK,
    CertificationChannel.HOSPITAL_STAY,
    CertificationChannel.AIR_RAIL_TRAVEL,
)


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


def _rows_for(
    person: DemoPerson, policy: PeriodPolicy, now: datetime, index: int
) -> dict[str, list[dict[str, Any]]]:
    pid = uuid.uuid4()
    facts = [
        EntitlementFacts(e.kind, e.role, e.start_date, EntitlementStatus.ACTIVE)
        for e in person.entitlements
    ]
    period = current_period(
        birth_date=person.birth_date,
        entitlements=facts,
        last_certified_on=person.last_certified_on,
        policy=policy,
    )
    region = person.region_code
    out: dict[str, list[dict[str, Any]]] = {
        "persons": [
            {
                "id": pid,
                "citizen_id": person.citizen_id,
                "name": person.name,
                "phone": person.phone,
                "birth_date": person.birth_date,
                "sex": "male" if int(person.citizen_id[16]) % 2 else "female",
                "region_code": region,
                "district_code": region[:6],
                "township_code": region[:9] if len(region) >= 9 else None,
                "village_code": region if len(region) == 12 else None,
                "last_certified_on": person.last_certified_on,
                "period_starts_on": period.starts_on if period else None,
                "due_on": period.due_on if period else None,
                "period_basis": period.basis.value if period else None,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        ],
        "entitlements": [],
        "amounts": [],
        "changes": [],
        "certifications": [],
    }
    for e in person.entitlements:
        eid = uuid.uuid4()
        out["entitlements"].append(
            {
                "id": eid,
                "person_id": pid,
                "kind": e.kind,
                "role": e.role,
                "relationship": e.relationship,
                "start_date": e.start_date,
                "monthly_amount_fen": e.monthly_amount_fen,
                "status": EntitlementStatus.ACTIVE,
                "created_at": now,
                "version": 1,
            }
        )
        out["amounts"].append(
            {
                "id": uuid.uuid4(),
                "entitlement_id": eid,
                "effective_from": YearMonth.of(e.start_date).first_day,
                "monthly_amount_fen": e.monthly_amount_fen,
                "reason": "granted",
                "actor_id": None,
                "recorded_at": now,
            }
        )
        out["changes"].append(
            {
                "id": uuid.uuid4(),
                "entitlement_id": eid,
                "from_status": None,
                "to_status": EntitlementStatus.ACTIVE,
                "effective_on": e.start_date,
                "reason": "granted",
                "actor_id": None,
                "recorded_at": now,
            }
        )
    if person.last_certified_on is not None:
        at = datetime.combine(person.last_certified_on, time(2, 0), tzinfo=UTC)
        out["certifications"].append(
            {
                "id": uuid.uuid4(),
                "person_id": pid,
                "certified_at": at,
                "certified_on": person.last_certified_on,
                "channel": ART12_CHANNELS[index % len(ART12_CHANNELS)],
                "recorded_by": None,
                "assisted_by": None,
                "evidence": [],
                "note": "synthetic history",
                "source_ref": None,
                "recorded_at": now,
            }
        )
    return out


TABLES = (
    ("persons", schema.persons),
    ("entitlements", schema.entitlements),
    ("amounts", schema.entitlement_amounts),
    ("changes", schema.entitlement_status_changes),
    ("certifications", schema.certifications),
)


def load_population(
    runtime: Runtime, people: Iterable[DemoPerson], *, batch_size: int = 2000
) -> int:
    """Insert people with their benefits and last certification. Returns people loaded."""
    ensure_demo_regions(runtime.database)
    policy = runtime.procedure.period
    total = 0
    for candidates in _chunks(people, batch_size):
        keys = {blind_index("citizen_id", p.citizen_id): p for p in candidates}
        with runtime.database.connect() as conn:
            known = set(
                conn.scalars(
                    sa.select(schema.persons.c.citizen_id_key).where(
                        schema.persons.c.citizen_id_key.in_(list(keys))
                    )
                )
            )
        chunk = [p for k, p in keys.items() if k not in known]
        now = runtime.clock.now()
        batch: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in TABLES}
        for offset, person in enumerate(chunk):
            for name, rows in _rows_for(person, policy, now, total + offset).items():
                batch[name].extend(rows)
        with runtime.database.begin() as conn:
            for name, table in TABLES:
                if batch[name]:
                    conn.execute(sa.insert(table), batch[name])
        total += len(chunk)
    with runtime.use_case() as ctx:
        ctx.audit(
            Actor.system("demo-loader"), "demo.population_loaded", "system", None, people=total
        )
        ctx.uow.commit()
    return total


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
