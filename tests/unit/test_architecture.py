"""The rooms depend one way: each top-level package imports only the packages below it.

certification is the centre; storage and infra implement its ports; worker, api and console
drive it; lifecert (the composition root and the command line) wires them all. A cycle here
is what once let a test's app reconfigure another's task queue."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# each package with the packages it may import (everything below it)
ALLOWED: dict[str, set[str]] = {
    "certification": set(),
    "models": set(),
    "biometrics": {"models"},
    "storage": {"certification"},
    "infra": {"certification", "storage", "biometrics", "models"},
    "worker": {"certification", "storage", "infra"},
    "api": {"certification", "storage", "infra"},
    "console": {"certification", "storage", "infra", "api"},
    "lifecert": {
        "certification",
        "storage",
        "infra",
        "biometrics",
        "models",
        "worker",
        "api",
        "console",
    },
}


def imports_of(package: str) -> dict[str, list[str]]:
    """Top-level packages of ours that ``package`` imports (at any place in a module, also
    inside functions and under TYPE_CHECKING), with where."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in ALLOWED and top != package:
                    found.setdefault(top, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_package_is_listed():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "benchmarks"}
    assert packages == set(ALLOWED)


def test_packages_import_only_what_lies_below_them():
    wrong = {
        f"{package} -> {other}": where
        for package, allowed in ALLOWED.items()
        for other, where in imports_of(package).items()
        if other not in allowed
    }
    assert wrong == {}


def test_the_allowed_graph_has_no_cycle():
    order: list[str] = []
    remaining = dict(ALLOWED)
    while remaining:
        ready = [p for p, deps in remaining.items() if deps <= set(order)]
        assert ready, f"a cycle among {sorted(remaining)}"
        order.extend(sorted(ready))
        for p in ready:
            del remaining[p]
