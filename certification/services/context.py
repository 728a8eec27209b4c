"""What every use case receives: an open unit of work, the clock and the rules' settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from certification.access import Actor
from certification.appeals import DEFAULT_APPEAL_WORKING_DAYS
from certification.calendar import WorkingCalendar
from certification.comparison import WindowReading
from certification.periods import PeriodPolicy
from certification.ports import Clock, ReceiptSigner, UnitOfWork


@dataclass(frozen=True, slots=True)
class ProcedureConfig:
    period: PeriodPolicy = field(default_factory=PeriodPolicy)
    # Art. 9: how many different means must have failed before an expired
    # period may lead to a suspension.
    min_contact_channels: int = 2
    # Information comparison: the lost-qualification event kinds whose suspension applies
    # without a clerk's confirmation (empty: a clerk confirms every one).
    auto_suspend_kinds: frozenset[str] = frozenset()
    # Art. 9: districts whose expired-and-unreachable people are suspended at once by the
    # daily job (empty: a district clerk confirms each suspension proposal).
    auto_suspend_expired_districts: frozenset[str] = frozenset()
    # Art. 12 "本年度": the twelve months before the run (default) or the calendar year
    comparison_window: WindowReading = WindowReading.TWELVE_MONTHS
    # People per transaction when a comparison run's lists are applied.
    apply_batch: int = 500
    # People per transaction on the qualified list's bulk path (nothing else waits on them)
    bulk_apply_batch: int = 5000
    # Appeals are answered within this many working days of the calendar below.
    appeal_working_days: int = DEFAULT_APPEAL_WORKING_DAYS
    working_days: WorkingCalendar = field(default_factory=WorkingCalendar)


@dataclass(slots=True)
class UseCaseContext:
    uow: UnitOfWork
    clock: Clock
    config: ProcedureConfig
    # signs certification receipts; None where no receipt is issued (a comparison run's
    # certifications get theirs when the person first asks)
    signer: ReceiptSigner | None = None

    def audit(
        self,
        actor: Actor,
        action: str,
        entity_type: str,
        entity_id: UUID | str | None,
        *,
        reason: str | None = None,
        **details: Any,
    ) -> None:
        """Queue an audit record in this unit of work (written on commit)."""
        self.uow.audit.append(
            occurred_at=self.clock.now(),
            actor_id=str(actor.account_id) if actor.account_id else None,
            actor_kind=actor.kind,
            actor_label=actor.label,
            origin=actor.origin,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id) if entity_id is not None else None,
            reason=reason,
            details=details,
        )
