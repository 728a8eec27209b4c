"""Face detection with 5 landmarks: YuNet (default, Apache-2.0) or SCRFD (insightface)."""

from __future__ import annotations

from typing import Any, Protocol

import cv2
import numpy as np

from biometrics.geometry import Face, FloatArray, Image

STRIDES = (8, 16, 32)


class Detector(Protocol):
    def detect(self, image: Image, *, max_side: int = 320) -> list[Face]:
        """Faces in ``image`` (BGR), best first, in the image's own pixel coordinates."""
        ...


def _nms(faces: list[Face], threshold: float) -> list[Face]:
    if not faces:
        return []
    boxes = [[f.box[0], f.box[1], f.width, f.height] for f in faces]
    scores = [f.score for f in faces]
    keep = cv2.dnn.NMSBoxes(boxes, scores, 0.0, threshold)
    return sorted((faces[int(i)] for i in np.array(keep).reshape(-1)), key=lambda f: -f.score)


class YuNetDetector:
    """YuNet decoded as OpenCV's FaceDetectorYN does; input BGR 0-255, sides multiples of 32."""

    def __init__(self, session: Any, score_threshold: float = 0.6, nms_threshold: float = 0.3):
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.output_names = [o.name for o in session.get_outputs()]
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold

    def detect(self, image: Image, *, max_side: int = 320) -> list[Face]:
        h, w = image.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        resized = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA) if scale < 1 else image
        pw, ph = (sw + 31) // 32 * 32, (sh + 31) // 32 * 32
        blob = np.zeros((1, 3, ph, pw), dtype=np.float32)
        blob[0, :, :sh, :sw] = resized.transpose(2, 0, 1)
        outputs = dict(
            zip(self.output_names, self.session.run(None, {self.input_name: blob}), strict=True)
        )
        faces: list[Face] = []
        for stride in STRIDES:
            cols = pw // stride
            cls = outputs[f"cls_{stride}"].reshape(-1)
            obj = outputs[f"obj_{stride}"].reshape(-1)
            score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
            idx = np.nonzero(score >= self.score_threshold)[0]
            if idx.size == 0:
                continue
            bbox = outputs[f"bbox_{stride}"].reshape(-1, 4)[idx]
            kps = outputs[f"kps_{stride}"].reshape(-1, 10)[idx]
            rows, cs = np.divmod(idx, cols)
            cx = (cs + bbox[:, 0]) * stride
            cy = (rows + bbox[:, 1]) * stride
            bw = np.exp(bbox[:, 2]) * stride
            bh = np.exp(bbox[:, 3]) * stride
            for j in range(idx.size):
                points = np.empty((5, 2), dtype=np.float32)
                points[:, 0] = (kps[j, 0::2] + cs[j]) * stride
                points[:, 1] = (kps[j, 1::2] + rows[j]) * stride
                box = (
                    float(cx[j] - bw[j] / 2),
                    float(cy[j] - bh[j] / 2),
                    float(cx[j] + bw[j] / 2),
                    float(cy[j] + bh[j] / 2),
                )
                faces.append(Face(box, float(score[idx[j]]), points))
        kept = _nms(faces, self.nms_threshold)
        return [f.scaled(1 / scale) for f in kept] if scale < 1 else kept


class ScrfdDetector:
    """SCRFD through insightface.model_zoo (non-commercial weights; used by the baseline)."""

    def __init__(self, model_path: str, score_threshold: float = 0.5) -> None:
        from insightface.model_zoo import get_model

        self.model = get_model(model_path, providers=["CPUExecutionProvider"])
        self.model.prepare(ctx_id=-1, det_thresh=score_threshold, input_size=(640, 640))

    def detect(self, image: Image, *, max_side: int = 640) -> list[Face]:
        side = max(32, (max_side + 31) // 32 * 32)
        boxes, kps = self.model.detect(image, input_size=(side, side))
        faces = [
            Face(
                (float(b[0]), float(b[1]), float(b[2]), float(b[3])),
                float(b[4]),
                np.asarray(k, dtype=np.float32),
            )
            for b, k in zip(boxes, kps, strict=True)
        ]
        return sorted(faces, key=lambda f: -f.score)


def largest(faces: list[Face]) -> Face | None:
    return max(faces, key=lambda f: f.width * f.height) if faces else None


def points_array(face: Face) -> FloatArray:
    return face.kps
