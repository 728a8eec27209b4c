"""Uploads: what phones send is decoded upright; anything else is refused with a reason,
in bounded time, without an unhandled exception."""

import time

import cv2
import numpy as np
import pytest

from biometrics.errors import InputRejected
from biometrics.video import VideoReader
from tests.biometrics.conftest import FACEDATA, SELFIES, frame_at, jpeg
from tests.biometrics.media import audio_only, clip_frames, encode, still, transformed

D9 = SELFIES / "driving_d9.mp4"


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [("webm", "libvpx"), ("webm", "libvpx-vp9"), ("mov", "libx264"), ("mkv", "hevc")],
)
def test_phone_and_wechat_formats_are_decoded(tmp_path, engine, template_of, suffix, codec):
    path = encode(
        (f for _, f in clip_frames(D9, 4.0)), tmp_path / f"clip.{suffix}", codec=codec, options={}
    )
    verdict = engine.verify(path, ["blink"], [template_of("driving_d9")])
    assert verdict.decision == "pass", verdict.to_json()


def test_rotation_metadata_is_honoured(tmp_path, engine, template_of):
    """A portrait phone recording: frames stored sideways, the container says 'rotate 90'."""
    sideways = (cv2.rotate(f, cv2.ROTATE_90_COUNTERCLOCKWISE) for _, f in clip_frames(D9, 4.0))
    path = encode(sideways, tmp_path / "portrait.mp4", rotation=-90)
    with VideoReader(path) as reader:
        first = next(iter(reader))
        assert reader.rotation == 90
        assert first.image.shape[:2] == (480, 512)  # upright again: height 480, width 512
    verdict = engine.verify(path, ["blink"], [template_of("driving_d9")])
    assert verdict.decision == "pass", verdict.to_json()
    assert verdict.video["rotation"] == 90


def _verdict(engine, path):
    started = time.perf_counter()
    verdict = engine.verify(path, ["blink"], [])
    elapsed = time.perf_counter() - started
    assert elapsed < 15, f"took {elapsed:.1f} s"
    return verdict


def test_not_a_video(tmp_path, engine):
    path = tmp_path / "notes.mp4"
    path.write_text("this is a shopping list, not a video")
    verdict = _verdict(engine, path)
    assert (verdict.decision, verdict.reasons) == ("retry", ["video_unreadable"])


def test_zero_bytes(tmp_path, engine):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    assert _verdict(engine, path).reasons == ["video_empty"]


def test_truncated_upload(tmp_path, engine):
    data = D9.read_bytes()
    path = tmp_path / "truncated.mp4"
    path.write_bytes(data[: len(data) // 3])
    verdict = _verdict(engine, path)
    assert verdict.decision in ("retry", "fail")
    assert verdict.reasons and verdict.reasons[0] in {
        "video_unreadable",
        "challenge_not_performed",
        "video_too_short",
    }


def test_corrupted_stream_is_handled(tmp_path, engine):
    data = bytearray(D9.read_bytes())
    rng = np.random.default_rng(1)
    for offset in rng.integers(len(data) // 4, len(data), 400):
        data[int(offset)] = int(rng.integers(0, 256))
    path = tmp_path / "corrupted.mp4"
    path.write_bytes(bytes(data))
    verdict = _verdict(engine, path)
    assert verdict.decision in ("retry", "fail", "pass")
    assert verdict.to_json()["reasons"] is not None


def test_audio_only(tmp_path, engine):
    assert _verdict(engine, audio_only(tmp_path / "voice.m4a")).reasons == ["no_video_track"]


def test_an_image_renamed_mp4(tmp_path, engine):
    path = tmp_path / "photo.mp4"
    path.write_bytes((FACEDATA / "photos" / "deepface" / "img1.jpg").read_bytes())
    verdict = _verdict(engine, path)
    assert verdict.decision == "retry"
    assert verdict.reasons[0] in ("video_format_unsupported", "video_unreadable")


def test_8k_resolution_is_refused_before_decoding(tmp_path, engine):
    frame = np.zeros((4320, 7680, 3), dtype=np.uint8)
    path = encode(iter([frame, frame]), tmp_path / "8k.mp4")
    assert _verdict(engine, path).reasons == ["video_resolution_too_high"]


def test_a_ten_minute_clip_is_refused_before_decoding(tmp_path, engine):
    frame = cv2.resize(frame_at(D9, 1.0), (320, 300))
    path = still(frame, tmp_path / "long.mp4", seconds=600, rate=1)
    started = time.perf_counter()
    verdict = _verdict(engine, path)
    assert verdict.reasons == ["video_too_long"]
    assert time.perf_counter() - started < 2


def test_too_short_and_too_small(tmp_path, engine):
    short = still(frame_at(D9, 1.0), tmp_path / "short.mp4", seconds=0.4)
    assert _verdict(engine, short).reasons == ["video_too_short"]
    tiny = still(cv2.resize(frame_at(D9, 1.0), (160, 150)), tmp_path / "tiny.mp4", seconds=2)
    assert _verdict(engine, tiny).reasons == ["video_resolution_too_low"]


def test_a_file_object_streams_like_a_path(engine, template_of):
    with D9.open("rb") as fh:
        verdict = engine.verify(fh, ["blink"], [template_of("driving_d9")])
    assert verdict.decision == "pass"


def test_reader_errors_are_input_rejections(tmp_path):
    path = tmp_path / "x.mp4"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(InputRejected):
        VideoReader(path)


def test_darkened_clip_asks_for_light(tmp_path, engine, template_of):
    dark = transformed(D9, tmp_path / "dark.mp4", lambda f: (f * 0.22).astype(np.uint8), seconds=6)
    verdict = engine.verify(dark, ["blink"], [template_of("driving_d9")])
    assert (verdict.decision, verdict.reasons) == ("retry", ["too_dark"]), verdict.to_json()


def test_blurred_clip_asks_to_hold_still(tmp_path, engine, template_of):
    blurred = transformed(
        D9, tmp_path / "blur.mp4", lambda f: cv2.GaussianBlur(f, (0, 0), 6), seconds=6
    )
    verdict = engine.verify(blurred, ["blink"], [template_of("driving_d9")])
    assert verdict.decision == "retry" and "blurry" in verdict.reasons, verdict.to_json()


def test_far_away_face_asks_to_come_closer(tmp_path, engine, template_of):
    def far(f):
        canvas = np.full((720, 720, 3), 128, dtype=np.uint8)
        small = cv2.resize(f, (110, 103))
        canvas[300:403, 300:410] = small
        return canvas

    verdict = engine.verify(
        transformed(D9, tmp_path / "far.mp4", far, seconds=6),
        ["blink"],
        [template_of("driving_d9")],
    )
    assert verdict.decision == "retry" and verdict.reasons[0] in ("face_too_small", "no_face"), (
        verdict.to_json()
    )


def test_enrolment_photo_is_checked(engine):
    img = frame_at(D9, 0.5)
    assert engine.enrol(jpeg(img)).template.model == "w600k_mbf"
    with pytest.raises(InputRejected) as dark:
        engine.enrol(jpeg((img * 0.12).astype(np.uint8)))
    assert dark.value.reason.code == "too_dark"
    with pytest.raises(InputRejected) as none:
        engine.enrol((FACEDATA / "negatives" / "no_face.png").read_bytes())
    assert none.value.reason.code == "no_face"
    with pytest.raises(InputRejected) as group:
        engine.enrol((FACEDATA / "negatives" / "multi_face_t1.jpg").read_bytes())
    assert group.value.reason.code == "multiple_faces"
    with pytest.raises(InputRejected) as junk:
        engine.enrol(b"not an image")
    assert junk.value.reason.code == "photo_unreadable"
    with pytest.raises(InputRejected) as side:
        engine.enrol((FACEDATA / "photos" / "quality" / "left_face.jpeg").read_bytes())
    assert side.value.reason.code == "pose_not_frontal"


def _backlit(frame):
    """A window behind the person: the background blown out, the face in shadow."""
    h, w = frame.shape[:2]
    mask = np.zeros((h, w), dtype=np.uint8)
    cv2.ellipse(mask, (w // 2, int(h * 0.45)), (int(w * 0.26), int(h * 0.36)), 0, 0, 360, 255, -1)
    out = np.full_like(frame, 250)
    inside = mask > 0
    out[inside] = (frame[inside] * 0.6).astype(np.uint8)
    return out


def test_backlit_clip_asks_to_face_the_light(tmp_path, engine, template_of):
    video = transformed(D9, tmp_path / "backlit.mp4", _backlit, seconds=6)
    verdict = engine.verify(video, ["blink"], [template_of("driving_d9")])
    assert (verdict.decision, verdict.reasons) == ("retry", ["backlit"]), verdict.to_json()


def test_overexposed_clip_asks_to_avoid_strong_light(tmp_path, engine, template_of):
    bright = transformed(
        D9,
        tmp_path / "bright.mp4",
        lambda f: np.clip(f.astype(np.float32) * 2.4, 0, 255).astype(np.uint8),
        seconds=6,
    )
    verdict = engine.verify(bright, ["blink"], [template_of("driving_d9")])
    assert (verdict.decision, verdict.reasons) == ("retry", ["too_bright"]), verdict.to_json()


def test_crops_straight_from_the_decoded_planes_match_the_working_picture(tmp_path):
    """The landmark crops are cut from the decoded YUV planes (no whole-frame conversion);
    they must show what the working picture shows, upright, at any rotation."""
    from biometrics.landmarks import _crop_matrix

    sideways = (cv2.rotate(f, cv2.ROTATE_90_COUNTERCLOCKWISE) for _, f in clip_frames(D9, 1.0))
    portrait = encode(sideways, tmp_path / "portrait.mp4", rotation=-90)
    for path in (D9, portrait):
        with VideoReader(path) as reader:
            frame = next(iter(reader))
            w, h = frame.size
            matrix = _crop_matrix((w * 0.5, h * 0.45), min(w, h) * 0.6, 0.2, 160)
            fast = frame.warp(matrix, (160, 160)).astype(int)
            gray = frame.warp(matrix, (160, 160), gray=True).astype(int)
            slow = cv2.warpAffine(frame.image, matrix, (160, 160), borderMode=cv2.BORDER_REPLICATE)
            assert np.abs(fast - slow.astype(int)).mean() < 3
            slow_gray = cv2.cvtColor(slow, cv2.COLOR_BGR2GRAY).astype(int)
            assert np.abs(gray - slow_gray).mean() < 3
