"""python -m models fetch | list | verify"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from models.fetch import fetch_all
from models.registry import ModelRegistry
from models.store import file_sha256

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = PROJECT.parent / "shared" / "models"


def default_model_dir() -> Path:
    configured = os.environ.get("LIFECERT_MODEL_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("LIFECERT_DATA_DIR", PROJECT / "var")) / "models"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models", description=__doc__)
    parser.add_argument("command", choices=["fetch", "list", "verify"])
    parser.add_argument("--dir", type=Path, default=None, help="model directory")
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=None,
        help=f"local folder to copy from (default: {DEFAULT_SHARED} if it exists)",
    )
    parser.add_argument("--no-download", action="store_true")
    args = parser.parse_args(argv)
    model_dir = (args.dir or default_model_dir()).resolve()
    registry = ModelRegistry.with_packs(model_dir)
    out = sys.stdout.write

    if args.command == "list":
        for spec in registry:
            use = "commercial ok" if spec.commercial_use else "NON-COMMERCIAL"
            out(f"{spec.name:18} {spec.task.value:12} {spec.version}  {use:14} {spec.file}\n")
        return 0
    if args.command == "verify":
        bad = 0
        for spec in registry:
            path = model_dir / spec.file
            ok = path.is_file() and file_sha256(path) == spec.sha256
            bad += not ok
            status = "ok     " if ok else "MISSING" if not path.is_file() else "BAD    "
            out(f"{status} {spec.name}\n")
        return 1 if bad else 0
    source = args.source or (DEFAULT_SHARED if DEFAULT_SHARED.is_dir() else None)
    model_dir.mkdir(parents=True, exist_ok=True)
    results = fetch_all(
        registry,
        model_dir,
        local_source=source,
        allow_download=not args.no_download,
        log=lambda m: print(m, flush=True),  # noqa: T201 - progress for the operator
    )
    for r in results:
        out(f"{r.status:10} {r.name} {r.detail}\n")
    failed = [r for r in results if r.status == "failed"]
    out(f"models in {model_dir}: {len(results) - len(failed)} ready, {len(failed)} failed\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
