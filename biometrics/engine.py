"""The engine: a selfie video, the asked challenge and enrolled templates in; a verdict out.

Decision rules, in order:
1. the upload is unusable (format, size, length)            -> retry, with the reason
2. no face, several faces, the face left the picture          -> retry
3. a still photo (no non-rigid movement of the face)          -> fail (a possible attack)
4. capture quality (dark, backlit, blurred, far, covered)     -> retry, with what to fix
5. the passive liveness score too low                         -> fail (a possible attack)
6. the challenge not performed, or not in the asked order     -> retry
7. the face does not match the enrolled templates             -> fail
8. otherwise                                                  -> pass
A ``fail`` opens a case for staff; a ``retry`` tells the person what to change.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from biometrics.challenge import Action, ChallengeDetector, ChallengeResult, parse_actions
from biometrics.config import EngineConfig
from biometrics.detect import Detector, ScrfdDetector, YuNetDetector, largest
from biometrics.errors import InputRejected
from biometrics.geometry import Face, Image, align_112, as_u8, square_crop
from biometrics.landmarks import FaceMesh, Mesh, measures
from biometrics.liveness import PassiveLiveness, non_rigid_motion
from biometrics.quality import assess_photo, assess_video
from biometrics.reasons import Kind, reason
from biometrics.recognition import Embedder, Template, Vector, compatible, similarity
from biometrics.tracking import FaceTracker, KeptFrame
from biometrics.video import VideoReader, prefetch
from models.store import ModelStore


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    passed: bool
    score: float | None
    threshold: float | None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "score": None if self.score is None else round(self.score, 4),
            "threshold": self.threshold,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class EvidenceFrame:
    t: float
    jpeg: bytes  # a face crop for staff review


@dataclass
class Verdict:
    decision: str  # pass | fail | retry
    reasons: list[str]
    checks: list[Check] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    evidence: list[EvidenceFrame] = field(default_factory=list)
    challenge: dict[str, Any] = field(default_factory=dict)
    video: dict[str, Any] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    best_embedding: Vector | None = None  # for a guarded template refresh

    @property
    def scores(self) -> dict[str, float | None]:
        return {c.name: c.score for c in self.checks}

    @property
    def thresholds(self) -> dict[str, float | None]:
        return {c.name: c.threshold for c in self.checks}

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "reasons": [reason(code).as_dict() for code in self.reasons],
            "scores": {k: (None if v is None else round(v, 4)) for k, v in self.scores.items()},
            "thresholds": self.thresholds,
            "checks": [c.as_dict() for c in self.checks],
            "challenge": self.challenge,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "video": self.video,
            "models": self.models,
            "evidence_frames": [{"t": round(e.t, 2), "bytes": len(e.jpeg)} for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class Enrolment:
    template: Template
    quality: dict[str, float]


def _decision_for(code: str) -> str:
    return "fail" if reason(code).kind is Kind.FAIL else "retry"


class Engine:
    """One per process: it holds the model sessions (through the ModelStore) and the config."""

    def __init__(self, store: ModelStore, config: EngineConfig | None = None) -> None:
        self.store = store
        self.config = config or EngineConfig()
        self._detector: Detector | None = None
        self._mesh: FaceMesh | None = None
        self._embedder: Embedder | None = None
        self._passive: PassiveLiveness | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="biometrics")

    # -- components, created on first use ---------------------------------------------------

    @property
    def detector(self) -> Detector:
        if self._detector is None:
            if self.config.detector == "scrfd_500m":
                spec = self.store.registry.get("scrfd_500m")
                self._detector = ScrfdDetector(str(self.store.verify(spec)))
            else:
                self._detector = YuNetDetector(self.store.session(self.config.detector))
        return self._detector

    @property
    def mesh(self) -> FaceMesh:
        if self._mesh is None:
            self._mesh = FaceMesh(self.store.session("facemesh_468"))
        return self._mesh

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            name = self.config.match.model
            spec = self.store.registry.get(name)
            self._embedder = Embedder(self.store.session(name), name, spec.version)
        return self._embedder

    @property
    def passive(self) -> PassiveLiveness:
        if self._passive is None:
            s = self.store.session
            self._passive = PassiveLiveness(
                s("minifasnet_v2"), s("minifasnet_v1se"), s("minifas128"), self.config.liveness
            )
        return self._passive

    def warm_up(self) -> None:
        """Load every model now (worker start-up), so the first request is not slow."""
        _ = (self.detector, self.mesh, self.embedder, self.passive)

    # -- enrolment ------------------------------------------------------------------------

    def _face_points(self, image: Image, hint: Face) -> Face:
        """Precise 5 points for alignment: the detector on a region around the tracked face,
        so the face fills the detector's input at full detail."""
        side = max(hint.width, hint.height) * 2.0
        roi = square_crop(image, hint.center, side, 320)
        faces = self.detector.detect(roi, max_side=320)
        if not faces:
            return hint
        face = min(faces, key=lambda f: (f.center[0] - 160) ** 2 + (f.center[1] - 160) ** 2)
        scale = side / 320
        ox, oy = hint.center[0] - side / 2, hint.center[1] - side / 2
        b = face.box
        return Face(
            (b[0] * scale + ox, b[1] * scale + oy, b[2] * scale + ox, b[3] * scale + oy),
            face.score,
            (face.kps * scale + np.array([ox, oy], dtype=np.float32)).astype(np.float32),
        )

    def enrol(self, photo: bytes | str | Path, *, source: str = "photo") -> Enrolment:
        """A template from one photo, through the enrolment quality gate.

        Raises InputRejected (with the first reason) when the photo is unusable.
        """
        image = load_image(photo)
        faces = self.detector.detect(image, max_side=min(960, max(image.shape[:2])))
        if not faces:
            raise InputRejected("no_face")
        main = largest(faces)
        assert main is not None
        others = [
            f for f in faces if f is not main and f.score >= 0.75 and f.width >= 0.5 * main.width
        ]
        if others:
            raise InputRejected("multiple_faces")
        center, side, roll = self.mesh.crop_from_face(main)
        mesh = self.mesh.run(image, center, side, roll)
        m = measures(mesh)
        report = assess_photo(image, mesh, main.width, m.yaw, m.pitch, self.config.quality)
        if not report.ok:
            raise InputRejected(report.reasons[0], ", ".join(report.reasons))
        vector = self.embedder.embed(align_112(image, main.kps))
        template = Template(
            model=self.embedder.name,
            model_version=self.embedder.version,
            vector=vector,
            source=source,
            quality=float(main.score),
        )
        return Enrolment(template, report.metrics)

    def embed_photo(self, photo: bytes | str | Path) -> Vector | None:
        """An embedding of the largest face, without the enrolment gate (for measurements)."""
        image = load_image(photo)
        face = largest(self.detector.detect(image, max_side=min(960, max(image.shape[:2]))))
        if face is None:
            return None
        return self.embedder.embed(align_112(image, face.kps))

    # -- verification ---------------------------------------------------------------------

    def verify(
        self,
        video: str | Path | IO[bytes],
        challenge: Sequence[str | Action],
        templates: Sequence[Template],
        *,
        mirrored: bool = False,
    ) -> Verdict:
        started = time.perf_counter()
        cfg = self.config
        asked = parse_actions([str(a) for a in challenge])
        usable = compatible(templates, self.embedder)  # raises TemplateMismatch
        timings: dict[str, float] = {}
        tracker = FaceTracker(
            self.detector,
            self.mesh,
            cfg.tracking,
            cfg.quality,
            keep=max(cfg.liveness.frames, cfg.match.frames),
        )
        video_info: dict[str, Any] = {}
        track_s = 0.0
        try:
            with VideoReader(video, cfg.video) as reader:
                video_info = {
                    "codec": reader.codec,
                    "width": reader.width,
                    "height": reader.height,
                    "declared_duration_s": reader.declared_duration,
                }
                for frame in prefetch(reader):
                    t0 = time.perf_counter()
                    tracker.observe(frame)
                    track_s += time.perf_counter() - t0
                video_info.update(
                    rotation=reader.rotation,
                    decoded_frames=reader.decoded_frames,
                    analysed_frames=len(tracker.result.observations),
                    truncated=reader.truncated,
                )
        except InputRejected as err:
            return Verdict(
                _decision_for(err.reason.code),
                [err.reason.code],
                [Check("video", False, None, None, err.detail)],
                {"total": (time.perf_counter() - started) * 1000},
                video=video_info,
            )
        stream_s = time.perf_counter() - started
        timings["decode"] = (stream_s - track_s) * 1000
        timings["track"] = track_s * 1000
        result = tracker.result
        observations = result.observations
        duration = observations[-1].t if observations else 0.0
        video_info["duration_s"] = round(duration, 2)
        verdict = Verdict("retry", [], video=video_info, models=self._model_versions())
        verdict.timings_ms = timings

        # 2. the face
        faced = [o for o in observations if o.measures is not None]
        share = len(faced) / len(observations) if observations else 0.0
        extra_share = result.detections_with_extra / max(1, result.detections)
        presence_ok = share >= cfg.tracking.min_face_share
        verdict.checks.append(
            Check("face_presence", presence_ok, share, cfg.tracking.min_face_share)
        )
        verdict.checks.append(
            Check(
                "single_face",
                extra_share < cfg.tracking.extra_face_min_share,
                extra_share,
                cfg.tracking.extra_face_min_share,
            )
        )
        if duration < cfg.video.min_duration_s:
            return self._finish(verdict, "retry", ["video_too_short"], started)
        if extra_share >= cfg.tracking.extra_face_min_share:
            return self._finish(verdict, "retry", ["multiple_faces"], started)
        if not faced:
            return self._finish(verdict, "retry", ["no_face"], started)
        if not presence_ok:
            return self._finish(verdict, "retry", ["face_lost"], started)

        best = result.best
        # 3 and 6: passive liveness and the match run side by side (two cores, GIL released)
        t0 = time.perf_counter()
        needed = max(cfg.liveness.frames, cfg.match.frames)
        faces = [self._face_of(k) for k in best[:needed]]
        timings["points"] = (time.perf_counter() - t0) * 1000
        pairs = list(zip(best, faces, strict=False))

        def run_match() -> tuple[list[Vector], float]:
            t = time.perf_counter()
            embs = [
                self.embedder.embed(align_112(k.image, f.kps)) for k, f in pairs[: cfg.match.frames]
            ]
            return embs, (time.perf_counter() - t) * 1000

        match_future = self._pool.submit(run_match)
        t0 = time.perf_counter()
        motion = non_rigid_motion(observations, cfg.liveness)
        live_score, per_frame = self.passive.score(
            [(k.image, f) for k, f in pairs[: cfg.liveness.frames]]
        )
        timings["liveness"] = (time.perf_counter() - t0) * 1000
        embeddings, timings["match"] = match_future.result()
        still_ok = motion.score >= cfg.liveness.min_non_rigid
        live_ok = live_score >= cfg.liveness.threshold
        verdict.checks.append(
            Check(
                "non_rigid_motion",
                still_ok,
                motion.score,
                cfg.liveness.min_non_rigid,
                f"eye range {motion.eye_range:.3f}, mouth range {motion.mouth_range:.3f}, "
                f"shape {motion.shape:.4f}",
            )
        )
        verdict.checks.append(
            Check(
                "passive_liveness",
                live_ok,
                live_score,
                cfg.liveness.threshold,
                "per frame v2/v1se/m128: "
                + "; ".join(f"{s.v2:.2f}/{s.v1se:.2f}/{s.minifas128:.2f}" for s in per_frame),
            )
        )

        # 5. the challenge (evaluated now, reported after quality)
        t0 = time.perf_counter()
        challenge_result = ChallengeDetector(cfg.challenge, mirrored=mirrored).evaluate(
            asked, observations
        )
        timings["challenge"] = (time.perf_counter() - t0) * 1000
        verdict.challenge = _challenge_json(challenge_result)
        verdict.checks.append(
            Check(
                "challenge",
                challenge_result.passed,
                len(challenge_result.matched) / max(1, len(asked)),
                1.0,
                " ".join(a.value for a in asked),
            )
        )

        match_score = similarity(usable, embeddings)
        match_ok = match_score >= cfg.match.threshold
        verdict.checks.append(Check("face_match", match_ok, match_score, cfg.match.threshold))
        if embeddings and usable:
            sims = [max(float(np.dot(t.vector, e)) for t in usable) for e in embeddings]
            verdict.best_embedding = embeddings[int(np.argmax(sims))]

        quality = assess_video(observations, [(k.image, k.mesh) for k in best[:1]], cfg.quality)
        verdict.checks.append(
            Check("quality", quality.ok, None, None, ", ".join(quality.reasons) or "ok")
        )
        verdict.video["quality"] = {k: round(v, 3) for k, v in quality.metrics.items()}
        verdict.evidence = [_evidence(k) for k in best[:3]]

        if not still_ok:
            return self._finish(verdict, "fail", ["still_image"], started)
        # The passive models are unreliable on poor frames: a capture problem is reported
        # first, so a person in bad light is told what to fix instead of being refused.
        if not quality.ok:
            return self._finish(verdict, "retry", list(quality.reasons), started)
        if not live_ok:
            return self._finish(verdict, "fail", ["liveness_failed"], started)
        if not challenge_result.passed:
            code = (
                "challenge_wrong_order"
                if challenge_result.wrong_order
                else "challenge_not_performed"
            )
            return self._finish(verdict, "retry", [code], started)
        if not match_ok:
            return self._finish(verdict, "fail", ["face_mismatch"], started)
        return self._finish(verdict, "pass", [], started)

    def _face_of(self, kept: KeptFrame) -> Face:
        """Detector points on a kept frame (the alignment the recognition model was trained on)."""
        mesh = kept.mesh
        hint = Face(mesh.box, 1.0, mesh.five_points())
        return self._face_points(kept.image, hint)

    def _model_versions(self) -> dict[str, str]:
        reg = self.store.registry
        names = [
            self.config.detector,
            "facemesh_468",
            self.config.match.model,
            "minifasnet_v2",
            "minifasnet_v1se",
            "minifas128",
        ]
        return {n: reg.get(n).version for n in names}

    @staticmethod
    def _finish(verdict: Verdict, decision: str, reasons: list[str], started: float) -> Verdict:
        verdict.decision = decision
        verdict.reasons = reasons
        verdict.timings_ms["total"] = (time.perf_counter() - started) * 1000
        return verdict


def _challenge_json(result: ChallengeResult) -> dict[str, Any]:
    return {
        "asked": [a.value for a in result.asked],
        "passed": result.passed,
        "matched": [e.as_dict() for e in result.matched],
        "seen": [e.as_dict() for e in result.seen],
        "missing": [a.value for a in result.missing],
        "wrong_order": result.wrong_order,
    }


def _evidence(kept: KeptFrame) -> EvidenceFrame:
    crop = square_crop(kept.image, kept.mesh.center, kept.mesh.extent * 1.4, 224)
    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 88])
    return EvidenceFrame(kept.t, buf.tobytes() if ok else b"")


def load_image(photo: bytes | str | Path) -> Image:
    """Decode a photo (JPEG, PNG, WebP...), honouring EXIF orientation; refuse non-images."""
    data = Path(photo).read_bytes() if isinstance(photo, str | Path) else photo
    if not data:
        raise InputRejected("photo_unreadable", "empty file")
    array = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(array, cv2.IMREAD_COLOR)
    if image is None:
        raise InputRejected("photo_unreadable", "not an image")
    h, w = image.shape[:2]
    if max(h, w) > 4096:
        scale = 4096 / max(h, w)
        image = as_u8(
            cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        )
    return as_u8(image)


def mesh_of(engine: Engine, image: Image, face: Face) -> Mesh:
    center, side, roll = engine.mesh.crop_from_face(face)
    return engine.mesh.run(image, center, side, roll)
