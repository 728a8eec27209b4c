"""Key rotation for sealed columns: every face template rewritten under the current key, in
batches, each its own transaction (resumable: a row already under the current key is left
alone). Afterwards the old key can be removed from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from storage import schema
from storage.crypto import open_template, process_ring, sealed_kid


@dataclass(frozen=True, slots=True)
class Rotation:
    checked: int
    resealed: int


def reseal_templates(session_factory: sessionmaker[Session], *, batch: int = 500) -> Rotation:
    t = schema.face_templates
    raw = sa.type_coerce(t.c.template, sa.JSON)  # as stored, not opened
    current = process_ring().current
    checked = resealed = 0
    after: UUID | None = None
    while True:
        with session_factory() as session:
            stmt = sa.select(t.c.id, raw).order_by(t.c.id).limit(batch)
            if after is not None:
                stmt = stmt.where(t.c.id > after)
            rows = session.execute(stmt).all()
            if not rows:
                break
            for row_id, stored in rows:
                checked += 1
                if sealed_kid(stored) == current:
                    continue
                session.execute(
                    sa.update(t).where(t.c.id == row_id).values(template=open_template(stored))
                )
                resealed += 1
            session.commit()
            after = rows[-1][0]
    return Rotation(checked, resealed)
