"""Face-match accuracy on labelled photos: every genuine and impostor pair, TAR at FAR, EER.

DIR holds one sub-folder per identity (searched recursively: every folder with
images is an identity), or a flat folder with ``identity_groups.json``
({identity: [file, ...]}). Folders named ``quality`` hold unrelated people and
are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
SKIP_FOLDERS = {"quality"}


def identities(root: Path) -> dict[str, list[Path]]:
    """{identity: [photo paths]} under ``root``; identities with one photo are kept (impostors)."""
    groups: dict[str, list[Path]] = {}
    for folder in sorted([root, *[p for p in root.rglob("*") if p.is_dir()]]):
        if folder.name in SKIP_FOLDERS or any(
            part in SKIP_FOLDERS for part in folder.relative_to(root).parts
        ):
            continue
        mapping = folder / "identity_groups.json"
        if mapping.is_file():
            for ident, files in json.loads(mapping.read_text(encoding="utf-8")).items():
                groups[f"{folder.name}/{ident}"] = [
                    folder / f for f in files if (folder / f).is_file()
                ]
            continue
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if images and folder != root:
            groups[str(folder.relative_to(root))] = images
    return groups


@dataclass(frozen=True, slots=True)
class AccuracyReport:
    """Genuine and impostor scores, kept sorted: every statistic is a binary search, so a
    million pairs take seconds (O(n log n)), not a scan per candidate threshold."""

    identities: int
    photos: int
    failed_to_embed: int
    genuine: npt.NDArray[np.float64]
    impostor: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        object.__setattr__(self, "genuine", np.sort(np.asarray(self.genuine, dtype=np.float64)))
        object.__setattr__(self, "impostor", np.sort(np.asarray(self.impostor, dtype=np.float64)))

    def _rates(
        self, thresholds: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """FAR (impostors >= t) and FRR (genuine < t) at each threshold."""
        n_imp, n_gen = max(1, self.impostor.size), max(1, self.genuine.size)
        far = (self.impostor.size - np.searchsorted(self.impostor, thresholds, side="left")) / n_imp
        frr = np.searchsorted(self.genuine, thresholds, side="left") / n_gen
        if not self.impostor.size:
            far = np.zeros_like(thresholds)
        if not self.genuine.size:
            frr = np.zeros_like(thresholds)
        return far.astype(np.float64), frr.astype(np.float64)

    def far_frr(self, threshold: float) -> tuple[float, float]:
        far, frr = self._rates(np.array([threshold]))
        return float(far[0]), float(frr[0])

    def threshold_at_far(self, far: float) -> float:
        """The lowest threshold whose false accept rate is at most ``far``."""
        if not self.impostor.size:
            return 1.0
        ordered = self.impostor[::-1]
        allowed = int(np.floor(far * ordered.size))
        return float(ordered[allowed] + 1e-6) if allowed < ordered.size else float(ordered[-1])

    def tar_at_far(self, far: float) -> float:
        return 1.0 - self.far_frr(self.threshold_at_far(far))[1]

    def eer(self) -> float:
        """The equal error rate: min over every score of max(FAR, FRR)."""
        candidates = np.unique(np.concatenate([self.genuine, self.impostor]))
        if not candidates.size:
            return 0.0
        far, frr = self._rates(candidates)
        return float(np.min(np.maximum(far, frr)))

    def table(self, thresholds: Iterable[float]) -> list[tuple[float, float, float, int, int]]:
        ts = np.array(list(thresholds), dtype=np.float64)
        far, frr = self._rates(ts)
        return [
            (
                float(t),
                float(a),
                float(r),
                round(float(a) * self.impostor.size),
                round(float(r) * self.genuine.size),
            )
            for t, a, r in zip(ts, far, frr, strict=True)
        ]


def evaluate(
    groups: dict[str, list[Path]], embed: Callable[[Path], npt.NDArray[np.float32] | None]
) -> AccuracyReport:
    vectors: list[npt.NDArray[np.float32]] = []
    labels: list[int] = []
    failed = 0
    for label, (_, photos) in enumerate(sorted(groups.items())):
        for photo in photos:
            vec = embed(photo)
            if vec is None:
                failed += 1
                continue
            vectors.append(vec)
            labels.append(label)
    if not vectors:
        empty = np.zeros(0)
        return AccuracyReport(len(groups), 0, failed, empty, empty)
    matrix = np.stack(vectors).astype(np.float64)
    sims = matrix @ matrix.T
    lab = np.array(labels)
    upper = np.triu_indices(len(lab), k=1)
    same = lab[upper[0]] == lab[upper[1]]
    values = sims[upper]
    return AccuracyReport(len(groups), len(vectors), failed, values[same], values[~same])
