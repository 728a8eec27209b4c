"""A comparison run applied set-based leaves exactly what the one-at-a-time path leaves on
the same generated people and feed: periods, certifications and their evidence, tasks,
proposals, notices, audit records and the run's counts; a second run touches only what
changed; a run that dies half-way through applying and is applied again writes nobody
twice."""

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from certification.access import Actor
from certification.feeds import COLUMNS
from certification.services import runs
from certification.services.feeds import import_feed
from certification.services.runs import start_run
from lifecert.demo import PopulationGenerator
from lifecert.demo_load import load_population
from storage.feed_files import open_feed
from tests.conftest import truncate_all
from tests.integration.conftest import audit_actions

PEOPLE = 1200


def write_feed(path: Path, people: list[Any], today: date, tag: str) -> None:
    """70 % seen alive this year, 3 % a cremation record, 1 % both; deterministic."""
    year = today - timedelta(days=330)
    lines = [",".join(COLUMNS)]
    for n, person in enumerate(sorted(people, key=lambda p: p.citizen_id)):
        roll = int(person.citizen_id[-5:-1]) % 100
        day = (year + timedelta(days=n % 300)).isoformat()
        if roll < 70 or roll == 99:
            lines.append(f"{person.citizen_id},rail_travel,{day},transport,{tag}L{n},")
        if roll >= 96:
            lines.append(f"{person.citizen_id},cremation,{day},civil_affairs,{tag}D{n},")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def loaded_with_feed(runtime: Any, people: list[Any], tmp_path: Path) -> Path:
    """The people registered, and the path of a year's feed about them (:func:`write_feed`)."""
    feed = tmp_path / "feed.csv"
    write_feed(feed, people, runtime.clock.today(), "A")
    load_population(runtime, people)
    return feed


def run_once(runtime: Any, feed: Path) -> dict[str, int]:
    with feed.open("rb") as fh, runtime.use_case() as ctx:
        import_feed(ctx, Actor.system("test"), open_feed(feed, fh))
    with runtime.use_case() as ctx:
        run = start_run(ctx, Actor.system("test"))
    done = runtime.execute_comparison(run.id)
    assert done.status == "applied", done.error
    return dict(done.applied)


def state(runtime: Any) -> dict[str, Any]:
    """What the runs wrote, keyed by the person's citizen ID index and the events' record
    ids (the ids drawn differ from one load to the next)."""
    q = {
        "persons": "SELECT citizen_id_key, last_certified_on, period_starts_on, due_on, "
        "period_basis, version FROM persons",
        "certifications": "SELECT p.citizen_id_key, c.certified_at, c.certified_on, c.channel, "
        "c.note, (SELECT string_agg(e.source_record_id, ',' ORDER BY e.source_record_id) "
        "FROM department_events e WHERE 'department_event:' || e.id = ANY (SELECT "
        "json_array_elements_text(c.evidence))) FROM certifications c JOIN persons p "
        "ON p.id = c.person_id",
        "tasks": "SELECT p.citizen_id_key, t.route, t.received_on, t.deadline_on, t.status, "
        "t.source, t.reason FROM verification_tasks t JOIN persons p ON p.id = t.person_id",
        "proposals": "SELECT p.citizen_id_key, x.kind, x.reason, x.status, x.auto_applied "
        "FROM decision_proposals x JOIN persons p ON p.id = x.person_id",
        "notices": "SELECT p.citizen_id_key, n.kind, n.data::text, n.urgent FROM notices n "
        "JOIN persons p ON p.id = n.person_id",
        "audit": "SELECT action, entity_type FROM audit_events",
    }
    with runtime.database.connect() as conn:
        return {
            name: Counter(tuple(r) for r in conn.execute(sa.text(sql))) for name, sql in q.items()
        }


@pytest.fixture
def crowd(runtime: Any) -> list[Any]:
    return list(PopulationGenerator(11, runtime.clock.today()).people(PEOPLE))


def test_the_bulk_path_leaves_what_the_one_at_a_time_path_leaves(
    runtime: Any, crowd: list[Any], tmp_path: Path, monkeypatch
) -> None:
    today = runtime.clock.today()
    feed, second = tmp_path / "feed.csv", tmp_path / "second.csv"
    write_feed(feed, crowd, today, "A")
    write_feed(second, crowd[::50], today + timedelta(days=0), "B")  # 2 % seen again

    load_population(runtime, crowd)
    bulk_counts = [run_once(runtime, feed), run_once(runtime, second)]
    bulk = state(runtime)

    truncate_all(runtime.database)
    monkeypatch.setattr(runs, "BULK", {})  # every list one person at a time
    load_population(runtime, crowd)
    row_counts = [run_once(runtime, feed), run_once(runtime, second)]
    one_by_one = state(runtime)

    assert bulk_counts == row_counts
    assert bulk_counts[0]["certified"] > 500 and bulk_counts[0]["verification_dispatched"] > 50
    assert bulk_counts[0]["suspension_proposed"] >= 3
    assert bulk_counts[1].get("certified", 0) < 30  # the second run: only what changed
    for name in bulk:
        assert bulk[name] == one_by_one[name], name


def test_a_run_that_dies_while_applying_is_applied_again_without_doubles(
    runtime: Any, crowd: list[Any], tmp_path: Path, monkeypatch
) -> None:
    feed = loaded_with_feed(runtime, crowd, tmp_path)
    with runtime.database.connect() as conn:  # the register's own, before any run
        loaded = conn.scalar(sa.text("SELECT count(*) FROM certifications"))
    real = runs._dispatch_in_bulk

    def dies(*args: Any) -> Any:  # the worker is killed on the first shard's to-verify list
        raise SystemExit("worker killed")

    monkeypatch.setattr(runs, "BULK", {**runs.BULK, "to_verify": dies})
    with pytest.raises(SystemExit):
        run_once(runtime, feed)
    with runtime.database.connect() as conn:
        certified = conn.scalar(sa.text("SELECT count(*) FROM certifications")) - loaded
        run_id = conn.scalar(sa.text("SELECT id FROM comparison_runs"))
        shards = dict(
            conn.execute(sa.text("SELECT status, count(*) FROM comparison_shards GROUP BY 1")).all()
        )
    assert certified > 0 and shards["running"] == 1 and shards["queued"] >= 2
    monkeypatch.setattr(runs, "BULK", {**runs.BULK, "to_verify": real})
    contexts = runtime.run_contexts()
    applied = runs.resume_apply(contexts, run_id)
    assert "comparison.resumed" in audit_actions(runtime)
    # the dead shard's people certified before are passed over; the others are new
    assert applied["qualified_already_certified"] >= certified
    assert applied["verification_dispatched"] > 50
    with runtime.database.connect() as conn:
        total = conn.scalar(sa.text("SELECT count(*) FROM certifications")) - loaded
        assert total == certified + applied["certified"]
        for table, made_by_runs in (
            ("certifications", f"source_ref = 'comparison_run:{run_id}'"),
            ("verification_tasks", "true"),
        ):
            doubles = conn.scalar(
                sa.text(
                    f"SELECT count(*) FROM (SELECT person_id FROM {table} WHERE "
                    f"{made_by_runs} GROUP BY person_id HAVING count(*) > 1) x"
                )
            )
            assert doubles == 0, table
        assert conn.scalar(sa.text("SELECT status FROM comparison_runs")) == "applied"
        attempts = conn.execute(
            sa.text("SELECT status, max(attempts) FROM comparison_shards GROUP BY 1")
        ).all()
        assert attempts == [("done", 2)]  # every shard done; the dead one taken over once


class _RecordingQueue:
    """A broker that takes the districts' shards and keeps them for the test to run (or
    refuses them while it is down)."""

    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.shards: list[tuple[Any, str]] = []

    def enqueue_comparison_shard(self, run_id: Any, district_code: str) -> None:
        from certification.ports import QueueUnavailable

        if self.down:
            raise QueueUnavailable("the task queue is unreachable: connection refused")
        self.shards.append((run_id, district_code))


def _classified(runtime: Any, feed: Path, queue: Any) -> Any:
    """A run classified and stored, its shards handed to ``queue``, none applied yet."""
    with feed.open("rb") as fh, runtime.use_case() as ctx:
        import_feed(ctx, Actor.system("test"), open_feed(feed, fh))
    with runtime.use_case() as ctx:
        run = start_run(ctx, Actor.system("test"))
    contexts = runtime.run_contexts()
    running = runs.execute_run(contexts, runtime.comparison_engine, run.id, shards=queue)
    assert running.status == "running" and running.progress == runs.APPLYING_LISTS
    return running


def test_shards_applied_at_once_by_two_workers_leave_what_one_after_another_leaves(
    runtime: Any, crowd: list[Any], tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    feed = loaded_with_feed(runtime, crowd, tmp_path)
    one_after_another = run_once(runtime, feed)
    expected = state(runtime)

    truncate_all(runtime.database)
    load_population(runtime, crowd)
    queue = _RecordingQueue()
    run = _classified(runtime, feed, queue)
    districts = sorted(d for _, d in queue.shards)
    assert len(districts) >= 3 and districts == sorted(run.by_district)
    contexts = runtime.run_contexts()
    with ThreadPoolExecutor(2) as workers:  # two workers, each its own connections
        done = list(workers.map(lambda s: runs.apply_shard(contexts, *s), queue.shards))
    finished = [r for r in done if r is not None and r.status == "applied"]
    assert len(finished) == 1  # exactly one shard finished the run
    assert dict(finished[0].applied) == one_after_another
    assert runs.apply_shard(contexts, *queue.shards[0]) is None  # delivered again: done
    assert state(runtime) == expected


def test_shards_the_broker_did_not_take_wait_for_the_sweep(
    runtime: Any, crowd: list[Any], tmp_path: Path
) -> None:
    from datetime import timedelta as td

    from certification.services.jobs import requeue_jobs

    feed = loaded_with_feed(runtime, crowd[:300], tmp_path)
    run = _classified(runtime, feed, _RecordingQueue(down=True))
    assert "queue.deferred" in audit_actions(runtime)  # recorded, not lost
    back = _RecordingQueue()
    with runtime.use_case() as ctx:
        assert requeue_jobs(ctx, back, older_than=td(0)) == len(run.by_district)
    with runtime.use_case() as ctx:  # handed now: the next sweep leaves them alone
        assert requeue_jobs(ctx, _RecordingQueue(), older_than=td(0)) == 0
    contexts = runtime.run_contexts()
    for shard in back.shards:
        runs.apply_shard(contexts, *shard)
    with runtime.use_case() as ctx:
        applied = ctx.uow.comparison.get(run.id)
        assert applied is not None and applied.status == "applied"
        assert sum(applied.applied.values()) > 0


def test_each_batch_of_a_walk_reads_from_where_the_last_one_stopped(
    runtime: Any, crowd: list[Any], tmp_path: Path
) -> None:
    """The walks' queries (the next people of a list with a sign of life since their last
    certification, or with no open task) read every table they join from the batch's start,
    not from its first row: at ten million a merge join reading the persons' index from the
    top for every batch made the apply quadratic."""
    from tests.integration.test_list_plans import LARGE, forget_statistics, parent_of

    feed = loaded_with_feed(runtime, crowd, tmp_path)
    walks: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if "GROUP BY comparison_entries.person_id" in statement:
            walks.append((statement, parameters))

    sa.event.listen(runtime.database, "before_cursor_execute", seen)
    try:
        run_once(runtime, feed)
    finally:
        sa.event.remove(runtime.database, "before_cursor_execute", seen)
    assert any("JOIN persons" in w and "comparison_entries.news" in w for w, _ in walks)
    assert any("verification_tasks" in w for w, _ in walks)

    by_person = {
        "pk_persons",
        "ix_verification_tasks_person",
        "ix_comparison_entries_walk",
        "ix_comparison_entries_district",
        "ix_comparison_entries_news",
    }

    def unbounded(plan: dict[str, Any]) -> list[str]:
        """Indexes in person order read with no condition on the person: from the top."""
        found = []
        if parent_of(plan.get("Index Name", "")) in by_person:
            cond = plan.get("Index Cond", "")
            if "id >" not in cond and "id =" not in cond:
                found.append(f"{plan.get('Relation Name')} {plan.get('Index Name')} {cond}")
        for child in plan.get("Plans", []):
            found.extend(unbounded(child))
        return found

    # A run's entries are analysed as they are stored, before any walk: they keep their
    # statistics. (Which of a run's indexes the news walk reads — the district's or the
    # news' own — follows the share of news, which 1,200 people cannot show for ten million:
    # what is checked is that either is read from the batch's start.)
    forget_statistics(runtime.database, LARGE - {"comparison_entries"})
    with runtime.database.connect() as conn:
        # the merge joins a big city's tables get (the planner picks them at ten million)
        conn.exec_driver_sql("SET enable_hashjoin = off")
        conn.exec_driver_sql("SET enable_nestloop = off")
        conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in walks:
            plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
            tree = plan.scalar()[0]["Plan"]
            assert unbounded(tree) == [], statement


def test_a_shard_is_left_to_its_live_worker_and_taken_over_once_its_worker_is_silent(
    runtime: Any, crowd: list[Any], tmp_path: Path
) -> None:
    from datetime import timedelta as td

    from certification.services.jobs import requeue_jobs
    from certification.verification import SHARD_SILENT_AFTER

    feed = loaded_with_feed(runtime, crowd[:300], tmp_path)
    queue = _RecordingQueue()
    run = _classified(runtime, feed, queue)
    run_id, district = queue.shards[0]
    now = runtime.clock.now()
    with runtime.use_case() as ctx:  # a worker takes the shard, then dies without a word
        assert ctx.uow.comparison.claim_shard(run_id, district, now, stale_before=now)
        ctx.uow.commit()
    contexts = runtime.run_contexts()
    assert runs.apply_shard(contexts, run_id, district) is None  # a second delivery: its
    with runtime.use_case() as ctx:  # worker is alive, as far as anyone knows
        assert requeue_jobs(ctx, _RecordingQueue(), older_than=td(hours=1)) == 0
    with runtime.database.begin() as conn:  # ten minutes and more of silence
        conn.execute(
            sa.text(
                "UPDATE comparison_shards SET beat_at = :t, handed_at = :t WHERE district_code = :d"
            ),
            {"t": now - SHARD_SILENT_AFTER - td(seconds=1), "d": district},
        )
    sweep = _RecordingQueue()
    with runtime.use_case() as ctx:
        assert requeue_jobs(ctx, sweep, older_than=td(hours=1)) == 1
    with runtime.use_case() as ctx:  # sent once, not at every sweep
        assert requeue_jobs(ctx, _RecordingQueue(), older_than=td(hours=1)) == 0
    assert sweep.shards == [(run_id, district)]
    for shard in queue.shards:  # the resent one is taken over, the others applied
        runs.apply_shard(contexts, *shard)
    with runtime.database.connect() as conn:
        attempts = conn.scalar(
            sa.text("SELECT attempts FROM comparison_shards WHERE district_code = :d"),
            {"d": district},
        )
        status = conn.scalar(sa.text("SELECT status FROM comparison_runs"))
    assert attempts == 2 and status == "applied"
    assert run.id == run_id


def test_the_lost_list_reads_proposals_once_a_batch_and_passes_over_those_waiting(
    runtime: Any, crowd: list[Any], tmp_path: Path
) -> None:
    """Whether a benefit already has a suspension proposal, or had one dismissed on the same
    records, is read once per batch, not once per person (6 ms a proposal at ten million);
    a run that finds a proposal still waiting for the benefit passes over it without
    loading anyone, and counts it."""
    feed = tmp_path / "feed.csv"
    day = (runtime.clock.today() - timedelta(days=1)).isoformat()
    lines = [",".join(COLUMNS)] + [
        f"{p.citizen_id},cremation,{day},civil_affairs,D{n}," for n, p in enumerate(crowd[:400])
    ]
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    load_population(runtime, crowd[:400])
    reads: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().startswith("SELECT decision_proposals."):  # proposals loaded
            reads.append(statement)

    sa.event.listen(runtime.database, "before_cursor_execute", seen)
    try:
        first = run_once(runtime, feed)
        read_first = len(reads)
        again = run_once(runtime, feed)  # the same records: every proposal is still open
    finally:
        sa.event.remove(runtime.database, "before_cursor_execute", seen)
    proposed = first["suspension_proposed"] + first.get("suspended_automatically", 0)
    assert proposed >= 40, first
    assert again["lost_already_proposed"] == proposed
    assert "suspension_proposed" not in again
    with runtime.database.connect() as conn:
        districts = conn.scalar(
            sa.text("SELECT count(DISTINCT district_code) FROM decision_proposals")
        )
    assert 0 < read_first <= districts < proposed  # one batch a district here
    assert len(reads) == read_first  # the second run loaded no proposal


def test_people_seen_alive_only_before_their_benefit_started_are_counted_not_walked(
    runtime: Any, crowd: list[Any], tmp_path: Path, monkeypatch
) -> None:
    """A sign of life from before a person's first benefit started certifies nothing
    (``qualified_before_benefit``); it stays news to every run, so the engine marks it and
    the walk counts such people instead of locking and reading each of them."""
    feed = loaded_with_feed(runtime, crowd[:300], tmp_path)
    late = runtime.clock.today() - timedelta(days=5)  # after every record of the feed
    with runtime.database.begin() as conn:
        moved = set(
            conn.scalars(
                sa.text(
                    "UPDATE entitlements SET start_date = :late WHERE person_id IN "
                    "(SELECT id FROM persons ORDER BY id LIMIT 60) RETURNING person_id"
                ),
                {"late": late},
            )
        )
    walked: set[Any] = set()
    apply_entries = runs._apply_entries

    def watched(contexts: Any, actor: Any, run_id: Any, list_name: str, entries: Any) -> Any:
        if list_name == "qualified":
            walked.update(e["person_id"] for e in entries)
        return apply_entries(contexts, actor, run_id, list_name, entries)

    monkeypatch.setattr(runs, "_apply_entries", watched)
    counts = run_once(runtime, feed)
    with runtime.database.connect() as conn:
        before = set(
            conn.scalars(sa.text("SELECT person_id FROM comparison_entries WHERE before_benefit"))
        )
        certified = set(
            conn.scalars(
                sa.text("SELECT person_id FROM certifications WHERE source_ref LIKE 'comparison%'")
            )
        )
    assert len(before & moved) >= 20  # (and a few whose benefit began this year anyway)
    assert counts["qualified_before_benefit"] == len(before)
    assert not before & walked
    assert not before & certified
    assert counts["certified"] > 50 and walked  # the others were walked and certified


def test_a_shards_walk_holds_no_transaction_open_while_its_batches_are_applied(
    runtime: Any, crowd: list[Any], tmp_path: Path, monkeypatch
) -> None:
    """Each page of a list is read in a transaction of its own: a big district's walk must
    not hold a snapshot (and vacuum back) for the minutes its batches take."""
    feed = loaded_with_feed(runtime, crowd[:300], tmp_path)
    small = replace(runtime.procedure, apply_batch=7, bulk_apply_batch=7)
    monkeypatch.setattr(runtime, "procedure", small)
    held: list[int] = []
    apply_entries = runs._apply_entries

    def watched(*args: Any) -> Any:
        with runtime.database.connect() as conn:
            held.append(
                conn.scalar(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND state = 'idle in transaction'"
                    )
                )
            )
        return apply_entries(*args)

    monkeypatch.setattr(runs, "_apply_entries", watched)
    run_once(runtime, feed)
    assert len(held) > 20 and set(held) == {0}
