"""Notices: what a person is told, on which channel, and how a delivery moves (告知).

A use case that changes something a person must know records a :class:`Notice` in its own
transaction (the outbox). The delivery job later routes each notice to the channels the
person chose (:func:`route`) — one :class:`Delivery` per recipient and channel — and sends
each delivery at most once: a delivery whose send was interrupted is marked ``uncertain``
for an operator, never sent again by itself.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from certification.errors import ValidationFailed
from certification.ids import new_id
from certification.states import Lifecycle
from certification.texts import chinese


class NoticeKind(StrEnum):
    CERTIFIED = "certified"  # 认证成功, with the next due date and the receipt
    RETRY_NEEDED = "retry_needed"  # 请重新认证: what to fix
    SENT_TO_REVIEW = "sent_to_review"  # 转人工审核
    REVIEW_DECIDED = "review_decided"  # 审核结果
    TASK_OPENED = "task_opened"  # 乡镇（街道）将联系您核实
    SUSPENSION_PROPOSED = "suspension_proposed"  # 拟暂停: why, how to object
    SUSPENDED = "suspended"  # 已暂停: why, how to get it restored
    RESTORED = "restored"  # 已恢复, with the arrears paid
    REMINDER = "reminder"  # 60/30/7 days before and on the due date
    OVERDUE = "overdue"  # the due date has passed
    ACCOUNT_CONFIRMED = "account_confirmed"  # the app account became the person's
    APPEAL_RECEIVED = "appeal_received"  # 申诉已受理: by when it is answered
    APPEAL_DECIDED = "appeal_decided"  # 申诉结果
    CERTIFICATION_ANNULLED = "certification_annulled"  # 认证记录已撤销: certify again by
    CONSENT_WITHDRAWN = "consent_withdrawn"  # 人脸信息已删除: urgent (someone else may have
    # done it in a taken-over account)


class Channel(StrEnum):
    SMS = "sms"  # 短信: Alibaba Cloud SMS or Tencent Cloud SMS
    WECHAT = "wechat"  # 微信小程序订阅消息
    PUSH = "push"  # the official app's own notification (and its inbox)
    LETTER = "letter"  # 纸质告知书, printed by the township for people with no phone


class Recipient(StrEnum):
    PERSON = "person"
    FAMILY = "family"  # a bound family member, when the person chose so


class Language(StrEnum):
    ZH = "zh"
    EN = "en"


# kinds a bound family member may receive a copy of (the person chooses whether they do):
# what helps them help the person, never the account or review details
FAMILY_KINDS = frozenset(
    {
        NoticeKind.REMINDER,
        NoticeKind.OVERDUE,
        NoticeKind.CERTIFIED,
        NoticeKind.TASK_OPENED,
        NoticeKind.SUSPENSION_PROPOSED,
        NoticeKind.SUSPENDED,
        NoticeKind.RESTORED,
        NoticeKind.APPEAL_RECEIVED,
        NoticeKind.APPEAL_DECIDED,
        NoticeKind.CERTIFICATION_ANNULLED,
    }
)
# a notice's data key naming the family member who acted for the person (filed the appeal):
# they are told how it ends whether or not the person asked for family copies
COPY_TO = "copy_to"
# sent even in quiet hours: someone else may be taking over the account right now
URGENT_KINDS = frozenset({NoticeKind.ACCOUNT_CONFIRMED, NoticeKind.CONSENT_WITHDRAWN})
REMINDER_KINDS = frozenset({NoticeKind.REMINDER, NoticeKind.OVERDUE})


@dataclass(frozen=True, slots=True)
class Template:
    """One kind's words. ``params`` name the values in the order the providers' approved
    templates take them (Tencent's template parameters are positional)."""

    params: tuple[str, ...]
    en_title: str
    en: str
    # the WeChat subscribe-message layout every kind uses: thing1 (what), date2 (when),
    # thing3 (what to do); see docs/notices.md for the template the agency registers
    wechat_date: str = ""

    @property
    def zh_title(self) -> str:
        return chinese(self.en_title, "notice title")

    @property
    def zh(self) -> str:
        return chinese(self.en, "notice")


# English here; the Chinese is in the catalogue (certification/texts.py), context "notice"
CATALOGUE: dict[NoticeKind, Template] = {
    NoticeKind.CERTIFIED: Template(
        ("name", "certified_on", "next_due_on", "receipt"),
        "Certified",
        "{name}, you were certified on {certified_on}; certify again by {next_due_on}. Receipt "
        "code {receipt}, checkable on the official site.",
        wechat_date="certified_on",
    ),
    NoticeKind.RETRY_NEEDED: Template(
        ("name", "advice"),
        "Please try again",
        "{name}, the face check did not finish: {advice}. Please try again in the official app.",
    ),
    NoticeKind.SENT_TO_REVIEW: Template(
        ("name",),
        "Sent to review",
        "{name}, your certification video was sent to staff for review; you will be told the "
        "result. There is no need to record again.",
    ),
    NoticeKind.REVIEW_DECIDED: Template(
        ("name", "outcome"), "Review decided", "{name}, your certification review: {outcome}."
    ),
    NoticeKind.TASK_OPENED: Template(
        ("name", "who", "deadline_on"),
        "Verification visit",
        "{name}, {who} will contact you by {deadline_on} to verify your entitlement. Staff never "
        "ask for passwords or money.",
        wechat_date="deadline_on",
    ),
    NoticeKind.SUSPENSION_PROPOSED: Template(
        ("name", "why"),
        "Suspension proposed",
        "{name}, because of {why}, your benefit may be suspended. If this is wrong, certify or "
        "contest it at the agency soon.",
    ),
    NoticeKind.SUSPENDED: Template(
        ("name", "why", "since"),
        "Benefit suspended",
        "{name}, because of {why}, your benefit is suspended from {since}. Certify to have it "
        "restored with the arrears.",
        wechat_date="since",
    ),
    NoticeKind.RESTORED: Template(
        ("name", "since", "arrears"),
        "Benefit restored",
        "{name}, your benefit is paid again from {since}; arrears of {arrears} yuan are paid.",
        wechat_date="since",
    ),
    NoticeKind.REMINDER: Template(
        ("name", "due_on", "code"),
        "Certification due",
        "{name}, your certification is due on {due_on}. Certify with the official app or at a "
        "service point. Check code {code}",
        wechat_date="due_on",
    ),
    NoticeKind.OVERDUE: Template(
        ("name", "due_on", "code"),
        "Certification overdue",
        "{name}, your certification was due on {due_on}. Certify soon so that your benefit is "
        "not suspended. Check code {code}",
        wechat_date="due_on",
    ),
    NoticeKind.ACCOUNT_CONFIRMED: Template(
        ("name",),
        "Account confirmed",
        "{name}, your benefit account was confirmed as yours; other registrations that used your "
        "details were refused. If this was not you, call 12333.",
    ),
    NoticeKind.APPEAL_RECEIVED: Template(
        ("name", "subject", "due_on"),
        "Appeal received",
        "{name}, your appeal about {subject} was received; the agency answers by {due_on}. "
        "Nothing already paid is affected while it is considered.",
        wechat_date="due_on",
    ),
    NoticeKind.APPEAL_DECIDED: Template(
        ("name", "subject", "outcome"),
        "Appeal decided",
        "{name}, your appeal about {subject}: {outcome}. See the official app for the reasons.",
    ),
    NoticeKind.CERTIFICATION_ANNULLED: Template(
        ("name", "certified_on", "due_on"),
        "Certification annulled",
        "{name}, your certification of {certified_on} was annulled after a check; certify again "
        "by {due_on}. Questions: call 12333.",
        wechat_date="due_on",
    ),
    NoticeKind.CONSENT_WITHDRAWN: Template(
        ("name",),
        "Face data deleted",
        "{name}, you withdrew your consent to face checks and your face data was deleted; "
        "certify at a service point or by a home visit. If this was not you, call 12333 now.",
    ),
}


# values the data holds as codes, said in the reader's language (Chinese: the catalogue)
PHRASES: dict[str, str] = {
    "period_expired_unreachable": "the certification period expired and you could not be reached",
    "lost_qualification": "other departments' records show you may no longer qualify",
    "unreachable_in_verification": "you could not be reached during verification",
    "other": "a check by the agency",
    "approved": "approved; you are certified",
    "rejected": "not approved; your township will contact you to verify",
    "retake": "please record again, doing the actions slowly as shown",
    "township": "staff of your township",
    "rejected_review": "the rejection of your certification review",
    "suspension": "the suspension of your benefit",
    "loss_record": "the record that you no longer qualify",
    "record_correction": "your registered details",
    "upheld_record_corrected": "your details were corrected",
    "upheld_certified": "upheld; you are certified",
    "upheld_restored": "upheld; your benefit is restored with arrears",
    "upheld_verification_opened": "upheld; your township will verify, then your benefit is "
    "restored",
    "upheld_proposal_dismissed": "upheld; the record is set aside and your benefit continues",
    "dismissed": "not upheld; the decision stands",
    "employer": "your employer",
}


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    params: dict[str, str]  # in the template's order
    wechat: dict[str, str]  # thing1 / date2 / thing3


def render(kind: NoticeKind, data: Mapping[str, Any], language: Language) -> Message:
    """A notice's words in the language asked for; a value the kind does not name is left out
    (never a personal detail that slipped into the data)."""
    template = CATALOGUE[kind]
    zh = language is not Language.EN

    def said(name: str) -> str:
        value = str(data.get(f"{name}_{language.value}", data.get(name, "")))
        phrase = PHRASES.get(value)
        if phrase is None:
            return value
        return chinese(phrase, "notice phrase") if zh else phrase

    params = {name: said(name) for name in template.params}
    if language is Language.EN:
        title, body = template.en_title, template.en.format(**params)
    else:
        title, body = template.zh_title, template.zh.format(**params)
    when = params.get(template.wechat_date, "") if template.wechat_date else ""
    wechat = {
        "thing1": title[:20],
        "date2": when,
        "thing3": _first_sentence(body)[:20],
    }
    return Message(title, body, params, {k: v for k, v in wechat.items() if v})


def _first_sentence(text: str) -> str:
    for mark in ("。", ". "):
        if mark in text:
            return text.split(mark, 1)[1].strip() or text
    return text


@dataclass(eq=False)
class Notice:
    """Something a person must be told, recorded with the change that caused it."""

    person_id: UUID
    kind: NoticeKind
    data: dict[str, Any]
    key: str  # idempotency: the same event never makes two notices
    urgent: bool = False
    routed_at: datetime | None = None
    id: UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"  # given up: refused for good, too many failures, or too old
    UNCERTAIN = "uncertain"  # the send was interrupted: an operator decides (never resent)
    CANCELLED = "cancelled"


DELIVERY_LIFECYCLE: Lifecycle[DeliveryStatus] = Lifecycle(
    "notice delivery",
    {
        DeliveryStatus.PENDING: {
            DeliveryStatus.SENDING,
            DeliveryStatus.DELIVERED,  # a letter, printed in a batch
            DeliveryStatus.DEAD,
            DeliveryStatus.CANCELLED,
        },
        DeliveryStatus.SENDING: {
            DeliveryStatus.DELIVERED,
            DeliveryStatus.PENDING,
            DeliveryStatus.DEAD,
            DeliveryStatus.UNCERTAIN,
        },
        DeliveryStatus.DEAD: {DeliveryStatus.PENDING},  # an operator sends it again
        DeliveryStatus.UNCERTAIN: {DeliveryStatus.PENDING, DeliveryStatus.CANCELLED},
    },
)


class Outcome(StrEnum):
    """How one send ended (the providers' answers sorted into what to do next)."""

    DELIVERED = "delivered"
    UNREACHABLE = "unreachable"  # outage, timeout, 5xx: retried, never counted as a failure
    RATE_LIMITED = "rate_limited"  # the provider's limits: retried after the time it says
    FAILED = "failed"  # refused this time (balance, busy): retried, counted
    REFUSED = "refused"  # refused for good (number, user, template): not retried
    DEFERRED = "deferred"  # not tried: the channel was found down earlier in the batch


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    max_failures: int = 6
    first_retry: timedelta = timedelta(minutes=1)
    longest_wait: timedelta = timedelta(hours=2)
    max_age: timedelta = timedelta(days=7)  # older: dead as "expired"
    lease: timedelta = timedelta(minutes=5)  # a send that takes longer is uncertain
    quiet_from: time = time(21, 0)
    quiet_until: time = time(8, 0)
    timezone: str = "Asia/Shanghai"  # quiet hours are the person's evening, not UTC's

    def backoff(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        """Exponential from ``first_retry``, capped, with up to 20 % jitter so a recovered
        provider is not hit by the whole backlog at once."""
        base = self.first_retry * (2 ** max(0, min(attempts - 1, 20)))
        wait = min(base, self.longest_wait)
        jitter: float = (rng or random).random() * 0.2
        return timedelta(seconds=wait.total_seconds() * (1 + jitter))

    def is_quiet(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone)).time()
        if self.quiet_from == self.quiet_until:
            return False
        if self.quiet_from < self.quiet_until:
            return self.quiet_from <= local < self.quiet_until
        return local >= self.quiet_from or local < self.quiet_until


@dataclass(eq=False)
class Delivery:
    """One notice to one recipient on one channel."""

    notice_id: UUID
    person_id: UUID
    recipient: Recipient
    channel: Channel
    account_id: UUID | None = None  # the family member's (or the person's) app account
    district_code: str = ""  # the person's, for the operators' scope
    township_code: str | None = None  # where a letter is printed
    urgent: bool = False
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    failures: int = 0
    next_attempt_at: datetime | None = None
    claimed_until: datetime | None = None
    claim_token: str | None = None
    last_error: str | None = None
    provider_ref: str | None = None
    letter_batch_id: UUID | None = None
    delivered_at: datetime | None = None
    created_at: datetime | None = None
    id: UUID = field(default_factory=new_id)
    version: int = 0

    def claim(self, token: str, until: datetime) -> None:
        self.status = DELIVERY_LIFECYCLE.move(self.status, DeliveryStatus.SENDING)
        self.claim_token, self.claimed_until = token, until

    def settle(
        self,
        outcome: Outcome,
        now: datetime,
        policy: DeliveryPolicy,
        *,
        created_at: datetime,
        detail: str = "",
        provider_ref: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """What a send's outcome means for this delivery (the caller holds the claim)."""
        self.claim_token, self.claimed_until = None, None
        if outcome is Outcome.DELIVERED:
            self.status = DELIVERY_LIFECYCLE.move(self.status, DeliveryStatus.DELIVERED)
            self.delivered_at, self.provider_ref, self.last_error = now, provider_ref, None
            return
        if outcome is not Outcome.DEFERRED:
            self.attempts += 1
        self.last_error = f"{outcome.value}: {detail}"[:500] if detail else outcome.value
        if outcome is Outcome.FAILED:
            self.failures += 1
        expired = now - created_at > policy.max_age
        if outcome is Outcome.REFUSED or self.failures >= policy.max_failures or expired:
            if expired and outcome is not Outcome.REFUSED:
                self.last_error = f"expired after {self.attempts} attempts; {self.last_error}"
            self.status = DELIVERY_LIFECYCLE.move(self.status, DeliveryStatus.DEAD)
            return
        self.status = DELIVERY_LIFECYCLE.move(self.status, DeliveryStatus.PENDING)
        wait = policy.backoff(max(1, self.attempts))
        if outcome is Outcome.RATE_LIMITED and retry_after:
            wait = max(wait, timedelta(seconds=retry_after))
        self.next_attempt_at = now + wait

    def interrupted(self, now: datetime) -> None:
        """The claim ran out with no answer recorded: the provider may have sent it."""
        self.status = DELIVERY_LIFECYCLE.move(self.status, DeliveryStatus.UNCERTAIN)
        self.claim_token, self.claimed_until = None, None
        self.last_error = "the send was interrupted; it may or may not have reached the person"

    def send_again(self, now: datetime) -> None:
        """An operator's decision for a dead or uncertain delivery."""
        self.status = DELIVERY_LIFECYCLE.move(
            self.status,
            DeliveryStatus.PENDING,
            refusal=f"Only a dead or uncertain delivery can be sent again ({self.status.value}).",
        )
        self.failures, self.next_attempt_at = 0, now

    def printed(self, batch_id: UUID, now: datetime) -> None:
        self.status = DELIVERY_LIFECYCLE.move(self.status, DeliveryStatus.DELIVERED)
        self.letter_batch_id, self.delivered_at = batch_id, now


@dataclass(eq=False)
class NoticePreferences:
    """How a person wants to be told (个人通知偏好)."""

    person_id: UUID
    channels: list[Channel]  # in the person's order; every channel listed is used
    language: Language = Language.ZH
    family_copy: bool = False  # a bound family member receives the family kinds too
    updated_by: UUID | None = None
    updated_at: datetime | None = None
    version: int = 0

    def choose(
        self,
        channels: Sequence[str],
        language: str,
        family_copy: bool,
        reachable: Mapping[Channel, bool],
    ) -> None:
        chosen: list[Channel] = []
        for name in channels:
            try:
                channel = Channel(name)
            except ValueError:
                known = ", ".join(c.value for c in Channel)
                raise ValidationFailed(
                    f"Unknown channel {name!r}; use {known}.", field="channels"
                ) from None
            if channel in chosen:
                continue
            if not reachable.get(channel, False):
                raise ValidationFailed(
                    _UNREACHABLE_HOW.get(channel, f"You cannot be reached by {channel.value}."),
                    field="channels",
                )
            chosen.append(channel)
        if not chosen:
            raise ValidationFailed("Choose at least one way to be told.", field="channels")
        try:
            self.language = Language(language)
        except ValueError:
            raise ValidationFailed("Choose zh or en.", field="language") from None
        self.channels = chosen
        self.family_copy = family_copy


_UNREACHABLE_HOW = {
    Channel.SMS: "No mobile number is on record for you: give one at a service point first.",
    Channel.WECHAT: "Sign in with the WeChat mini-program and accept its messages first.",
    Channel.PUSH: "Sign in with the official app first.",
    Channel.LETTER: "No address is on record for you: give one at a service point first.",
}


def default_channels(reachable: Mapping[Channel, bool]) -> list[Channel]:
    """Before a person chooses, one channel: the app if they use it, else WeChat, else a text
    message if a number is on record; a printed letter only when nothing else reaches them."""
    chosen = [c for c in (Channel.PUSH, Channel.WECHAT, Channel.SMS) if reachable.get(c)]
    return chosen[:1] or [Channel.LETTER]


# --- reminders ------------------------------------------------------------------------------

REMINDER_DAYS = (60, 30, 7, 0)  # before the due date; 0 is the due date itself
OVERDUE_STAGE = -1  # the day after the due date
CATCH_UP_DAYS = 30  # an overdue notice missed longer than this is not sent late


def reminder_stage(due_on: date, today: date, sent: set[int]) -> tuple[int, list[int]] | None:
    """The reminder to send today for a period due on ``due_on``, and every stage it covers:
    each stage whose day has passed and that was not sent, sent once as one message (the most
    urgent of them, so a person never receives two reminders in one day)."""
    left = (due_on - today).days
    if left < -CATCH_UP_DAYS:
        return None
    passed = [d for d in REMINDER_DAYS if left <= d]
    if left < 0:
        passed.append(OVERDUE_STAGE)
    owed = [d for d in passed if d not in sent]
    if not owed:
        return None
    return min(owed), owed


# --- who can be reached how -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contact:
    """One recipient's addresses, read when a notice is routed and sent (never copied into
    the outbox)."""

    account_id: UUID | None = None  # their app account (push, WeChat)
    phone: str | None = None
    wechat_openid: str | None = None
    wechat_accepted: bool = False  # the mini-program user accepted its messages

    def address(self, channel: Channel, letter_address: str | None = None) -> str | None:
        if channel is Channel.SMS:
            return self.phone
        if channel is Channel.WECHAT:
            return self.wechat_openid if self.wechat_accepted else None
        if channel is Channel.PUSH:
            return str(self.account_id) if self.account_id else None
        return letter_address


@dataclass(frozen=True, slots=True)
class Reach:
    person: Contact
    address: str | None  # where a letter goes
    township_code: str | None
    district_code: str
    family: tuple[Contact, ...] = ()  # active bindings only

    def reachable(self) -> dict[Channel, bool]:
        return {c: self.person.address(c, self.address) is not None for c in Channel}


def family_channel(contact: Contact) -> Channel | None:
    """A family member is told on their own app or WeChat, else by text message."""
    for channel in (Channel.PUSH, Channel.WECHAT, Channel.SMS):
        if contact.address(channel) is not None:
            return channel
    return None
