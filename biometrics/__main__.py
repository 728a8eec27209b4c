"""python -m biometrics verify | enrol | evaluate | accuracy | bench | calibrate

The model directory is LIFECERT_MODEL_DIR, else <LIFECERT_DATA_DIR>/models (./var/models);
fetch the models there with `python -m models fetch`.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from biometrics.config import EngineConfig
from biometrics.engine import Engine, load_image
from biometrics.errors import BiometricsError, InputRejected
from models.__main__ import default_model_dir
from models.store import ModelStore, ModelUnavailable


def _engine(args: argparse.Namespace) -> Engine:
    return Engine(ModelStore.open(Path(args.models or default_model_dir())), EngineConfig())


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def cmd_verify(args: argparse.Namespace) -> int:
    engine = _engine(args)
    templates = []
    for photo in args.enrolled:
        try:
            templates.append(engine.enrol(photo).template)
        except InputRejected as err:
            _print(
                json.dumps(
                    {
                        "error": "enrolment_rejected",
                        "photo": photo,
                        "reason": err.reason.as_dict(),
                        "detail": err.detail,
                    },
                    ensure_ascii=False,
                )
            )
            return 2
    challenge = [a for a in (args.challenge or "").split(",") if a.strip()]
    try:
        verdict = engine.verify(args.video, challenge, templates, mirrored=args.mirrored)
    except ValueError as err:  # an unknown challenge action
        _print(json.dumps({"error": "bad_challenge", "message": str(err)}))
        return 2
    if args.evidence_dir:
        out = Path(args.evidence_dir)
        out.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(verdict.evidence):
            (out / f"evidence_{i}_{frame.t:.2f}s.jpg").write_bytes(frame.jpeg)
    _print(json.dumps(verdict.to_json(), ensure_ascii=False, indent=None if args.compact else 2))
    return 0


def cmd_enrol(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        enrolment = engine.enrol(args.photo)
    except InputRejected as err:
        _print(
            json.dumps(
                {"accepted": False, "reason": err.reason.as_dict(), "detail": err.detail},
                ensure_ascii=False,
            )
        )
        return 1
    body: dict[str, Any] = {
        "accepted": True,
        "quality": enrolment.quality,
        "template": enrolment.template.to_dict(),
    }
    _print(json.dumps(body, ensure_ascii=False))
    return 0


def cmd_accuracy(args: argparse.Namespace) -> int:
    from biometrics.accuracy import evaluate, identities

    engine = _engine(args)
    groups: dict[str, list[Path]] = {}
    for root in args.photos:
        for name, photos in identities(Path(root)).items():
            groups[f"{root}:{name}"] = photos
    report = evaluate(groups, engine.embed_photo)
    threshold = engine.config.match.threshold
    far, frr = report.far_frr(threshold)
    _print(
        f"model={engine.embedder.name} identities={report.identities} photos={report.photos} "
        f"failed_to_embed={report.failed_to_embed} threshold={threshold} "
        f"far={far:.6f} frr={frr:.4f}"
    )
    _print(
        f"pairs_genuine={report.genuine.size} pairs_impostor={report.impostor.size} "
        f"tar_at_far_1e-3={report.tar_at_far(1e-3):.4f} eer={report.eer():.4f} "
        f"false_accepts_at_threshold={int((report.impostor >= threshold).sum())} "
        f"false_rejects_at_threshold={int((report.genuine < threshold).sum())}"
    )
    return 0


def _naive(video: str, detector: Any, recogniser: Any, template: Any) -> float:
    """The baseline: SCRFD-500M and the 512-d model on every frame, norm_crop, no tracking."""
    import av
    import numpy as np
    from insightface.utils import face_align

    best = -1.0
    container = av.open(video)
    try:
        for frame in container.decode(container.streams.video[0]):
            image = frame.to_ndarray(format="bgr24")
            boxes, kps = detector.detect(image, input_size=(640, 640))
            if len(boxes) == 0:
                continue
            i = int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
            aligned = face_align.norm_crop(image, kps[i])
            emb = recogniser.get_feat(aligned).reshape(-1)
            best = max(best, float(np.dot(emb / np.linalg.norm(emb), template)))
    finally:
        container.close()
    return best


def cmd_bench(args: argparse.Namespace) -> int:
    import av
    import cv2

    engine = _engine(args)
    engine.warm_up()
    container = av.open(args.clip)
    try:
        stream = container.streams.video[0]
        clip_s = float(container.duration or 0) / 1e6 or float(
            stream.frames / float(stream.average_rate)
        )
        jpeg = b""
        for frame in container.decode(stream):
            if float(frame.time or 0) >= 0.5:
                jpeg = bytes(cv2.imencode(".jpg", frame.to_ndarray(format="bgr24"))[1].tobytes())
                break
    finally:
        container.close()
    template = engine.enrol(jpeg).template
    challenge = [a for a in (args.challenge or "").split(",") if a.strip()]
    engine.verify(args.clip, challenge, [template])  # warm caches
    pipeline_runs, cpu_runs = [], []
    verdict = None
    for _ in range(args.runs):
        t0, c0 = time.perf_counter(), time.process_time()
        verdict = engine.verify(args.clip, challenge, [template])
        pipeline_runs.append(time.perf_counter() - t0)
        cpu_runs.append(time.process_time() - c0)  # every thread: decoder, models, match
    assert verdict is not None
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _print(
        f"pipeline decision={verdict.decision} reasons={','.join(verdict.reasons) or '-'} "
        f"timings_ms={json.dumps({k: round(v) for k, v in verdict.timings_ms.items()})}"
    )
    _print(
        f"frames decoded={verdict.video.get('decoded_frames')} "
        f"read_by_landmarks={verdict.video.get('analysed_frames')} "
        f"pipeline_cpu_s={statistics.median(cpu_runs):.3f} (process CPU, all threads, median)"
    )
    _print(f"pipeline_peak_rss_mb={rss_mb:.0f} models_loaded={','.join(engine.store.loaded())}")

    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, module="insightface")
    from insightface.model_zoo import get_model

    reg = engine.store.registry
    detector = get_model(
        str(engine.store.verify(reg.get("scrfd_500m"))), providers=["CPUExecutionProvider"]
    )
    detector.prepare(ctx_id=-1, input_size=(640, 640), det_thresh=0.5)
    recogniser = get_model(
        str(engine.store.verify(reg.get("w600k_mbf"))), providers=["CPUExecutionProvider"]
    )
    recogniser.prepare(ctx_id=-1)
    naive_template = None
    image = load_image(jpeg)
    _, kps = detector.detect(image, input_size=(640, 640))
    from insightface.utils import face_align

    naive_template = recogniser.get_feat(face_align.norm_crop(image, kps[0])).reshape(-1)
    naive_template = naive_template / float((naive_template**2).sum() ** 0.5)
    _naive(args.clip, detector, recogniser, naive_template)  # warm
    naive_runs = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        _naive(args.clip, detector, recogniser, naive_template)
        naive_runs.append(time.perf_counter() - t0)
    x = statistics.median(pipeline_runs)
    y = statistics.median(naive_runs)
    _print(
        f"clip_s={clip_s:.2f} pipeline_wall_s={x:.3f} "
        f"pipeline_cpu_s={statistics.median(cpu_runs):.3f} naive_wall_s={y:.3f} "
        f"speedup={y / x:.1f}"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from biometrics.evaluate import evaluate, read_labels, write

    if len(args.clips) != len(args.labels):
        _print("error: give one --labels file for each --clips folder")
        return 2
    clips = [
        clip
        for folder, labels in zip(args.clips, args.labels, strict=True)
        for clip in read_labels(Path(labels), Path(folder))
    ]
    engine = _engine(args)
    engine.warm_up()
    work = Path(args.work) if args.work else None
    if args.attacks and work is None:
        import tempfile

        work = Path(tempfile.mkdtemp(prefix="lifecert-attacks-"))
    result = evaluate(
        engine, clips, attacks=args.attacks, work=work, log=_print if args.verbose else _quiet
    )
    write(
        result,
        "Evaluation of the face check",
        Path(args.out) if args.out else None,
        Path(args.json) if args.json else None,
    )
    summary = result.summary()
    for t in result.wrong():
        _print(
            f"wrong: {t.clip} {t.kind} asked={','.join(t.challenge)} decision={t.decision} "
            f"reasons={','.join(t.reasons) or '-'}"
        )
    for key in (
        "by_action",
        "by_age_band",
        "by_lighting",
        "absent_action_refused",
        "attack_refusal",
    ):
        _print(
            f"{key}: "
            + " ".join(
                f"{k}={v['rate']}({v['correct']}/{v['trials']})" for k, v in summary[key].items()
            )
        )
    live = summary["live_acceptance"]
    _print(
        f"live_acceptance={live['rate']} ({live['correct']}/{live['trials']}) "
        f"excluded={len(summary['excluded'])} frames_read_share={summary['frames_read_share']}"
    )
    return 0


def _quiet(_: str) -> None:
    return None


def cmd_calibrate(args: argparse.Namespace) -> int:
    from biometrics.calibrate import run

    engine = _engine(args)
    points = run(
        Path(args.facedata),
        Path(args.out),
        engine,
        _print,
        work=Path(args.work) if args.work else None,
    )
    _print(json.dumps(points))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m biometrics", description=__doc__)
    parser.add_argument("--models", default=None, help="model directory")
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="decide on a selfie video")
    v.add_argument("--video", required=True)
    v.add_argument("--enrolled", action="append", default=[], help="enrolled photo (repeatable)")
    v.add_argument("--challenge", default="", help="ordered actions, e.g. blink,turn_left")
    v.add_argument("--mirrored", action="store_true", help="the recording is mirrored")
    v.add_argument("--evidence-dir", default=None)
    v.add_argument("--compact", action="store_true")
    v.set_defaults(func=cmd_verify)
    e = sub.add_parser("enrol", help="a template from a photo, through the quality gate")
    e.add_argument("--photo", required=True)
    e.set_defaults(func=cmd_enrol)
    ev = sub.add_parser("evaluate", help="labelled clips and attacks made from them")
    ev.add_argument("--clips", action="append", required=True, help="folder of clips")
    ev.add_argument("--labels", action="append", required=True, help="labels TSV of that folder")
    ev.add_argument("--attacks", action="store_true", help="also make and judge attacks")
    ev.add_argument("--work", default=None, help="folder for the attack videos (kept)")
    ev.add_argument("--out", default=None, help="write the report (markdown) here")
    ev.add_argument("--json", default=None, help="write every trial (JSON) here")
    ev.add_argument("--verbose", action="store_true")
    ev.set_defaults(func=cmd_evaluate)
    a = sub.add_parser("accuracy", help="TAR / FAR / EER on labelled photos")
    a.add_argument("--photos", action="append", required=True)
    a.set_defaults(func=cmd_accuracy)
    b = sub.add_parser("bench", help="the pipeline beside the naive every-frame baseline")
    b.add_argument("--clip", required=True)
    b.add_argument("--challenge", default="")
    b.add_argument("--runs", type=int, default=5)
    b.set_defaults(func=cmd_bench)
    c = sub.add_parser("calibrate", help="thresholds from the shared data")
    c.add_argument(
        "--facedata",
        default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "facedata"),
    )
    c.add_argument("--out", default="docs/calibration")
    c.add_argument("--work", default=None, help="keep the attack videos here (reused)")
    c.set_defaults(func=cmd_calibrate)
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except ModelUnavailable as err:
        sys.stderr.write(f"error: {err}\n")
        return 3
    except BiometricsError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
