"""Reminders before and on the due date, and once overdue (认证提醒), each with a code the
app can check.

Scammers imitate official reminders ("your pension will stop, click here"). Each real
reminder carries a short code; the person can type it into the official app, which says
whether the agency sent it. Only a hash of the code is kept.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from certification.access import Actor
from certification.errors import AccessDenied
from certification.model import Reminder
from certification.notices import (
    CATCH_UP_DAYS,
    OVERDUE_STAGE,
    REMINDER_DAYS,
    NoticeKind,
    reminder_stage,
)
from certification.services.context import UseCaseContext
from certification.services.notices import tell
from certification.services.persons import load_person
from certification.vocabulary import AccountKind

CHANNEL = "notice"  # reminders go through the outbox, on the channels the person chose


def _hash(person_id: UUID, code: str) -> str:
    return hashlib.sha256(f"{person_id}:{code}".encode()).hexdigest()


def send_due_reminders(ctx: UseCaseContext, *, batch: int = 500) -> int:
    """Tell each person whose reminder day has come: 60, 30 and 7 days before the due date,
    on it, and the day after (overdue). A day the job did not run is caught up: every stage
    whose day has passed and was not sent is sent once, as one message (the most urgent),
    so nobody gets two reminders in a day. Safe to rerun. Commits per batch."""
    today = ctx.clock.today()
    first = today - timedelta(days=CATCH_UP_DAYS)
    last = today + timedelta(days=max(REMINDER_DAYS))
    after: tuple[date, UUID] | None = None
    told = 0
    while rows := ctx.uow.reminders.persons_due_between(first, last, after, batch):
        after = rows[-1][1], rows[-1][0]
        sent = ctx.uow.reminders.stages_sent([person_id for person_id, _ in rows])
        for person_id, due_on in rows:
            stage = reminder_stage(due_on, today, sent.get((person_id, due_on), set()))
            if stage is None:
                continue
            person = load_person(ctx, person_id)
            if not person.active():
                continue  # suspended or ended: they hear about that instead
            send, covered = stage
            code = f"{secrets.randbelow(10**6):06d}"
            for days in covered:
                ctx.uow.reminders.add(
                    Reminder(person.id, due_on, days, CHANNEL, _hash(person.id, code))
                )
            tell(
                ctx,
                person,
                NoticeKind.OVERDUE if send == OVERDUE_STAGE else NoticeKind.REMINDER,
                key=f"{person.id}:{due_on.isoformat()}:{send}",
                due_on=due_on,
                code=code,
                days_before=send,
            )
            told += 1
        ctx.uow.commit()
    return told


@dataclass(frozen=True, slots=True)
class ReminderCheck:
    official: bool
    due_on: date | None = None
    sent_on: date | None = None


def check_reminder(ctx: UseCaseContext, actor: Actor, code: str) -> ReminderCheck:
    if actor.kind != AccountKind.BENEFICIARY.value or actor.person_id is None:
        raise AccessDenied("Reminder codes are checked by the beneficiary's own app account.")
    code = code.strip()
    reminder = ctx.uow.reminders.by_code(actor.person_id, _hash(actor.person_id, code))
    if reminder is None:
        return ReminderCheck(False)
    return ReminderCheck(True, reminder.due_on, ctx.clock.local_date(reminder.sent_at))
