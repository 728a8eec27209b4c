"""Every threshold the engine uses, in one place.

Values marked *calibrated* come from ``python -m biometrics calibrate`` on the
shared data; the table and the reasoning are in
docs/decisions/0007-biometric-thresholds.md. The others are capture rules
chosen for elderly users on cheap phones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from biometrics.video import VideoLimits


@dataclass(frozen=True, slots=True)
class TrackingConfig:
    detect_max_side: int = 320  # detector input, long side
    detect_every_s: float = 1.0  # sparse detection between landmark tracking
    min_presence: float = 0.5  # FaceMesh face-presence probability to keep tracking
    extra_face_min_score: float = 0.75  # a second face counts from this score...
    extra_face_min_size: float = 0.45  # ...and this fraction of the main face's width
    extra_face_min_share: float = 0.2  # of the detections, before refusing
    min_face_share: float = 0.6  # frames with the face, else 'face_lost' / 'no_face'


@dataclass(frozen=True, slots=True)
class QualityConfig:
    min_face_px: float = 90.0  # face width in the original video
    max_face_fraction: float = 0.95  # of the frame's short side
    too_dark: float = 62.0  # mean face luminance (0-255); dimmer and blinks go unseen
    too_bright: float = 215.0
    clipped_share: float = 0.35  # share of face pixels >= 250
    backlight_gap: float = 70.0  # background minus face luminance
    min_sharpness: float = 45.0  # variance of the Laplacian on a 128 px face (video: best frame)
    min_photo_sharpness: float = 30.0  # the same, for one enrolment photo
    max_frontal_yaw: float = 25.0
    max_frontal_pitch: float = 25.0
    eye_dark_ratio: float = 0.28  # eye region / cheek luminance below this: covered eyes
    min_lip_redness: float = -8.0  # lips minus forehead Lab a*; below this: a mask


@dataclass(frozen=True, slots=True)
class ChallengeConfig:
    blink_drop: float = 0.72  # EAR below this x baseline on both eyes = closed
    blink_reopen: float = 0.85  # and back above this x baseline = reopened
    blink_max_s: float = 2.5  # slow, elderly blinks included; longer = eyes kept shut
    turn_deg: float = 18.0  # yaw change from the resting pose
    nod_deg: float = 10.0  # pitch change down, then back
    nod_return: float = 0.5  # fraction of the dip that must come back
    mouth_open_mar: float = 0.32  # inner-mouth opening / width, absolute...
    mouth_open_gain: float = 0.18  # ...and above the resting value by this much
    min_hold_s: float = 0.12  # an action must last this long (two frames at 15 fps)
    max_pose_for_eyes: float = 28.0  # blinks are read only on roughly frontal frames


@dataclass(frozen=True, slots=True)
class LivenessConfig:
    frames: int = 5  # best frames scored by the passive models
    threshold: float = 0.497  # *calibrated*: fused live score below this = not live
    weights: tuple[float, float, float] = (0.6, 0.2, 0.2)  # *calibrated*: v2, v1se, m128
    # non-rigid motion: each feature divided by its reference; a still photo scores below 1
    eye_range_ref: float = 0.229  # *calibrated*
    mouth_range_ref: float = 0.077  # *calibrated*
    shape_motion_ref: float = 0.0168  # *calibrated*
    min_non_rigid: float = 1.0


@dataclass(frozen=True, slots=True)
class MatchConfig:
    model: str = "w600k_mbf"
    threshold: float = 0.33  # *calibrated*: cosine at FAR 0.1 % on the shared photos
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
