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
    """Observations from per-frame (ear, mar, yaw, pitch) tuples; shut eyes (an opening under
    0.2) also raise the eye-closed logit, as the landmark model's state does."""
    mesh = Mesh(np.zeros((468, 3), dtype=np.float32), 1.0)
    out = []
    for i, (ear, mar, yaw, pitch) in enumerate(values):
        m = FaceMeasures(ear, ear, mar, yaw, pitch, 0.0, eye_closed=6.0 if ear < 0.2 else -2.0)
        out.append(Observation(i / fps, mesh, m, False, 0))
    return out


def rest(n):
    return [(0.28, 0.05, 0.0, 0.0)] * n


def test_blinks_count_from_a_single_shut_frame_to_an_elderly_slow_one():
    detector = ChallengeDetector(ChallengeConfig())
    quick = [*rest(25), (0.12, 0.05, 0.0, 0.0), *rest(25)]  # shut for one frame at 25 fps
    assert detector.evaluate([Action.BLINK], series(25, quick)).passed
    slow = rest(25) + [(0.12, 0.05, 0.0, 0.0)] * 18 + rest(25)  # 0.7 s shut
    assert detector.evaluate([Action.BLINK], series(25, slow)).passed
    half = rest(25) + [(0.24, 0.05, 0.0, 0.0)] * 3 + rest(25)  # lids lowered a little
    assert not detector.evaluate([Action.BLINK], series(25, half)).passed


def test_eyes_kept_shut_or_closing_at_the_end_are_not_a_blink():
    detector = ChallengeDetector(ChallengeConfig())
    shut = rest(25) + [(0.12, 0.05, 0.0, 0.0)] * 100 + rest(25)  # 4 s shut
    assert not detector.evaluate([Action.BLINK], series(25, shut)).passed
    closing = rest(50) + [(0.12, 0.05, 0.0, 0.0)] * 3  # never reopened in the clip
    assert not detector.evaluate([Action.BLINK], series(25, closing)).passed


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


def test_an_open_mouth_is_wide_however_brief_and_speech_is_not():
    detector = ChallengeDetector(ChallengeConfig())
    brief = rest(25) + [(0.28, 0.5, 0.0, 0.0)] * 2 + rest(25)  # a wide 'oh' of two frames
    assert detector.evaluate([Action.OPEN_MOUTH], series(25, brief)).passed
    speech = rest(25) + [(0.28, 0.05 + 0.1 * (i % 2), 0.0, 0.0) for i in range(50)] + rest(25)
    assert not detector.evaluate([Action.OPEN_MOUTH], series(25, speech)).passed


def test_order_is_checked_on_the_time_line():
    blink = [(0.12, 0.05, 0.0, 0.0)] * 3
    mouth = [(0.28, 0.5, 0.0, 0.0)] * 6
    values = rest(15) + mouth + rest(15) + blink + rest(15)
    detector = ChallengeDetector(ChallengeConfig())
    assert detector.evaluate([Action.OPEN_MOUTH, Action.BLINK], series(15, values)).passed
    wrong = detector.evaluate([Action.BLINK, Action.OPEN_MOUTH], series(15, values))
    assert not wrong.passed and wrong.wrong_order


# --- the decision rules, on a synthetic analysis (no models involved) ----------------------


def _analysis(**changes):
    from biometrics.engine import Analysis
    from biometrics.liveness import NonRigidMotion, PassiveScores
    from biometrics.quality import QualityReport

    blink = [*rest(25), (0.12, 0.05, 0.0, 0.0), *rest(25)]
    good = {
        "face_px": 200.0,
        "face_fraction": 0.5,
        "luminance": 120.0,
        "bright": 160.0,
        "background": 110.0,
        "clipped": 0.0,
        "sharpness_max": 200.0,
        "detail_max": 0.5,
        "closest_to_frontal": 3.0,
        "eye_ratio": 0.6,
        "lip_redness": 5.0,
        "colourless": 0.0,
    }
    values = {
        "video": {},
        "models": {},
        "timings_ms": {},
        "observations": series(25, blink),
        "detections": 3,
        "motion": NonRigidMotion(0.6, 0.2, 0.05, 0.0),
        "passive_frames": [PassiveScores(0.99, 0.99, 0.99, 0.99)] * 3,
        "quality": QualityReport((), {**good, **changes.pop("metrics", {})}),
    }
    values.update(changes)
    return Analysis(**values)


def _decide(analysis, challenge=("blink",)):
    from biometrics.config import EngineConfig
    from biometrics.engine import decide

    return decide(analysis, list(challenge), [], EngineConfig())


def test_the_rules_apply_in_their_order_without_any_model():
    from biometrics.liveness import NonRigidMotion, PassiveScores

    # no template: everything else passes, the match fails last
    assert _decide(_analysis()).reasons == ["face_mismatch"]
    # a poor capture is told what to fix before the still-photo check (a blur or the dark
    # flattens the eyelids' movement), and a photo in a good capture is refused
    flat = NonRigidMotion(0.01, 0.01, 0.001, 0.0)
    dark_still = _analysis(motion=flat, metrics={"bright": 10.0})
    assert (_decide(dark_still).decision, _decide(dark_still).reasons) == ("retry", ["too_dark"])
    still = _analysis(motion=flat, passive_frames=[PassiveScores(0.1, 0.1, 0.1, 0.1)])
    assert (_decide(still).decision, _decide(still).reasons) == ("fail", ["still_image"])
    # capture problems come before the passive models (which misjudge poor captures)
    dark = _analysis(metrics={"bright": 20.0}, passive_frames=[PassiveScores(0.1, 0.1, 0.1, 0.1)])
    assert (_decide(dark).decision, _decide(dark).reasons) == ("retry", ["too_dark"])
    replay = _analysis(passive_frames=[PassiveScores(0.1, 0.1, 0.1, 0.1)])
    assert (_decide(replay).decision, _decide(replay).reasons) == ("fail", ["liveness_failed"])
    # the challenge before the match
    assert _decide(_analysis(), ["nod"]).reasons == ["challenge_not_performed"]


def test_a_backlit_capture_is_told_apart_from_a_dark_skinned_face_in_good_light():
    # dark skin in a studio: the face's mean is low, its bright tenth is not
    studio = _analysis(metrics={"luminance": 50.0, "bright": 72.0, "background": 46.0})
    assert "too_dark" not in _decide(studio).reasons
    window = _analysis(metrics={"luminance": 70.0, "bright": 110.0, "background": 245.0})
    assert _decide(window).reasons == ["backlit"]
