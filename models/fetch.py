"""Fetching model files into the model directory, always checked against their sha256.

Sources, in order: the file already in place; a local folder (``--from``, by default
``../shared/models`` when it exists); the model's source URL. A URL with a
``#member`` fragment names a file inside a zip archive. Nothing downloads at
request time: only this command does.
"""

from __future__ import annotations

import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models.registry import ModelRegistry, ModelSpec
from models.store import file_sha256


@dataclass(frozen=True, slots=True)
class FetchResult:
    name: str
    status: str  # present | copied | downloaded | failed
    detail: str = ""


def _install(tmp: Path, spec: ModelSpec, dest: Path) -> None:
    actual = file_sha256(tmp)
    if actual != spec.sha256:
        raise ValueError(f"sha256 {actual} does not match the registered {spec.sha256}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp.replace(dest)


def _download(url: str, out: Path, timeout: float) -> None:
    base, _, member = url.partition("#")
    if not base.startswith("https://"):
        raise ValueError(f"refusing a non-https source URL: {base}")
    with urllib.request.urlopen(base, timeout=timeout) as resp, out.open("wb") as fh:  # noqa: S310
        shutil.copyfileobj(resp, fh)
    if member:
        with zipfile.ZipFile(out) as archive:
            names = [n for n in archive.namelist() if n.endswith("/" + member) or n == member]
            if not names:
                raise ValueError(f"{member} is not in the archive {base}")
            data = archive.read(names[0])
        out.write_bytes(data)


def fetch_all(
    registry: ModelRegistry,
    model_dir: Path,
    *,
    local_source: Path | None,
    allow_download: bool = True,
    timeout: float = 60.0,
    log: Callable[[str], None] = lambda _m: None,
) -> list[FetchResult]:
    results: list[FetchResult] = []
    for spec in registry:
        dest = model_dir / spec.file
        if dest.is_file() and file_sha256(dest) == spec.sha256:
            results.append(FetchResult(spec.name, "present"))
            continue
        with tempfile.TemporaryDirectory(dir=model_dir if model_dir.exists() else None) as tmpdir:
            tmp = Path(tmpdir) / "model.onnx"
            candidate = local_source / spec.file if local_source else None
            try:
                if candidate is not None and candidate.is_file():
                    shutil.copyfile(candidate, tmp)
                    _install(tmp, spec, dest)
                    results.append(FetchResult(spec.name, "copied", str(candidate)))
                elif allow_download:
                    log(f"downloading {spec.name} from {spec.source_url}")
                    _download(spec.source_url, tmp, timeout)
                    _install(tmp, spec, dest)
                    results.append(FetchResult(spec.name, "downloaded", spec.source_url))
                else:
                    results.append(FetchResult(spec.name, "failed", "not found locally"))
            except (OSError, ValueError, zipfile.BadZipFile) as err:
                results.append(FetchResult(spec.name, "failed", str(err)))
    return results
