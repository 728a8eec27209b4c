"""ONNX Runtime sessions: created lazily, verified by hash, cached per process."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.registry import ModelRegistry, ModelSpec, Task

FETCH_HINT = "python -m models fetch"


class ModelUnavailable(Exception):
    """A model file is missing or does not match its registered hash."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    """Providers and threads. Per-frame models (detection, landmarks) run beside the video
    decoder, one thread each; the models that run once per video on a batch of frames
    (anti-spoof, recognition) run after decoding and may use every core."""

    providers: Sequence[str] = ("CPUExecutionProvider",)
    intra_op_threads: int = 1
    batch_intra_op_threads: int = 1
    inter_op_threads: int = 1

    def threads_for(self, task: Task) -> int:
        if task in (Task.ANTISPOOF, Task.RECOGNITION):
            return self.batch_intra_op_threads
        return self.intra_op_threads


@dataclass
class ModelStore:
    """Hands out one verified inference session per model and process."""

    model_dir: Path
    registry: ModelRegistry
    options: RuntimeOptions = field(default_factory=RuntimeOptions)
    _sessions: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, model_dir: Path, options: RuntimeOptions | None = None) -> ModelStore:
        return cls(model_dir, ModelRegistry.with_packs(model_dir), options or RuntimeOptions())

    def path_of(self, spec: ModelSpec) -> Path:
        return self.model_dir / spec.file

    def verify(self, spec: ModelSpec) -> Path:
        path = self.path_of(spec)
        if not path.is_file():
            raise ModelUnavailable(
                f"model {spec.name} is missing: {path} does not exist. "
                f"Fetch the models with `{FETCH_HINT}` (model directory: {self.model_dir})."
            )
        actual = file_sha256(path)
        if actual != spec.sha256:
            raise ModelUnavailable(
                f"model {spec.name} at {path} has sha256 {actual}, expected {spec.sha256}; "
                f"refusing to load it. Re-fetch it with `{FETCH_HINT}`."
            )
        return path

    def session(self, name: str) -> Any:
        """The onnxruntime.InferenceSession for ``name`` (created on first use)."""
        existing = self._sessions.get(name)
        if existing is not None:
            return existing
        with self._lock:
            existing = self._sessions.get(name)
            if existing is not None:
                return existing
            import onnxruntime as ort

            spec = self.registry.get(name)
            path = self.verify(spec)
            so = ort.SessionOptions()
            so.intra_op_num_threads = self.options.threads_for(spec.task)
            so.inter_op_num_threads = self.options.inter_op_threads
            so.log_severity_level = 3
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = ort.InferenceSession(str(path), so, providers=list(self.options.providers))
            self._sessions[name] = session
            return session

    def loaded(self) -> list[str]:
        return sorted(self._sessions)

    def warm_up(self, names: Sequence[str]) -> None:
        for name in names:
            self.session(name)
