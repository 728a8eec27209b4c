"""Writing register imports in bulk (certification.ports.RegisterLoad): each batch is streamed
by ``COPY`` into two temporary tables and moved into the real tables by set-based SQL, in
the unit of work's transaction.

People already registered (the citizen ID's blind index is unique) are skipped by
``ON CONFLICT DO NOTHING``, so two imports running at once, or an interrupted import run
again, never write anyone twice. Personal values are sealed and indexed here exactly as the
column types do for row inserts (the purposes and index domains are read from the table
definitions); ids are drawn here, time-ordered (certification.ids).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time
from itertools import repeat
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from certification.calendar import YearMonth
from certification.ids import new_id, new_ids
from certification.regions import RegionLevel
from certification.register import RegisterPerson
from certification.vocabulary import EntitlementStatus
from storage import schema
from storage.copying import pg_copy
from storage.crypto import SealedText, blind_indexes, seal_texts
from storage.db import refresh_statistics

CARRIED_OVER_NOTE = "carried over by the register import"
CARRIED_OVER_AT = time(2, 0)  # a certification known only by its day: 02:00 UTC, as loaded


def _sealing(table: sa.Table, name: str) -> tuple[str, str | None]:
    """(sealing purpose, blind-index domain) of a sealed column, from its definition."""
    column_type = table.c[name].type
    assert isinstance(column_type, SealedText)
    key = table.c.get(f"{name}_key")
    domain = key.info["blind_index"][1] if key is not None else None
    return column_type.purpose, domain


_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS register_people ("
    " pos integer NOT NULL, id uuid NOT NULL, certification_id uuid,"
    " citizen_id text, citizen_id_key varchar(32), name text, name_key varchar(32),"
    " phone text, phone_key varchar(32), birth_date date, sex varchar(6),"
    " region_code varchar(12), district_code varchar(6), township_code varchar(9),"
    " village_code varchar(12), last_certified_on date, certified_at timestamptz,"
    " channel varchar(32), period_starts_on date, due_on date, period_basis varchar(16)"
    ") ON COMMIT DELETE ROWS",
    "CREATE TEMP TABLE IF NOT EXISTS register_benefits ("
    " pos integer NOT NULL, id uuid NOT NULL, amount_id uuid NOT NULL, change_id uuid NOT NULL,"
    " kind varchar(32), role varchar(32), relationship varchar(32), start_date date,"
    " first_month date, monthly_amount_fen bigint"
    ") ON COMMIT DELETE ROWS",
)
_PEOPLE_COLUMNS = (
    "pos, id, certification_id, citizen_id, citizen_id_key, name, name_key, phone, phone_key, "
    "birth_date, sex, region_code, district_code, township_code, village_code, last_certified_on, "
    "certified_at, channel, period_starts_on, due_on, period_basis"
)
_BENEFIT_COLUMNS = (
    "pos, id, amount_id, change_id, kind, role, relationship, start_date, first_month, "
    "monthly_amount_fen"
)
# One statement: the people not registered yet, then their benefits, first amounts, status
# changes and last certification from what was written; returns the positions skipped.
_MOVE = """
WITH written AS (
  INSERT INTO persons (id, citizen_id, citizen_id_key, name, name_key, phone, phone_key,
    birth_date, sex, region_code, district_code, township_code, village_code,
    last_certified_on, period_starts_on, due_on, period_basis, created_at, updated_at, version)
  SELECT id, citizen_id, citizen_id_key, name, name_key, phone, phone_key, birth_date, sex,
    region_code, district_code, township_code, village_code, last_certified_on,
    period_starts_on, due_on, period_basis, :now, :now, 1
  FROM register_people ORDER BY pos
  ON CONFLICT (citizen_id_key) DO NOTHING
  RETURNING id, last_certified_on),
benefits AS (
  SELECT b.* , p.id AS person_id FROM register_benefits b
  JOIN register_people p USING (pos) JOIN written w ON w.id = p.id),
entitlement_rows AS (
  INSERT INTO entitlements (id, person_id, kind, role, relationship, start_date,
    monthly_amount_fen, status, created_at, version)
  SELECT id, person_id, kind, role, relationship, start_date, monthly_amount_fen, :active,
    :now, 1 FROM benefits),
amount_rows AS (
  INSERT INTO entitlement_amounts (id, entitlement_id, effective_from, monthly_amount_fen,
    reason, actor_id, recorded_at)
  SELECT amount_id, id, first_month, monthly_amount_fen, 'granted', NULL, :now
  FROM benefits),
change_rows AS (
  INSERT INTO entitlement_status_changes (id, entitlement_id, from_status, to_status,
    effective_on, reason, actor_id, recorded_at)
  SELECT change_id, id, NULL, :active, start_date, 'granted', NULL, :now
  FROM benefits),
certification_rows AS (
  INSERT INTO certifications (id, person_id, certified_at, certified_on, channel,
    recorded_by, assisted_by, evidence, note, source_ref, recorded_at)
  SELECT p.certification_id, p.id, p.certified_at, p.last_certified_on, p.channel, NULL, NULL,
    '[]', :note, NULL, :now
  FROM register_people p JOIN written w ON w.id = p.id
  WHERE p.last_certified_on IS NOT NULL)
SELECT pos FROM register_people p WHERE NOT EXISTS (SELECT 1 FROM written w WHERE w.id = p.id)
"""


WRITTEN = (
    schema.persons,
    schema.entitlements,
    schema.entitlement_amounts,
    schema.entitlement_status_changes,
    schema.certifications,
)


class SqlRegisterLoad:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._citizen = _sealing(schema.persons, "citizen_id")
        self._name = _sealing(schema.persons, "name")
        self._phone = _sealing(schema.persons, "phone")

    def known_regions(self) -> set[str]:
        t = schema.regions
        return set(
            self.session.scalars(
                sa.select(t.c.code).where(
                    t.c.level.in_([RegionLevel.TOWNSHIP.value, RegionLevel.VILLAGE.value])
                )
            )
        )

    @staticmethod
    def _sealed(sealing: tuple[str, str | None], values: list[str | None]) -> Iterator[Any]:
        """Each value's (sealed text, blind index), a batch's column at once."""
        purpose, domain = sealing
        sealed = seal_texts(values, purpose)
        if domain is None:
            return zip(sealed, repeat(None), strict=False)
        present = [v for v in values if v is not None]
        keys = iter(blind_indexes(domain, present))
        return zip(sealed, [None if v is None else next(keys) for v in values], strict=True)

    def refresh_statistics(self) -> None:
        refresh_statistics(self.session, *WRITTEN)

    def write(self, people: Sequence[RegisterPerson], now: datetime) -> set[int]:
        if not people:
            return set()
        if self.session.get_bind().dialect.name != "postgresql":
            return self._insert_rows(people, now)
        for statement in _STAGE:
            self.session.execute(sa.text(statement))
        citizens = self._sealed(self._citizen, [p.citizen.value for p in people])
        names = self._sealed(self._name, [p.name for p in people])
        phones = self._sealed(self._phone, [p.phone for p in people])
        ids = iter(new_ids(2 * len(people) + 3 * sum(len(p.benefits) for p in people)))
        people_copy = f"COPY register_people ({_PEOPLE_COLUMNS}) FROM STDIN"
        with pg_copy(self.session, people_copy) as copy:
            for pos, p in enumerate(people):
                period = p.period
                last = p.last_certified_on
                person_id, certification_id = next(ids), next(ids)
                copy.write_row(
                    (
                        pos,
                        person_id,
                        certification_id if last else None,
                        *next(citizens),
                        *next(names),
                        *next(phones),
                        p.citizen.birth_date,
                        p.citizen.sex,
                        p.placement.code,
                        p.placement.district_code,
                        p.placement.township_code,
                        p.placement.village_code,
                        last,
                        datetime.combine(last, CARRIED_OVER_AT, tzinfo=UTC) if last else None,
                        p.last_certified_channel.value,
                        period.starts_on if period else None,
                        period.due_on if period else None,
                        period.basis.value if period else None,
                    )
                )
        benefits_copy = f"COPY register_benefits ({_BENEFIT_COLUMNS}) FROM STDIN"
        with pg_copy(self.session, benefits_copy) as copy:
            for pos, p in enumerate(people):
                for b in p.benefits:
                    copy.write_row(
                        (
                            pos,
                            next(ids),
                            next(ids),
                            next(ids),
                            b.kind.value,
                            b.role.value,
                            b.relationship.value if b.relationship else None,
                            b.start_date,
                            YearMonth.of(b.start_date).first_day,
                            b.monthly_amount_fen,
                        )
                    )
        values = {"now": now, "active": EntitlementStatus.ACTIVE.value, "note": CARRIED_OVER_NOTE}
        known = set(self.session.scalars(sa.text(_MOVE), values))
        self.session.execute(sa.text("TRUNCATE register_people, register_benefits"))
        return known

    def _insert_rows(self, people: Sequence[RegisterPerson], now: datetime) -> set[int]:
        """Other databases (the embedded SQLite of a first look): the same rows by Core
        inserts; the column types seal and index."""
        domain = self._citizen[1]
        assert domain is not None
        keys = blind_indexes(domain, [p.citizen.value for p in people])
        t = schema.persons
        stored = set(
            self.session.scalars(sa.select(t.c.citizen_id_key).where(t.c.citizen_id_key.in_(keys)))
        )
        known: set[int] = set()
        rows: dict[sa.Table, list[dict[str, Any]]] = {
            table: []
            for table in (
                schema.persons,
                schema.entitlements,
                schema.entitlement_amounts,
                schema.entitlement_status_changes,
                schema.certifications,
            )
        }
        for pos, (key, p) in enumerate(zip(keys, people, strict=True)):
            if key in stored:
                known.add(pos)
                continue
            stored.add(key)
            person_id = new_id()
            period = p.period
            last = p.last_certified_on
            rows[schema.persons].append(
                {
                    "id": person_id,
                    "citizen_id": p.citizen.value,
                    "name": p.name,
                    "phone": p.phone,
                    "birth_date": p.citizen.birth_date,
                    "sex": p.citizen.sex,
                    "region_code": p.placement.code,
                    "district_code": p.placement.district_code,
                    "township_code": p.placement.township_code,
                    "village_code": p.placement.village_code,
                    "last_certified_on": last,
                    "period_starts_on": period.starts_on if period else None,
                    "due_on": period.due_on if period else None,
                    "period_basis": period.basis.value if period else None,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
            for b in p.benefits:
                entitlement_id = new_id()
                rows[schema.entitlements].append(
                    {
                        "id": entitlement_id,
                        "person_id": person_id,
                        "kind": b.kind,
                        "role": b.role,
                        "relationship": b.relationship,
                        "start_date": b.start_date,
                        "monthly_amount_fen": b.monthly_amount_fen,
                        "status": EntitlementStatus.ACTIVE,
                        "created_at": now,
                        "version": 1,
                    }
                )
                rows[schema.entitlement_amounts].append(
                    {
                        "id": new_id(),
                        "entitlement_id": entitlement_id,
                        "effective_from": YearMonth.of(b.start_date).first_day,
                        "monthly_amount_fen": b.monthly_amount_fen,
                        "reason": "granted",
                        "actor_id": None,
                        "recorded_at": now,
                    }
                )
                rows[schema.entitlement_status_changes].append(
                    {
                        "id": new_id(),
                        "entitlement_id": entitlement_id,
                        "from_status": None,
                        "to_status": EntitlementStatus.ACTIVE,
                        "effective_on": b.start_date,
                        "reason": "granted",
                        "actor_id": None,
                        "recorded_at": now,
                    }
                )
            if last is not None:
                rows[schema.certifications].append(
                    {
                        "id": new_id(),
                        "person_id": person_id,
                        "certified_at": datetime.combine(last, CARRIED_OVER_AT, tzinfo=UTC),
                        "certified_on": last,
                        "channel": p.last_certified_channel,
                        "recorded_by": None,
                        "assisted_by": None,
                        "evidence": [],
                        "note": CARRIED_OVER_NOTE,
                        "source_ref": None,
                        "recorded_at": now,
                    }
                )
        for table, values in rows.items():
            if values:
                self.session.execute(sa.insert(table), values)
        return known
