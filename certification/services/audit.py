"""Reading and verifying the audit trail (Art. 24)."""

from __future__ import annotations

from certification import access
from certification.access import Actor
from certification.audit import Anchor, ChainReport, verify_chain
from certification.model import AuditRecord
from certification.ports import Page, PageRequest
from certification.services.context import UseCaseContext


def list_audit(
    ctx: UseCaseContext,
    actor: Actor,
    *,
    entity_type: str | None,
    entity_id: str | None,
    actor_id: str | None,
    action: str | None,
    page: PageRequest,
) -> Page[AuditRecord]:
    access.require_auditor(actor)
    return ctx.uow.audit.find(
        entity_type=entity_type, entity_id=entity_id, actor_id=actor_id, action=action, page=page
    )


def verify_audit_chain(
    ctx: UseCaseContext, actor: Actor, anchor: Anchor | None = None
) -> ChainReport:
    """The whole chain, and with an anchor (a head written down earlier, outside the
    database) also that the chain still reaches it unchanged."""
    access.require_auditor(actor)
    report = verify_chain(ctx.uow.audit.chain(), anchor)
    return report
