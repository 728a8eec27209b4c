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
from biometrics.geometry import Image, detail
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
    # the face's region only (the statistics never look further)
    h, w = image.shape[:2]
    x1, y1, x2, y2 = mesh.box
    pad = mesh.extent * 0.1
    ox, oy = max(0, int(x1 - pad)), max(0, int(y1 - pad))
    region = image[oy : min(h, int(y2 + pad) + 1), ox : min(w, int(x2 + pad) + 1)]
    if region.size == 0:
        return [], {}
    p = mesh.points[:, :2] - np.array([ox, oy], dtype=np.float32)
    face_size = mesh.extent
    gray = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)[:, :, np.newaxis]
    lab = cv2.cvtColor(region, cv2.COLOR_BGR2LAB).astype(np.float32)
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
    metrics = {"eye_ratio": eye_ratio, "lip_redness": lip_redness, "colourless": float(colourless)}
    return _covered(metrics, cfg), metrics


def _covered(metrics: dict[str, float], cfg: QualityConfig) -> list[str]:
    reasons = []
    if metrics.get("eye_ratio", 1.0) < cfg.eye_dark_ratio:
        reasons.append("eyes_occluded")
    if not metrics.get("colourless", 1.0) and metrics.get("lip_redness", 0.0) < cfg.min_lip_redness:
        reasons.append("mouth_occluded")
    return reasons


def assess_video(
    observations: Sequence[Observation],
    best: Sequence[tuple[Image, Mesh]],
    cfg: QualityConfig,
) -> QualityReport:
    """The capture statistics of a video (medians over the base-rate frames: the extra frames
    read around a blink carry landmarks only) and what they mean under ``cfg``."""
    faced = [o for o in observations if o.measures is not None and o.base]
    if not faced:
        return QualityReport((), {})
    metrics = {
        name: float(np.median([getattr(o, name) for o in faced]))
        for name in ("face_px", "face_fraction", "luminance", "bright", "background", "clipped")
    }
    metrics["sharpness_max"] = float(max(o.sharpness for o in faced))
    metrics["detail_max"] = float(max(o.detail for o in faced))
    # the most frontal frame's larger angle (the match and the passive models need one)
    metrics["closest_to_frontal"] = float(
        min(max(abs(o.measures.yaw), abs(o.measures.pitch)) for o in faced if o.measures)
    )
    if best:
        image, mesh = best[0]
        metrics.update(occlusion(image, mesh, cfg)[1])
    return QualityReport(judge_video(metrics, cfg), metrics)


def judge_video(metrics: dict[str, float], cfg: QualityConfig) -> tuple[str, ...]:
    """What is wrong with a capture, from its statistics: each reason one thing to fix."""
    if not metrics:
        return ()
    reasons: list[str] = []
    if metrics["bright"] < cfg.too_dark:
        reasons.append("too_dark")
    elif metrics["luminance"] > cfg.too_bright or metrics["clipped"] > cfg.clipped_share:
        reasons.append("too_bright")
    elif metrics["background"] - metrics["bright"] > cfg.backlit_gap:
        reasons.append("backlit")
    if metrics["face_px"] < cfg.min_face_px:
        reasons.append("face_too_small")
    elif metrics["face_fraction"] > cfg.max_face_fraction:
        reasons.append("face_too_close")
    # Blur is judged in good light only, so the person is told the one thing to fix.
    if not reasons and metrics["detail_max"] < cfg.min_detail:
        reasons.append("blurry")
    if metrics["closest_to_frontal"] > cfg.max_frontal_deg:
        reasons.append("pose_not_frontal")
    reasons += _covered(metrics, cfg)
    return tuple(reasons)


def assess_photo(
    image: Image, mesh: Mesh, face_px: float, yaw: float, pitch: float, cfg: QualityConfig
) -> QualityReport:
    """The enrolment gate for one photo (an ID photo, or an earlier verified frame)."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    # the inner face (brows to mouth, cheek to cheek), as in the video's statistics: the
    # corners of the face's box are background
    bx1, by1, bx2, by2 = mesh.box
    bw, bh = bx2 - bx1, by2 - by1
    x1, x2 = round(bx1 + 0.2 * bw), round(bx2 - 0.2 * bw)
    y1, y2 = round(by1 + 0.2 * bh), round(by2 - 0.1 * bh)
    h, w = gray.shape
    face = gray[max(0, y1) : min(h, y2), max(0, x1) : min(w, x2)]
    if face.size == 0:
        return QualityReport(("no_face",), {})
    lum = float(face.mean())
    bright = float(np.percentile(face, 90))
    sharp = detail(face)
    reasons: list[str] = []
    if bright < cfg.too_dark:
        reasons.append("too_dark")
    elif lum > cfg.too_bright:
        reasons.append("too_bright")
    if face_px < cfg.min_face_px * 0.6:
        reasons.append("face_too_small")
    if not reasons and sharp < cfg.min_detail:
        reasons.append("blurry")
    if max(abs(yaw), abs(pitch)) > cfg.max_frontal_deg:
        reasons.append("pose_not_frontal")
    covered, occ = occlusion(image, mesh, cfg)
    reasons += covered
    return QualityReport(
        tuple(reasons),
        {"luminance": lum, "bright": bright, "detail": sharp, "face_px": face_px, **occ},
    )
