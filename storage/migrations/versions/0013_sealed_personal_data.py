"""Personal data sealed at rest (PIPL Art. 51, decision 0020): citizen IDs, names, phones,
addresses, account names, external login subjects, tip-off parties, home-visit contacts,
national-upload rows and refused feed rows are rewritten as AES-256-GCM ciphertext under the
personal-data keys; citizen IDs, names, phones and login subjects get a keyed-HMAC blind index
beside them, by which the service finds, joins and keeps them unique. Department events keep
the blind index of the citizen ID only. Person lists are ordered by id (a ciphertext has no
useful order).

Needs the keys: run it with `lifecert migrate` (which installs them from the settings). Rows
are rewritten in batches; on a large database this takes a while (about 20 µs of crypto per
value) and is best run in a maintenance window.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 20:10:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> primary key, {column: blind-index domain or None}; frozen here as of this revision
SEALED: dict[str, tuple[str, dict[str, str | None]]] = {
    "persons": (
        "id",
        {"citizen_id": "citizen_id", "name": "name", "phone": "phone", "address": None},
    ),
    "accounts": ("id", {"display_name": None, "citizen_id": None, "phone": None}),
    "external_identities": ("id", {"subject": "subject"}),
    "feed_import_problems": ("id", {"raw": None}),
    "home_visit_requests": ("id", {"contact_phone": None, "address_note": None}),
    "national_upload_items": ("id", {"citizen_id": None, "name": None}),
    "tip_offs": (
        "id",
        {
            "subject_name": None,
            "subject_citizen_id": None,
            "reporter_name": None,
            "reporter_phone": None,
        },
    ),
}
# the clear types before this revision (for the downgrade)
CLEAR_TYPES: dict[tuple[str, str], sa.types.TypeEngine[Any]] = {
    ("persons", "citizen_id"): sa.String(18),
    ("persons", "name"): sa.String(64),
    ("persons", "phone"): sa.String(20),
    ("persons", "address"): sa.String(200),
    ("accounts", "display_name"): sa.String(64),
    ("accounts", "citizen_id"): sa.String(18),
    ("accounts", "phone"): sa.String(20),
    ("external_identities", "subject"): sa.String(128),
    ("feed_import_problems", "raw"): sa.Text(),
    ("home_visit_requests", "contact_phone"): sa.String(32),
    ("home_visit_requests", "address_note"): sa.Text(),
    ("national_upload_items", "citizen_id"): sa.String(18),
    ("national_upload_items", "name"): sa.String(64),
    ("tip_offs", "subject_name"): sa.String(64),
    ("tip_offs", "subject_citizen_id"): sa.String(18),
    ("tip_offs", "reporter_name"): sa.String(64),
    ("tip_offs", "reporter_phone"): sa.String(32),
}
BATCH = 2000


def _rewrite(table: str, *, seal: bool) -> None:
    """Seal (or open, for the downgrade) every value of the table's columns, in batches."""
    from storage.crypto import blind_index, open_text, seal_text

    pk, columns = SEALED[table]
    indexed = {c: d for c, d in columns.items() if d is not None}
    t = sa.table(
        table,
        sa.column(pk),
        *(sa.column(c, sa.Text) for c in columns),
        *(sa.column(f"{c}_key", sa.String) for c in indexed),
    )
    conn = op.get_bind()
    after: Any = None
    while True:
        stmt = sa.select(t.c[pk], *(t.c[c] for c in columns)).order_by(t.c[pk]).limit(BATCH)
        if after is not None:
            stmt = stmt.where(t.c[pk] > after)
        rows = conn.execute(stmt).all()
        if not rows:
            return
        updates = []
        for row in rows:
            values: dict[str, Any] = {"b_pk": row[0]}
            for c, clear in zip(columns, row[1:], strict=True):
                if clear is None:
                    values[c] = None
                    if seal and c in indexed:
                        values[f"{c}_key"] = None
                    continue
                purpose = f"{table}.{c}"
                if seal:
                    values[c] = seal_text(clear, purpose)
                    if c in indexed:
                        values[f"{c}_key"] = blind_index(indexed[c], clear)
                else:
                    values[c] = open_text(clear, purpose)
            updates.append(values)
        targets = [*columns, *(f"{c}_key" for c in indexed)] if seal else list(columns)
        conn.execute(
            sa.update(t)
            .where(t.c[pk] == sa.bindparam("b_pk"))
            .values({c: sa.bindparam(c) for c in targets}),
            updates,
        )
        after = rows[-1][0]


def upgrade() -> None:
    for table, (_pk, columns) in SEALED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, domain in columns.items():
                batch_op.alter_column(
                    column, type_=sa.Text(), existing_type=CLEAR_TYPES[(table, column)]
                )
                if domain is not None:
                    batch_op.add_column(sa.Column(f"{column}_key", sa.String(32), nullable=True))
    with op.batch_alter_table("department_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("citizen_id_key", sa.String(32), nullable=True))

    for table in SEALED:
        _rewrite(table, seal=True)
    _index_department_events()

    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_constraint("uq_persons_citizen_id", type_="unique")
        for name in (
            "ix_persons_due_on",
            "ix_persons_district_due",
            "ix_persons_township_due",
            "ix_persons_district_cid",
            "ix_persons_name",
        ):
            batch_op.drop_index(name)
        batch_op.alter_column("citizen_id_key", existing_type=sa.String(32), nullable=False)
        batch_op.alter_column("name_key", existing_type=sa.String(32), nullable=False)
        batch_op.create_unique_constraint("uq_persons_citizen_id_key", ["citizen_id_key"])
        batch_op.create_index("ix_persons_due_on", ["due_on", "id"])
        batch_op.create_index("ix_persons_district_due", ["district_code", "due_on", "id"])
        batch_op.create_index("ix_persons_township_due", ["township_code", "due_on", "id"])
        batch_op.create_index("ix_persons_district_id", ["district_code", "id"])
        batch_op.create_index("ix_persons_name_key", ["name_key"])
        batch_op.create_index("ix_persons_phone_key", ["phone_key"])
    with op.batch_alter_table("external_identities", schema=None) as batch_op:
        batch_op.drop_constraint("uq_external_identities_provider_subject", type_="unique")
        batch_op.alter_column("subject_key", existing_type=sa.String(32), nullable=False)
        batch_op.create_unique_constraint(
            "uq_external_identities_provider_subject_key", ["provider", "subject_key"]
        )
    with op.batch_alter_table("department_events", schema=None) as batch_op:
        batch_op.drop_index("ix_department_events_citizen")
        batch_op.drop_column("citizen_id")
        batch_op.alter_column("citizen_id_key", existing_type=sa.String(32), nullable=False)
        batch_op.create_index("ix_department_events_citizen", ["citizen_id_key"])


def _index_department_events() -> None:
    from storage.crypto import blind_index

    t = sa.table(
        "department_events",
        sa.column("id", sa.BigInteger),
        sa.column("citizen_id", sa.String),
        sa.column("citizen_id_key", sa.String),
    )
    conn = op.get_bind()
    after = 0
    while True:
        rows = conn.execute(
            sa.select(t.c.id, t.c.citizen_id).where(t.c.id > after).order_by(t.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        conn.execute(
            sa.update(t)
            .where(t.c.id == sa.bindparam("b_id"))
            .values(citizen_id_key=sa.bindparam("k")),
            [{"b_id": i, "k": blind_index("citizen_id", cid)} for i, cid in rows],
        )
        after = rows[-1][0]


def downgrade() -> None:
    conn = op.get_bind()
    if conn.scalar(sa.text("SELECT count(*) FROM department_events")):
        raise RuntimeError(
            "department events keep only the blind index of the citizen ID since revision "
            "0013: empty department_events (the feeds can be imported again) to go back"
        )
    with op.batch_alter_table("department_events", schema=None) as batch_op:
        batch_op.drop_index("ix_department_events_citizen")
        batch_op.drop_column("citizen_id_key")
        batch_op.add_column(sa.Column("citizen_id", sa.String(18), nullable=False))
        batch_op.create_index("ix_department_events_citizen", ["citizen_id"])
    with op.batch_alter_table("external_identities", schema=None) as batch_op:
        batch_op.drop_constraint("uq_external_identities_provider_subject_key", type_="unique")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_constraint("uq_persons_citizen_id_key", type_="unique")
        for name in (
            "ix_persons_due_on",
            "ix_persons_district_due",
            "ix_persons_township_due",
            "ix_persons_district_id",
            "ix_persons_name_key",
            "ix_persons_phone_key",
        ):
            batch_op.drop_index(name)

    for table in SEALED:
        _rewrite(table, seal=False)

    for table, (_pk, columns) in SEALED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, domain in columns.items():
                if domain is not None:
                    batch_op.drop_column(f"{column}_key")
                batch_op.alter_column(
                    column, type_=CLEAR_TYPES[(table, column)], existing_type=sa.Text()
                )
    with op.batch_alter_table("external_identities", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_external_identities_provider_subject", ["provider", "subject"]
        )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_persons_citizen_id", ["citizen_id"])
        batch_op.create_index("ix_persons_due_on", ["due_on", "citizen_id"])
        batch_op.create_index("ix_persons_district_due", ["district_code", "due_on", "citizen_id"])
        batch_op.create_index("ix_persons_township_due", ["township_code", "due_on", "citizen_id"])
        batch_op.create_index("ix_persons_district_cid", ["district_code", "citizen_id"])
        batch_op.create_index("ix_persons_name", ["name"])
