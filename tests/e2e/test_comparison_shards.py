"""A comparison run through the real broker and worker: the run's task classifies and stores
the lists and hands each district's shard to the broker; the worker applies the shards, and
the last one finishes the run."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from certification.access import Actor
from certification.feeds import COLUMNS
from certification.services.feeds import import_feed
from certification.vocabulary import AccountKind
from lifecert.demo import PopulationGenerator
from lifecert.demo_load import load_population
from storage.feed_files import open_feed
from tests.e2e.conftest import wait_for

pytestmark = [pytest.mark.postgres]


def test_the_worker_applies_a_runs_shards_and_the_last_one_finishes_the_run(
    worker: Any, runtime: Any, login: Any, tmp_path: Path
) -> None:
    crowd = list(PopulationGenerator(5, runtime.clock.today()).people(240))
    load_population(runtime, crowd)
    day = (runtime.clock.today() - timedelta(days=30)).isoformat()
    feed = tmp_path / "feed.csv"
    lines = [",".join(COLUMNS)] + [
        f"{p.citizen_id},rail_travel,{day},transport,S{n}," for n, p in enumerate(crowd[::2])
    ]
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with feed.open("rb") as fh, runtime.use_case() as ctx:
        import_feed(ctx, Actor.system("test"), open_feed(feed, fh))

    operator = login("ops.shards", None, (), kind=AccountKind.OPERATOR)
    started = operator.post("/api/comparison/runs", json={})
    assert started.status_code == 202, started.get_json()
    run = wait_for(
        lambda: operator.get(f"/api/comparison/runs/{started.get_json()['id']}").get_json(),
        lambda r: r["status"] in ("applied", "failed"),
        timeout=120,
    )
    assert run["status"] == "applied", run
    assert run["applied"]["certified"] > 50 and run["applied"]["verification_dispatched"] > 5
    with runtime.database.connect() as conn:
        shards = conn.execute(
            sa.text(
                "SELECT district_code, status, attempts, handed_at IS NOT NULL "
                "FROM comparison_shards WHERE run_id = :r"
            ),
            {"r": run["id"]},
        ).all()
    assert sorted(s[0] for s in shards) == sorted(run["by_district"])
    assert len(shards) >= 3
    assert {(s[1], s[2], s[3]) for s in shards} == {("done", 1, True)}
