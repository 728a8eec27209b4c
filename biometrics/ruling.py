"""The decision order of a selfie check, stated once.

``decide`` in ``biometrics.engine`` measures; this module rules. Each finding is one rule of
the order in the engine's docstring, with what it decides when it does not hold. The first
finding that does not hold decides; a finding not measured yet (None) stops the ruling, so
the engine can rule on the face before it measures liveness, and again after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    holds: bool
    reasons: tuple[str, ...] = ()  # when it does not hold and says more than its default


@dataclass(frozen=True, slots=True)
class Rule:
    finding: str
    decision: str  # when the finding does not hold: retry (the person can fix it) or fail
    reason: str  # the default reason code


ORDER: tuple[Rule, ...] = (
    Rule("long_enough", "retry", "video_too_short"),
    Rule("single_face", "retry", "multiple_faces"),
    Rule("face_seen", "retry", "no_face"),
    Rule("face_stayed", "retry", "face_lost"),
    # capture quality before the still-photo check and passive liveness: neither can be
    # judged on a blurred or dark capture (a heavy blur flattens the eyelids' movement, and
    # the small anti-spoof models score poor live captures low), and a person in bad light is
    # told what to fix, not refused; a photo held up is still refused once the capture is good
    Rule("quality", "retry", "poor_capture"),
    Rule("moving", "fail", "still_image"),  # a photo held up: a possible attack
    Rule("live", "fail", "liveness_failed"),
    Rule("challenge", "retry", "challenge_not_performed"),
    Rule("match", "fail", "face_mismatch"),
)
FINDINGS = tuple(rule.finding for rule in ORDER)


def rule_on(findings: Mapping[str, Finding | None]) -> tuple[str, list[str]] | None:
    """(decision, reasons) from the first finding that does not hold; ("pass", []) when all
    hold; None when the ruling reaches a finding not measured yet."""
    unknown = set(findings) - set(FINDINGS)
    if unknown:
        raise ValueError(f"not a finding of the order: {sorted(unknown)}")
    for rule in ORDER:
        finding = findings.get(rule.finding)
        if finding is None:
            return None
        if not finding.holds:
            return rule.decision, list(finding.reasons or (rule.reason,))
    return "pass", []
