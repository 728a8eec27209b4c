"""``lifecert``: serve, run a worker, migrate, load demo data, verify the audit trail, manage
accounts and regions."""

from __future__ import annotations

import csv
import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from infra.settings import Settings, SettingsError, get_settings

if TYPE_CHECKING:
    from certification.services.context import UseCaseContext
    from certification.services.register_import import RegisterReport
    from infra.runtime import Runtime


def _settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as err:
        raise click.ClickException(str(err)) from err


def _runtime() -> Runtime:
    from lifecert.bootstrap import build_runtime

    return build_runtime(_settings())


@contextmanager
def _use_case() -> Iterator[UseCaseContext]:
    """One use case on a runtime made for this command, closed after it."""
    runtime = _runtime()
    try:
        with runtime.use_case() as ctx:
            yield ctx
    finally:
        runtime.close()


@click.group()
def main() -> None:
    """Benefit eligibility certification service (重庆市社会保险待遇领取资格认证)."""


def _upgrade(settings: Settings, revision: str) -> None:
    """The migrations, with the keys a data migration seals or hashes with."""
    from lifecert.bootstrap import SettingsKeys
    from storage import crypto
    from storage.migrate import upgrade

    crypto.install(SettingsKeys(settings))
    upgrade(settings.resolved_database_url, revision, signing_key=settings.signing_key)


@main.command()
@click.option("--revision", default="head", show_default=True)
def migrate(revision: str) -> None:
    """Bring the database schema up to date (SQLite or PostgreSQL)."""
    settings = _settings()
    _upgrade(settings, revision)
    click.echo(f"database at {revision}: {_redact(settings.resolved_database_url)}")
    if settings.object_store == "s3":
        from infra.runtime import build_object_store
        from storage.objects import S3ObjectStore

        store = build_object_store(settings)
        assert isinstance(store, S3ObjectStore)
        store.ensure_bucket()
        click.echo(f"object store bucket ready: {settings.s3_bucket}")


def _redact(url: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)


def _demo_logins_file(settings: Settings) -> Path:
    return settings.data_path / "demo-logins.txt"


def _load_demo(people: int, seed: int, processes: int) -> None:
    from lifecert.demo import PopulationGenerator
    from lifecert.demo_feeds import run_demo_comparison
    from lifecert.demo_load import (
        ensure_demo_accounts,
        load_population,
        load_population_parallel,
    )

    settings = _settings()
    runtime = _runtime()
    try:
        runtime_today = runtime.clock.today()
        if processes > 1:
            reports = load_population_parallel(settings, people, seed, runtime_today, processes)
        else:
            generated = PopulationGenerator(seed, runtime_today).people(people)
            reports = [load_population(runtime, generated)]
        loaded = sum(r.people_loaded for r in reports)
        logins = ensure_demo_accounts(runtime)
        run = run_demo_comparison(runtime)
    finally:
        runtime.close()
    click.echo(f"loaded {loaded} people")
    click.echo(
        "demo comparison run: "
        + ", ".join(f"{k}={v}" for k, v in run.counts.items())
        + " ("
        + ", ".join(f"{k}={v}" for k, v in sorted(run.applied.items()))
        + ")"
    )
    if logins:
        path = _demo_logins_file(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            for login in logins:
                fh.write(f"{login.username}\t{login.password}\t{login.description}\n")


def _print_demo_logins(settings: Settings) -> None:
    path = _demo_logins_file(settings)
    if path.exists():
        click.echo("Demo sign-ins (POST /api/auth/login; kept in " + str(path) + "):")
        for line in path.read_text(encoding="utf-8").splitlines():
            username, password, description = line.split("\t")
            click.echo(f"  {username:18} {password:22} {description}")


def _print_demo_pensioner(runtime: Any) -> None:
    """A demo beneficiary to claim on the capture page (the demo shows the SMS code)."""
    import sqlalchemy as sa

    with runtime.database.connect() as conn:
        row = conn.execute(
            sa.text("SELECT citizen_id, name FROM persons WHERE due_on IS NOT NULL ORDER BY due_on")
        ).first()
    if row is not None:
        click.echo(
            "Capture page: sign in with any mobile number (the demo shows the text-message "
            f"code), then register with citizen ID {row[0]} and name {row[1]}; a face check "
            "against the enrolled photo (or a counter clerk) confirms the account."
        )


@main.group()
def demo() -> None:
    """Synthetic population for the demo and for benchmarks."""


@demo.command("load")
@click.option("--people", default=500, show_default=True, type=click.IntRange(1, 20_000_000))
@click.option("--seed", default=20261127, show_default=True)
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="load shards of the population side by side",
)
def demo_load(people: int, seed: int, processes: int) -> None:
    """Load people, benefits, certifications and demo staff accounts into the database."""
    _load_demo(people, seed, processes)
    _print_demo_logins(_settings())


@demo.command("generate")
@click.option("--people", default=1000, show_default=True, type=click.IntRange(1, 50_000_000))
@click.option("--seed", default=20261127, show_default=True)
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def demo_generate(people: int, seed: int, today: object, out: Path) -> None:
    """Write a population CSV (one row per benefit), streamed at any size."""
    from lifecert.demo import generate_csv_file

    day = today.date() if today is not None else date.today()  # type: ignore[attr-defined]
    n = generate_csv_file(out, people, seed, day)
    click.echo(f"wrote {n} people to {out}")


@main.command()
@click.option("--host", default=None, help="Default: LIFECERT_HOST (127.0.0.1).")
@click.option("--port", default=None, type=int, help="Default: LIFECERT_PORT (8000).")
@click.option("--threads", default=8, show_default=True)
@click.option("--migrate/--no-migrate", "run_migrations", default=True, show_default=True)
@click.option("--demo/--no-demo", default=False, help="Load demo data if the database is empty.")
def serve(
    host: str | None, port: int | None, threads: int, run_migrations: bool, demo: bool
) -> None:
    """Serve the API (waitress). Production images use gunicorn instead."""
    import sqlalchemy as sa
    from waitress import serve as waitress_serve

    from lifecert.web import create_app

    settings = _settings()
    if demo:
        if settings.environment == "production":
            raise click.ClickException("The demo (--demo) cannot run in production.")
        # the demo's own sign-in: the development identity provider and on-page SMS codes
        settings = settings.model_copy(update={"demo": True})
    if run_migrations:
        _upgrade(settings, "head")
    from lifecert.bootstrap import build_runtime

    runtime = build_runtime(settings)
    if demo:
        with runtime.database.connect() as conn:
            empty = conn.execute(sa.text("SELECT count(*) FROM persons")).scalar_one() == 0
        if empty:
            click.echo("loading demo data...")
            _load_demo(500, 20261127, 1)
    settings.signing_key()
    app = create_app(settings, runtime)
    host = host or settings.host
    port = port or settings.port
    base = f"http://{host}:{port}"
    click.echo(f"Lifecert API on {base}  ·  docs: {base}/api/docs")
    click.echo(f"Staff console: {base}/console/  ·  capture page (phones): {base}/capture")
    click.echo(f"Public tip-off page: {base}/tipoff")
    if demo:
        _print_demo_logins(settings)
        _print_demo_pensioner(runtime)
    if not settings.broker_url:
        _embedded_outbox(runtime)
    waitress_serve(app, host=host, port=port, threads=threads, ident="lifecert")


def _embedded_outbox(runtime: Runtime, every: float = 15.0) -> None:
    """With no broker (the embedded mode) there is no beat: a background thread delivers the
    outbox every ``every`` seconds."""
    import logging
    import threading
    import time

    from certification.services.notices import deliver_notices

    def loop() -> None:
        while True:
            time.sleep(every)
            try:
                deliver_notices(runtime.use_case, runtime.notice_channels, runtime.delivery_policy)
            except Exception:  # keep serving; the next pass tries again
                logging.getLogger(__name__).exception("notice outbox pass failed")

    threading.Thread(target=loop, name="notice-outbox", daemon=True).start()


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run a Celery worker (needs LIFECERT_BROKER_URL); extra arguments go to Celery."""
    settings = _settings()
    if not settings.broker_url:
        raise click.ClickException(
            "No broker configured: set LIFECERT_BROKER_URL (redis://... or amqp://...). "
            "Without one, background work runs inside the API process."
        )
    from infra.readiness import model_check

    # the model pack is checked before any task is taken: a wrong pack stops the start
    # here, not at the first pensioner's clip
    problems = model_check(settings.resolved_model_dir).problems()
    if problems:
        raise click.ClickException(
            f"The face models in {settings.resolved_model_dir} are not the registered ones: "
            + "; ".join(problems)
            + " (python -m models verify lists them)."
        )
    from lifecert.worker_process import app

    app.worker_main(["worker", "--loglevel=INFO", *ctx.args])


@main.group()
def audit() -> None:
    """The audit trail (Art. 24)."""


@audit.command("verify")
@click.option(
    "--anchor",
    default=None,
    help="A head printed earlier by `lifecert audit anchor`: the chain must still reach it.",
)
def audit_verify(anchor: str | None) -> None:
    """Check the whole hash chain; exit 1 and name the first broken record if it is broken."""
    from certification.access import Actor
    from certification.audit import Anchor
    from certification.services.audit import verify_audit_chain

    try:
        expected = Anchor.parse(anchor) if anchor else None
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--anchor") from err
    with _use_case() as ctx:
        report = verify_audit_chain(ctx, Actor.system("cli"), expected)
    if report.intact:
        head = f"head {report.head}" if report.head else "empty"
        click.echo(f"audit chain intact: {report.checked} records; {head}")
        return
    click.echo(
        f"audit chain BROKEN at sequence {report.first_broken_sequence}: {report.problem} "
        f"({report.checked} records before it are intact)",
        err=True,
    )
    sys.exit(1)


@audit.command("anchor")
def audit_anchor() -> None:
    """Print the chain's head, after checking the chain, for safekeeping outside the database
    (a notary, the agency's records): `audit verify --anchor` checks against it later."""
    from certification.access import Actor
    from certification.services.audit import verify_audit_chain

    with _use_case() as ctx:
        report = verify_audit_chain(ctx, Actor.system("cli"))
    if not report.intact:
        click.echo(f"audit chain BROKEN at sequence {report.first_broken_sequence}", err=True)
        sys.exit(1)
    if report.head is None:
        raise click.ClickException("The audit trail is empty: nothing to anchor yet.")
    click.echo(str(report.head))


@main.group()
def accounts() -> None:
    """Staff and operator accounts."""


@accounts.command("create")
@click.option("--kind", type=click.Choice(["staff", "operator"]), default="staff")
@click.option("--username", required=True)
@click.option("--display-name", required=True)
@click.option("--region", "region_code", default=None, help="Staff scope: 500000, 6 or 9 digits.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    help="clerk, counter, reviewer, auditor, investigator, supervisor",
)
def accounts_create(
    kind: str, username: str, display_name: str, region_code: str | None, roles: tuple[str, ...]
) -> None:
    """Create an account; the password is read from LIFECERT_NEW_PASSWORD or asked for."""
    from certification.access import Actor
    from certification.errors import DomainError
    from certification.services.accounts import create_staff
    from certification.vocabulary import AccountKind

    password = os.environ.get("LIFECERT_NEW_PASSWORD") or getpass.getpass("Password: ")
    runtime = _runtime()
    try:
        with runtime.use_case() as ctx:
            account = create_staff(
                ctx,
                Actor.system("cli"),
                runtime.passwords,
                kind=AccountKind(kind),
                username=username,
                display_name=display_name,
                password=password,
                region_code=region_code,
                roles=list(roles),
            )
    except DomainError as err:
        raise click.ClickException(err.message) from err
    finally:
        runtime.close()
    click.echo(f"created {kind} {account.username} ({account.id})")


@main.group()
def regions() -> None:
    """The register of townships and villages."""


@regions.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def regions_import(path: Path) -> None:
    """Import townships/villages from a CSV with columns code,name (UTF-8, header row)."""
    from certification.access import Actor
    from certification.errors import AlreadyExists, DomainError
    from certification.services.regions import add_region

    runtime = _runtime()
    added = skipped = 0
    errors: list[str] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            numbered = list(enumerate(csv.DictReader(fh), start=2))
        # Townships before their villages, whatever the file's order; keep file line numbers.
        numbered.sort(key=lambda pair: len(pair[1].get("code") or ""))
        for line, row in numbered:
            try:
                with runtime.use_case() as ctx:
                    add_region(
                        ctx,
                        Actor.system("cli"),
                        code=(row.get("code") or "").strip(),
                        name=row.get("name") or "",
                    )
                added += 1
            except AlreadyExists:
                skipped += 1
            except DomainError as err:
                errors.append(f"{path.name} row {line}: {err.message}")
    finally:
        runtime.close()
    click.echo(f"added {added}, already present {skipped}, refused {len(errors)}")
    for message in errors:
        click.echo("  " + message, err=True)
    if errors:
        sys.exit(1)


@main.group()
def enrolment() -> None:
    """Enrolled photos for face certification."""


@enrolment.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--consent-ref",
    required=True,
    help="the register of the signed consent forms these people gave (a person's consent in "
    "force already is kept)",
)
def enrolment_import(folder: Path, consent_ref: str) -> None:
    """Enrol every photo in FOLDER named <citizen ID>.jpg (or .png/.webp): the agency's ID
    photos, for people who signed the consent form. Each becomes a template in the
    background; refusals are listed with reasons."""
    from certification.access import Actor
    from certification.citizen_id import CitizenId
    from certification.errors import DomainError
    from certification.services.selfservice import request_enrolment

    types = {
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".png": "image/png",
        ".webp": "image/webp",
    }
    runtime = _runtime()
    queued, problems = 0, []
    try:
        for path in sorted(folder.iterdir()):
            content_type = types.get(path.suffix.lower())
            if content_type is None:
                continue
            try:
                cid = CitizenId.parse(path.stem)
                with runtime.use_case() as ctx:
                    person = ctx.uow.persons.by_citizen_id(cid.value)
                    if person is None:
                        problems.append(f"{path.name}: no person with this citizen ID number")
                        continue
                    with path.open("rb") as fh:
                        request_enrolment(
                            ctx,
                            Actor.system("enrolment-import"),
                            runtime.object_store,
                            runtime.task_queue,
                            person.id,
                            photo=fh,
                            length=path.stat().st_size,
                            content_type=content_type,
                            consent_ref=consent_ref,
                        )
                queued += 1
            except DomainError as err:
                problems.append(f"{path.name}: {err.message}")
    finally:
        runtime.close()
    click.echo(f"queued {queued} photos; {len(problems)} refused")
    for line in problems:
        click.echo("  " + line, err=True)


@main.group()
def keys() -> None:
    """Encryption keys of sealed data (face templates, personal data)."""


@keys.command("rotate")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 100_000))
def keys_rotate(batch: int) -> None:
    """Rewrite every face template under the current key (the first of
    LIFECERT_TEMPLATE_KEYS) and every sealed personal value under the current key of
    LIFECERT_DATA_KEYS, in batches; resumable. Then the older keys can be removed."""
    from storage.keys import reseal_personal_data, reseal_templates

    runtime = _runtime()
    try:
        done = reseal_templates(runtime.session_factory, batch=batch)
        personal = reseal_personal_data(runtime.session_factory, batch=batch)
    finally:
        runtime.close()
    click.echo(f"checked {done.checked} templates, resealed {done.resealed} under the current key")
    tables = ", ".join(f"{t} {n}" for t, n in personal.resealed.items() if n) or "none"
    click.echo(f"resealed {personal.total} rows of personal data under the current key ({tables})")


@main.group()
def evidence() -> None:
    """Certification evidence in object storage."""


@evidence.command("sweep")
def evidence_sweep() -> None:
    """Delete evidence whose 3-year retention has ended, and forget the faces (templates and
    enrolment photos) of people whose benefits have all ended once that retention is over."""
    from certification.services.consent import sweep_face_data
    from storage.retention import sweep_expired

    runtime = _runtime()
    try:
        report = sweep_expired(runtime.object_store, runtime.clock.today())
        faces = sweep_face_data(runtime.use_case, runtime.object_store)
    finally:
        runtime.close()
    click.echo(
        f"checked {report.checked}, deleted {report.deleted}, kept {report.kept} "
        f"({report.without_retention} without retention metadata); faces forgotten: "
        f"{faces.people} people, {faces.templates} templates"
    )


@main.group()
def reminders() -> None:
    """Reminders before and on the due date, and once overdue."""


@reminders.command("send")
def reminders_send() -> None:
    """Queue today's reminders (and any a missed day left unsent); safe to rerun."""
    from certification.services.reminders import send_due_reminders

    with _use_case() as ctx:
        sent = send_due_reminders(ctx)
    click.echo(f"queued {sent} reminders")


@main.group()
def notices() -> None:
    """The notice outbox."""


@notices.command("deliver")
def notices_deliver() -> None:
    """One pass of the outbox: route new notices and send what is due."""
    from certification.services.notices import deliver_notices

    runtime = _runtime()
    try:
        report = deliver_notices(runtime.use_case, runtime.notice_channels, runtime.delivery_policy)
    finally:
        runtime.close()
    click.echo(
        f"routed {report.routed}, delivered {report.delivered}, retrying {report.retrying}, "
        f"dead {report.dead}, uncertain {report.uncertain}"
    )


@notices.command("letters")
def notices_letters() -> None:
    """Print the waiting letters: one PDF per township, stored for its staff."""
    from certification.services.notices import print_letters

    runtime = _runtime()
    try:
        with runtime.use_case() as ctx:
            batches = print_letters(ctx, runtime.documents, runtime.object_store)
    finally:
        runtime.close()
    click.echo(f"{len(batches)} batches, {sum(b['letters'] for b in batches)} letters")


@main.group()
def register() -> None:
    """The benefit register: everyone on benefits, imported in bulk."""


def import_register_file(
    settings: Settings, path: Path, by: str = "cli register import"
) -> RegisterReport:
    """One register file imported in this process with its own runtime (a worker of
    ``register import --processes``, and the city-scale benchmark). Returns the
    RegisterReport; a file that cannot be read raises storage.feed_files.FeedFileError."""
    from certification.access import Actor
    from certification.services.register_import import import_register
    from lifecert.bootstrap import build_runtime
    from storage.register_files import RegisterFile

    runtime = build_runtime(settings)
    try:
        source = RegisterFile(path)
        with runtime.use_case() as ctx:
            return import_register(ctx, Actor.system(by), source.rows(), source=path.name)
    finally:
        runtime.close()


def _import_register_file(settings: Settings, path: Path) -> tuple[str, Any]:
    from storage.feed_files import FeedFileError

    try:
        return str(path), import_register_file(settings, path)
    except FeedFileError as err:
        return str(path), str(err)


@register.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="import this many files side by side",
)
def register_import(files: tuple[Path, ...], processes: int) -> None:
    """Import register CSV files (one row per benefit; a large register split into several
    files loads in parallel). People already registered are left unchanged; every refused
    row is printed with its line number and reason."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    settings = _settings()
    if processes > 1 and len(files) > 1:
        with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
            results = list(pool.map(_import_register_file, [settings] * len(files), files))
    else:
        results = [_import_register_file(settings, path) for path in files]
    failed = False
    for name, report in results:
        if isinstance(report, str):
            click.echo(f"{name}: refused: {report}", err=True)
            failed = True
            continue
        click.echo(
            f"{name}: {report.rows_read} rows read: {report.people_loaded} people loaded, "
            f"{report.people_known} already registered (unchanged), "
            f"{report.rows_refused} rows refused"
        )
        for number, problem in report.problems[:50]:
            where = f" ({problem.column})" if problem.column else ""
            click.echo(f"  line {number}{where}: {problem.code}: {problem.message}")
        if len(report.problems) > 50:
            click.echo(f"  … {report.rows_refused - 50} more refused rows")
    if failed:
        raise SystemExit(1)


@main.group()
def reports() -> None:
    """The dashboards' figures."""


@reports.command("refresh")
def reports_refresh() -> None:
    """Recompute the dashboards' summary tables now (beat does it every 10 minutes)."""
    from certification.services.dashboard import refresh_summaries

    with _use_case() as ctx:
        rows = refresh_summaries(ctx)
    click.echo(f"dashboard summaries recomputed: {rows} rows")


@main.group()
def periods() -> None:
    """Certification periods."""


@periods.command("recompute")
def periods_recompute() -> None:
    """Recompute every stored due date (after changing LIFECERT_PERIOD_MONTHS)."""
    from certification.access import Actor
    from certification.services.periods import recompute_periods

    with _use_case() as ctx:
        changed = recompute_periods(ctx, Actor.system("cli"))
    click.echo(f"recomputed; {changed} due dates changed")


@main.group()
def feeds() -> None:
    """Department feeds for the information comparison (Art. 11)."""


@feeds.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def feeds_import(files: tuple[Path, ...]) -> None:
    """Import CSV (UTF-8 or GBK) or Parquet feed files, streamed; prints each report."""
    from certification.access import Actor
    from certification.services.feeds import import_feed, import_problems
    from certification.verification import ImportStatus
    from storage.feed_files import FeedFileError, open_feed

    runtime = _runtime()
    actor = Actor.system("cli feed import")
    refused = 0
    try:
        for path in files:
            with path.open("rb") as fh, runtime.use_case() as ctx:
                try:
                    source = open_feed(path, fh)
                except FeedFileError as err:
                    click.echo(f"{path}: refused: {err}", err=True)
                    refused += 1
                    continue
                record = import_feed(ctx, actor, source)
                click.echo(f"{path}: {record.status}: {record.message}")
                if record.ignored_columns:
                    click.echo("  ignored columns: " + ", ".join(record.ignored_columns))
                for p in import_problems(ctx, actor, record.id, after_row=0, limit=20):
                    click.echo(f"  row {p['row_number']}: {p['code']}: {p['message']}")
                if record.status is ImportStatus.REFUSED:
                    refused += 1
    finally:
        runtime.close()
    if refused:
        sys.exit(1)


@feeds.command("sample")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--seed", default=7, show_default=True)
def feeds_sample(out: Path, seed: int) -> None:
    """Write a demo feed about the people in the database (with two broken rows)."""
    from lifecert.demo_feeds import write_sample_feed

    runtime = _runtime()
    try:
        rows = write_sample_feed(runtime.database, out, runtime.clock.today(), seed)
    finally:
        runtime.close()
    click.echo(f"wrote {rows} rows to {out}")


@main.group()
def comparison() -> None:
    """Comparison runs (Art. 11-14)."""


@comparison.command("run")
@click.option("--window-start", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--window-end", type=click.DateTime(["%Y-%m-%d"]), default=None)
def comparison_run(window_start: object, window_end: object) -> None:
    """Classify every active benefit, here and now, and apply the lists: a shard per
    district, applied here in turn, or by the workers when a broker is configured."""
    from certification.access import Actor
    from certification.errors import DomainError
    from certification.services.runs import start_run

    runtime = _runtime()
    actor = Actor.system("cli comparison")
    try:
        with runtime.use_case() as ctx:
            try:
                run = start_run(
                    ctx,
                    actor,
                    window_start=window_start.date() if window_start else None,  # type: ignore[attr-defined]
                    window_end=window_end.date() if window_end else None,  # type: ignore[attr-defined]
                )
            except DomainError as err:
                raise click.ClickException(str(err)) from err
        done = runtime.execute_comparison(run.id)
    finally:
        runtime.close()
    click.echo(f"run {done.id}: {done.status}")
    if not done.finished:
        click.echo("  the workers are applying its districts' shards; its page shows how far")
    click.echo("  lists:   " + ", ".join(f"{k}={v}" for k, v in done.counts.items()))
    click.echo("  applied: " + ", ".join(f"{k}={v}" for k, v in sorted(done.applied.items())))
    click.echo("  timings: " + ", ".join(f"{k}={v}" for k, v in done.timings.items()))


@comparison.command("resume")
@click.argument("run_id", type=click.UUID)
def comparison_resume(run_id: Any) -> None:
    """Apply again the lists of a run whose worker stopped while applying them (nobody is
    certified, sent to verification or proposed twice)."""
    from certification.errors import DomainError
    from certification.services.runs import resume_apply

    runtime = _runtime()
    try:
        applied = resume_apply(runtime.run_contexts(), run_id)
    except DomainError as err:
        raise click.ClickException(str(err)) from err
    finally:
        runtime.close()
    click.echo(f"run {run_id}: applied")
    click.echo("  this pass: " + ", ".join(f"{k}={v}" for k, v in sorted(applied.items())))


@comparison.command("remove-old-lists")
@click.option(
    "--keep",
    type=int,
    default=None,
    help="how many of each scope's newest finished runs keep their lists (default 3)",
)
def comparison_remove_old_lists(keep: int | None) -> None:
    """Remove the lists (ten million entries each) of finished runs older than the newest
    few of their scope; the runs keep their counts and what applying them did. A beat job
    does the same once a day."""
    from certification.access import Actor
    from certification.errors import DomainError
    from certification.services.runs import KEEP_LISTS, remove_old_lists

    runtime = _runtime()
    try:
        removed = remove_old_lists(
            runtime.run_contexts(),
            Actor.system("cli comparison"),
            keep=KEEP_LISTS if keep is None else keep,
        )
    except DomainError as err:
        raise click.ClickException(str(err)) from err
    finally:
        runtime.close()
    click.echo(f"lists removed: {len(removed)} runs")
    for run_id in removed:
        click.echo(f"  {run_id}")


@main.group()
def suspensions() -> None:
    """Suspensions (Art. 9)."""


@suspensions.command("expired")
def suspensions_expired() -> None:
    """Art. 9 (daily job): propose suspending people whose period expired while unreachable
    by several means; send the others to their township."""
    from certification.access import Actor
    from certification.services.expired_periods import act_on_expired_periods

    runtime = _runtime()
    try:
        with runtime.use_case() as ctx:
            counts = act_on_expired_periods(ctx, Actor.system("cli"))
    finally:
        runtime.close()
    click.echo(", ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
