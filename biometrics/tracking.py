"""Following one face through the video: landmarks at a base rate, every frame where it matters.

The 68-point model reads the face on ``base_fps`` frames a second. When the eyes on a base
frame are more shut than on the base frames either side of it (or the mouth more open), every
frame between those neighbours is read too: a quick blink, shut for a single frame, is seen at
the clip's own frame rate, while the frames where nothing happens cost nothing but their
decoding. A brief head turn's furthest moment is read the same way.

The detector searches the whole frame about once a second (to notice a second face, or to
find the face again) and confirms the face on a small crop at every base frame in between.
Each read frame yields an observation with the measures the challenge and quality checks need;
the best frontal frames are kept (a bounded few) for the passive liveness models and the match.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from biometrics.config import QualityConfig, TrackingConfig
from biometrics.detect import Detector
from biometrics.geometry import Face, Image, detail, iou
from biometrics.landmarks import (
    CROP_SCALE,
    FaceMeasures,
    Shape,
    ShapeModel,
    head_yaw,
    shape_measures,
)
from biometrics.video import Frame

RECENT = 20  # base frames in the running median of the open eye


@dataclass(frozen=True, slots=True)
class Observation:
    t: float
    shape: Shape | None
    measures: FaceMeasures | None
    detected: bool  # the whole-frame detector ran on this frame
    extra_faces: int  # other sizeable faces seen by the detector (0 if it did not run)
    base: bool = True  # a base-rate frame (capture statistics are read on these only)
    readable: bool = True  # the face is turned little enough for its eyes and mouth to be read
    pose_only: bool = False  # read for the head's pose only (a brief turn's furthest moment)
    face_px: float = 0.0  # face width in original-video pixels
    face_fraction: float = 0.0  # face extent / frame short side
    luminance: float = 0.0  # mean face luminance
    bright: float = 0.0  # 90th percentile of the face luminance (exposure, whatever the skin)
    background: float = 0.0  # mean luminance outside the face
    clipped: float = 0.0  # share of face pixels >= 250
    sharpness: float = 0.0  # variance of the Laplacian, face resized to 128 px
    detail: float = 0.0  # sharpness whatever the contrast and resolution (geometry.detail)

    @property
    def features(self) -> bool:
        """Whether its eyes and mouth count (blinks, mouth, non-rigid motion)."""
        return self.readable and not self.pose_only


@dataclass
class KeptFrame:
    score: float
    t: float
    frame: Frame  # converted to a picture only if it stays among the best
    shape: Shape
    observation: Observation

    @property
    def image(self) -> Image:
        return self.frame.image


@dataclass
class TrackResult:
    observations: list[Observation] = field(default_factory=list)
    best: list[KeptFrame] = field(default_factory=list)
    detections: int = 0
    detections_with_extra: int = 0
    frame_size: tuple[int, int] = (0, 0)
    frames_seen: int = 0
    frames_read: int = 0  # frames the landmark model read

    def ordered(self) -> list[Observation]:
        return sorted(self.observations, key=lambda o: o.t)


def face_stats(frame: Frame, shape: Shape) -> tuple[float, float, float, float, float, float]:
    """Face luminance (mean and 90th percentile), background luminance, clipped share,
    sharpness and detail: on the inner face (brows to mouth), read as 128 px of gray straight
    from the decoded frame, and a coarse picture of the whole frame for the background."""
    x1, y1, x2, y2 = shape.inner_box
    if x2 - x1 < 8 or y2 - y1 < 8:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    to_face = np.array(
        [[128 / (x2 - x1), 0, -x1 * 128 / (x2 - x1)], [0, 128 / (y2 - y1), -y1 * 128 / (y2 - y1)]]
    )
    face = frame.warp(to_face, (128, 128), gray=True)
    lum = float(face.mean())
    bright = float(np.partition(face.reshape(-1), int(0.9 * face.size))[int(0.9 * face.size)])
    clipped = float((face >= 250).mean())
    sharpness = float(cv2.Laplacian(face, cv2.CV_32F).var())
    background = frame.luma_outside(shape.box)
    return lum, bright, background, clipped, sharpness, detail(face)


def crop_from_face(face: Face) -> tuple[tuple[float, float], float, float]:
    """A first crop from a detection (its box and eye points), before the landmarks refine it."""
    (re, le) = face.kps[0], face.kps[1]
    roll = float(np.arctan2(float(le[1] - re[1]), float(le[0] - re[0])))
    return face.center, max(face.width, face.height) * CROP_SCALE * 0.95, roll


class FaceTracker:
    def __init__(
        self,
        detector: Detector,
        landmarks: ShapeModel,
        config: TrackingConfig,
        quality: QualityConfig,
        keep: int,
    ) -> None:
        self.detector = detector
        self.landmarks = landmarks
        self.config = config
        self.quality = quality
        self.keep = keep
        self.result = TrackResult()
        self._shape: Shape | None = None
        self._face: Face | None = None  # the detector's last reading of the face
        self._yaw: float | None = None  # head yaw from its points
        self._base_count = 0
        self._last_detect_t = -1e9
        self._next_base_t = 0.0
        self._gap: list[Frame] = []  # frames since the last base frame, not read (yet)
        # the last three base frames, each with the frames skipped before it
        self._bases: deque[tuple[Observation, list[Frame]]] = deque(maxlen=3)
        self._recent: deque[float] = deque(maxlen=RECENT)  # eye openings, readable base frames

    # -- finding the face ------------------------------------------------------------------

    def _detect(self, frame: Frame) -> tuple[Face | None, int]:
        image = frame.image
        faces = self.detector.detect(image, max_side=self.config.detect_max_side)
        if not faces:
            faces = self.detector.detect(image, max_side=max(image.shape[:2]))
        self.result.detections += 1
        if not faces:
            return None, 0
        # The person is the face we already follow, else the largest.
        if self._shape is not None:
            anchor = self._shape.box
            main = max(faces, key=lambda f: iou(f.box, anchor) + f.width * 1e-6)
        else:
            main = max(faces, key=lambda f: f.width * f.height)
        extra = sum(
            1
            for f in faces
            if f is not main
            and f.score >= self.config.extra_face_min_score
            and f.width >= self.config.extra_face_min_size * main.width
        )
        if extra:
            self.result.detections_with_extra += 1
        return main, extra

    def _confirm(self, frame: Frame, shape: Shape) -> Face | None:
        """The detector on a small crop around the followed face: is it still a face?"""
        side = shape.extent * 2.0
        size = self.config.roi_side
        center = shape.center
        k = size / max(side, 1.0)
        square = np.array([[k, 0, size / 2 - center[0] * k], [0, k, size / 2 - center[1] * k]])
        faces = self.detector.detect(frame.warp(square, (size, size)), max_side=size)
        faces = [f for f in faces if f.score >= self.config.min_face_score]
        if not faces:
            return None
        mid = size / 2
        face = min(faces, key=lambda f: (f.center[0] - mid) ** 2 + (f.center[1] - mid) ** 2)
        scale = side / size
        ox, oy = center[0] - side / 2, center[1] - side / 2
        b = face.box
        return Face(
            (b[0] * scale + ox, b[1] * scale + oy, b[2] * scale + ox, b[3] * scale + oy),
            face.score,
            (face.kps * scale + np.array([ox, oy], dtype=np.float32)).astype(np.float32),
        )

    def _read(self, frame: Frame, crop: tuple[tuple[float, float], float, float]) -> Shape:
        self.result.frames_read += 1
        return self.landmarks.run(frame, *crop)

    # -- the frames ------------------------------------------------------------------------

    def observe(self, frame: Frame) -> None:
        """Every decoded frame, in order."""
        self.result.frames_seen += 1
        if frame.t + 1e-6 < self._next_base_t:
            self._gap.append(frame)
            return
        self._next_base_t = max(self._next_base_t + 1.0 / self.config.base_fps, frame.t)
        obs = self._base(frame)
        self._bases.append((obs, list(self._gap)))
        self._gap.clear()
        if len(self._bases) == 3:
            self._refine(*self._bases)

    def _refine(
        self,
        before: tuple[Observation, list[Frame]],
        middle: tuple[Observation, list[Frame]],
        after: tuple[Observation, list[Frame]],
    ) -> None:
        """If the eyes on the middle base frame are more shut than on both neighbours (or the
        mouth more open, or the head turned further), read every frame between the
        neighbours: a quick blink's deepest moment, a brief wide opening or a brief turn's
        furthest is between them."""
        a, m, c = before[0].measures, middle[0].measures, after[0].measures
        shape = middle[0].shape
        if a is None or m is None or c is None or shape is None or not middle[0].readable:
            return
        if self._recent:
            open_eye = float(np.median(list(self._recent)))
        else:
            open_eye = max(a.ear, m.ear, c.ear)
        # the middle frame must be the most shut of the three (else the deepest moment is
        # further on, and the next middle frame will say so), and well below the higher side
        dips = m.ear <= min(a.ear, c.ear) and (
            max(a.ear, c.ear) - m.ear >= self.config.refine_ear_drop * open_eye
        )
        rises = m.eye_closed >= max(a.eye_closed, c.eye_closed) and (
            m.eye_closed - min(a.eye_closed, c.eye_closed) >= self.config.refine_eye_rise
        )
        opens = m.mar >= max(a.mar, c.mar) and (
            m.mar - min(a.mar, c.mar) >= self.config.refine_mouth_rise
        )
        side = 1.0 if m.yaw >= 0 else -1.0
        turns = (
            abs(m.yaw) >= self.config.refine_turn_deg
            and side * m.yaw >= max(side * a.yaw, side * c.yaw)
            and side * m.yaw - min(side * a.yaw, side * c.yaw) >= self.config.refine_turn_rise
        )
        if dips or rises or opens or turns:
            for skipped in (*middle[1], *after[1]):
                # frames read for a turn alone serve the head's pose: landmarks of a
                # turning face are not eyes and mouth moving
                self._extra(skipped, shape, pose_only=not (dips or rises or opens))

    def flush(self) -> None:
        """The end of the video: the last base frame has no later neighbour to compare."""
        self._bases.clear()
        self._gap.clear()

    def _measures(self, shape: Shape) -> tuple[FaceMeasures, bool]:
        """The face's measures, and whether its eyes and mouth can be read. Yaw comes from the
        68 points (steadier, r = 0.99 with FaceMesh's 3-D yaw) while the detector's points say
        the face is turned little enough for them; beyond, from the detector's points (the 68
        points of a profile are guesses)."""
        measures = shape_measures(shape)
        if self._yaw is not None and abs(self._yaw) > self.config.readable_yaw_deg:
            return replace(measures, yaw=self._yaw), False
        return measures, True

    def _extra(self, frame: Frame, near: Shape, *, pose_only: bool = False) -> Observation:
        """A frame between base frames: landmarks only, from the neighbouring face's crop (and
        its head yaw: the head does not turn far in a tenth of a second)."""
        shape = self._read(frame, near.crop())
        measures, readable = self._measures(shape)
        obs = Observation(
            frame.t, shape, measures, False, 0, base=False, readable=readable, pose_only=pose_only
        )
        self.result.observations.append(obs)
        return obs

    def _base(self, frame: Frame) -> Observation:
        w, h = frame.size
        self.result.frame_size = (w, h)
        cfg = self.config
        detected = False
        extra = 0
        crop: tuple[tuple[float, float], float, float] | None = None
        face: Face | None = None
        due = frame.t - self._last_detect_t >= cfg.detect_every_s
        self._base_count += 1
        if self._shape is not None and not due:
            if self._base_count % cfg.confirm_every:
                face = self._face  # followed by the landmarks alone on this frame
            else:
                face = self._confirm(frame, self._shape)
            if face is not None:
                crop = self._shape.crop()
        if crop is None:
            face, extra = self._detect(frame)
            detected = True
            self._last_detect_t = frame.t
            if face is not None:
                # one refinement pass: the detector box is not the crop the landmarks expect
                crop = self._read(frame, crop_from_face(face)).crop()
        if crop is None or face is None:
            self._shape = None
            self._face = None
            self._yaw = None
            obs = Observation(frame.t, None, None, detected, extra)
            self.result.observations.append(obs)
            return obs
        shape = self._read(frame, crop)
        self._shape = shape
        if face is not self._face:
            self._face = face
            self._yaw = head_yaw(face.kps)
        lum, bright, background, clipped, sharpness, fine = face_stats(frame, shape)
        box = shape.box
        measures, readable = self._measures(shape)
        obs = Observation(
            t=frame.t,
            shape=shape,
            measures=measures,
            readable=readable,
            detected=detected,
            extra_faces=extra,
            face_px=(box[2] - box[0]) / frame.scale,
            face_fraction=shape.extent / min(w, h),
            luminance=lum,
            bright=bright,
            background=background,
            clipped=clipped,
            sharpness=sharpness,
            detail=fine,
        )
        self.result.observations.append(obs)
        if readable:
            self._recent.append(measures.ear)
        self._consider(frame, shape, obs)
        return obs

    def _consider(self, frame: Frame, shape: Shape, obs: Observation) -> None:
        """Keep the best frontal, sharp, eyes-open frames, at least 0.3 s apart."""
        m = obs.measures
        if m is None:
            return
        frontal = max(0.0, 1 - abs(m.yaw) / 40) * max(0.0, 1 - abs(m.pitch) / 40)
        eyes = min(1.0, m.ear / 0.25) * (1.0 if m.eye_closed < 0 else 0.5)
        score = frontal * eyes * min(1.0, obs.sharpness / 200) * min(1.0, obs.face_px / 160)
        if score <= 0:
            return
        kept = self.result.best
        close = [k for k in kept if abs(k.t - frame.t) < 0.3]
        if close:
            rival = close[0]
            if score > rival.score:
                kept.remove(rival)
            else:
                return
        kept.append(KeptFrame(score, frame.t, frame, shape, obs))
        kept.sort(key=lambda k: -k.score)
        del kept[self.keep :]
