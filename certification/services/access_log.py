"""Staff reads of personal data leave a trace (PIPL, MLPS level 3): a person's record, a
bulk export, a comparison list, evidence opened. One audit record per read, written at
once (who, what, when, from where), visible to auditors with the rest of the trail."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from certification.access import Actor
from certification.services.context import UseCaseContext


def record_read(
    ctx: UseCaseContext,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: UUID | str | None,
    **details: Any,
) -> None:
    """Audit a staff member's read and commit it. Readers that are not staff (the person
    reading their own data, the system's jobs) leave no access record."""
    if not actor.is_staff:
        return
    ctx.audit(actor, action, entity_type, entity_id, **details)
    ctx.uow.commit()
