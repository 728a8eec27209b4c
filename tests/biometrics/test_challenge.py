"""Active liveness: the asked actions, in the asked order, at an elderly person's pace."""

import numpy as np
import pytest

from biometrics.challenge import Action, ChallengeDetector, parse_actions
from biometrics.config import ChallengeConfig
from biometrics.landmarks import FaceMeasures, Mesh
from biometrics.tracking import Observation
from tests.biometrics.conftest import CLIP_ACTIONS, SELFIES


@pytest.mark.parametrize("clip", sorted(CLIP_ACTIONS))
def test_every_shared_live_clip_passes_with_the_actions_it_contains(verdict_of, clip):
    verdict = verdict_of(str(SELFIES / f"{clip}.mp4"), tuple(CLIP_ACTIONS[clip]), clip)
    assert verdict.decision == "pass", verdict.to_json()
    assert verdict.challenge["passed"]
    assert [m["action"] for m in verdict.challenge["matched"]] == CLIP_ACTIONS[clip]


def test_actions_in_the_wrong_order_are_refused(verdict_of):
    verdict = verdict_of(str(SELFIES / "driving_d3.mp4"), ("open_mouth", "turn_left"), "driving_d3")
    assert (verdict.decision, verdict.reasons) == ("retry", ["challenge_wrong_order"])


def test_an_action_not_performed_is_refused(verdict_of):
    verdict = verdict_of(str(SELFIES / "driving_d0.mp4"), ("blink", "turn_right"), "driving_d0")
    assert (verdict.decision, verdict.reasons) == ("retry", ["challenge_not_performed"])
    assert verdict.challenge["missing"] == ["turn_right"]


def test_mirrored_recordings_swap_left_and_right(engine, template_of):
    clip = SELFIES / "driving_d3.mp4"
    plain = engine.verify(clip, ["turn_left"], [template_of("driving_d3")])
    mirrored = engine.verify(clip, ["turn_right"], [template_of("driving_d3")], mirrored=True)
    assert plain.decision == mirrored.decision == "pass"


def test_unknown_actions_are_refused():
    with pytest.raises(ValueError, match="known: blink"):
        parse_actions(["blink", "somersault"])


# --- timing tolerance, on synthetic series (no models involved) --------------------------


def series(fps, values):
    """Observations from per-frame (ear, mar, yaw, pitch) tuples."""
    mesh = Mesh(np.zeros((468, 3), dtype=np.float32), 1.0)
    out = []
    for i, (ear, mar, yaw, pitch) in enumerate(values):
        m = FaceMeasures(ear, ear, mar, yaw, pitch, 0.0)
        out.append(Observation(i / fps, mesh, m, False, 0))
    return out


def rest(n):
    return [(0.28, 0.05, 0.0, 0.0)] * n


def test_a_slow_blink_counts_and_eyes_kept_shut_do_not():
    slow = rest(20) + [(0.12, 0.05, 0.0, 0.0)] * 20 + rest(20)  # 1.3 s closed at 15 fps
    assert ChallengeDetector(ChallengeConfig()).evaluate([Action.BLINK], series(15, slow)).passed
    shut = rest(20) + [(0.12, 0.05, 0.0, 0.0)] * 60 + rest(20)  # 4 s closed
    assert (
        not ChallengeDetector(ChallengeConfig()).evaluate([Action.BLINK], series(15, shut)).passed
    )


def test_a_slow_head_turn_counts_however_long_it_takes():
    ramp = [(0.28, 0.05, float(y), 0.0) for y in np.linspace(0, 30, 45)]  # 3 s to turn
    values = rest(30) + ramp + [(0.28, 0.05, 30.0, 0.0)] * 15 + ramp[::-1] + rest(30)
    result = ChallengeDetector(ChallengeConfig()).evaluate([Action.TURN_LEFT], series(15, values))
    assert result.passed
    right = ChallengeDetector(ChallengeConfig()).evaluate([Action.TURN_RIGHT], series(15, values))
    assert not right.passed


def test_a_nod_needs_the_head_to_come_back_up():
    down = [(0.28, 0.05, 0.0, float(p)) for p in np.linspace(0, 20, 15)]
    nod = rest(30) + down + down[::-1] + rest(30)
    assert ChallengeDetector(ChallengeConfig()).evaluate([Action.NOD], series(15, nod)).passed
    stays_down = rest(30) + down + [(0.28, 0.05, 0.0, 20.0)] * 60
    assert (
        not ChallengeDetector(ChallengeConfig())
        .evaluate([Action.NOD], series(15, stays_down))
        .passed
    )


def test_a_brief_mouth_twitch_is_not_an_open_mouth():
    twitch = rest(30) + [(0.28, 0.5, 0.0, 0.0)] * 1 + rest(30)
    assert (
        not ChallengeDetector(ChallengeConfig())
        .evaluate([Action.OPEN_MOUTH], series(15, twitch))
        .passed
    )
    held = rest(30) + [(0.28, 0.5, 0.0, 0.0)] * 8 + rest(30)
    assert (
        ChallengeDetector(ChallengeConfig()).evaluate([Action.OPEN_MOUTH], series(15, held)).passed
    )


def test_order_is_checked_on_the_time_line():
    blink = [(0.12, 0.05, 0.0, 0.0)] * 3
    mouth = [(0.28, 0.5, 0.0, 0.0)] * 6
    values = rest(15) + mouth + rest(15) + blink + rest(15)
    detector = ChallengeDetector(ChallengeConfig())
    assert detector.evaluate([Action.OPEN_MOUTH, Action.BLINK], series(15, values)).passed
    wrong = detector.evaluate([Action.BLINK, Action.OPEN_MOUTH], series(15, values))
    assert not wrong.passed and wrong.wrong_order
