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
    identities: int
    photos: int
    failed_to_embed: int
    genuine: npt.NDArray[np.float64]
    impostor: npt.NDArray[np.float64]

    def far_frr(self, threshold: float) -> tuple[float, float]:
        far = float((self.impostor >= threshold).mean()) if self.impostor.size else 0.0
        frr = float((self.genuine < threshold).mean()) if self.genuine.size else 0.0
        return far, frr

    def threshold_at_far(self, far: float) -> float:
        """The lowest threshold whose false accept rate is at most ``far``."""
        if not self.impostor.size:
            return 1.0
        ordered = np.sort(self.impostor)[::-1]
        allowed = int(np.floor(far * ordered.size))
        return float(ordered[allowed] + 1e-6) if allowed < ordered.size else float(ordered[-1])

    def tar_at_far(self, far: float) -> float:
        return 1.0 - self.far_frr(self.threshold_at_far(far))[1]

    def eer(self) -> float:
        candidates = np.unique(np.concatenate([self.genuine, self.impostor]))
        best = 1.0
        for t in candidates:
            a, r = self.far_frr(float(t))
            best = min(best, max(a, r))
        return best

    def table(self, thresholds: Iterable[float]) -> list[tuple[float, float, float, int, int]]:
        rows = []
        for t in thresholds:
            far, frr = self.far_frr(t)
            rows.append(
                (t, far, frr, int((self.impostor >= t).sum()), int((self.genuine < t).sum()))
            )
        return rows


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
