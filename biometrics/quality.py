"""Capture quality: light, backlight, blur, face size, pose, covered eyes or mouth.

Each problem is a reason the person can fix ("too dark, move to a brighter
place"). Video checks use medians over the frames with a face, so one dark or
blurred frame does not spoil a good recording; blur asks only that some
frames are sharp.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from biometrics.config import QualityConfig
from biometrics.geometry import Image
from biometrics.landmarks import Mesh
from biometrics.tracking import Observation

# FaceMesh regions: around each eye, the cheeks (reference skin) and the lower face.
EYE_REGIONS = ((33, 160, 158, 133, 153, 144, 246, 7), (263, 387, 385, 362, 380, 373, 466, 249))
CHEEK_POINTS = (50, 280, 101, 330)
LOWER_FACE = (61, 291, 17, 0, 152, 176, 400)


@dataclass(frozen=True, slots=True)
class QualityReport:
    reasons: tuple[str, ...]
    metrics: dict[str, float]

    @property
    def ok(self) -> bool:
        return not self.reasons


def _patch_mean(
    image: npt.NDArray[Any], center: npt.NDArray[Any], radius: float
) -> npt.NDArray[Any]:
    h, w = image.shape[:2]
    x, y, r = int(center[0]), int(center[1]), max(2, int(radius))
    patch = image[max(0, y - r) : min(h, y + r), max(0, x - r) : min(w, x + r)]
    if patch.size == 0:
        return np.zeros(image.shape[2] if image.ndim == 3 else 1)
    mean: npt.NDArray[Any] = patch.reshape(-1, patch.shape[-1] if patch.ndim == 3 else 1).mean(
        axis=0
    )
    return mean


FOREHEAD_POINTS = (151, 108, 337, 9)  # above the brows: never under a mask
LIP_POINTS = (0, 17, 37, 267, 84, 314)  # upper and lower lip bodies


def occlusion(image: Image, mesh: Mesh, cfg: QualityConfig) -> tuple[list[str], dict[str, float]]:
    """Covered eyes (sunglasses) or mouth (a mask), from region statistics on one frame.

    Eyes: the eye regions are much darker than the cheeks behind dark glasses.
    Mouth: lips are redder than the forehead's skin unless a mask covers them.
    """
    p = mesh.points[:, :2]
    face_size = mesh.extent
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[:, :, np.newaxis]
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB).astype(np.float32)
    cheeks = [_patch_mean(gray, p[i], face_size * 0.05)[0] for i in CHEEK_POINTS]
    cheek_lum = float(np.median(cheeks)) or 1.0
    eye_lum = float(
        np.mean(
            [
                _patch_mean(gray, p[list(idx)].mean(axis=0), face_size * 0.06)[0]
                for idx in EYE_REGIONS
            ]
        )
    )
    forehead = np.median(
        [_patch_mean(lab, p[i], face_size * 0.04) for i in FOREHEAD_POINTS], axis=0
    )
    lips = np.median([_patch_mean(lab, p[i], face_size * 0.015) for i in LIP_POINTS], axis=0)
    # Lips are redder than forehead skin (Lab a*); under a mask they take the mask's colour.
    # A grayscale picture has no colour to compare: the check is skipped.
    colourless = float(np.abs(lab[:, :, 1:] - 128.0).mean()) < 1.5
    lip_redness = float(lips[1] - forehead[1])
    eye_ratio = eye_lum / cheek_lum
    reasons = []
    if eye_ratio < cfg.eye_dark_ratio:
        reasons.append("eyes_occluded")
    if not colourless and lip_redness < cfg.min_lip_redness:
        reasons.append("mouth_occluded")
    return reasons, {"eye_ratio": eye_ratio, "lip_redness": lip_redness}


def assess_video(
    observations: Sequence[Observation],
    best: Sequence[tuple[Image, Mesh]],
    cfg: QualityConfig,
) -> QualityReport:
    faced = [o for o in observations if o.measures is not None]
    if not faced:
        return QualityReport((), {})
    med = {
        name: float(np.median([getattr(o, name) for o in faced]))
        for name in ("face_px", "face_fraction", "luminance", "background", "clipped")
    }
    sharpest = float(max(o.sharpness for o in faced))
    frontal = [
        o
        for o in faced
        if o.measures is not None
        and abs(o.measures.yaw) <= cfg.max_frontal_yaw
        and abs(o.measures.pitch) <= cfg.max_frontal_pitch
    ]
    reasons: list[str] = []
    if med["luminance"] < cfg.too_dark:
        reasons.append("too_dark")
    elif med["luminance"] > cfg.too_bright or med["clipped"] > cfg.clipped_share:
        reasons.append("too_bright")
    elif med["background"] - med["luminance"] > cfg.backlight_gap:
        reasons.append("backlit")
    if med["face_px"] < cfg.min_face_px:
        reasons.append("face_too_small")
    elif med["face_fraction"] > cfg.max_face_fraction:
        reasons.append("face_too_close")
    # Sharpness is read from contrast, which bad light removes: judge blur in good light only,
    # so the person is told the one thing to fix.
    if not reasons and sharpest < cfg.min_sharpness:
        reasons.append("blurry")
    if not frontal:
        reasons.append("pose_not_frontal")
    metrics = {**med, "sharpness_max": sharpest, "frontal_share": len(frontal) / len(faced)}
    if best:
        image, mesh = best[0]
        covered, occ = occlusion(image, mesh, cfg)
        reasons += covered
        metrics.update(occ)
    return QualityReport(tuple(reasons), metrics)


def assess_photo(
    image: Image, mesh: Mesh, face_px: float, yaw: float, pitch: float, cfg: QualityConfig
) -> QualityReport:
    """The enrolment gate for one photo (an ID photo, or an earlier verified frame)."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    x1, y1, x2, y2 = (round(v) for v in mesh.box)
    h, w = gray.shape
    face = gray[max(0, y1) : min(h, y2), max(0, x1) : min(w, x2)]
    if face.size == 0:
        return QualityReport(("no_face",), {})
    lum = float(face.mean())
    small = cv2.resize(face, (128, 128), interpolation=cv2.INTER_AREA)
    sharp = float(cv2.Laplacian(small, cv2.CV_32F).var())
    reasons: list[str] = []
    if lum < cfg.too_dark:
        reasons.append("too_dark")
    elif lum > cfg.too_bright:
        reasons.append("too_bright")
    if face_px < cfg.min_face_px * 0.6:
        reasons.append("face_too_small")
    if not reasons and sharp < cfg.min_photo_sharpness:
        reasons.append("blurry")
    if abs(yaw) > cfg.max_frontal_yaw or abs(pitch) > cfg.max_frontal_pitch:
        reasons.append("pose_not_frontal")
    covered, occ = occlusion(image, mesh, cfg)
    reasons += covered
    return QualityReport(
        tuple(reasons), {"luminance": lum, "sharpness": sharp, "face_px": face_px, **occ}
    )
