"""Telling people: the outbox a use case writes to, the job that routes and delivers it, the
person's preferences and inbox, the operators' view of what failed, and letter batches.

``tell`` is the only way a use case speaks to a person: it records a notice in the use
case's own transaction, so a notice exists exactly when the change it reports was committed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from certification import access
from certification.access import Actor, Scope
from certification.errors import AccessDenied, NotFound, ValidationFailed
from certification.model import Person
from certification.notices import (
    COPY_TO,
    FAMILY_KINDS,
    URGENT_KINDS,
    Channel,
    Contact,
    Delivery,
    DeliveryPolicy,
    DeliveryStatus,
    Language,
    Notice,
    NoticeKind,
    NoticePreferences,
    Outcome,
    Reach,
    Recipient,
    default_channels,
    family_channel,
    render,
)
from certification.ports import (
    DeliveryError,
    Documents,
    EvidenceStore,
    NoticeChannel,
    Outgoing,
    Page,
    PageRequest,
    PersonBrief,
)
from certification.privacy import mask_name
from certification.regions import CITY_CODE
from certification.services.context import UseCaseContext
from certification.services.records import check_version, found
from certification.vocabulary import AccountKind

# WeChat's answer when the user has not accepted (or has used up) the subscription
WECHAT_NOT_SUBSCRIBED = "43101"


def tell(
    ctx: UseCaseContext, person: Person | PersonBrief, kind: NoticeKind, *, key: str, **data: Any
) -> None:
    """Record that ``person`` must be told ``kind`` (in this unit of work; sent after it
    commits). ``key`` names the event: a second notice with the same key is left out, so a
    redelivered job or a repeated request never tells twice. The name is masked; the data
    holds only what the kind's words use."""
    values = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in data.items()}
    values.setdefault("name", mask_name(person.name))
    ctx.uow.notices.add(
        Notice(
            person_id=person.id,
            kind=kind,
            data={k: str(v) for k, v in values.items() if v is not None},
            key=f"{kind.value}:{key}"[:200],
            urgent=kind in URGENT_KINDS,
            created_at=ctx.clock.now(),
        )
    )


# --- routing and delivery (the job) ----------------------------------------------------------


def _in_force(person_id: UUID, stored: NoticePreferences | None, reach: Reach) -> NoticePreferences:
    """The person's preferences, or the defaults until they choose."""
    return stored or NoticePreferences(person_id, default_channels(reach.reachable()))


class _Lookups:
    """What one pass of the outbox reads about a person, read once: the notice routed in a
    pass is usually sent in the same pass, to the same addresses."""

    def __init__(self, ctx: UseCaseContext) -> None:
        self.ctx = ctx
        self._reach: dict[UUID, Reach | None] = {}
        self._prefs: dict[UUID, NoticePreferences | None] = {}

    def reach(self, person_id: UUID) -> Reach | None:
        if person_id not in self._reach:
            self._reach[person_id] = self.ctx.uow.notices.reach(person_id)
        return self._reach[person_id]

    def chosen(self, person_id: UUID) -> NoticePreferences | None:
        """The preferences the person stored (None: never chosen)."""
        if person_id not in self._prefs:
            self._prefs[person_id] = self.ctx.uow.notices.preferences(person_id)
        return self._prefs[person_id]


def route(ctx: UseCaseContext, notice: Notice, lookups: _Lookups) -> list[Delivery]:
    """The deliveries of a notice: every channel the person chose that reaches them now (a
    letter when none does), and a copy to each bound family member when the person asked for
    it and the kind is one a family member may see. Does not commit."""
    now = ctx.clock.now()
    notice.routed_at = now
    reach = lookups.reach(notice.person_id)
    if reach is None:
        return []
    reachable = reach.reachable()
    prefs = _in_force(notice.person_id, lookups.chosen(notice.person_id), reach)
    channels = [c for c in prefs.channels if reachable.get(c)]
    if not channels and reachable.get(Channel.LETTER):
        channels = [Channel.LETTER]

    def delivery(recipient: Recipient, channel: Channel, account: UUID | None) -> Delivery:
        return Delivery(
            notice_id=notice.id,
            person_id=notice.person_id,
            recipient=recipient,
            channel=channel,
            account_id=account,
            district_code=reach.district_code,
            township_code=reach.township_code,
            urgent=notice.urgent,
            next_attempt_at=now,
            created_at=now,
        )

    made = [delivery(Recipient.PERSON, c, reach.person.account_id) for c in channels]
    copy_to = notice.data.get(COPY_TO)
    every_helper = prefs.family_copy and notice.kind in FAMILY_KINDS
    for contact in reach.family:
        if every_helper or (copy_to is not None and copy_to == str(contact.account_id)):
            channel = family_channel(contact)
            if channel is not None:
                made.append(delivery(Recipient.FAMILY, channel, contact.account_id))
    for d in made:
        ctx.uow.notices.add_delivery(d)
    return made


@dataclass
class DeliveryReport:
    routed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    uncertain: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Claimed:
    delivery_id: UUID
    token: str
    channel: Channel
    created_at: datetime  # the notice's: how old it is decides when to give up
    message: Outgoing | None  # None: no address any more


def deliver_notices(
    open_context: Callable[[], AbstractContextManager[UseCaseContext]],
    channels: Mapping[Channel, NoticeChannel],
    policy: DeliveryPolicy,
    *,
    limit: int = 200,
) -> DeliveryReport:
    """One pass of the outbox: mark interrupted sends uncertain, route new notices, then send
    the deliveries that are due (claimed first, so two workers never send the same one; the
    answer recorded after). In quiet hours only urgent notices go. A channel found
    unreachable is not tried again in this pass: its other deliveries wait without a count."""
    report = DeliveryReport()
    live = [c for c in channels if c is not Channel.LETTER]
    with open_context() as ctx:
        lookups = _Lookups(ctx)
        now = ctx.clock.now()
        for stuck in ctx.uow.notices.interrupted(now, limit):
            stuck.interrupted(now)
            ctx.uow.notices.record_attempt(stuck.id, now, "uncertain", "", "claim ran out")
            report.uncertain += 1
        for notice in ctx.uow.notices.unrouted(limit):
            route(ctx, notice, lookups)
            report.routed += 1
        ctx.uow.flush()
        now = ctx.clock.now()  # after routing: what was routed just now is due
        quiet = policy.is_quiet(now)
        claimed = []
        for due in ctx.uow.notices.claim_due(now, limit, channels=live, urgent_only=quiet):
            notice = found(ctx.uow.notices.get(due.notice_id), "notice", due.notice_id)
            token = secrets.token_hex(8)
            due.claim(token, now + policy.lease)
            claimed.append(
                _Claimed(
                    due.id, token, due.channel, notice.created_at, _outgoing(due, notice, lookups)
                )
            )
        ctx.uow.commit()
    down: set[Channel] = set()
    answers: list[tuple[_Claimed, Outcome, str, str, str | None, float | None]] = []
    for item in claimed:
        if item.message is None:
            answers.append((item, Outcome.REFUSED, "no_address", "no address now", None, None))
            continue
        if item.channel in down:
            answers.append((item, Outcome.DEFERRED, "", "channel down", None, None))
            continue
        try:
            ref = channels[item.channel].send(item.message)
        except DeliveryError as err:
            if err.outcome is Outcome.UNREACHABLE:
                down.add(item.channel)
            answers.append((item, err.outcome, err.code, str(err), None, err.retry_after))
            continue
        answers.append((item, Outcome.DELIVERED, "", "", ref, None))
    with open_context() as ctx:
        now = ctx.clock.now()
        for item, outcome, code, detail, answer_ref, retry_after in answers:
            d = ctx.uow.notices.delivery(item.delivery_id, for_update=True)
            if d is None or d.claim_token != item.token:
                continue  # marked uncertain meanwhile: an operator decides
            d.settle(
                outcome,
                now,
                policy,
                created_at=item.created_at,
                detail=detail,
                provider_ref=answer_ref,
                retry_after=retry_after,
            )
            ctx.uow.notices.record_attempt(
                d.id, now, outcome.value, code, detail or (answer_ref or "")
            )
            if item.channel is Channel.WECHAT and code == WECHAT_NOT_SUBSCRIBED and d.account_id:
                ctx.uow.notices.set_wechat_accepted(d.account_id, False, now)
            report.by_outcome[outcome.value] = report.by_outcome.get(outcome.value, 0) + 1
            if d.status is DeliveryStatus.DELIVERED:
                report.delivered += 1
            elif d.status is DeliveryStatus.DEAD:
                report.dead += 1
            else:
                report.retrying += 1
        ctx.uow.commit()
    return report


def _outgoing(delivery: Delivery, notice: Notice, lookups: _Lookups) -> Outgoing | None:
    """The delivery as its channel sends it, to the recipient's address now (None when they
    have none any more), in the person's language; a family member reads whose it is."""
    reach = lookups.reach(delivery.person_id)
    if reach is None:
        return None
    contact: Contact | None = reach.person
    if delivery.recipient is Recipient.FAMILY:
        contact = next((c for c in reach.family if c.account_id == delivery.account_id), None)
    if contact is None:
        return None  # the binding ended since
    address = contact.address(delivery.channel, reach.address)
    if address is None:
        return None
    language = Language.ZH
    data = notice.data
    if delivery.recipient is Recipient.FAMILY:
        data = {**data, "name": f"{data.get('name', '')}的亲属"}
    else:
        prefs = lookups.chosen(delivery.person_id)
        language = prefs.language if prefs is not None else Language.ZH
    message = render(notice.kind, data, language)
    return Outgoing(
        delivery_id=delivery.id,
        kind=notice.kind.value,
        language=language.value,
        address=address,
        title=message.title,
        body=message.body,
        params=message.params,
        wechat=message.wechat,
    )


# --- letters ---------------------------------------------------------------------------------


def print_letters(
    ctx: UseCaseContext, documents: Documents, store: EvidenceStore, *, limit: int = 5000
) -> list[dict[str, Any]]:
    """Today's letters, one PDF per township, for staff to print and post; each letter counts
    as delivered once it is in a batch."""
    waiting = ctx.uow.notices.letters_waiting(limit)
    groups: dict[tuple[str, str | None], list[Delivery]] = {}
    for d in waiting:
        groups.setdefault((d.district_code, d.township_code), []).append(d)
    now = ctx.clock.now()
    lookups = _Lookups(ctx)
    batches = []
    for (district, township), deliveries in groups.items():
        letters, printed = [], []
        for d in deliveries:
            notice = found(ctx.uow.notices.get(d.notice_id), "notice", d.notice_id)
            message = _outgoing(d, notice, lookups)
            if message is None:  # the address was removed since: not printed, not delivered
                d.settle(
                    Outcome.REFUSED,
                    now,
                    DeliveryPolicy(),
                    created_at=notice.created_at,
                    detail="no address now",
                )
                ctx.uow.notices.record_attempt(d.id, now, "refused", "no_address", "")
                continue
            letters.append((message.address, message.title, message.body))
            printed.append(d)
        if not letters:
            continue
        batch_id = uuid4()
        key = f"letters/{district}/{ctx.clock.today().isoformat()}/{batch_id}.pdf"
        store.put_bytes(
            key,
            documents.letters_pdf(township or district, letters),
            "application/pdf",
            {"letters": str(len(letters))},
        )
        batch = {
            "id": batch_id,
            "district_code": district,
            "township_code": township,
            "letters": len(letters),
            "file_key": key,
            "created_at": now,
        }
        ctx.uow.notices.add_letter_batch(batch)
        for d in printed:
            d.printed(batch_id, now)
        batches.append(batch)
    ctx.uow.commit()
    return batches


def letter_batches(ctx: UseCaseContext, actor: Actor, page: PageRequest) -> Page[dict[str, Any]]:
    return ctx.uow.notices.letter_batches(access.staff_scope(actor), page)


def letter_batch_key(ctx: UseCaseContext, actor: Actor, batch_id: UUID) -> str:
    batch = found(ctx.uow.notices.letter_batch(batch_id), "letter batch", batch_id)
    region = batch["township_code"] or batch["district_code"]
    if not actor.sees_region(region):
        raise AccessDenied("This letter batch belongs to another region.")
    return str(batch["file_key"])


# --- the person's side -----------------------------------------------------------------------


def _own_person(ctx: UseCaseContext, actor: Actor) -> UUID:
    if actor.kind != AccountKind.BENEFICIARY.value or actor.person_id is None:
        raise AccessDenied("Only the beneficiary's own app account can do this.")
    return actor.person_id


@dataclass(frozen=True, slots=True)
class PreferencesView:
    channels: list[str]
    language: str
    family_copy: bool
    chosen: bool  # false: the defaults, never chosen
    reachable: dict[str, bool]
    version: int


def get_preferences(ctx: UseCaseContext, actor: Actor) -> PreferencesView:
    person_id = _own_person(ctx, actor)
    reach = ctx.uow.notices.reach(person_id)
    if reach is None:
        raise NotFound("Your record was not found.")
    stored = ctx.uow.notices.preferences(person_id)
    prefs = _in_force(person_id, stored, reach)
    return PreferencesView(
        [c.value for c in prefs.channels],
        prefs.language.value,
        prefs.family_copy,
        stored is not None,
        {c.value: ok for c, ok in reach.reachable().items()},
        prefs.version,
    )


def set_preferences(
    ctx: UseCaseContext,
    actor: Actor,
    *,
    channels: list[str],
    language: str,
    family_copy: bool,
    expected_version: int | None,
) -> PreferencesView:
    person_id = _own_person(ctx, actor)
    reach = ctx.uow.notices.reach(person_id)
    if reach is None:
        raise NotFound("Your record was not found.")
    prefs = ctx.uow.notices.preferences(person_id)
    if prefs is None:
        prefs = NoticePreferences(person_id, [])
        ctx.uow.notices.add_preferences(prefs)
    else:
        check_version(prefs, expected_version, "notice preferences")
    prefs.choose(channels, language, family_copy, reach.reachable())
    prefs.updated_by, prefs.updated_at = actor.account_id, ctx.clock.now()
    ctx.audit(
        actor,
        "notices.preferences_changed",
        "person",
        person_id,
        channels=[c.value for c in prefs.channels],
        language=prefs.language.value,
        family_copy=family_copy,
    )
    ctx.uow.commit()
    return get_preferences(ctx, actor)


def set_wechat_subscription(ctx: UseCaseContext, actor: Actor, *, accepted: bool) -> None:
    """The mini-program reports the user's answer to its subscription request."""
    if actor.account_id is None or actor.kind not in (
        AccountKind.BENEFICIARY.value,
        AccountKind.FAMILY.value,
    ):
        raise AccessDenied("Only an app account can subscribe to WeChat messages.")
    ctx.uow.notices.set_wechat_accepted(actor.account_id, accepted, ctx.clock.now())
    ctx.uow.commit()


@dataclass(frozen=True, slots=True)
class InboxItem:
    id: UUID
    kind: str
    title: str
    body: str
    created_at: Any
    channels: dict[str, str]  # channel → delivery status (the person's own deliveries)


def inbox(ctx: UseCaseContext, actor: Actor, *, limit: int = 50) -> list[InboxItem]:
    person_id = _own_person(ctx, actor)
    return inbox_of(ctx, person_id, limit=limit)


def inbox_of(ctx: UseCaseContext, person_id: UUID, *, limit: int = 50) -> list[InboxItem]:
    if not 1 <= limit <= 100:
        raise ValidationFailed("Ask for 1 to 100 notices.", field="limit")
    notices = list(ctx.uow.notices.inbox(person_id, PageRequest(limit=limit)).items)
    prefs = ctx.uow.notices.preferences(person_id)
    language = prefs.language if prefs else Language.ZH
    deliveries = ctx.uow.notices.deliveries_of([n.id for n in notices])
    by_notice: dict[UUID, dict[str, str]] = {}
    for d in deliveries:
        if d.recipient is Recipient.PERSON:
            by_notice.setdefault(d.notice_id, {})[d.channel.value] = d.status.value
    items = []
    for n in notices:
        message = render(n.kind, n.data, language)
        items.append(
            InboxItem(
                n.id,
                n.kind.value,
                message.title,
                message.body,
                n.created_at,
                by_notice.get(n.id, {}),
            )
        )
    return items


# --- the operators' side ---------------------------------------------------------------------


def list_deliveries(
    ctx: UseCaseContext, actor: Actor, *, status: DeliveryStatus | None, page: PageRequest
) -> Page[Delivery]:
    """Deliveries by status (dead and uncertain ones are the operators' work list): what
    failed and why, never the message or the address."""
    access.require_operator(actor, "watch the notice outbox")
    return ctx.uow.notices.find_deliveries(scope=Scope(CITY_CODE), status=status, page=page)


def send_again(ctx: UseCaseContext, actor: Actor, delivery_id: UUID) -> Delivery:
    access.require_operator(actor, "send a notice again")
    delivery = found(
        ctx.uow.notices.delivery(delivery_id, for_update=True), "notice delivery", delivery_id
    )
    delivery.send_again(ctx.clock.now())
    ctx.audit(
        actor,
        "notices.sent_again",
        "notice_delivery",
        delivery.id,
        person_id=str(delivery.person_id),
        channel=delivery.channel.value,
    )
    ctx.uow.commit()
    return delivery


def backlog(ctx: UseCaseContext, actor: Actor) -> dict[str, int]:
    access.require_operator(actor, "watch the notice outbox")
    return ctx.uow.notices.backlog()


def reminder_backlog(ctx: UseCaseContext, actor: Actor) -> dict[str, int]:
    access.require_operator(actor, "watch the reminders")
    return ctx.uow.notices.reminder_backlog()
