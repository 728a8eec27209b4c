"""Face embeddings and enrolled templates.

A template records which recognition model made it (name and a version taken
from the model file's hash). Comparing a template with an embedding from
another model is refused, never silently computed.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from biometrics.errors import TemplateMismatch
from biometrics.geometry import Image

Vector = npt.NDArray[np.float32]


class Embedder:
    def __init__(self, session: Any, name: str, version: str) -> None:
        self.session = session
        self.name = name
        self.version = version
        self.input_name = session.get_inputs()[0].name

    def embed(self, aligned: Image) -> Vector:
        """L2-normalised embedding of one ArcFace-aligned 112x112 BGR crop."""
        rgb = cv2.cvtColor(aligned, cv2.COLOR_BGR2RGB).astype(np.float32)
        tensor = ((rgb - 127.5) / 127.5).transpose(2, 0, 1)[np.newaxis]
        raw = np.asarray(self.session.run(None, {self.input_name: tensor})[0], dtype=np.float32)
        vec = raw.reshape(-1)
        norm = float(np.linalg.norm(vec))
        out: Vector = vec / norm if norm > 0 else vec
        return out


@dataclass(frozen=True, slots=True)
class Template:
    """An enrolled face (登记照片模板): one embedding and where it came from."""

    model: str
    model_version: str
    vector: Vector
    source: str = "photo"  # photo | verified_frame
    quality: float = 0.0
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "model_version": self.model_version,
            "dim": int(self.vector.shape[0]),
            "vector": base64.b64encode(self.vector.astype("<f4").tobytes()).decode("ascii"),
            "source": self.source,
            "quality": round(self.quality, 4),
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Template:
        raw = base64.b64decode(str(data["vector"]))
        vector = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        if vector.shape[0] != int(data["dim"]):
            raise ValueError("template vector does not have the stated dimension")
        return cls(
            model=str(data["model"]),
            model_version=str(data["model_version"]),
            vector=vector,
            source=str(data.get("source", "photo")),
            quality=float(data.get("quality", 0.0)),
            created_at=str(data.get("created_at", "")),
        )


def compatible(templates: Sequence[Template], embedder: Embedder) -> list[Template]:
    """The templates made by this very model; refuses if there are none."""
    usable = [
        t for t in templates if t.model == embedder.name and t.model_version == embedder.version
    ]
    if templates and not usable:
        made_by = sorted({f"{t.model}@{t.model_version}" for t in templates})
        raise TemplateMismatch(
            f"the enrolled templates were made by {', '.join(made_by)}, the engine uses "
            f"{embedder.name}@{embedder.version}; re-enrol the person from their photo"
        )
    return usable


def similarity(templates: Sequence[Template], embeddings: Sequence[Vector]) -> float:
    """Best template, mean of the three most similar frames: robust to one bad frame."""
    if not templates or not embeddings:
        return -1.0
    best = -1.0
    for template in templates:
        sims = sorted((float(np.dot(template.vector, e)) for e in embeddings), reverse=True)
        best = max(best, float(np.mean(sims[:3])))
    return best
