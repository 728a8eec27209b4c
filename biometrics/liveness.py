"""Passive liveness: anti-spoof models on the best frames, fused, plus a still-photo check.

The three small public models are weak alone (see shared MODELS.md); they are
averaged with calibrated weights over several frames, and they sit beside the
active challenge, never instead of it. The still-photo check measures
non-rigid movement of the face (eyelids, mouth, cheeks) after removing the
rigid movement a hand-held photo or a panned image would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from biometrics.config import LivenessConfig
from biometrics.geometry import Face, Image, as_u8, square_crop
from biometrics.tracking import Observation


def _softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    x = logits.astype(np.float64)
    x -= x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    out: npt.NDArray[np.float64] = e / e.sum(axis=-1, keepdims=True)
    return out


def fasnet_crop(image: Image, box: tuple[float, float, float, float], scale: float) -> Image:
    """Minivision's crop: the box scaled around its centre, kept inside the image, 80x80."""
    h, w = image.shape[:2]
    bw, bh = box[2] - box[0], box[3] - box[1]
    scale = min((h - 1) / max(bh, 1), (w - 1) / max(bw, 1), scale)
    nw, nh = bw * scale, bh * scale
    cx, cy = box[0] + bw / 2, box[1] + bh / 2
    x1, y1 = cx - nw / 2, cy - nh / 2
    x2, y2 = cx + nw / 2, cy + nh / 2
    if x1 < 0:
        x2 -= x1
        x1 = 0
    if y1 < 0:
        y2 -= y1
        y1 = 0
    if x2 > w - 1:
        x1 -= x2 - w + 1
        x2 = w - 1
    if y2 > h - 1:
        y1 -= y2 - h + 1
        y2 = h - 1
    crop = image[int(y1) : int(y2) + 1, int(x1) : int(x2) + 1]
    return as_u8(cv2.resize(crop, (80, 80)))


@dataclass(frozen=True, slots=True)
class PassiveScores:
    v2: float
    v1se: float
    minifas128: float
    fused: float


class PassiveLiveness:
    def __init__(self, v2: Any, v1se: Any, m128: Any, config: LivenessConfig) -> None:
        self.v2, self.v1se, self.m128 = v2, v1se, m128
        self.config = config

    @staticmethod
    def _run(session: Any, tensor: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out: npt.NDArray[np.float32] = session.run(None, {session.get_inputs()[0].name: tensor})[0]
        return out

    def score(self, frames: Sequence[tuple[Image, Face]]) -> tuple[float, list[PassiveScores]]:
        """Per-frame scores (each model runs once on the batch) and their median fused score."""
        if not frames:
            return 0.0, []
        c2 = np.stack([fasnet_crop(img, f.box, 2.7) for img, f in frames]).astype(np.float32)
        c4 = np.stack([fasnet_crop(img, f.box, 4.0) for img, f in frames]).astype(np.float32)
        m128 = np.stack(
            [
                cv2.cvtColor(
                    square_crop(img, f.center, max(f.width, f.height) * 1.5, 128, reflect=True),
                    cv2.COLOR_BGR2RGB,
                )
                for img, f in frames
            ]
        ).astype(np.float32)
        v2 = _softmax(self._run(self.v2, c2.transpose(0, 3, 1, 2)))[:, 1]
        v1se = _softmax(self._run(self.v1se, c4.transpose(0, 3, 1, 2)))[:, 1]
        real = _softmax(self._run(self.m128, (m128 / 255.0).transpose(0, 3, 1, 2)))[:, 0]
        w = self.config.weights
        per_frame = [
            PassiveScores(
                float(a),
                float(b),
                float(c),
                (w[0] * float(a) + w[1] * float(b) + w[2] * float(c)) / sum(w),
            )
            for a, b, c in zip(v2, v1se, real, strict=True)
        ]
        return passive_score(per_frame, self.config), per_frame


def passive_score(frames: Sequence[PassiveScores], config: LivenessConfig) -> float:
    """The median over the frames of the models' scores fused by the configured weights."""
    if not frames:
        return 0.0
    w = config.weights
    return float(
        np.median([(w[0] * s.v2 + w[1] * s.v1se + w[2] * s.minifas128) / sum(w) for s in frames])
    )


def shape_motion(observations: Sequence[Observation]) -> float:
    """Non-rigid landmark movement between frames, after removing rigid motion.

    For each pair of consecutive tracked frames the 2-D landmarks are normalised
    (centred, unit size), rotated onto each other (Procrustes), and the mean
    residual is taken; the result is the 90th percentile over the video.
    """
    meshes = [
        o.shape.points.astype(np.float64)
        for o in observations
        if o.shape is not None and o.features
    ]
    if len(meshes) < 3:
        return 0.0
    residuals = []
    prev = None
    for pts in meshes:
        centred = pts - pts.mean(axis=0)
        norm = np.sqrt((centred**2).sum() / len(centred))
        if norm <= 0:
            continue
        cur = centred / norm
        if prev is not None:
            u, _, vt = np.linalg.svd(prev.T @ cur)
            rotation = u @ vt
            residuals.append(float(np.linalg.norm(prev - cur @ rotation.T, axis=1).mean()))
        prev = cur
    return float(np.percentile(residuals, 90)) if residuals else 0.0


@dataclass(frozen=True, slots=True)
class NonRigidMotion:
    """How much the face itself moves (eyelids, lips, cheeks), whatever the head does.

    A photo held to the camera, however it is moved, only moves rigidly: its eye
    and mouth openness stay constant and its landmarks keep their shape. The
    score is the largest of three features, each divided by its reference value
    (1.0 = as much movement as the calibrated threshold).
    """

    eye_range: float  # (p95 - p5) / median of the eye aspect ratio
    mouth_range: float  # p95 - p5 of the mouth opening ratio
    shape: float  # shape_motion()
    score: float

    def scored(self, config: LivenessConfig) -> NonRigidMotion:
        """The same features, scored against ``config``'s references."""
        score = max(
            self.eye_range / config.eye_range_ref,
            self.mouth_range / config.mouth_range_ref,
            self.shape / config.shape_motion_ref,
        )
        return NonRigidMotion(self.eye_range, self.mouth_range, self.shape, score)


def _median3(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    if x.size < 3:
        return x
    padded = np.concatenate([x[:1], x, x[-1:]])
    out: npt.NDArray[np.float64] = np.median(
        np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0
    )
    return out


def non_rigid_motion(observations: Sequence[Observation], config: LivenessConfig) -> NonRigidMotion:
    measured = [o.measures for o in observations if o.measures is not None and o.features]
    if len(measured) < 3:
        return NonRigidMotion(0.0, 0.0, 0.0, 0.0)
    # a three-sample median: a single frame's landmark jitter (glasses, a small face) is
    # not movement, while a blink or an opening read at the clip's own rate spans several
    ear = _median3(np.array([m.ear for m in measured]))
    mar = _median3(np.array([m.mar for m in measured]))
    median_ear = float(np.median(ear)) or 1e-6
    eye_range = float(np.percentile(ear, 95) - np.percentile(ear, 5)) / median_ear
    mouth_range = float(np.percentile(mar, 95) - np.percentile(mar, 5))
    shape = shape_motion(observations)
    return NonRigidMotion(eye_range, mouth_range, shape, 0.0).scored(config)
