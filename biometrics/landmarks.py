"""Face landmarks and the measures the challenge needs.

Two models, each where it is best (docs/decisions/0012-face-check-on-unseen-people.md):
- the 68-point Peppa model (68 points, head pose, eye-closed and mouth-open states) follows
  the face through the video: half the cost of FaceMesh, and its eye points and eye-state
  outputs see blinks that FaceMesh's eyelids barely follow;
- MediaPipe FaceMesh (468 points) reads the regions of the best frames (covered eyes or
  mouth, the evidence crops).

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

from biometrics.geometry import Face, Image, as_u8
from biometrics.video import Frame

MESH_SIZE = 192
CROP_SCALE = 1.6  # crop side = this x the face's extent
SHAPE_SIZE = 160  # the 68-point model's input

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
    eye_closed: float = 0.0  # the 68-point model's eye-closed logit, mean of both eyes
    mouth_open: float = 0.0  # its wide-open-mouth logit

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
        matrix = _crop_matrix(center, side, roll, MESH_SIZE)
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


def _crop_matrix(
    center: tuple[float, float], side: float, roll: float, size: int
) -> npt.NDArray[np.float64]:
    """Image -> crop: rotate by -roll about the centre, scale, move the centre to the middle."""
    scale = size / max(side, 1.0)
    cos, sin = math.cos(-roll) * scale, math.sin(-roll) * scale
    return np.array(
        [
            [cos, -sin, size / 2 - (cos * center[0] - sin * center[1])],
            [sin, cos, size / 2 - (sin * center[0] + cos * center[1])],
        ],
        dtype=np.float64,
    )


# The 68-point (iBUG) layout. "a" = the eye on the image's left (the person's right).
EYE_A = (36, 37, 38, 39, 40, 41)  # corner, upper x2, corner, lower x2 (as _eye_ratio reads)
EYE_B = (42, 43, 44, 45, 46, 47)
INNER_MOUTH = (62, 66, 60, 64)  # upper inner lip, lower inner lip, corners
JAW_A, JAW_B, NOSE_68 = 2, 14, 30
FIVE_68 = ((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47), (30,), (48,), (54,))
# Yaw from the nose's place between the cheeks: (a - b) / (a + b) of the nose-to-jaw
# distances is about sin(yaw) x 0.72; fitted against FaceMesh's 3-D yaw on every frame
# of the shared clips (r = 0.99 on the clips that turn; decision 0012). Beyond about 45
# degrees the far side's points are guesses: the detector's points take over (head_yaw).
YAW_DEGREES_PER_UNIT = 43.0
# The detector's nose point, off the middle of the eyes by this share of the eye distance,
# is a head turned by 90 degrees: yaw = asin(offset / 0.75), fitted against FaceMesh's 3-D yaw
# on every third frame of the shared clips (3,060 frames, residual 3.7 degrees; decision 0012).
NOSE_OFFSET_AT_PROFILE = 0.75
# The 68-point model's pitch output (x 90 = degrees) moves 1.1 x less than FaceMesh's 3-D
# pitch about each person's resting pose (every frame of the shared clips, r = 0.85,
# residual 3.1 degrees; decision 0012).
PITCH_SCALE = 90.0 * 1.1


def head_yaw(kps: Points) -> float:
    """Yaw in degrees from the detector's 5 points (eyes, nose): beyond 60 degrees, a profile."""
    eye_a, eye_b, nose = kps[0].astype(np.float64), kps[1].astype(np.float64), kps[2]
    axis = eye_b - eye_a
    iod = float(np.linalg.norm(axis))
    if iod <= 1e-6:
        return 90.0
    offset = float(np.dot(nose - (eye_a + eye_b) / 2, axis / iod)) / iod
    return math.degrees(math.asin(max(-1.0, min(1.0, offset / NOSE_OFFSET_AT_PROFILE))))


@dataclass(frozen=True, slots=True)
class Shape:
    """The 68-point model's reading of one face."""

    points: Points  # (68, 2) image pixels
    eye_closed: float  # mean eye-closed logit of both eyes
    mouth_open: float  # wide-open-mouth logit
    pitch: float  # degrees, positive = head down (the model's pose output)

    @property
    def box(self) -> tuple[float, float, float, float]:
        xy = self.points
        return (
            float(xy[:, 0].min()),
            float(xy[:, 1].min()),
            float(xy[:, 0].max()),
            float(xy[:, 1].max()),
        )

    @property
    def inner_box(self) -> tuple[float, float, float, float]:
        """Brows, eyes, nose and mouth (the jaw line left out): skin and features only, no
        background, for the capture statistics."""
        xy = self.points[17:]
        return (
            float(xy[:, 0].min()),
            float(xy[:, 1].min()),
            float(xy[:, 0].max()),
            float(xy[:, 1].max()),
        )

    @property
    def roll(self) -> float:
        """Angle of the eye line in radians (0 = level)."""
        a, b = self.points[36], self.points[45]
        return math.atan2(float(b[1] - a[1]), float(b[0] - a[0]))

    def frame(self) -> tuple[tuple[float, float], float]:
        """Centre and extent in the face's own upright frame (independent of roll)."""
        roll = self.roll
        c, s = math.cos(-roll), math.sin(-roll)
        rot = np.array([[c, -s], [s, c]])
        upright = self.points.astype(np.float64) @ rot.T
        lo, hi = upright.min(axis=0), upright.max(axis=0)
        mid = (lo + hi) / 2
        back = np.linalg.inv(rot) @ mid
        return (float(back[0]), float(back[1])), float(max(hi - lo))

    @property
    def extent(self) -> float:
        return self.frame()[1]

    @property
    def center(self) -> tuple[float, float]:
        return self.frame()[0]

    def five_points(self) -> Points:
        return np.array([self.points[list(idx)].mean(axis=0) for idx in FIVE_68], dtype=np.float32)

    def crop(self) -> tuple[tuple[float, float], float, float]:
        """The next crop: the 68 points sit lower in the face than FaceMesh's 468 (no
        forehead), so the centre moves up by 0.10 extent and the side is 1.84 extents, the
        FaceMesh crop the model reads best (measured on the shared clips, decision 0012)."""
        (cx, cy), ext = self.frame()
        roll = self.roll
        dy = -0.10 * ext
        return (cx - math.sin(roll) * dy, cy + math.cos(roll) * dy), 1.84 * ext, roll


def shape_measures(shape: Shape) -> FaceMeasures:
    """The measures of one face, from the 68 points and the model's pose and state outputs."""
    p = shape.points
    top, bottom, corner_a, corner_b = (p[i] for i in INNER_MOUTH)
    width = float(np.linalg.norm(corner_b - corner_a))
    mar = float(np.linalg.norm(bottom - top)) / width if width > 1e-6 else 0.0
    a = float(np.linalg.norm(p[NOSE_68] - p[JAW_A]))
    b = float(np.linalg.norm(p[NOSE_68] - p[JAW_B]))
    yaw = YAW_DEGREES_PER_UNIT * (a - b) / (a + b) if a + b > 1e-6 else 0.0
    return FaceMeasures(
        ear_right=_eye_ratio(p, EYE_A),
        ear_left=_eye_ratio(p, EYE_B),
        mar=mar,
        yaw=yaw,
        pitch=shape.pitch,
        roll=math.degrees(shape.roll),
        eye_closed=shape.eye_closed,
        mouth_open=shape.mouth_open,
    )


class ShapeModel:
    """The Peppa slim-160 network: BGR crop, (x - 127) / 127, as it was trained."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name

    def run(
        self, image: Image | Frame, center: tuple[float, float], side: float, roll: float
    ) -> Shape:
        matrix = _crop_matrix(center, side, roll, SHAPE_SIZE)
        if isinstance(image, Frame):
            crop = image.warp(matrix, (SHAPE_SIZE, SHAPE_SIZE))
        else:
            crop = as_u8(
                cv2.warpAffine(
                    image, matrix, (SHAPE_SIZE, SHAPE_SIZE), borderMode=cv2.BORDER_REPLICATE
                )
            )
        tensor = cv2.dnn.blobFromImage(crop, 1 / 127.0, mean=(127.0, 127.0, 127.0))
        raw = np.asarray(self.session.run(None, {self.input_name: tensor})[0]).reshape(-1)
        local = raw[:136].reshape(68, 2).astype(np.float64) * SHAPE_SIZE
        inverse = cv2.invertAffineTransform(matrix)
        xy = np.hstack([local, np.ones((68, 1))]) @ inverse.T
        return Shape(
            points=xy.astype(np.float32),
            eye_closed=float(raw[139] + raw[140]) / 2,
            mouth_open=float(raw[142]),
            pitch=float(raw[136]) * PITCH_SCALE,
        )
