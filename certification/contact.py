"""Contact attempts and the Art. 9 'unreachable by several means' test.

A benefit may be suspended for an expired period only if, during the current
period or after it, the agency tried to reach the person through at least
``min_channels`` different means (phone, SMS, WeChat, visit), each recorded
as unreachable, and no attempt since the period started reached them. A
person who was reached is not 'unreachable': they must be asked to certify,
and a suspension then needs another reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from certification.vocabulary import ContactChannel, ContactOutcome


@dataclass(frozen=True, slots=True)
class ContactAttemptFacts:
    channel: ContactChannel
    outcome: ContactOutcome
    attempted_on: date


@dataclass(frozen=True, slots=True)
class UnreachableFinding:
    unreachable: bool
    channels_tried: frozenset[ContactChannel]
    reached_on: date | None
    min_channels: int

    def explain(self) -> str:
        if self.reached_on is not None:
            return (
                f"The person was reached on {self.reached_on.isoformat()} during this period; "
                "ask them to certify instead of suspending for being unreachable."
            )
        if self.unreachable:
            return "Unreachable by: " + ", ".join(sorted(self.channels_tried)) + "."
        tried = ", ".join(sorted(self.channels_tried)) or "none"
        return (
            f"Suspension for an expired period needs failed contact attempts by at least "
            f"{self.min_channels} different means (phone, SMS, WeChat, visit); recorded so far: "
            f"{tried}."
        )


def assess_unreachable(
    attempts: Iterable[ContactAttemptFacts], *, period_started_on: date, min_channels: int
) -> UnreachableFinding:
    relevant = [a for a in attempts if a.attempted_on >= period_started_on]
    reached = [a.attempted_on for a in relevant if a.outcome is ContactOutcome.REACHED]
    failed = frozenset(a.channel for a in relevant if a.outcome is ContactOutcome.UNREACHABLE)
    reached_on = max(reached) if reached else None
    return UnreachableFinding(
        unreachable=reached_on is None and len(failed) >= min_channels,
        channels_tried=failed,
        reached_on=reached_on,
        min_channels=min_channels,
    )
