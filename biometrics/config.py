"""Every threshold the engine uses, in one place.

Values marked *calibrated* come from ``python -m biometrics calibrate`` on the
shared data; the table and the reasoning are in
docs/decisions/0007-biometric-thresholds.md and 0012-face-check-on-unseen-people.md. The
others are rules
chosen for elderly users on cheap phones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from biometrics.video import VideoLimits


@dataclass(frozen=True, slots=True)
class TrackingConfig:
    base_fps: float = 10.0  # landmarks on this many frames a second...
    # ...and on every frame either side of a base frame whose eyes are more shut (or mouth
    # more open) than on its neighbours (a blink can be shut for a single frame): by this
    # share of the open eye...
    refine_ear_drop: float = 0.07
    refine_eye_rise: float = 1.2  # ...or the eye-closed logit up by this
    refine_mouth_rise: float = 0.08  # ...or the mouth opening (of its width) up by this
    # ...or the head at a turn's furthest (at least this far, and this much further than on
    # one neighbour): a brief turn is then judged on frames 1/fps apart, as blinks are
    refine_turn_deg: float = 10.0
    refine_turn_rise: float = 3.0
    detect_max_side: int = 320  # detector input, long side
    detect_every_s: float = 1.0  # the whole frame is searched this often (a second face?)
    roi_side: int = 128  # between searches, the detector confirms the face on a small crop...
    confirm_every: int = 3  # ...on every this many base frames (its points give the head yaw)
    min_face_score: float = 0.5  # detector score on that crop to keep following the face
    extra_face_min_score: float = 0.75  # a second face counts from this score...
    extra_face_min_size: float = 0.45  # ...and this fraction of the main face's width
    extra_face_min_share: float = 0.2  # of the detections, before refusing
    min_face_share: float = 0.6  # frames with the face, else 'face_lost' / 'no_face'
    # beyond this head yaw the 68 points of the far side of the face are guesses: such frames
    # count for head turns only (not eyes, mouth, nods or the still-photo check). Measured: a
    # still photo of a face turned 35-45 degrees read as much eyelid "movement" (0.48) as a
    # live blink, every other attack 0.2 or less (decision 0012).
    readable_yaw_deg: float = 35.0


@dataclass(frozen=True, slots=True)
class QualityConfig:
    """Capture rules, each set below every live clip of the shared data with a margin
    (``python -m biometrics calibrate``; the rule for each is in biometrics/calibrate.py)."""

    min_face_px: float = 71.7  # *calibrated*: face width in the original video
    max_face_fraction: float = 0.95  # of the frame's short side
    # Exposure is read on the brightest tenth of the face (forehead, cheekbones, the whites of
    # the eyes), not its mean: a dark-skinned face in good light is not "too dark".
    too_dark: float = 53.2  # *calibrated*: 90th percentile of the face luminance (0-255)
    too_bright: float = 215.0  # mean face luminance
    clipped_share: float = 0.35  # share of face pixels >= 250
    backlit_gap: float = 94.7  # *calibrated*: background minus the face's bright tenth
    # Blur is read on the face scaled to 64 px, against its own contrast: a soft, compressed
    # phone video of a large face is not blurry; a smeared one is.
    min_detail: float = 0.086  # *calibrated*: Laplacian variance / variance, best frame
    # at least one frame this close to frontal, in yaw and pitch (recognition holds to about
    # 30 degrees)
    max_frontal_deg: float = 30.0
    eye_dark_ratio: float = 0.28  # eye region / cheek luminance below this: covered eyes
    min_lip_redness: float = -8.0  # lips minus forehead Lab a*; below this: a mask


@dataclass(frozen=True, slots=True)
class ChallengeConfig:
    # blink: a short dip of the eye opening and rise of the eye-closed state, each against the
    # frames just before and after it (the person's own eyes are the reference)
    blink_half_window_s: float = 0.5  # the eyes reopen within this of the deepest point
    blink_ear_scale: float = 0.517  # *calibrated*: a typical blink's dip / the open-eye ratio
    blink_logit_scale: float = 6.5  # *calibrated*: a typical blink's eye-closed logit rise
    blink_threshold: float = 1.3  # *calibrated*: summed evidence (1 per signal at typical)
    max_pose_for_eyes: float = 35.0  # degrees from the resting pose; eyes unread beyond
    # head turns, as the labels define one (the head rotates by 25 degrees and ends 20 towards
    # that side) less the yaw estimate's error (5 degrees against FaceMesh's 3-D yaw)
    turn_swing_deg: float = 20.0
    turn_end_deg: float = 15.0
    turn_lookback_s: float = 2.5  # the rotation is measured from the pose this long before
    # nod: the head goes down by this much against its rest (2.5 x the pitch estimate's
    # 3.1-degree noise, so noise alone does not nod), then comes back up
    nod_deg: float = 8.0
    nod_return: float = 0.5  # fraction of the dip that must come back
    mouth_open_mar: float = 0.357  # *calibrated*: inner-mouth opening / width, absolute...
    mouth_open_gain: float = 0.156  # *calibrated*: ...and above the resting value by this much


@dataclass(frozen=True, slots=True)
class LivenessConfig:
    frames: int = 5  # best frames scored by the passive models
    threshold: float = 0.7  # *calibrated*: fused live score below this = not live
    weights: tuple[float, float, float] = (0.4, 0.4, 0.2)  # *calibrated*: v2, v1se, m128
    # non-rigid motion: each feature divided by its reference; a still photo scores below 1
    eye_range_ref: float = 0.302  # *calibrated*
    mouth_range_ref: float = 0.198  # *calibrated*
    shape_motion_ref: float = 0.0754  # *calibrated*
    min_non_rigid: float = 1.0


@dataclass(frozen=True, slots=True)
class MatchConfig:
    model: str = "w600k_mbf"
    threshold: float = 0.26  # *calibrated*: cosine at FAR 0.1 % on the shared photos
    frames: int = 3
    refresh_margin: float = 0.1  # a verified frame may refresh the template above threshold+this


@dataclass(frozen=True, slots=True)
class EngineConfig:
    video: VideoLimits = field(default_factory=VideoLimits)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    challenge: ChallengeConfig = field(default_factory=ChallengeConfig)
    liveness: LivenessConfig = field(default_factory=LivenessConfig)
    match: MatchConfig = field(default_factory=MatchConfig)
    detector: str = "yunet_s"

    def models_used(self) -> tuple[str, ...]:
        """The registry names of every model the engine loads (``Engine.warm_up``): what a
        deployment must carry and what readiness verifies."""
        return (
            self.detector,
            "peppa_68",
            "facemesh_468",
            self.match.model,
            "minifasnet_v2",
            "minifasnet_v1se",
            "minifas128",
        )
