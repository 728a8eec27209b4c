"""What each model is: file, hash, source, pre-processing and licence.

The built-in entries are the small public models this project is developed and
tested with. Operators add production packs (an insightface pack such as
``buffalo_l``, the insightface liveness addon) by dropping a pack manifest
(JSON, same fields) into ``<model dir>/packs/``; they load through the same
registry and the same hash check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class Task(StrEnum):
    DETECTION = "detection"
    LANDMARKS = "landmarks"
    RECOGNITION = "recognition"
    ANTISPOOF = "antispoof"


class ModelRegistryError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Preprocessing:
    """How a crop becomes the input tensor: channel order, scaling, crop rule."""

    input_size: tuple[int, int]  # (width, height); (0, 0) = dynamic
    channels: str  # "rgb" or "bgr"
    mean: float  # x' = (x - mean) / std
    std: float
    crop: str  # how the face crop is made (documentation for operators)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    task: Task
    file: str  # path relative to the model directory
    sha256: str
    source_url: str
    licence: str
    preprocessing: Preprocessing
    output: str
    commercial_use: bool
    notes: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """A short, stable identity for templates: the first 12 hex digits of the hash."""
        return self.sha256[:12]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["task"] = self.task.value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelSpec:
        try:
            pre = data["preprocessing"]
            return cls(
                name=str(data["name"]),
                task=Task(data["task"]),
                file=str(data["file"]),
                sha256=str(data["sha256"]).lower(),
                source_url=str(data["source_url"]),
                licence=str(data["licence"]),
                preprocessing=Preprocessing(
                    input_size=(int(pre["input_size"][0]), int(pre["input_size"][1])),
                    channels=str(pre["channels"]),
                    mean=float(pre["mean"]),
                    std=float(pre["std"]),
                    crop=str(pre["crop"]),
                ),
                output=str(data["output"]),
                commercial_use=bool(data.get("commercial_use", False)),
                notes=str(data.get("notes", "")),
                extra=dict(data.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise ModelRegistryError(f"model manifest entry is incomplete: {err}") from err


_GH = "https://github.com"

BUILTIN: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="yunet_s",
        task=Task.DETECTION,
        file="detection/yunet_s_dynamic.onnx",
        sha256="daede24002cc8590f457998cc5e6c9e8b82f45f6bd969506a8913cd4ed10a2d3",
        source_url=f"{_GH}/ShiqiYu/libfacedetection.train/raw/0047ac2/onnx/yunet_s_dynamic.onnx",
        licence="Apache-2.0",
        preprocessing=Preprocessing((0, 0), "bgr", 0.0, 1.0, "whole frame, sides multiples of 32"),
        output="cls/obj/bbox/kps per stride 8/16/32; score = sqrt(cls*obj)",
        commercial_use=True,
    ),
    ModelSpec(
        name="scrfd_500m",
        task=Task.DETECTION,
        file="detection/scrfd_500m_bnkps.onnx",
        sha256="5e4447f50245bbd7966bd6c0fa52938c61474a04ec7def48753668a9d8b4ea3a",
        source_url=f"{_GH}/deepinsight/insightface/releases/download/v0.7/buffalo_s.zip#det_500m.onnx",
        licence="InsightFace models: non-commercial research only",
        preprocessing=Preprocessing((640, 640), "rgb", 127.5, 128.0, "whole frame, letterboxed"),
        output="9 outputs: scores/bboxes/kps per stride, 2 anchors per cell",
        commercial_use=False,
        notes="Loaded through insightface.model_zoo.get_model (SCRFD). Used by the naive baseline.",
    ),
    ModelSpec(
        name="facemesh_468",
        task=Task.LANDMARKS,
        file="landmarks/facemesh_468.onnx",
        sha256="2ece916c568172aafde5d8beaf0198c65b10691a618e551c4b1015a32116e326",
        source_url=f"{_GH}/placrosse/Zaru/raw/246d88c/3rdparty/onnx/face_landmark.onnx",
        licence="Apache-2.0",
        preprocessing=Preprocessing(
            (192, 192), "rgb", 127.5, 127.5, "square face crop, eyes level"
        ),
        output="468 x (x, y, z) in crop pixels; face-presence logit",
        commercial_use=True,
    ),
    ModelSpec(
        name="peppa_68",
        task=Task.LANDMARKS,
        file="landmarks/peppa_slim160_68.onnx",
        sha256="6cf9b509fba3a3c5f89cbcfb19ce0d503254da1d854e9e977a3c45ba5d16dab8",
        source_url=f"{_GH}/placrosse/Zaru/raw/246d88c/3rdparty/onnx/slim_160_latest.onnx",
        licence="Apache-2.0",
        preprocessing=Preprocessing((160, 160), "rgb", 127.5, 127.5, "square face crop"),
        output="68 x 2 points, 3 pose angles, 4 state values",
        commercial_use=True,
        notes="Registered for operators; the pipeline uses FaceMesh.",
    ),
    ModelSpec(
        name="mobilefacenet_128",
        task=Task.RECOGNITION,
        file="recognition/mobilefacenet_128.onnx",
        sha256="0c9ad2a83969fc82155706f7020e6926b4a1a90a5476fff4a5588dfe207f64a4",
        source_url=f"{_GH}/hyeonjunchoi/AutoTracking_RassibarryPi/raw/414044f/mobilefacenet.onnx",
        licence="Apache-2.0 (weights trained on MS1M)",
        preprocessing=Preprocessing((112, 112), "rgb", 127.5, 127.5, "ArcFace 5-point alignment"),
        output="128-d embedding (L2-normalise)",
        commercial_use=True,
    ),
    ModelSpec(
        name="w600k_mbf",
        task=Task.RECOGNITION,
        file="recognition/w600k_mbf_int8.onnx",
        sha256="7caa7fb0ad6c37b33e6c59f6411084b487aaabd596bba645d2cce391a5871120",
        source_url=f"{_GH}/nidheerakesh/offlineid/raw/60d7b08/models/mobilefacenet_int8.onnx",
        licence="InsightFace models: non-commercial research only",
        preprocessing=Preprocessing((112, 112), "rgb", 127.5, 127.5, "ArcFace 5-point alignment"),
        output="512-d embedding (L2-normalise)",
        commercial_use=False,
        notes="buffalo_s w600k_mbf, int8. Loads through insightface.model_zoo (ArcFaceONNX).",
    ),
    ModelSpec(
        name="minifasnet_v2",
        task=Task.ANTISPOOF,
        file="antispoof/minifasnet_v2_scale2.7.onnx",
        sha256="23c35d6762dca2a07e17979b0f76263cc9ffea6e3d55c7ded23108a625bd79f7",
        source_url=f"{_GH}/nidheerakesh/offlineid/raw/60d7b08/models/fasnet_2_7.onnx",
        licence="Apache-2.0",
        preprocessing=Preprocessing((80, 80), "bgr", 0.0, 1.0, "face box x2.7, kept inside"),
        output="3 logits; softmax class 1 = real",
        commercial_use=True,
        extra={"scale": 2.7},
    ),
    ModelSpec(
        name="minifasnet_v1se",
        task=Task.ANTISPOOF,
        file="antispoof/minifasnet_v1se_scale4.0.onnx",
        sha256="993e41cad1ca54f02ae4a67bb3f6f41e8091ebc5310f295fa823c51747649384",
        source_url=f"{_GH}/nidheerakesh/offlineid/raw/60d7b08/models/fasnet_4_0.onnx",
        licence="Apache-2.0",
        preprocessing=Preprocessing((80, 80), "bgr", 0.0, 1.0, "face box x4.0, kept inside"),
        output="3 logits; softmax class 1 = real",
        commercial_use=True,
        extra={"scale": 4.0},
    ),
    ModelSpec(
        name="minifas128",
        task=Task.ANTISPOOF,
        file="antispoof/minifas128.onnx",
        sha256="af2381b88f38769222ed93379e12444e2a50814575de1c46170de570c55a42b6",
        source_url=f"{_GH}/johnraivenolazo/face-antispoof-onnx/raw/2b9830b/models/best/98.20/best_model.onnx",
        licence="Apache-2.0 (trained on CelebA-Spoof, non-commercial data)",
        preprocessing=Preprocessing(
            (128, 128), "rgb", 0.0, 255.0, "square 1.5x longer side, reflect pad"
        ),
        output="2 logits [real, spoof]",
        commercial_use=False,
        extra={"scale": 1.5},
    ),
)


class ModelRegistry:
    def __init__(self, specs: Iterable[ModelSpec]) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ModelSpec) -> None:
        if len(spec.sha256) != 64 or any(c not in "0123456789abcdef" for c in spec.sha256):
            raise ModelRegistryError(f"model {spec.name}: sha256 must be 64 hex digits")
        if spec.file.startswith("/") or ".." in Path(spec.file).parts:
            raise ModelRegistryError(f"model {spec.name}: file must be relative to the model dir")
        self._specs[spec.name] = spec

    def get(self, name: str) -> ModelSpec:
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(sorted(self._specs))
            raise ModelRegistryError(f"unknown model {name!r}; registered: {known}") from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._specs.values())

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def by_task(self, task: Task) -> list[ModelSpec]:
        return [s for s in self._specs.values() if s.task is task]

    @classmethod
    def with_packs(cls, model_dir: Path) -> ModelRegistry:
        """The built-in models plus every pack manifest in ``<model_dir>/packs/*.json``."""
        registry = cls(BUILTIN)
        packs = model_dir / "packs"
        if packs.is_dir():
            for manifest in sorted(packs.glob("*.json")):
                for spec in load_pack(manifest):
                    registry.add(spec)
        return registry


def load_pack(path: Path) -> list[ModelSpec]:
    """A pack manifest: {"pack": name, "models": [ModelSpec fields...]}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelRegistryError(f"cannot read pack manifest {path}: {err}") from err
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list):
        raise ModelRegistryError(f"pack manifest {path} has no 'models' list")
    return [ModelSpec.from_json(entry) for entry in models]
