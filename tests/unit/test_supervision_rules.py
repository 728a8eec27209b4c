"""Tip-offs and the reward scale (Art. 22-23): boundaries of the configured scale."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from certification.errors import RuleViolation, ValidationFailed
from certification.supervision import (
    PLACEHOLDER_SCALE,
    RewardBracket,
    RewardScale,
    TipOff,
    TipOffCategory,
    TipOffStatus,
    masked,
    validate_report,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
YUAN = 100


@pytest.mark.parametrize(
    ("recovered", "reward"),
    [
        (0, 0),  # nothing recovered, nothing earned
        (1, 200 * YUAN),  # the floor
        (2_000 * YUAN, 200 * YUAN),  # 10% = 200 yuan: exactly the floor
        (2_000 * YUAN + 10, 200 * YUAN + 1),  # just above the floor
        (10_000 * YUAN, 1_000 * YUAN),  # the first bracket's top: 10%
        (10_000 * YUAN + 100, 1_000 * YUAN + 5),  # 5% of the part above 10,000
        (50_000 * YUAN, 3_000 * YUAN),  # 1,000 + 5% of 40,000
        (50_000 * YUAN + 100, 3_000 * YUAN + 2),  # 2% above 50,000 (2 fen for 1 yuan)
        (400_000 * YUAN, 10_000 * YUAN),  # 3,000 + 2% of 350,000 = 10,000: the cap exactly
        (10_000_000 * YUAN, 10_000 * YUAN),  # held at the cap
    ],
)
def test_placeholder_scale_at_its_boundaries(recovered: int, reward: int) -> None:
    assert PLACEHOLDER_SCALE.reward_for(recovered) == reward


def test_rounding_is_half_up_to_the_fen() -> None:
    scale = RewardScale((RewardBracket(0, 15),), minimum_fen=0, maximum_fen=10**9)
    assert scale.reward_for(100) == 2  # 1.5 fen → 2
    assert scale.reward_for(99) == 1  # 1.485 fen → 1


def test_scale_parses_from_configuration_and_rejects_nonsense() -> None:
    scale = RewardScale.parse("0:100,1000000:50,5000000:20;min=20000;max=1000000")
    assert scale == PLACEHOLDER_SCALE
    assert scale.table()[-1] == {"above_fen": 5_000_000, "up_to_fen": None, "permille": 20}
    for bad in ("", "5:100", "0:100,0:50", "0:1200", "0:100;min=10;max=5", "0:x"):
        with pytest.raises(ValueError):
            RewardScale.parse(bad)
    with pytest.raises(ValidationFailed):
        PLACEHOLDER_SCALE.reward_for(-1)


def _tip(**kw: object) -> TipOff:
    values: dict[str, object] = dict(
        category=TipOffCategory.DEATH_CONCEALED,
        description="邻居去年已去世，家属仍在领取养老金",
        subject_name="王某",
        district_code="500103",
        reporter_name="李四",
        reporter_phone="13800000000",
        wants_reward=True,
    )
    values.update(kw)
    return TipOff(**values)  # type: ignore[arg-type]


def test_investigation_goes_assign_findings_close_pay() -> None:
    investigator = uuid4()
    tip = _tip()
    with pytest.raises(RuleViolation):
        tip.record_findings("not assigned yet")
    tip.assign(investigator, NOW)
    with pytest.raises(ValidationFailed):
        tip.close(substantiated=True, recovered_fen=1, scale=PLACEHOLDER_SCALE, by=None, at=NOW)
    tip.record_findings("死亡证明已核实，家属承认代领")
    with pytest.raises(ValidationFailed):  # the recovered amount is needed
        tip.close(substantiated=True, recovered_fen=None, scale=PLACEHOLDER_SCALE, by=None, at=NOW)
    tip.close(
        substantiated=True, recovered_fen=36_000 * YUAN, scale=PLACEHOLDER_SCALE, by=None, at=NOW
    )
    assert tip.status is TipOffStatus.SUBSTANTIATED
    assert tip.reward_fen == 2_300 * YUAN  # 1,000 + 5% of 26,000
    with pytest.raises(ValidationFailed):
        tip.record_reward_payment(payment_ref="  ", by=investigator, at=NOW)
    tip.record_reward_payment(payment_ref="PAY-1", by=investigator, at=NOW)
    with pytest.raises(RuleViolation):
        tip.record_reward_payment(payment_ref="PAY-2", by=investigator, at=NOW)
    with pytest.raises(RuleViolation):
        tip.assign(investigator, NOW)  # closed


def test_no_reward_unless_asked_and_none_for_unsubstantiated() -> None:
    quiet = _tip(wants_reward=False, reporter_name=None, reporter_phone=None)
    quiet.assign(uuid4(), NOW)
    quiet.record_findings("核实属实")
    quiet.close(
        substantiated=True, recovered_fen=5_000_00, scale=PLACEHOLDER_SCALE, by=None, at=NOW
    )
    assert quiet.reward_fen == 0
    with pytest.raises(RuleViolation):
        quiet.record_reward_payment(payment_ref="X", by=None, at=NOW)
    wrong = _tip()
    wrong.assign(uuid4(), NOW)
    wrong.record_findings("经核实本人健在")
    with pytest.raises(ValidationFailed):
        wrong.close(
            substantiated=False, recovered_fen=100, scale=PLACEHOLDER_SCALE, by=None, at=NOW
        )
    wrong.close(substantiated=False, recovered_fen=None, scale=PLACEHOLDER_SCALE, by=None, at=NOW)
    assert (wrong.status, wrong.reward_fen) == (TipOffStatus.UNSUBSTANTIATED, None)


def test_reporter_identity_only_for_the_assigned_investigator() -> None:
    tip = _tip()
    investigator, colleague = uuid4(), uuid4()
    tip.assign(investigator, NOW)
    assert masked(tip, investigator)["reporter_phone"] == "13800000000"
    assert "13800000000" not in str(masked(tip, colleague))
    assert "13800000000" not in str(masked(tip, None))


def test_report_validation_names_each_field() -> None:
    fields = {
        f
        for f, _ in validate_report(
            description="短",
            subject_name="",
            wants_reward=True,
            reporter_name=None,
            reporter_phone="12ab",
        )
    }
    assert fields == {"description", "subject_name", "reporter_phone"}
    assert not validate_report(
        description="邻居去年已去世，家属仍在领取养老金",
        subject_name="王某",
        wants_reward=False,
        reporter_name=None,
        reporter_phone=None,
    )


def test_a_recovered_amount_beyond_the_configured_bound_is_refused():
    scale = RewardScale.parse("0:100;min=0;max=500000;recovered_max=1000000")
    scale.check_recovered(1_000_000)
    for wrong in (-1, 1_000_001):
        with pytest.raises(ValidationFailed, match=r"between 0 and 10,000\.00"):
            scale.check_recovered(wrong)
    assert PLACEHOLDER_SCALE.max_recovered_fen == 100_000_000  # 1,000,000 yuan by default
