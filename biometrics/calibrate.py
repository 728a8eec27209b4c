"""Calibration on the shared data: the match threshold and the liveness operating points.

    python -m biometrics calibrate --facedata ../shared/facedata --out docs/calibration

Writes ``match_far_frr.md`` (FAR / FRR against threshold), ``liveness_scores.md``
(every live clip and every attack made from the data) and
``operating_points.json``, which ``biometrics/config.py`` must agree with (a
test checks it). The rules that turn measurements into operating points are
written here, next to the code that applies them.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from biometrics.accuracy import AccuracyReport, evaluate, identities
from biometrics.attacks import print_video, screen_replay, still_video
from biometrics.config import EngineConfig, LivenessConfig
from biometrics.engine import Engine, load_image
from biometrics.liveness import PassiveScores, non_rigid_motion
from biometrics.tracking import FaceTracker, Observation
from biometrics.video import VideoReader

# Rules
MATCH_FAR = 1e-3  # operating FAR on every impostor pair of the shared photos
MIN_WEIGHT = 0.2  # every passive model keeps a say: one model alone would fit the attack maker
MOTION_MARGIN = 1.25  # reference = largest attack value x this: attacks score <= 0.8
WEIGHT_STEP = 0.1


def first_frame_jpeg(path: Path, at: float = 0.5) -> bytes:
    import av

    container = av.open(str(path))
    try:
        for frame in container.decode(container.streams.video[0]):
            if float(frame.time or 0) >= at:
                ok, buf = cv2.imencode(".jpg", frame.to_ndarray(format="bgr24"))
                return bytes(buf.tobytes()) if ok else b""
    finally:
        container.close()
    return b""


@dataclass
class VideoScores:
    name: str
    kind: str  # live | still | print | screen | spoof_still
    passive: list[PassiveScores]
    eye_range: float
    mouth_range: float
    shape: float


def _video_scores(engine: Engine, path: Path, kind: str) -> VideoScores:
    cfg = engine.config
    tracker = FaceTracker(
        engine.detector, engine.mesh, cfg.tracking, cfg.quality, keep=cfg.liveness.frames
    )
    with VideoReader(path, cfg.video) as reader:
        for frame in reader:
            tracker.observe(frame)
    observations: list[Observation] = tracker.result.observations
    best = tracker.result.best
    frames = [(k.image, engine._face_of(k)) for k in best[: cfg.liveness.frames]]
    _, per_frame = engine.passive.score(frames)
    motion = non_rigid_motion(observations, cfg.liveness)
    return VideoScores(
        path.stem, kind, per_frame, motion.eye_range, motion.mouth_range, motion.shape
    )


def make_attacks(facedata: Path, work: Path) -> list[tuple[Path, str]]:
    clips = sorted((facedata / "videos" / "selfie").glob("*.mp4"))
    made: list[tuple[Path, str]] = []
    for i, clip in enumerate(clips):
        photo = load_image(first_frame_jpeg(clip))
        made.append((still_video(photo, work / f"still_{clip.stem}.mp4", seed=i), "still"))
        made.append((print_video(photo, work / f"print_{clip.stem}.mp4", seed=i), "print"))
        made.append(
            (screen_replay(clip, work / f"screen_{clip.stem}.mp4", seconds=8, seed=i), "screen")
        )
    for spoof in sorted((facedata / "spoof").glob("*.jpg")):
        if "T1" in spoof.name:
            continue  # the live selfie of that set
        path = still_video(load_image(spoof), work / f"spoof_{spoof.stem}.mp4")
        made.append((path, "spoof_still"))
    return made


def fuse(s: PassiveScores, w: tuple[float, float, float]) -> float:
    return (w[0] * s.v2 + w[1] * s.v1se + w[2] * s.minifas128) / sum(w)


def video_fused(v: VideoScores, w: tuple[float, float, float]) -> float:
    return float(np.median([fuse(s, w) for s in v.passive])) if v.passive else 0.0


def choose_weights(videos: list[VideoScores]) -> tuple[tuple[float, float, float], float, float]:
    """Weights maximising the gap between the weakest live clip and the strongest replay-type
    attack (screen replays and spoof stills: the attacks that the challenge cannot stop),
    each model keeping at least MIN_WEIGHT."""
    live = [v for v in videos if v.kind == "live"]
    replay = [v for v in videos if v.kind in ("screen", "spoof_still")]
    best: tuple[float, tuple[float, float, float], float, float] = (-2.0, (1, 1, 1), 0.0, 0.0)
    steps = [round(x * WEIGHT_STEP, 2) for x in range(int(1 / WEIGHT_STEP) + 1)]
    for a, b in itertools.product(steps, steps):
        c = round(1 - a - b, 2)
        if min(a, b, c) < MIN_WEIGHT - 1e-9:
            continue
        w = (a, b, c)
        low_live = min(video_fused(v, w) for v in live)
        high_attack = max(video_fused(v, w) for v in replay)
        gap = low_live - high_attack
        if gap > best[0]:
            best = (gap, w, low_live, high_attack)
    gap, w, low_live, high_attack = best
    return w, (low_live + high_attack) / 2, gap


def match_table(report: AccuracyReport) -> list[tuple[float, float, float, int, int]]:
    return report.table([round(0.15 + 0.025 * i, 3) for i in range(19)])


def run(facedata: Path, out: Path, engine: Engine, log: Callable[[str], None]) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    photos = facedata / "photos"
    cache: dict[Path, Any] = {}

    def embed(p: Path) -> Any:
        if p not in cache:
            cache[p] = engine.embed_photo(p)
        return cache[p]

    groups = identities(photos)
    log(f"match: {len(groups)} identities")
    everything = evaluate(groups, embed)
    adult = {k: [p for p in v if not p.name.startswith("young_")] for k, v in groups.items()}
    adult_report = evaluate({k: v for k, v in adult.items() if v}, embed)
    per_set = {
        name: evaluate(identities(photos / name), embed)
        for name in ("deepface", "dlib_johns", "faceapi", "cross_age")
    }
    threshold = float(np.ceil(everything.threshold_at_far(MATCH_FAR) * 100) / 100)

    lines = [
        "# Face match: FAR / FRR against the cosine threshold",
        "",
        f"Model `{engine.embedder.name}` (version {engine.embedder.version}); every pair of the "
        "shared photos. *All*: every photo, including childhood photos against adult ones "
        "(cross_age `young_*`). *Adults*: without the childhood photos.",
        "",
        f"Operating point: **{threshold:.2f}** = the threshold at FAR {MATCH_FAR:g} over all "
        f"{everything.impostor.size} impostor pairs, rounded up.",
        "",
        "| threshold | FAR all | FRR all | false accepts | false rejects | FAR adults "
        "| FRR adults |",
        "|---|---|---|---|---|---|---|",
    ]
    for (t, far, frr, fa, fr), (_, far_a, frr_a, _, _) in zip(
        match_table(everything), match_table(adult_report), strict=True
    ):
        lines.append(
            f"| {t:.3f} | {far:.5f} | {frr:.4f} | {fa} | {fr} | {far_a:.5f} | {frr_a:.4f} |"
        )
    lines += [
        "",
        "| photo set | identities | genuine pairs | impostor pairs | TAR @ FAR 1e-3 | EER "
        "| FAR at operating point | FRR at operating point |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rep in [
        *per_set.items(),
        ("adults (all sets, no childhood photos)", adult_report),
        ("all", everything),
    ]:
        far, frr = rep.far_frr(threshold)
        lines.append(
            f"| {name} | {rep.identities} | {rep.genuine.size} | {rep.impostor.size} | "
            f"{rep.tar_at_far(1e-3):.4f} | {rep.eer():.4f} | {far:.5f} | {frr:.4f} |"
        )
    (out / "match_far_frr.md").write_text("\n".join(lines) + "\n", encoding="utf-8")

    log("liveness: making attacks and scoring videos")
    with tempfile.TemporaryDirectory() as tmp:
        videos: list[VideoScores] = [
            _video_scores(engine, clip, "live")
            for clip in sorted((facedata / "videos" / "selfie").glob("*.mp4"))
        ]
        for path, kind in make_attacks(facedata, Path(tmp)):
            videos.append(_video_scores(engine, path, kind))
    weights, passive_threshold, gap = choose_weights(videos)
    moving_attacks = [v for v in videos if v.kind in ("still", "print", "spoof_still")]
    refs = {
        "eye_range_ref": round(max(v.eye_range for v in moving_attacks) * MOTION_MARGIN, 3),
        "mouth_range_ref": round(max(v.mouth_range for v in moving_attacks) * MOTION_MARGIN, 3),
        "shape_motion_ref": round(max(v.shape for v in moving_attacks) * MOTION_MARGIN, 4),
    }
    cfg = replace(
        engine.config.liveness,
        eye_range_ref=refs["eye_range_ref"],
        mouth_range_ref=refs["mouth_range_ref"],
        shape_motion_ref=refs["shape_motion_ref"],
        weights=weights,
    )
    rows = [
        "# Liveness scores on the shared clips and the attacks made from them",
        "",
        f"Passive fusion weights (MiniFASNetV2, MiniFASNetV1SE, MiniFAS-128) = {weights}, chosen "
        f"to maximise the gap between the weakest live clip and the strongest screen replay or "
        f"spoof still, every model keeping at least {MIN_WEIGHT}; threshold = the middle of "
        f"that gap: **{passive_threshold:.3f}** (gap {gap:.3f}).",
        "",
        f"Non-rigid motion references (largest attack value x {MOTION_MARGIN}): {refs}; a video "
        "is a still photo when its score (the largest feature / reference) is below 1.",
        "",
        "| video | kind | passive (fused, median) | non-rigid score | eye range | mouth range "
        "| shape |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in videos:
        score = max(
            v.eye_range / cfg.eye_range_ref,
            v.mouth_range / cfg.mouth_range_ref,
            v.shape / cfg.shape_motion_ref,
        )
        rows.append(
            f"| {v.name} | {v.kind} | {video_fused(v, weights):.3f} | {score:.2f} | "
            f"{v.eye_range:.3f} | {v.mouth_range:.3f} | {v.shape:.4f} |"
        )
    (out / "liveness_scores.md").write_text("\n".join(rows) + "\n", encoding="utf-8")
    points = {
        "match_model": engine.embedder.name,
        "match_threshold": threshold,
        "passive_weights": list(weights),
        "passive_threshold": round(passive_threshold, 3),
        **refs,
    }
    (out / "operating_points.json").write_text(
        json.dumps(points, indent=2) + "\n", encoding="utf-8"
    )
    return points


def config_from_points(points: dict[str, Any], base: EngineConfig | None = None) -> EngineConfig:
    base = base or EngineConfig()
    liveness: LivenessConfig = replace(
        base.liveness,
        weights=tuple(points["passive_weights"]),
        threshold=points["passive_threshold"],
        eye_range_ref=points["eye_range_ref"],
        mouth_range_ref=points["mouth_range_ref"],
        shape_motion_ref=points["shape_motion_ref"],
    )
    match = replace(base.match, model=points["match_model"], threshold=points["match_threshold"])
    return replace(base, liveness=liveness, match=match)
