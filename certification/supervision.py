"""Supervision (Ch. 6): public tip-offs about fraudulent claims and the reporter's reward.

- Anyone may report, without signing in, through a published channel (Art. 22). A report
  names what happened and about whom; contact details are optional and needed only for
  a reward. The reporter's identity is visible to the assigned investigator alone.
- A report is assigned, investigated (findings recorded) and closed as substantiated or
  not. A substantiated report with a recovered amount earns a reward computed by the
  city's reward measure (Art. 23, 渝人社发〔2011〕288号). That measure is not reproduced
  here: the scale is configuration (``RewardScale``), shipped with a documented
  placeholder table (docs/decisions/0011-supervision-and-reward-scale.md).

Amounts are integers in fen, as everywhere in the procedure; no floating point.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from certification.errors import RuleViolation, ValidationFailed
from certification.ids import new_id
from certification.model import utcnow


class TipOffCategory(StrEnum):
    DEATH_CONCEALED = "death_concealed"  # 死亡后继续领取
    IMPRISONED = "imprisoned"  # 服刑期间领取
    FALSE_CERTIFICATION = "false_certification"  # 冒名顶替认证
    FORGED_DOCUMENTS = "forged_documents"  # 伪造证明材料
    REEMPLOYED = "reemployed"  # 领取失业保险金期间就业
    OTHER = "other"


class TipOffStatus(StrEnum):
    RECEIVED = "received"
    INVESTIGATING = "investigating"
    SUBSTANTIATED = "substantiated"
    UNSUBSTANTIATED = "unsubstantiated"


CLOSED = frozenset({TipOffStatus.SUBSTANTIATED, TipOffStatus.UNSUBSTANTIATED})


@dataclass(frozen=True, slots=True)
class RewardBracket:
    """``rate_permille`` of the part of the recovered amount above ``above_fen``."""

    above_fen: int
    rate_permille: int


@dataclass(frozen=True, slots=True)
class RewardScale:
    """A progressive scale over the recovered amount, with a floor and a cap.

    The placeholder (``PLACEHOLDER_SCALE``) stands in for the city's measure until the
    agency configures its table (``LIFECERT_TIPOFF_REWARD_SCALE``); it is not the measure.
    """

    brackets: tuple[RewardBracket, ...]
    minimum_fen: int
    maximum_fen: int
    # the largest amount a report may be recorded as having recovered (a typo or a made-up
    # figure beyond it is refused; larger real cases go through the agency's finance office)
    max_recovered_fen: int = 100_000_000

    def __post_init__(self) -> None:
        if not self.brackets or self.brackets[0].above_fen != 0:
            raise ValueError("the first bracket must start at 0")
        lows = [b.above_fen for b in self.brackets]
        if lows != sorted(set(lows)):
            raise ValueError("brackets must be in increasing order without repeats")
        if any(not 0 <= b.rate_permille <= 1000 for b in self.brackets):
            raise ValueError("rates are per mille, between 0 and 1000")
        if not 0 <= self.minimum_fen <= self.maximum_fen:
            raise ValueError("need 0 <= minimum <= maximum")

    def check_recovered(self, recovered_fen: int) -> None:
        if not 0 <= recovered_fen <= self.max_recovered_fen:
            raise ValidationFailed(
                f"The amount recovered must be between 0 and {self.max_recovered_fen / 100:,.2f} "
                "yuan.",
                field="recovered",
            )

    def reward_for(self, recovered_fen: int) -> int:
        """The reward in fen for a substantiated report that recovered ``recovered_fen``.

        Nothing recovered, nothing earned; otherwise the progressive sum, rounded half up
        to the fen, raised to the floor and held under the cap.
        """
        if recovered_fen < 0:
            raise ValidationFailed("The recovered amount cannot be negative.", field="recovered")
        if recovered_fen == 0:
            return 0
        total_thousandths = 0
        for i, bracket in enumerate(self.brackets):
            upper = self.brackets[i + 1].above_fen if i + 1 < len(self.brackets) else None
            if recovered_fen <= bracket.above_fen:
                break
            part = (min(recovered_fen, upper) if upper is not None else recovered_fen) - (
                bracket.above_fen
            )
            total_thousandths += part * bracket.rate_permille
        reward = (total_thousandths + 500) // 1000
        return min(max(reward, self.minimum_fen), self.maximum_fen)

    def table(self) -> list[dict[str, int | None]]:
        """The scale as rows for the page and the API (upper bound None = no bound)."""
        rows: list[dict[str, int | None]] = []
        for i, b in enumerate(self.brackets):
            upper = self.brackets[i + 1].above_fen if i + 1 < len(self.brackets) else None
            rows.append({"above_fen": b.above_fen, "up_to_fen": upper, "permille": b.rate_permille})
        return rows

    @classmethod
    def parse(cls, text: str) -> RewardScale:
        """``"0:100,1000000:50,5000000:20;min=20000;max=1000000;recovered_max=100000000"``
        (fen and per mille; ``recovered_max``: the largest amount a report may record)."""
        try:
            parts = [p.strip() for p in text.split(";") if p.strip()]
            brackets = tuple(
                RewardBracket(int(a), int(r))
                for a, r in (item.split(":") for item in parts[0].split(","))
            )
            options = dict(p.split("=", 1) for p in parts[1:])
            return cls(
                brackets,
                int(options.get("min", 0)),
                int(options.get("max", 10**12)),
                int(options.get("recovered_max", 100_000_000)),
            )
        except (ValueError, IndexError) as err:
            raise ValueError(f"not a reward scale: {text!r} ({err})") from err


# Placeholder only (see the module docstring): 10% of the first 10,000 yuan recovered,
# 5% of the part up to 50,000, 2% above; at least 200 yuan, at most 10,000 yuan.
PLACEHOLDER_SCALE = RewardScale(
    brackets=(
        RewardBracket(0, 100),
        RewardBracket(1_000_000, 50),
        RewardBracket(5_000_000, 20),
    ),
    minimum_fen=20_000,
    maximum_fen=1_000_000,
)


@dataclass(frozen=True, slots=True)
class PublishedChannels:
    """Where the public can report (Art. 22): shown on the tip-off page."""

    phone: str
    fax: str
    address: str
    postcode: str


def new_reference(at: datetime) -> str:
    """A code the reporter keeps to follow the report up by phone: JB-YYYYMMDD-XXXXXX."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return f"JB-{at:%Y%m%d}-" + "".join(secrets.choice(alphabet) for _ in range(6))


@dataclass(eq=False)
class TipOff:
    category: TipOffCategory
    description: str
    subject_name: str
    district_code: str  # where the person reported about lives: whose staff investigate
    subject_citizen_id: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    wants_reward: bool = False
    channel: str = "web"  # web | phone | fax | letter | visit
    status: TipOffStatus = TipOffStatus.RECEIVED
    reference: str = ""
    person_id: UUID | None = None  # the beneficiary, when the report could be matched
    assigned_to: UUID | None = None
    assigned_at: datetime | None = None
    findings: str | None = None
    closed_by: UUID | None = None
    closed_at: datetime | None = None
    recovered_fen: int | None = None
    reward_fen: int | None = None
    reward_paid_at: datetime | None = None
    reward_paid_by: UUID | None = None
    reward_payment_ref: str | None = None
    # a substantiated closing is proposed by the investigator and confirmed by another one
    closure_proposed_by: UUID | None = None
    closure_proposed_at: datetime | None = None
    proposed_recovered_fen: int | None = None
    proposed_suspend: list[str] = field(default_factory=list)
    id: UUID = field(default_factory=new_id)
    received_at: datetime = field(default_factory=utcnow)
    version: int = 0

    @property
    def closure_waiting(self) -> bool:
        return self.status is TipOffStatus.INVESTIGATING and self.closure_proposed_at is not None

    def propose_substantiated(
        self,
        *,
        recovered_fen: int | None,
        suspend: list[UUID],
        scale: RewardScale,
        by: UUID | None,
        at: datetime,
    ) -> None:
        """The investigator's conclusion, waiting for a second investigator: nothing about
        the benefit or the reward happens until then."""
        if self.status is not TipOffStatus.INVESTIGATING:
            raise RuleViolation("Only a report under investigation can be closed.")
        if self.closure_waiting:
            raise RuleViolation("A closing of this report is already waiting for confirmation.")
        if not self.findings:
            raise ValidationFailed("Record the findings before closing.", field="findings")
        if recovered_fen is None:
            raise ValidationFailed(
                "Give the amount recovered (0 if nothing was recovered).", field="recovered"
            )
        scale.check_recovered(recovered_fen)
        self.closure_proposed_by, self.closure_proposed_at = by, at
        self.proposed_recovered_fen = recovered_fen
        self.proposed_suspend = [str(s) for s in suspend]

    def drop_proposal(self) -> None:
        if not self.closure_waiting:
            raise RuleViolation("No closing of this report is waiting for confirmation.")
        self.closure_proposed_by = self.closure_proposed_at = None
        self.proposed_recovered_fen = None
        self.proposed_suspend = []

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED

    def assign(self, investigator: UUID, at: datetime) -> None:
        if self.is_closed:
            raise RuleViolation(f"This report is already closed ({self.status.value}).")
        self.assigned_to = investigator
        self.assigned_at = at
        self.status = TipOffStatus.INVESTIGATING

    def record_findings(self, findings: str) -> None:
        if self.status is not TipOffStatus.INVESTIGATING:
            raise RuleViolation("Assign the report to an investigator before recording findings.")
        findings = findings.strip()
        if len(findings) < 4:
            raise ValidationFailed("Describe what the investigation found.", field="findings")
        self.findings = findings

    def close(
        self,
        *,
        substantiated: bool,
        recovered_fen: int | None,
        scale: RewardScale,
        by: UUID | None,
        at: datetime,
    ) -> None:
        if self.status is not TipOffStatus.INVESTIGATING:
            raise RuleViolation("Only a report under investigation can be closed.")
        if not self.findings:
            raise ValidationFailed("Record the findings before closing.", field="findings")
        if substantiated:
            if recovered_fen is None:
                raise ValidationFailed(
                    "Give the amount recovered (0 if nothing was recovered).", field="recovered"
                )
            scale.check_recovered(recovered_fen)
            self.status = TipOffStatus.SUBSTANTIATED
            self.recovered_fen = recovered_fen
            self.reward_fen = scale.reward_for(recovered_fen) if self.wants_reward else 0
        else:
            if recovered_fen:
                raise ValidationFailed(
                    "An unsubstantiated report recovers nothing.", field="recovered"
                )
            self.status = TipOffStatus.UNSUBSTANTIATED
            self.recovered_fen = None
            self.reward_fen = None
        self.closed_by = by
        self.closed_at = at

    def record_reward_payment(self, *, payment_ref: str, by: UUID | None, at: datetime) -> None:
        if self.status is not TipOffStatus.SUBSTANTIATED or not self.reward_fen:
            raise RuleViolation("Only a substantiated report with a reward can be paid.")
        if self.reward_paid_at is not None:
            raise RuleViolation("This reward was already paid.")
        if not self.reporter_name or not self.reporter_phone:
            raise RuleViolation("The reporter left no contact details; the reward cannot be paid.")
        payment_ref = payment_ref.strip()
        if not payment_ref:
            raise ValidationFailed("Give the payment's reference.", field="payment_ref")
        self.reward_paid_at = at
        self.reward_paid_by = by
        self.reward_payment_ref = payment_ref


def validate_report(
    *,
    description: str,
    subject_name: str,
    wants_reward: bool,
    reporter_name: str | None,
    reporter_phone: str | None,
) -> list[tuple[str, str]]:
    """Field problems of a public report, as (field, message) pairs; empty when it is fine."""
    problems: list[tuple[str, str]] = []
    if len(description.strip()) < 10:
        problems.append(("description", "请描述发生了什么（至少10个字） / Describe what happened."))
    if len(description) > 4000:
        problems.append(("description", "内容过长（最多4000字） / At most 4000 characters."))
    if not subject_name.strip() or len(subject_name) > 64:
        problems.append(("subject_name", "请填写被举报人姓名 / Name the person concerned."))
    phone = (reporter_phone or "").strip()
    if phone and not (phone.isdigit() and 7 <= len(phone) <= 15):
        problems.append(("reporter_phone", "电话号码只能是7到15位数字 / 7 to 15 digits."))
    if wants_reward and not ((reporter_name or "").strip() and phone):
        problems.append(
            ("reporter_phone", "领取奖励需留下姓名和电话 / A reward needs your name and phone.")
        )
    return problems


def masked(tip: TipOff, viewer: UUID | None) -> dict[str, str | None]:
    """The reporter's identity for ``viewer``: in full for the assigned investigator only."""
    if viewer is not None and viewer == tip.assigned_to:
        return {"reporter_name": tip.reporter_name, "reporter_phone": tip.reporter_phone}
    hidden = "（仅调查人可见 / investigator only）"
    return {
        "reporter_name": hidden if tip.reporter_name else None,
        "reporter_phone": hidden if tip.reporter_phone else None,
    }


CATEGORY_LABELS: dict[TipOffCategory, tuple[str, str]] = {
    TipOffCategory.DEATH_CONCEALED: ("死亡后仍在领取待遇", "Benefits drawn after death"),
    TipOffCategory.IMPRISONED: ("服刑期间领取待遇", "Benefits drawn while imprisoned"),
    TipOffCategory.FALSE_CERTIFICATION: ("冒名顶替进行认证", "Someone certified in their place"),
    TipOffCategory.FORGED_DOCUMENTS: ("伪造证明材料", "Forged documents"),
    TipOffCategory.REEMPLOYED: ("领取失业保险金期间已就业", "Working while drawing unemployment"),
    TipOffCategory.OTHER: ("其他", "Other"),
}


def categories() -> Sequence[TipOffCategory]:
    return list(TipOffCategory)
