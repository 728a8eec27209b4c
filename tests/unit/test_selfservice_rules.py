"""Self-service rules: the challenge by age, attempt limits, the template refresh guard."""

from datetime import UTC, date, datetime, timedelta

import pytest

from certification.selfservice import (
    HEAD,
    NON_RIGID,
    AttemptLimits,
    ChallengePolicy,
    TemplateRefreshRule,
)

TODAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    ("born", "count", "seconds"),
    [(date(1960, 1, 1), 3, 4), (date(1950, 1, 1), 2, 5), (date(1938, 1, 1), 2, 7)],
)
def test_the_very_old_get_fewer_and_slower_actions(born, count, seconds):
    for _ in range(200):
        plan = ChallengePolicy().plan(born, TODAY)
        assert len(plan.actions) == count and plan.seconds_per_action == seconds
        assert len(set(plan.actions)) == count
        assert any(a in NON_RIGID for a in plan.actions), "a photo must not be able to do it"
        assert any(a in HEAD for a in plan.actions), "a recorded video must not pass by chance"
        assert set(plan.actions) <= set(NON_RIGID) | set(HEAD)
        assert plan.max_video_seconds >= count * seconds


def test_the_challenge_is_random():
    seen = {ChallengePolicy().plan(date(1960, 1, 1), TODAY).actions for _ in range(300)}
    assert len(seen) > 20


def test_gentle_plans_avoid_nodding():
    for _ in range(200):
        plan = ChallengePolicy().plan(date(1960, 1, 1), TODAY, gentle=True)
        assert "nod" not in plan.actions and len(plan.actions) == 2


NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def ago(*minutes):
    return [NOW - timedelta(minutes=m) for m in minutes]


@pytest.mark.parametrize(
    ("times", "allowed", "reason"),
    [
        (ago(1, 2), True, None),
        (ago(0.5, 1, 1.5, 2, 2.5), False, "locked_out"),  # 5 in 3 minutes
        (ago(1, 5, 9, 13, 17), True, None),  # 5 spread over 16 minutes
        (ago(16, 16.5, 17, 17.5, 18), True, None),  # locked, but the 15 minutes have passed
        (ago(*range(10, 600, 60)), False, "daily_cap"),  # 10 in a day
    ],
)
def test_attempt_limits(times, allowed, reason):
    ok, why, until = AttemptLimits().check(times, NOW)
    assert (ok, why) == (allowed, reason)
    if why == "locked_out":
        assert until is not None and until > NOW


def test_template_refresh_only_from_a_confident_pass_on_an_old_template():
    rule = TemplateRefreshRule()
    old = NOW - timedelta(days=400)
    assert rule.allows(score=0.6, threshold=0.33, newest_template_at=old, now=NOW)
    assert not rule.allows(score=0.40, threshold=0.33, newest_template_at=old, now=NOW)
    assert not rule.allows(
        score=0.9, threshold=0.33, newest_template_at=NOW - timedelta(days=30), now=NOW
    )


def test_a_bound_persons_name_is_masked_for_the_helper() -> None:
    from certification.services.family import masked_name

    assert [masked_name(n) for n in ("王建国", "李四", "欧阳娜娜", "张")] == [
        "王*国",
        "李*",
        "欧**娜",
        "张",
    ]
