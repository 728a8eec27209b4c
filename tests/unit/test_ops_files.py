"""The operators' dashboard and alert rules use the series the service exposes, and every
series the service exposes has a panel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import Counter, Histogram

from infra import telemetry

OPS = Path(__file__).resolve().parents[2] / "docs" / "ops"


def exposed() -> dict[str, str]:
    """Every series name the service exposes, with the metric it belongs to."""
    names: dict[str, str] = {}
    for value in vars(telemetry).values():
        if isinstance(value, Counter):
            base = value._name
            names[f"{base}_total"] = base
        elif isinstance(value, Histogram):
            base = value._name
            for suffix in ("_bucket", "_sum", "_count"):
                names[base + suffix] = base
    for source in telemetry.BACKLOG_HELP:
        names[f"lifecert_{source}"] = f"lifecert_{source}"
    names["lifecert_backlog_up"] = "lifecert_backlog_up"
    return names


def used(text: str) -> set[str]:
    return set(re.findall(r"\blifecert_[a-z_]+\b", text))


def test_alert_rules_parse_and_use_only_exposed_series():
    text = (OPS / "alerts.yml").read_text(encoding="utf-8")
    rules = yaml.safe_load(text)["groups"][0]["rules"]
    assert rules and all(r["alert"] and r["expr"] and r["annotations"]["summary"] for r in rules)
    unknown = used(" ".join(r["expr"] for r in rules)) - set(exposed())
    assert unknown == set()


def test_the_dashboard_uses_only_exposed_series_and_shows_every_metric():
    board = json.loads((OPS / "grafana-dashboard.json").read_text(encoding="utf-8"))
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p["targets"])
    series = exposed()
    assert used(exprs) - set(series) == set()
    shown = {series[name] for name in used(exprs)}
    assert shown == set(series.values())
