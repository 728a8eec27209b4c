"""Dense landmarks (MediaPipe FaceMesh, 468 points) and the measures the challenge needs.

Directions are the person's own, in an unmirrored recording (what the camera
sees): the person's left eye is on the image's right. ``mirrored=True`` at the
pipeline level flips yaw for clients that record a mirrored preview.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from biometrics.geometry import Face, Image

MESH_SIZE = 192
CROP_SCALE = 1.6  # crop side = this x the face's extent

# FaceMesh indices. "r" = the person's right (image left), "l" = the person's left.
R_EYE = (33, 160, 158, 133, 153, 144)  # outer corner, upper x2, inner corner, lower x2
L_EYE = (263, 387, 385, 362, 380, 373)
MOUTH_INNER = (13, 14, 78, 308)  # upper inner lip, lower inner lip, corners
FOREHEAD, CHIN, NOSE_TIP = 10, 152, 1
R_CHEEK, L_CHEEK = 234, 454
R_EYE_OUTER, L_EYE_OUTER = 33, 263
FIVE_POINTS = ((33, 133), (263, 362), (1,), (61,), (291,))  # to ARCFACE_112 order

Points = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Mesh:
    points: Points  # (468, 3): x, y in image pixels, z in the same scale
    presence: float  # probability that a face is in the crop

    def xy(self, index: int) -> npt.NDArray[np.float32]:
        return self.points[index, :2]

    @property
    def box(self) -> tuple[float, float, float, float]:
        xy = self.points[:, :2]
        return (
            float(xy[:, 0].min()),
            float(xy[:, 1].min()),
            float(xy[:, 0].max()),
            float(xy[:, 1].max()),
        )

    @property
    def extent(self) -> float:
        b = self.box
        return max(b[2] - b[0], b[3] - b[1])

    @property
    def center(self) -> tuple[float, float]:
        b = self.box
        return ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)

    @property
    def roll(self) -> float:
        """Angle of the eye line in radians (0 = level)."""
        r, l_ = self.xy(R_EYE_OUTER), self.xy(L_EYE_OUTER)
        return math.atan2(float(l_[1] - r[1]), float(l_[0] - r[0]))

    def five_points(self) -> Points:
        return np.array(
            [self.points[list(idx), :2].mean(axis=0) for idx in FIVE_POINTS], dtype=np.float32
        )


def _eye_ratio(p: Points, idx: tuple[int, ...]) -> float:
    outer, up1, up2, inner, low1, low2 = (p[i, :2] for i in idx)
    width = float(np.linalg.norm(outer - inner))
    if width <= 1e-6:
        return 0.0
    return float(np.linalg.norm(up1 - low2) + np.linalg.norm(up2 - low1)) / (2 * width)


@dataclass(frozen=True, slots=True)
class FaceMeasures:
    """Per-frame measures, independent of face size."""

    ear_right: float  # eye aspect ratio, the person's right eye
    ear_left: float
    mar: float  # inner-mouth opening / mouth width
    yaw: float  # degrees; positive = the person turned to their own left
    pitch: float  # degrees; positive = head tilted down (chin toward the chest)
    roll: float  # degrees

    @property
    def ear(self) -> float:
        return (self.ear_left + self.ear_right) / 2


def measures(mesh: Mesh) -> FaceMeasures:
    p = mesh.points
    top, bottom, left_corner, right_corner = (p[i, :2] for i in MOUTH_INNER)
    width = float(np.linalg.norm(right_corner - left_corner))
    mar = float(np.linalg.norm(bottom - top)) / width if width > 1e-6 else 0.0
    # Yaw from the 3-D line between the cheeks; pitch from forehead to chin.
    rc, lc = p[R_CHEEK], p[L_CHEEK]
    # Turning to one's own left brings the right cheek (image left) toward the camera
    # (smaller z); looking down brings the forehead toward it.
    yaw = math.degrees(math.atan2(float(lc[2] - rc[2]), float(lc[0] - rc[0])))
    fh, ch = p[FOREHEAD], p[CHIN]
    pitch = math.degrees(math.atan2(float(ch[2] - fh[2]), float(ch[1] - fh[1])))
    return FaceMeasures(
        ear_right=_eye_ratio(p, R_EYE),
        ear_left=_eye_ratio(p, L_EYE),
        mar=mar,
        yaw=yaw,
        pitch=pitch,
        roll=math.degrees(mesh.roll),
    )


class FaceMesh:
    def __init__(self, session: Any) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name

    def crop_from_face(self, face: Face) -> tuple[tuple[float, float], float, float]:
        """Crop centre, side and roll (radians) from a detection's box and eye points."""
        (re, le) = face.kps[0], face.kps[1]
        roll = math.atan2(float(le[1] - re[1]), float(le[0] - re[0]))
        cx, cy = face.center
        return (cx, cy), max(face.width, face.height) * CROP_SCALE * 0.95, roll

    def crop_from_mesh(self, mesh: Mesh) -> tuple[tuple[float, float], float, float]:
        return mesh.center, mesh.extent * CROP_SCALE, mesh.roll

    def run(self, image: Image, center: tuple[float, float], side: float, roll: float) -> Mesh:
        scale = MESH_SIZE / max(side, 1.0)
        cos, sin = math.cos(-roll) * scale, math.sin(-roll) * scale
        # image -> crop: rotate by -roll about the centre, scale, move the centre to the middle
        matrix = np.array(
            [
                [cos, -sin, MESH_SIZE / 2 - (cos * center[0] - sin * center[1])],
                [sin, cos, MESH_SIZE / 2 - (sin * center[0] + cos * center[1])],
            ],
            dtype=np.float64,
        )
        crop = cv2.warpAffine(
            image, matrix, (MESH_SIZE, MESH_SIZE), borderMode=cv2.BORDER_REPLICATE
        )
        tensor = cv2.dnn.blobFromImage(crop, 1 / 127.5, mean=(127.5, 127.5, 127.5), swapRB=True)
        raw, presence = self.session.run(None, {self.input_name: tensor})
        pts = raw.reshape(468, 3).astype(np.float64)
        inverse = cv2.invertAffineTransform(matrix)
        xy = np.hstack([pts[:, :2], np.ones((468, 1))]) @ inverse.T
        out = np.empty((468, 3), dtype=np.float32)
        out[:, :2] = xy
        out[:, 2] = pts[:, 2] / scale
        prob = 1.0 / (1.0 + math.exp(-float(np.asarray(presence).reshape(-1)[0])))
        return Mesh(out, prob)
