"""The decision order of the selfie check, without the models: every combination."""

import itertools

import pytest

from biometrics.reasons import REASONS
from biometrics.ruling import FINDINGS, ORDER, Finding, rule_on


@pytest.mark.parametrize("holds", list(itertools.product([True, False], repeat=len(FINDINGS))))
def test_the_first_finding_that_does_not_hold_decides(holds):
    findings = {name: Finding(h) for name, h in zip(FINDINGS, holds, strict=True)}
    decision, reasons = rule_on(findings)
    failed = [rule for rule, h in zip(ORDER, holds, strict=True) if not h]
    if not failed:
        assert (decision, reasons) == ("pass", [])
    else:
        assert (decision, reasons) == (failed[0].decision, [failed[0].reason])


def test_the_order_is_the_documented_one():
    assert [(r.finding, r.decision) for r in ORDER] == [
        ("long_enough", "retry"),
        ("single_face", "retry"),
        ("face_seen", "retry"),
        ("face_stayed", "retry"),
        # before the still-photo check and passive liveness: a blur or bad light is told,
        # not refused (neither can be judged on a poor capture)
        ("quality", "retry"),
        ("moving", "fail"),
        ("live", "fail"),
        ("challenge", "retry"),
        ("match", "fail"),
    ]


def test_every_default_reason_is_a_known_code_of_the_same_kind():
    for rule in ORDER:
        assert REASONS[rule.reason].kind.value == rule.decision, rule


def test_a_finding_gives_its_own_reasons():
    findings = {name: Finding(True) for name in FINDINGS}
    findings["quality"] = Finding(False, ("too_dark", "backlit"))
    assert rule_on(findings) == ("retry", ["too_dark", "backlit"])


def test_unmeasured_findings_stop_the_ruling_only_when_reached():
    early = dict.fromkeys(FINDINGS[:4], Finding(True))
    assert rule_on(early) is None  # the face is fine: measure on
    early["face_seen"] = Finding(False)
    assert rule_on(early) == ("retry", ["no_face"])  # decided before liveness is measured


def test_an_unknown_finding_is_refused():
    with pytest.raises(ValueError, match="not a finding"):
        rule_on({"smiling": Finding(True)})
