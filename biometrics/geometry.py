"""Faces, boxes and the 5-point alignment used by recognition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
Image = npt.NDArray[np.uint8]

# ArcFace 112x112 template: image-left eye, image-right eye, nose, image-left and
# image-right mouth corners.
ARCFACE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


def as_u8(array: Any) -> Image:
    """An OpenCV result typed as an 8-bit image (no copy when it already is one)."""
    out: Image = np.asarray(array, dtype=np.uint8)
    return out


@dataclass(frozen=True, slots=True)
class Face:
    """A detected face: box (x1, y1, x2, y2), score, 5 points in ARCFACE_112 order."""

    box: tuple[float, float, float, float]
    score: float
    kps: FloatArray

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def center(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)

    def scaled(self, factor: float) -> Face:
        b = self.box
        return Face(
            (b[0] * factor, b[1] * factor, b[2] * factor, b[3] * factor),
            self.score,
            (self.kps * factor).astype(np.float32),
        )


def similarity_transform(src: FloatArray, dst: FloatArray) -> npt.NDArray[np.float64]:
    """Least-squares similarity (Umeyama) mapping src points onto dst; 2x3 matrix."""
    src64 = src.astype(np.float64)
    dst64 = dst.astype(np.float64)
    src_mean = src64.mean(axis=0)
    dst_mean = dst64.mean(axis=0)
    src_c = src64 - src_mean
    dst_c = dst64 - dst_mean
    cov = dst_c.T @ src_c / len(src64)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rotation = u @ np.diag(d) @ vt
    var_src = (src_c**2).sum() / len(src64)
    scale = float((s * d).sum() / var_src) if var_src > 0 else 1.0
    translation = dst_mean - scale * rotation @ src_mean
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = translation
    return matrix


def align_112(image: Image, kps: FloatArray) -> Image:
    """The ArcFace-aligned 112x112 crop of a face."""
    matrix = similarity_transform(kps, ARCFACE_112)
    return as_u8(cv2.warpAffine(image, matrix, (112, 112), borderValue=(0, 0, 0)))


def square_crop(
    image: Image, center: tuple[float, float], side: float, out_size: int, *, reflect: bool = False
) -> Image:
    """A square crop of ``side`` pixels around ``center``, resized to ``out_size``."""
    scale = out_size / max(side, 1.0)
    matrix = np.array(
        [
            [scale, 0.0, out_size / 2 - center[0] * scale],
            [0.0, scale, out_size / 2 - center[1] * scale],
        ]
    )
    border = cv2.BORDER_REFLECT_101 if reflect else cv2.BORDER_CONSTANT
    return as_u8(cv2.warpAffine(image, matrix, (out_size, out_size), borderMode=border))


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix1, iy1 = max(a[0], b[0]), max(a[1], b[1])
    ix2, iy2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, ix2 - ix1) * max(0.0, iy2 - iy1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def detail(gray_face: npt.NDArray[Any]) -> float:
    """Sharpness whatever the contrast and the resolution: the face scaled to 64 px, the
    variance of its Laplacian over its own variance (decision 0012)."""
    tiny = cv2.resize(gray_face, (64, 64), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(tiny, cv2.CV_32F).var()) / max(1.0, float(tiny.var()))
