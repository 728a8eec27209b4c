"""Every attack made from the shared data is refused; odd faces and crowds are refused.

The attacks are generated from the shared clips and photos (biometrics.attacks):
a still photo held to the camera, a print-like rendering of it, and the live clip
re-rendered as if filmed off a screen.
"""

import os
from pathlib import Path

import cv2
import pytest

from biometrics.attacks import still_video
from biometrics.engine import load_image
from tests.biometrics.conftest import CLIP_ACTIONS, FACEDATA, SELFIES
from tests.biometrics.media import AttackRenders, still

CLIPS = sorted(CLIP_ACTIONS)


@pytest.fixture(scope="module")
def attack_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("attacks")


@pytest.fixture(scope="session")
def renders(tmp_path_factory):
    """Every clip's still, print and screen-replay attack, rendered in the background in the
    order the tests ask for them, into a folder all the test processes of the run share."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    jobs = [(kind, clip) for kind in ("still", "print", "screen") for clip in CLIPS]
    made = AttackRenders(shared / "attack-renders", jobs)
    yield made
    made.close()


@pytest.mark.parametrize("clip", CLIPS)
def test_a_still_photo_held_to_the_camera_is_refused(engine, template_of, renders, clip):
    video = renders.path("still", clip)
    verdict = engine.verify(video, CLIP_ACTIONS[clip], [template_of(clip)])
    assert verdict.decision == "fail", verdict.to_json()
    assert verdict.reasons[0] in ("still_image", "liveness_failed")
    alone = engine.verify(video, [], [template_of(clip)])  # even with no challenge asked
    assert alone.decision == "fail" and alone.reasons[0] in ("still_image", "liveness_failed")


@pytest.mark.parametrize("clip", CLIPS)
def test_a_printed_photo_is_refused(engine, template_of, renders, clip):
    video = renders.path("print", clip)
    verdict = engine.verify(video, CLIP_ACTIONS[clip], [template_of(clip)])
    assert verdict.decision == "fail", verdict.to_json()


@pytest.mark.parametrize("clip", CLIPS)
def test_a_clip_replayed_on_a_screen_is_refused_even_with_the_right_actions(
    engine, template_of, renders, clip
):
    """The replayed clip performs the asked actions; the passive models must refuse it.

    A replay that is also soft or dark is asked to retry (capture problems come first,
    because the passive models misjudge poor live captures too); it never passes, and its
    failed passive check is in the verdict for the session's attempt limits and for staff.
    """
    video = renders.path("screen", clip)
    verdict = engine.verify(video, CLIP_ACTIONS[clip], [template_of(clip)])
    passive = next(c for c in verdict.checks if c.name == "passive_liveness")
    assert not passive.passed, verdict.to_json()
    if verdict.decision == "retry":
        assert verdict.reasons[0] in {"blurry", "too_dark", "too_bright", "backlit"}
    else:
        assert (verdict.decision, verdict.reasons) == ("fail", ["liveness_failed"])


@pytest.mark.parametrize("name", ["image_F1.jpg", "image_F2.jpg", "monitor_replay_rgb_fake.jpg"])
def test_the_shared_spoof_pictures_are_refused(engine, template_of, attack_dir, name):
    video = still_video(
        load_image(FACEDATA / "spoof" / name), attack_dir / f"spoof_{Path(name).stem}.mp4"
    )
    verdict = engine.verify(video, ["blink"], [template_of("driving_d9")])
    assert verdict.decision == "fail", verdict.to_json()


def test_another_person_is_refused(verdict_of):
    verdict = verdict_of(
        str(SELFIES / "driving_d3.mp4"), tuple(CLIP_ACTIONS["driving_d3"]), "driving_d9"
    )
    assert (verdict.decision, verdict.reasons) == ("fail", ["face_mismatch"])
    assert verdict.scores["face_match"] < verdict.thresholds["face_match"]


def test_a_crowd_is_refused_as_several_faces(engine, template_of):
    verdict = engine.verify(
        FACEDATA / "videos" / "crowd_multi_face.mp4", ["blink"], [template_of("driving_d9")]
    )
    assert (verdict.decision, verdict.reasons) == ("retry", ["multiple_faces"])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("no_face.png", "no_face"),
        ("multi_face_group.jpg", "multiple_faces"),
        ("multi_face_t1.jpg", "multiple_faces"),
        ("liveportrait_s7.jpg", None),  # cartoon
        ("liveportrait_s25.jpg", None),  # animal
        ("liveportrait_s9.jpg", None),  # painting
        ("liveportrait_s11.jpg", None),  # a photo of a printed photo
    ],
)
def test_negatives_never_pass(engine, template_of, tmp_path, name, expected):
    image = load_image(FACEDATA / "negatives" / name)
    h, w = image.shape[:2]
    scale = 720 / max(h, w)
    size = (int(w * scale) // 2 * 2, int(h * scale) // 2 * 2)
    video = still(cv2.resize(image, size), tmp_path / "neg.mp4", seconds=3)
    verdict = engine.verify(video, ["blink"], [template_of("driving_d9")])
    assert verdict.decision != "pass", verdict.to_json()
    assert verdict.reasons, verdict.to_json()
    if expected is not None:
        assert verdict.reasons == [expected]
