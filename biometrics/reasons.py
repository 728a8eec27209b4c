"""Reason codes: what went wrong, and what the person can do, in English here; the Chinese
is in the service's message catalogue (``certification/translations``, context ``reason``),
added where a verdict leaves the engine (``infra/selfservice_adapters.py``).

Messages are short, concrete and polite: they are read by elderly people on
small screens. ``retry`` reasons describe something the person can fix; the
others explain a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    RETRY = "retry"  # the person can fix it and try again
    FAIL = "fail"  # a refusal (not the same person, not live, challenge not done)
    INVALID = "invalid"  # the upload itself is unusable


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    kind: Kind
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "kind": self.kind.value, "en": self.en}


_R = Reason
REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        # the upload
        _R("video_unreadable", Kind.INVALID, "The video cannot be read; please record it again"),
        _R("video_empty", Kind.INVALID, "The video is empty; please record it again"),
        _R("no_video_track", Kind.INVALID, "The file has no picture; please record a video with the camera"),
        _R("video_format_unsupported", Kind.INVALID, "This video format is not supported; please record with the phone camera"),
        _R("video_too_long", Kind.INVALID, "The video is too long; a few seconds are enough"),
        _R("video_too_short", Kind.RETRY, "The video is too short; please do all the actions shown"),
        _R("video_resolution_too_high", Kind.INVALID, "The video resolution is too high; please record in normal quality"),
        _R("video_resolution_too_low", Kind.RETRY, "The video picture is too small; please record in higher quality"),
        _R("video_too_large", Kind.INVALID, "The video file is too large; please record a shorter one"),
        _R("decode_timeout", Kind.INVALID, "The video took too long to process; please record it again"),
        # the face in the video
        _R("no_face", Kind.RETRY, "No face was seen; please keep your face inside the frame"),
        _R("multiple_faces", Kind.RETRY, "More than one face is in the picture; only the person should be in view"),
        _R("face_lost", Kind.RETRY, "The face left the picture; please keep your face inside the frame"),
        _R("face_too_small", Kind.RETRY, "Too far away; please hold the phone closer"),
        _R("face_too_close", Kind.RETRY, "Too close; please hold the phone a little further away"),
        _R("too_dark", Kind.RETRY, "Too dark; please move to a brighter place"),
        _R("too_bright", Kind.RETRY, "Too bright; please move away from strong light"),
        _R("backlit", Kind.RETRY, "Strong light behind you; please face the window or the lamp"),
        _R("poor_capture", Kind.RETRY, "The picture is not clear enough; please face the camera in good light and record again"),
        _R("blurry", Kind.RETRY, "The picture is blurry; please hold the phone still and clean the lens"),
        _R("pose_not_frontal", Kind.RETRY, "Please look straight at the phone"),
        _R("eyes_occluded", Kind.RETRY, "Your eyes are covered; please take off sunglasses or a hat"),
        _R("mouth_occluded", Kind.RETRY, "Your mouth is covered; please take off the mask"),
        # the challenge
        _R("challenge_not_performed", Kind.RETRY, "The requested actions were not seen; please follow the prompts slowly"),
        _R("challenge_wrong_order", Kind.RETRY, "The actions were done in the wrong order; please follow the prompts in order"),
        # liveness and identity
        _R("liveness_failed", Kind.FAIL, "We could not confirm a live person in front of the camera"),
        _R("still_image", Kind.FAIL, "The picture is a still photo; the person must record live"),
        _R("face_mismatch", Kind.FAIL, "The face does not match the registered photo"),
        _R("video_missing", Kind.INVALID, "The video is no longer available; please record again"),
        _R("video_changed", Kind.INVALID, "The video was replaced after it was submitted; please record again"),
        _R("template_model_mismatch", Kind.INVALID, "The registered photo must be renewed; please visit a service point"),
        # enrolment photos
        _R("photo_missing", Kind.INVALID, "The photo is no longer stored; please upload it again"),
        _R("photo_unreadable", Kind.INVALID, "The photo cannot be read"),
    )
}  # fmt: skip


def reason(code: str) -> Reason:
    return REASONS[code]
