"""Reminders before the due date (认证提醒), each with a code the app can check.

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
from certification.ports import Notifier
from certification.services.context import UseCaseContext
from certification.services.persons import load_person
from certification.vocabulary import AccountKind

DAYS_BEFORE = (60, 30, 7)


def _hash(person_id: UUID, code: str) -> str:
    return hashlib.sha256(f"{person_id}:{code}".encode()).hexdigest()


def send_due_reminders(
    ctx: UseCaseContext,
    notifier: Notifier,
    *,
    channel: str = "default",
    days_before: tuple[int, ...] = DAYS_BEFORE,
    batch: int = 500,
) -> int:
    """Send each person due in exactly 60, 30 or 7 days one reminder (once, whatever reruns)."""
    today = ctx.clock.today()
    sent = 0
    for days in days_before:
        due_on = today + timedelta(days=days)
        after: UUID | None = None
        while ids := ctx.uow.reminders.persons_due_on(due_on, after, batch):
            after = ids[-1]
            for person_id in ids:
                if ctx.uow.reminders.exists(person_id, due_on, days, channel):
                    continue
                person = load_person(ctx, person_id)
                if not person.in_force():
                    continue
                code = f"{secrets.randbelow(10**6):06d}"
                ctx.uow.reminders.add(
                    Reminder(person.id, due_on, days, channel, _hash(person.id, code))
                )
                ctx.uow.commit()  # recorded first: the code is checkable once it is sent
                notifier.notify(
                    person.id,
                    "certification_due",
                    f"{person.name}，您的待遇资格认证将于{due_on.isoformat()}到期，请用官方App或到服务网点认证。核验码{code}",
                    f"{person.name}, your certification is due on {due_on.isoformat()}. "
                    f"Certify with the official app or at a service point. Check code {code}",
                    {"code": code, "due_on": due_on.isoformat(), "days_before": str(days)},
                )
                sent += 1
    return sent


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
