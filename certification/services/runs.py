"""Comparison runs (Art. 11-14): :func:`start_run` records a run; :func:`execute_run` (a
worker task) exports the active entitlements and the events, classifies them with the
engine, stores every entry with its evidence and applies the lists: *qualified* → a
data-comparison certification dated on the newest sign of life (the period restarts),
*lost* → a suspension proposal for a district/county clerk (or applied at once for
configured event kinds), *to verify* → a verification task for the person's township.

The lists are applied a district at a time (:func:`apply_shard`, one worker task each, the
last one done finishes the run). The qualified and to-verify lists are applied set-based a
batch of 5,000 people at a time (the same rules, written together); people with open work,
the lost list and any batch that fails take the one-at-a-time path. A second run walks only
what changed; a shard whose worker died is taken over, and an operator resumes a run whose
workers stopped with :func:`resume_apply` (decision 0022)."""

from __future__ import annotations

import logging
import re
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from time import monotonic
from typing import Any
from uuid import UUID

from certification import access
from certification.access import Actor, Scope
from certification.comparison import ComparisonWindow
from certification.errors import (
    AccessDenied,
    DomainError,
    RuleViolation,
    ValidationFailed,
)
from certification.feeds import (
    NATIONAL_CROSS_REGION,
)
from certification.model import NewCertification, Person, latest_certification
from certification.periods import current_period
from certification.ports import (
    Clock,
    ComparisonEngine,
    Page,
    PageRequest,
    PeriodUpdate,
    PersonBrief,
    TaskQueue,
    UnitOfWorkFactory,
)
from certification.regions import CITY_CODE, DISTRICTS
from certification.services.access_log import record_read
from certification.services.certifications import audit_certified, certify, new_certification
from certification.services.context import ProcedureConfig, UseCaseContext
from certification.services.jobs import hand_over
from certification.services.persons import load_person
from certification.services.proposals import confirm_proposal
from certification.services.proposing import open_proposal
from certification.services.records import found
from certification.services.verification import dispatch_task
from certification.verification import (
    SHARD_SILENT_AFTER,
    ComparisonRun,
    DecisionProposal,
    ProposalKind,
    ProposalStatus,
    RunStatus,
    ShardStatus,
)
from certification.vocabulary import (
    AccountKind,
    BenefitKind,
    CertificationChannel,
    EntitlementStatus,
    SuspensionReason,
)

MAX_WINDOW_DAYS = 366 * 2

log = logging.getLogger(__name__)


def start_run(
    ctx: UseCaseContext,
    actor: Actor,
    queue: TaskQueue | None = None,
    *,
    window_start: date | None = None,
    window_end: date | None = None,
    district_code: str | None = None,
) -> ComparisonRun:
    """Record a run (queued) and hand it to the worker; with no queue the caller executes
    it itself. A run compares the city or one district (Art. 11: districts act on their
    own): operators and the schedule run either, a district agency clerk runs their own
    district. Runs whose scopes overlap (the city holds every district) never run at once."""
    scope_code = _run_scope(actor, district_code)
    today = ctx.clock.today()
    end = window_end or today
    if end > today:
        raise ValidationFailed("The window cannot end in the future.", field="window_end")
    start = window_start or ComparisonWindow.read(ctx.config.comparison_window, end).starts_on
    if start > end:
        raise ValidationFailed("The window starts after it ends.", field="window_start")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise ValidationFailed("The window is longer than two years.", field="window_start")
    ctx.uow.comparison.lock_starts()
    for running in ctx.uow.comparison.unfinished():
        if not running.overlaps(scope_code):
            continue
        if ctx.clock.now() - running.started_at > ABANDONED_AFTER:
            running.fail(
                f"abandoned: still {running.status} after {ABANDONED_AFTER}", ctx.clock.now()
            )
            ctx.audit(actor, "comparison.abandoned", "comparison_run", running.id)
            continue
        raise RuleViolation(
            f"Comparison run {running.id} is still {running.status}; wait for it to finish.",
            details={"run_id": str(running.id), "scope_code": running.scope_code},
        )
    previous = ctx.uow.comparison.latest(status=RunStatus.APPLIED, scope_code=scope_code)
    run = ComparisonRun(
        window_start=start,
        window_end=end,
        started_by=actor.account_id,
        started_by_label=actor.label,
        previous_run_id=previous.id if previous else None,
        started_at=ctx.clock.now(),
        scope_code=scope_code,
    )
    ctx.uow.comparison.add(run)
    ctx.audit(
        actor,
        "comparison.started",
        "comparison_run",
        run.id,
        window_start=start.isoformat(),
        window_end=end.isoformat(),
        scope_code=scope_code,
    )
    ctx.uow.commit()
    if queue is not None:
        hand_over(ctx, actor, lambda: queue.enqueue_comparison(run.id), "comparison_run", run.id)
    return run


def _run_scope(actor: Actor, district_code: str | None) -> str:
    """Operators (and the schedule): the city, or the district asked for. A district/county
    agency clerk: their own district only."""
    if district_code is not None and district_code not in DISTRICTS:
        raise ValidationFailed(f"{district_code} is not a district code.", field="district_code")
    if actor.is_system or actor.kind == AccountKind.OPERATOR.value:
        return district_code or CITY_CODE
    own = (actor.scope_code or "")[:6]
    if own not in DISTRICTS:
        raise AccessDenied(
            "Comparison runs are started by operators, or by a district/county agency clerk "
            "for their own district."
        )
    access.require_agency_clerk_for(actor, own, "start a comparison run for the district")
    if district_code not in (None, own):
        raise AccessDenied("A district clerk runs the comparison for their own district only.")
    return own


class RunNotQueued(RuleViolation):
    pass


# A run still "running" after this long lost its worker; a new run may replace it.
ABANDONED_AFTER = timedelta(hours=12)


@dataclass(slots=True)
class RunContextFactory:
    """Fresh use-case contexts for each transaction of a long run."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    config: ProcedureConfig

    def __call__(self) -> UseCaseContext:
        return UseCaseContext(self.uow_factory(), self.clock, self.config)


# The stages a run reports in its progress note, with the share of the work done when each
# starts; applying the lists takes the rest, person by person.
STAGE_SHARES = (("exporting", 5), ("classifying", 10), ("storing", 20))
APPLYING_LISTS = "applying the lists"
APPLYING = f"{APPLYING_LISTS}: "
_APPLIED = re.compile(re.escape(APPLYING) + r"(\d+)")


def progress_percent(run: ComparisonRun) -> int:
    """The share of a run done, read from its status and progress note (for a progress bar)."""
    if run.finished:
        return 100
    note = run.progress or ""
    match = _APPLIED.search(note)
    if match:
        total = sum(int(n) for n in (run.counts or {}).values()) or 1
        return min(99, 20 + int(79 * int(match.group(1)) / total))
    for word, share in reversed(STAGE_SHARES):
        if note.startswith(word):
            return share
    return 1 if run.status is RunStatus.RUNNING else 0


def _set_progress(contexts: Callable[[], UseCaseContext], run_id: UUID, progress: str) -> None:
    ctx = contexts()
    with ctx.uow:
        run = found(ctx.uow.comparison.get(run_id), "comparison run", run_id)
        run.advance(progress)
        ctx.uow.commit()


def execute_run(
    contexts: Callable[[], UseCaseContext],
    engine: ComparisonEngine,
    run_id: UUID,
    *,
    workdir: Path | None = None,
    shards: TaskQueue | None = None,
) -> ComparisonRun:
    """Classify a queued run, store its lists and apply them a district at a time: each
    district's shard handed to ``shards`` (the workers), or with none applied here in turn.
    On failure the run is marked failed with the reason."""
    actor = Actor.system("comparison run")
    try:
        with tempfile.TemporaryDirectory(dir=workdir, prefix="comparison-") as tmp:
            return _execute(contexts, engine, run_id, Path(tmp), actor, shards)
    except RunNotQueued:
        return _current(contexts, run_id)
    except Exception as err:
        _fail(contexts, run_id, actor, f"{type(err).__name__}: {err}")
        raise


def _execute(
    contexts: Callable[[], UseCaseContext],
    engine: ComparisonEngine,
    run_id: UUID,
    tmp: Path,
    actor: Actor,
    shards: TaskQueue | None,
) -> ComparisonRun:
    ctx = contexts()
    with ctx.uow:
        # one delivery claims it
        run = found(ctx.uow.comparison.get(run_id, for_update=True), "comparison run", run_id)
        if run.status is not RunStatus.QUEUED:
            # A second delivery of the same task (the broker redelivers long tasks): the
            # first one owns the run.
            raise RunNotQueued(f"Comparison run {run_id} is {run.status}, not queued.")
        run.advance("exporting")
        window = ComparisonWindow(run.window_start, run.window_end)
        scope_code = run.scope_code
        ctx.uow.commit()
    timings: dict[str, float] = {}
    clock = datetime.now
    t0 = clock(UTC)
    ents, evs, out = tmp / "entitlements.parquet", tmp / "events.parquet", tmp / "entries.parquet"
    ctx = contexts()
    with ctx.uow:
        n_ents = ctx.uow.comparison.export_entitlements(
            ents,
            scope_on=window.ends_on,
            policy=ctx.config.period,
            district_code=None if scope_code == CITY_CODE else scope_code,
        )
        n_evs = ctx.uow.comparison.export_events(evs, window.ends_on)
    timings["export_s"] = (clock(UTC) - t0).total_seconds()
    _set_progress(contexts, run_id, f"classifying {n_ents} benefits")
    outcome = engine.classify(ents, evs, window, out)
    timings.update(outcome.timings)
    _set_progress(contexts, run_id, "storing the lists")
    t1 = clock(UTC)
    ctx = contexts()
    with ctx.uow:
        ctx.uow.comparison.load_entries(run_id, out)
        run = found(ctx.uow.comparison.get(run_id), "comparison run", run_id)
        run.counts = dict(outcome.counts)
        run.by_district = {k: dict(v) for k, v in outcome.by_district.items()}
        run.progress = APPLYING_LISTS
        districts = sorted(d for d, lists in outcome.by_district.items() if sum(lists.values()))
        ctx.uow.comparison.plan_shards(run_id, districts, ctx.clock.now())
        timings["store_s"] = (clock(UTC) - t1).total_seconds()
        run.timings = _rounded(timings)
        ctx.audit(
            actor,
            "comparison.classified",
            "comparison_run",
            run_id,
            entitlements=n_ents,
            events=n_evs,
            counts=dict(outcome.counts),
            shards=len(districts),
        )
        ctx.uow.commit()
    if not districts:  # nothing to apply
        return _finish_now(contexts, run_id, actor)
    _hand_out(contexts, run_id, districts, shards, actor)
    return _current(contexts, run_id)


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in timings.items()}


def _current(contexts: Callable[[], UseCaseContext], run_id: UUID) -> ComparisonRun:
    ctx = contexts()
    with ctx.uow:
        run = found(ctx.uow.comparison.get(run_id), "comparison run", run_id)
        ctx.uow.commit()  # ends the read; the record stays readable for the caller
        return run


def _hand_out(
    contexts: Callable[[], UseCaseContext],
    run_id: UUID,
    districts: list[str],
    shards: TaskQueue | None,
    actor: Actor,
) -> None:
    """Each district's shard to the workers (a shard the broker did not take stays queued
    for the sweep, :func:`certification.services.jobs.requeue_jobs`), or with no queue
    applied here in turn."""
    for district in districts:
        if shards is None:
            apply_shard(contexts, run_id, district)
            continue
        ctx = contexts()
        with ctx.uow:
            send = partial(shards.enqueue_comparison_shard, run_id, district)
            if not hand_over(ctx, actor, send, "comparison_run", run_id):
                return  # the broker is down: the sweep sends this shard and the rest
            ctx.uow.comparison.shard_handed(run_id, district, ctx.clock.now())
            ctx.uow.commit()


def apply_shard(
    contexts: Callable[[], UseCaseContext],
    run_id: UUID,
    district_code: str,
    *,
    take_over: bool = False,
) -> ComparisonRun | None:
    """Apply one district's part of a run's three lists (a worker's task, one per district;
    several run at once). A shard whose worker died (not heard of for
    :data:`SHARD_SILENT_AFTER`, or ``take_over``: the operator says so) is taken over: its
    lists walked again, passing over the people already done. The last shard done finishes
    the run. Returns the run, or None when the shard was done, is another worker's, or the
    run is over."""
    actor = Actor.system("comparison run")
    ctx = contexts()
    with ctx.uow:
        run = ctx.uow.comparison.get(run_id)
        now = ctx.clock.now()
        stale_before = now if take_over else now - SHARD_SILENT_AFTER
        if (
            run is None
            or run.finished
            or not ctx.uow.comparison.claim_shard(
                run_id, district_code, now, stale_before=stale_before
            )
        ):
            ctx.uow.rollback()
            return None
        ctx.uow.commit()
    try:
        timings: dict[str, float] = {}
        started = monotonic()
        applied = _apply(contexts, run_id, actor, district_code, timings)
        timings["apply_s"] = monotonic() - started
        return _shard_done(contexts, run_id, district_code, actor, applied, timings)
    except Exception as err:
        _fail(contexts, run_id, actor, f"district {district_code}: {type(err).__name__}: {err}")
        raise


def _fail(contexts: Callable[[], UseCaseContext], run_id: UUID, actor: Actor, error: str) -> None:
    ctx = contexts()
    with ctx.uow:
        run = ctx.uow.comparison.get(run_id, for_update=True)
        if run is not None and not run.finished:
            run.fail(error, ctx.clock.now())
            ctx.audit(actor, "comparison.failed", "comparison_run", run_id, reason=run.error)
            ctx.uow.commit()


def _shard_done(
    contexts: Callable[[], UseCaseContext],
    run_id: UUID,
    district_code: str,
    actor: Actor,
    applied: dict[str, int],
    timings: dict[str, float],
) -> ComparisonRun:
    """Record a shard done; when it was the last, the run is applied with every shard's
    counts summed (the run's row is locked first, so exactly one shard finishes it)."""
    ctx = contexts()
    with ctx.uow:
        run = found(ctx.uow.comparison.get(run_id, for_update=True), "comparison run", run_id)
        now = ctx.clock.now()
        shards = ctx.uow.comparison.finish_shard(
            run_id, district_code, applied, _rounded(timings), now
        )
        if run.finished or any(s.status is not ShardStatus.DONE for s in shards):
            ctx.uow.commit()
            return run
        total: Counter[str] = Counter()
        spent: Counter[str] = Counter()
        for shard in shards:
            total.update(shard.applied)
            spent.update({k: v for k, v in shard.timings.items() if k != "apply_s"})
        starts = [s.started_at for s in shards if s.started_at is not None]
        wall = (now - min(starts)).total_seconds() if starts else 0.0
        _record_applied(ctx, run, actor, dict(total), {**spent, "apply_s": wall})
        ctx.uow.commit()
        return run


def _record_applied(
    ctx: UseCaseContext,
    run: ComparisonRun,
    actor: Actor,
    applied: dict[str, int],
    timings: dict[str, float],
) -> None:
    run.finish_applied(ctx.clock.now())
    run.applied = applied
    run.timings = _rounded({**(run.timings or {}), **timings})
    ctx.audit(actor, "comparison.applied", "comparison_run", run.id, applied=applied)


def _finish_now(
    contexts: Callable[[], UseCaseContext], run_id: UUID, actor: Actor
) -> ComparisonRun:
    """A run with nothing to apply."""
    ctx = contexts()
    with ctx.uow:
        run = found(ctx.uow.comparison.get(run_id, for_update=True), "comparison run", run_id)
        _record_applied(ctx, run, actor, {}, {"apply_s": 0.0})
        ctx.uow.commit()
        return run


def resume_apply(contexts: Callable[[], UseCaseContext], run_id: UUID) -> dict[str, int]:
    """Apply here, in turn, the shards of a run whose workers stopped while applying them
    (the run is left running, its lists stored). Each list's walk passes over the people
    already done (certified since, a task open, a proposal open), so nobody gets a second
    certification, task or proposal; the counts returned are those of this pass."""
    actor = Actor.system("comparison run")
    ctx = contexts()
    with ctx.uow:
        run = found(ctx.uow.comparison.get(run_id, for_update=True), "comparison run", run_id)
        if run.status is not RunStatus.RUNNING or not (run.progress or "").startswith(
            APPLYING_LISTS
        ):
            raise RuleViolation(
                f"Comparison run {run_id} is {run.status} ({run.progress or '-'}); only a run "
                "stopped while applying its lists is resumed."
            )
        left = [
            s.district_code
            for s in ctx.uow.comparison.shards(run_id)
            if s.status is not ShardStatus.DONE
        ]
        ctx.audit(
            actor,
            "comparison.resumed",
            "comparison_run",
            run_id,
            progress=run.progress,
            shards=left,
        )
        ctx.uow.commit()
    this_pass: Counter[str] = Counter()
    for district in left:  # the operator resumes a run whose workers stopped
        apply_shard(contexts, run_id, district, take_over=True)
        ctx = contexts()
        with ctx.uow:
            shard = {s.district_code: s for s in ctx.uow.comparison.shards(run_id)}[district]
            this_pass.update(shard.applied)
            ctx.uow.commit()
    return dict(this_pass)


def _noon(ctx: UseCaseContext, day: date) -> datetime:
    """The moment a data-comparison certification is dated: noon UTC of the event's day (the
    same calendar day in any zone within 11 hours of UTC), or now if that is later."""
    return min(datetime.combine(day, time(12), tzinfo=UTC), ctx.clock.now())


def _apply(
    contexts: Callable[[], UseCaseContext],
    run_id: UUID,
    actor: Actor,
    district_code: str,
    timings: dict[str, float],
) -> dict[str, int]:
    """One district's lists, each walked a batch of people at a time. The qualified list
    walks only people seen alive since their last certification (and after their benefit
    started), the lost list only benefits with no suspension proposal waiting and the
    to-verify list only people with no open task; those passed over are counted, so a second
    run touches only what changed. ``timings`` gets the seconds each list took
    (``apply_<list>_s``)."""
    applied: Counter[str] = Counter()
    reader = contexts()
    with reader.uow:
        for list_name in ("qualified", "lost", "to_verify"):
            started = monotonic()
            size = (
                reader.config.bulk_apply_batch if list_name in BULK else reader.config.apply_batch
            )
            batches = reader.uow.comparison.person_batches(
                run_id,
                list_name,
                size,
                district_code=district_code,
                news_only=list_name == "qualified",
                without_open_task=list_name == "to_verify",
                without_open_proposal=list_name == "lost",
            )
            people = entries_seen = 0
            for entries in batches:
                # each page of the walk is read in its own short transaction (the walk goes
                # on from the last person read): no snapshot held open for a district
                reader.uow.rollback()
                people += len({e["person_id"] for e in entries})
                entries_seen += len(entries)
                applied.update(_apply_entries(contexts, actor, run_id, list_name, entries))
                _progress_note(contexts, run_id, district_code, applied)
            applied.update(
                _passed_over(reader, run_id, list_name, district_code, people, entries_seen)
            )
            timings[f"apply_{list_name}_s"] = monotonic() - started
    return dict(applied)


def _passed_over(
    ctx: UseCaseContext,
    run_id: UUID,
    list_name: str,
    district_code: str,
    people: int,
    entries: int,
) -> Counter[str]:
    """What a list's walk passed over in a district, counted as the walk would have found
    them: the qualified list's people certified since their sign of life or seen alive only
    before their benefit started, the lost list's benefits already proposed for suspension,
    the to-verify list's people with a task open (``people`` and ``entries``: walked)."""
    passed: Counter[str] = Counter()
    comparison = ctx.uow.comparison
    on_people, on_entries = comparison.on_list(run_id, list_name, district_code=district_code)
    if list_name == "qualified":
        before, _ = comparison.on_list(
            run_id, list_name, district_code=district_code, before_benefit=True
        )
        passed["qualified_before_benefit"] = before
        passed["qualified_already_certified"] = on_people - people - before
    elif list_name == "lost":
        passed["lost_already_proposed"] = on_entries - entries
    else:
        passed["verification_already_open"] = on_people - people
    return +passed  # only what is more than nothing


def _apply_entries(
    contexts: Callable[[], UseCaseContext],
    actor: Actor,
    run_id: UUID,
    list_name: str,
    entries: list[dict[str, Any]],
) -> Counter[str]:
    """One batch of a list: set-based where the list has a bulk path, the rest (and a batch
    the bulk path refused) in one transaction, and a batch that fails again person by person,
    each in a savepoint, so one person's record cannot stop the city's run."""
    done: Counter[str] = Counter()
    bulk = BULK.get(list_name)
    if bulk is not None:
        try:
            ctx = contexts()
            with ctx.uow:
                outcome, entries = bulk(ctx, actor, run_id, entries)
                ctx.uow.commit()
            done.update(outcome)
        except DomainError:
            pass  # the whole batch again, below
        if not entries:
            return done
    try:
        done.update(_apply_batch(contexts, actor, run_id, list_name, entries, careful=False))
    except DomainError:
        done.update(_apply_batch(contexts, actor, run_id, list_name, entries, careful=True))
    return done


def _by_person(entries: list[dict[str, Any]]) -> dict[UUID, list[dict[str, Any]]]:
    """A batch's entries grouped by person (a person has one per benefit)."""
    grouped: dict[UUID, list[dict[str, Any]]] = {}
    for e in entries:
        grouped.setdefault(e["person_id"], []).append(e)
    return grouped


def _dispatch_in_bulk(
    ctx: UseCaseContext, actor: Actor, run_id: UUID, entries: list[dict[str, Any]]
) -> tuple[Counter[str], list[dict[str, Any]]]:
    """The to-verify list a batch at a time: the people locked and read in one query, each
    sent to verification (:func:`dispatch_task`, its notice and audit record) unless a task
    was opened for them meanwhile. Does not commit."""
    done: Counter[str] = Counter()
    by_person = _by_person(entries)
    people = {p.id: p for p in ctx.uow.persons.briefs_for_update(sorted(by_person))}
    busy = ctx.uow.tasks.with_open_task(sorted(by_person))
    for person_id, rows in by_person.items():
        person = people.get(person_id)
        if person is None:
            done["not_applied"] += 1
            continue
        done[_dispatch_one(ctx, actor, run_id, person, rows, busy)] += 1
    return done, []


def _dispatch_one(
    ctx: UseCaseContext,
    actor: Actor,
    run_id: UUID,
    person: Person | PersonBrief,
    rows: list[dict[str, Any]],
    busy: set[UUID],
) -> str:
    if person.id in busy:
        return "verification_already_open"
    work_injury = any(r["benefit_kind"] == BenefitKind.WORK_INJURY_LONG_TERM.value for r in rows)
    dispatch_task(
        ctx, actor, person, work_injury=work_injury, source="comparison_run", source_id=run_id
    )
    return "verification_dispatched"


def _apply_batch(
    contexts: Callable[[], UseCaseContext],
    actor: Actor,
    run_id: UUID,
    list_name: str,
    entries: list[dict[str, Any]],
    *,
    careful: bool,
) -> Counter[str]:
    """One transaction for a batch of people: locked and loaded together, their evidence
    events read in one query."""
    done: Counter[str] = Counter()
    ctx = contexts()
    with ctx.uow:
        by_person = _by_person(entries)
        # held here: the session's identity map keeps unchanged objects only weakly
        locked = ctx.uow.persons.lock_many(sorted(by_person))
        if list_name == "qualified":  # each certification settles open tasks and visits
            ctx.uow.prefetch_open_work(sorted(by_person))
        ids = {i for e in entries for i in (e["alive_evidence"] or []) + (e["lost_evidence"] or [])}
        batch = BatchData(
            events={ev["id"]: ev for ev in ctx.uow.comparison.events(sorted(ids))},
            busy=(
                ctx.uow.tasks.with_open_task(sorted(by_person))
                if list_name == "to_verify"
                else set()
            ),
            suspensions=_suspension_proposals(ctx, entries) if list_name == "lost" else {},
        )
        for person_id, rows in by_person.items():
            if not careful:
                done.update(_apply_person(ctx, actor, run_id, list_name, person_id, rows, batch))
                continue
            try:
                with ctx.uow.savepoint():
                    keys = _apply_person(ctx, actor, run_id, list_name, person_id, rows, batch)
                done.update(keys)
            except DomainError as err:
                done["not_applied"] += 1
                ctx.audit(
                    actor,
                    "comparison.entry_not_applied",
                    "person",
                    person_id,
                    reason=str(err),
                    run_id=str(run_id),
                    list=list_name,
                )
        if not careful:
            ctx.uow.persons.write_periods(locked)
        ctx.uow.commit()
        del locked
    return done


Events = dict[int, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class BatchData:
    """Read once per batch: the evidence events, who already has an open task, and (lost
    list) the batch's benefits' open and dismissed suspension proposals."""

    events: Events
    busy: set[UUID]
    suspensions: dict[UUID, list[DecisionProposal]]


def _suspension_proposals(
    ctx: UseCaseContext, entries: list[dict[str, Any]]
) -> dict[UUID, list[DecisionProposal]]:
    found_: dict[UUID, list[DecisionProposal]] = {}
    ids = sorted({e["entitlement_id"] for e in entries})
    statuses = (ProposalStatus.PROPOSED, ProposalStatus.DISMISSED)
    for p in ctx.uow.proposals.of_entitlements(ids, ProposalKind.SUSPEND.value, statuses):
        found_.setdefault(p.entitlement_id, []).append(p)
    return found_


def _apply_person(
    ctx: UseCaseContext,
    actor: Actor,
    run_id: UUID,
    list_name: str,
    person_id: UUID,
    rows: list[dict[str, Any]],
    batch: BatchData,
) -> list[str]:
    if list_name == "qualified":
        return [_apply_qualified(ctx, actor, run_id, person_id, rows, batch.events)]
    if list_name == "lost":
        return _apply_lost(ctx, actor, run_id, person_id, rows, batch)
    return [_apply_to_verify(ctx, actor, run_id, person_id, rows, batch.busy)]


def _progress_note(
    contexts: Callable[[], UseCaseContext],
    run_id: UUID,
    district_code: str,
    applied: Counter[str],
) -> None:
    """The shard's people done, and the run's over all its shards."""
    ctx = contexts()
    with ctx.uow:
        done = ctx.uow.comparison.shard_progress(
            run_id, district_code, sum(applied.values()), ctx.clock.now()
        )
        run = found(ctx.uow.comparison.get(run_id), "comparison run", run_id)
        if not run.finished:  # another shard may have failed it meanwhile
            run.advance(f"{APPLYING}{done} people done")
        ctx.uow.commit()


def _apply_qualified(
    ctx: UseCaseContext,
    actor: Actor,
    run_id: UUID,
    person_id: UUID,
    rows: list[dict[str, Any]],
    known: Events,
) -> str:
    events = _alive_events(rows, known)
    person = load_person(ctx, person_id)  # locked with its batch
    outcome = qualified_outcome(
        person.last_certified_on, [e.start_date for e in person.in_force()], events
    )
    if outcome != CERTIFY:
        return outcome
    certify(ctx, actor, person, **_comparison_certification(ctx, run_id, events))
    return "certified"


CERTIFY = "certified"


def _alive_events(rows: list[dict[str, Any]], known: Events) -> list[dict[str, Any]]:
    """The signs of life of a person's entries, newest last."""
    ids = sorted({i for r in rows for i in (r["alive_evidence"] or [])})
    return sorted((known[i] for i in ids if i in known), key=lambda e: (e["event_date"], e["id"]))


def qualified_outcome(
    last_certified_on: date | None, in_force_starts: list[date], events: list[dict[str, Any]]
) -> str:
    """Whether a person on the qualified list is certified by the run (:data:`CERTIFY`), or
    why not. ``events``: their signs of life, newest last."""
    if not events:
        return "qualified_already_certified"  # certified in the window, nothing new
    newest = events[-1]["event_date"]
    if last_certified_on is not None and last_certified_on >= newest:
        return "qualified_already_certified"
    if not in_force_starts:
        return "qualified_no_benefit"
    if newest < min(in_force_starts):
        return "qualified_before_benefit"  # seen alive, but before the benefit started
    return CERTIFY


def _comparison_certification(
    ctx: UseCaseContext, run_id: UUID, events: list[dict[str, Any]]
) -> dict[str, Any]:
    """What a run's certification says: dated on the newest sign of life, all of them as
    evidence."""
    newest = events[-1]
    return {
        "channel": CertificationChannel.DATA_COMPARISON,
        "certified_at": _noon(ctx, newest["event_date"]),
        "evidence": [f"department_event:{e['id']}" for e in events],
        "note": f"{newest['event_kind']} ({newest['source_department']})",
        "source_ref": f"comparison_run:{run_id}",
    }


def _apply_qualified_in_bulk(
    ctx: UseCaseContext, actor: Actor, run_id: UUID, entries: list[dict[str, Any]]
) -> tuple[Counter[str], list[dict[str, Any]]]:
    """The qualified list's common case, set-based: people with nothing waiting on a
    certification (no suspended benefit, open task or visit) are locked and read in a few
    queries and their certifications, periods and audit records written together. Returns
    the outcomes and the entries of the others, for :func:`_apply_batch`. Does not commit."""
    done: Counter[str] = Counter()
    by_person = _by_person(entries)
    people = sorted(by_person)
    facts = {f.id: f for f in ctx.uow.persons.facts_for_update(people)}
    # what certify joins beyond the certification: the open tasks and visits it settles
    settled = ctx.uow.tasks.with_open_task(people) | ctx.uow.home_visits.with_open_visit(people)
    ids = {i for e in entries for i in e["alive_evidence"] or []}
    known = {ev["id"]: ev for ev in ctx.uow.comparison.events(sorted(ids))}
    rest: list[dict[str, Any]] = []
    certifications: list[NewCertification] = []
    updates: list[PeriodUpdate] = []
    policy = ctx.config.period
    for person_id, rows in by_person.items():
        person = facts.get(person_id)
        if person is None or person_id in settled or person.restorable:
            rest.extend(rows)  # to certify, which also proposes restorations and settles work
            continue
        in_force = [e for e in person.entitlements if e.in_force]
        events = _alive_events(rows, known)
        outcome = qualified_outcome(
            person.last_certified_on, [e.start_date for e in in_force], events
        )
        done[outcome] += 1
        if outcome != CERTIFY:
            continue
        certification = new_certification(
            ctx,
            actor,
            person_id,
            [e.start_date for e in in_force],
            **_comparison_certification(ctx, run_id, events),
        )
        last = latest_certification(person.last_certified_on, certification.certified_on)
        period = current_period(
            birth_date=person.birth_date,
            entitlements=person.entitlements,
            last_certified_on=last,
            policy=policy,
        )
        certifications.append(certification)
        updates.append(PeriodUpdate(person_id, person.version, last, period))
        audit_certified(ctx, actor, certification, period)
    ctx.uow.certifications.add_many(certifications)
    ctx.uow.persons.write_period_updates(updates, ctx.clock.now())
    return done, rest


def _evidence_summary(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "events": [
            {
                "id": e["id"],
                "kind": e["event_kind"],
                "date": e["event_date"].isoformat(),
                "source": e["source_department"],
                "record": e["source_record_id"],
            }
            for e in sorted(events, key=lambda e: (e["event_date"], e["id"]), reverse=True)
        ],
        "national_records": [
            e["source_record_id"] for e in events if e["source_department"] == NATIONAL_CROSS_REGION
        ],
    }


def _dismissed_before(proposals: list[DecisionProposal], events: list[dict[str, Any]]) -> bool:
    """A clerk dismissed a proposal resting on these very events (a wrong death record):
    the same records never propose again; a newer record does (it is not among them)."""
    ids = {int(e["id"]) for e in events}
    if not ids:
        return False
    dismissed = (p for p in proposals if p.status is ProposalStatus.DISMISSED)
    return any(ids <= p.event_ids() for p in dismissed)


def _apply_lost(
    ctx: UseCaseContext,
    actor: Actor,
    run_id: UUID,
    person_id: UUID,
    rows: list[dict[str, Any]],
    batch: BatchData,
) -> list[str]:
    person = load_person(ctx, person_id)  # locked with its batch
    outcomes = []
    for row in rows:
        entitlement = person.entitlement(row["entitlement_id"])
        if entitlement is None or entitlement.status is not EntitlementStatus.ACTIVE:
            outcomes.append("lost_not_active")
            continue
        # read with the batch, its people locked: deciding or opening one locks the person
        on_record = batch.suspensions.setdefault(entitlement.id, [])
        if any(p.status is ProposalStatus.PROPOSED for p in on_record):
            outcomes.append("lost_already_proposed")
            continue
        events = [batch.events[i] for i in row["lost_evidence"] or [] if i in batch.events]
        if _dismissed_before(on_record, events):
            outcomes.append("lost_dismissed_before")
            continue
        evidence = _evidence_summary(events)
        kinds = ", ".join(sorted({e["event_kind"] for e in events}))
        proposal = open_proposal(
            ctx,
            actor,
            person,
            entitlement,
            ProposalKind.SUSPEND,
            source="comparison_run",
            source_id=run_id,
            reason=f"lost_qualification: {kinds}",
            evidence={**evidence, "reason_code": SuspensionReason.LOST_QUALIFICATION.value},
            run_id=str(run_id),
            events=[e["id"] for e in events],
        )
        on_record.append(proposal)
        auto = ctx.config.auto_suspend_kinds
        if auto and events and all(e["event_kind"] in auto for e in events):
            confirm_proposal(
                ctx, actor, proposal, person, note="applied automatically (configured kinds)"
            )
            proposal.auto_applied = True
            outcomes.append("suspended_automatically")
        else:
            outcomes.append("suspension_proposed")
    return outcomes


def _apply_to_verify(
    ctx: UseCaseContext,
    actor: Actor,
    run_id: UUID,
    person_id: UUID,
    rows: list[dict[str, Any]],
    busy: set[UUID],
) -> str:
    return _dispatch_one(ctx, actor, run_id, load_person(ctx, person_id), rows, busy)


def _reader_scope(actor: Actor) -> Scope:
    """Operators run the comparison for the whole city; staff read their region's lists."""
    if actor.kind == AccountKind.OPERATOR.value:
        return Scope(CITY_CODE)
    access.require_staff(actor, "read comparison runs")
    return access.staff_scope(actor)


def get_run(ctx: UseCaseContext, actor: Actor, run_id: UUID) -> ComparisonRun:
    _reader_scope(actor)
    run = found(ctx.uow.comparison.get(run_id), "comparison run", run_id)
    return run


def _with_lists(run: ComparisonRun) -> ComparisonRun:
    """The run, whose lists must still be stored to be read."""
    if run.entries_removed_at is not None:
        raise RuleViolation(
            f"The lists of comparison run {run.id} were removed on "
            f"{run.entries_removed_at:%Y-%m-%d} (only the newest runs keep theirs); its "
            "counts and what applying it did remain, and the certifications, tasks and "
            "proposals it made keep their evidence."
        )
    return run


# How many of each scope's newest finished runs keep their lists (decision 0022): the one
# being worked from, the one before (who moved between lists), and one more.
KEEP_LISTS = 3


def remove_old_lists(
    contexts: Callable[[], UseCaseContext], actor: Actor, *, keep: int = KEEP_LISTS
) -> list[UUID]:
    """Remove the lists of every finished run but the ``keep`` newest of its scope (the city,
    or a district) and its newest applied one: ten million entries a run otherwise pile
    up. The run keeps its record, its counts and what applying it did; each removal is its
    own transaction and audit record. Returns the runs whose lists were removed."""
    access.require_operator(actor, "remove old comparison lists")
    if keep < 1:
        raise ValidationFailed("Keep the lists of at least one run.", field="keep")
    ctx = contexts()
    with ctx.uow:
        by_scope: dict[str, list[ComparisonRun]] = {}
        for run in ctx.uow.comparison.with_lists():
            by_scope.setdefault(run.scope_code, []).append(run)
        # the newest applied run of a scope is the one staff work from, even if the runs
        # after it failed
        worked_from = {next((r.id for r in rs if r.is_applied), None) for rs in by_scope.values()}
        old = [r.id for rs in by_scope.values() for r in rs[keep:] if r.id not in worked_from]
        ctx.uow.rollback()
    for run_id in old:
        ctx = contexts()
        with ctx.uow:
            run = found(ctx.uow.comparison.get(run_id, for_update=True), "comparison run", run_id)
            if run.entries_removed_at is None:  # another removal may have come first
                ctx.uow.comparison.remove_entries(run_id)
                run.entries_removed_at = ctx.clock.now()
                ctx.audit(actor, "comparison.lists_removed", "comparison_run", run_id, keep=keep)
            ctx.uow.commit()
    return old


def list_runs(ctx: UseCaseContext, actor: Actor, page: PageRequest) -> Page[ComparisonRun]:
    _reader_scope(actor)
    return ctx.uow.comparison.find(page)


def run_entries(
    ctx: UseCaseContext,
    actor: Actor,
    run_id: UUID,
    *,
    list_name: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """One page of a run's list, in the staff member's region, with the evidence events."""
    _with_lists(get_run(ctx, actor, run_id))
    scope = _reader_scope(actor)
    rows = ctx.uow.comparison.entries(
        run_id, list_name=list_name, scope=scope, after=after, limit=limit
    )
    ids = [i for r in rows for i in (r["alive_evidence"] or []) + (r["lost_evidence"] or [])]
    events = {e["id"]: e for e in ctx.uow.comparison.events(sorted(set(ids)))}
    record_read(  # a page of names and citizen IDs
        ctx,
        actor,
        "comparison.entries_read",
        "comparison_run",
        run_id,
        list=list_name,
        rows=len(rows),
    )
    for r in rows:
        r["alive_events"] = [events[i] for i in r["alive_evidence"] or [] if i in events]
        r["lost_events"] = [events[i] for i in r["lost_evidence"] or [] if i in events]
    return rows


def run_changes(
    ctx: UseCaseContext,
    actor: Actor,
    run_id: UUID,
    *,
    previous_id: UUID | None,
    after: str | None,
    limit: int,
) -> tuple[UUID | None, list[dict[str, Any]]]:
    """Who moved between lists since the previous applied run."""
    run = _with_lists(get_run(ctx, actor, run_id))
    previous = previous_id or run.previous_run_id
    if previous is None:
        return None, []
    _with_lists(get_run(ctx, actor, previous))
    scope = _reader_scope(actor)
    return previous, ctx.uow.comparison.changes(
        run_id, previous, scope=scope, limit=limit, after=after
    )


# the lists with a set-based path: (outcomes, the entries left for the one-at-a-time path)
BULK: dict[
    str,
    Callable[
        [UseCaseContext, Actor, UUID, list[dict[str, Any]]],
        tuple[Counter[str], list[dict[str, Any]]],
    ],
] = {
    "qualified": _apply_qualified_in_bulk,
    "to_verify": _dispatch_in_bulk,
}
