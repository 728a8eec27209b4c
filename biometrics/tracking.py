"""Following one face through the video: sparse detection, dense landmarks in between.

The detector runs on the first frame, then about once a second (to notice a
second face) and whenever the landmarks lose the face; between detections the
next landmark crop comes from the previous frame's landmarks. Each frame yields
an observation with the measures the challenge and quality checks need; the
best frontal frames are kept (a bounded few) for the passive liveness models
and the face match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from biometrics.config import QualityConfig, TrackingConfig
from biometrics.detect import Detector
from biometrics.geometry import Face, Image, iou
from biometrics.landmarks import FaceMeasures, FaceMesh, Mesh, measures
from biometrics.video import Frame


@dataclass(frozen=True, slots=True)
class Observation:
    t: float
    mesh: Mesh | None
    measures: FaceMeasures | None
    detected: bool  # the detector ran on this frame
    extra_faces: int  # other sizeable faces seen by the detector (0 if it did not run)
    face_px: float = 0.0  # face width in original-video pixels
    face_fraction: float = 0.0  # face extent / frame short side
    luminance: float = 0.0  # mean face luminance
    background: float = 0.0  # mean luminance outside the face
    clipped: float = 0.0  # share of face pixels >= 250
    sharpness: float = 0.0  # variance of the Laplacian, face resized to 128 px


@dataclass
class KeptFrame:
    score: float
    t: float
    image: Image
    mesh: Mesh
    observation: Observation


@dataclass
class TrackResult:
    observations: list[Observation] = field(default_factory=list)
    best: list[KeptFrame] = field(default_factory=list)
    detections: int = 0
    detections_with_extra: int = 0
    frame_size: tuple[int, int] = (0, 0)


def _face_stats(image: Image, mesh: Mesh) -> tuple[float, float, float, float]:
    """Face luminance, background luminance, clipped share, sharpness: on the face region
    (and a coarse grid for the background), never a full-frame conversion."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (round(v) for v in mesh.box)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 - x1 < 8 or y2 - y1 < 8:
        return 0.0, 0.0, 0.0, 0.0
    face = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    lum = float(face.mean())
    grid = cv2.cvtColor(image[::8, ::8], cv2.COLOR_BGR2GRAY).astype(np.float32)
    inside = np.zeros(grid.shape, dtype=bool)
    inside[y1 // 8 : (y2 + 7) // 8, x1 // 8 : (x2 + 7) // 8] = True
    background = float(grid[~inside].mean()) if (~inside).any() else lum
    clipped = float((face >= 250).mean())
    small = cv2.resize(face, (128, 128), interpolation=cv2.INTER_AREA)
    sharpness = float(cv2.Laplacian(small, cv2.CV_32F).var())
    return lum, background, clipped, sharpness


class FaceTracker:
    def __init__(
        self,
        detector: Detector,
        mesh: FaceMesh,
        config: TrackingConfig,
        quality: QualityConfig,
        keep: int,
    ) -> None:
        self.detector = detector
        self.mesh_model = mesh
        self.config = config
        self.quality = quality
        self.keep = keep
        self.result = TrackResult()
        self._last_mesh: Mesh | None = None
        self._last_detect_t = -1e9
        self._anchor: tuple[float, float, float, float] | None = None

    def _detect(self, image: Image) -> tuple[Face | None, int]:
        faces = self.detector.detect(image, max_side=self.config.detect_max_side)
        if not faces:
            faces = self.detector.detect(image, max_side=max(image.shape[:2]))
        self.result.detections += 1
        if not faces:
            return None, 0
        # The person is the face we already follow, else the largest.
        main = faces[0]
        if self._anchor is not None:
            anchor = self._anchor
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

    def observe(self, frame: Frame) -> Observation:
        image = frame.image
        h, w = image.shape[:2]
        self.result.frame_size = (w, h)
        cfg = self.config
        detected = False
        extra = 0
        mesh: Mesh | None = None
        due = frame.t - self._last_detect_t >= cfg.detect_every_s
        if self._last_mesh is not None and not due:
            center, side, roll = self.mesh_model.crop_from_mesh(self._last_mesh)
            mesh = self.mesh_model.run(image, center, side, roll)
            if mesh.presence < cfg.min_presence:
                mesh = None
        if mesh is None:
            face, extra = self._detect(image)
            detected = True
            self._last_detect_t = frame.t
            if face is not None:
                center, side, roll = self.mesh_model.crop_from_face(face)
                mesh = self.mesh_model.run(image, center, side, roll)
                # one refinement pass: the detector box is tighter than FaceMesh expects
                center, side, roll = self.mesh_model.crop_from_mesh(mesh)
                mesh = self.mesh_model.run(image, center, side, roll)
                if mesh.presence < cfg.min_presence:
                    mesh = None
        self._last_mesh = mesh
        if mesh is None:
            self._anchor = None
            obs = Observation(frame.t, None, None, detected, extra)
            self.result.observations.append(obs)
            return obs
        self._anchor = mesh.box
        lum, background, clipped, sharpness = _face_stats(image, mesh)
        obs = Observation(
            t=frame.t,
            mesh=mesh,
            measures=measures(mesh),
            detected=detected,
            extra_faces=extra,
            face_px=(mesh.box[2] - mesh.box[0]) / frame.scale,
            face_fraction=mesh.extent / min(w, h),
            luminance=lum,
            background=background,
            clipped=clipped,
            sharpness=sharpness,
        )
        self.result.observations.append(obs)
        self._consider(frame, mesh, obs)
        return obs

    def _consider(self, frame: Frame, mesh: Mesh, obs: Observation) -> None:
        """Keep the best frontal, sharp, eyes-open frames, at least 0.3 s apart."""
        m = obs.measures
        if m is None:
            return
        frontal = max(0.0, 1 - abs(m.yaw) / 40) * max(0.0, 1 - abs(m.pitch) / 40)
        eyes = min(1.0, m.ear / 0.25)
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
        kept.append(KeptFrame(score, frame.t, frame.image, mesh, obs))
        kept.sort(key=lambda k: -k.score)
        del kept[self.keep :]
