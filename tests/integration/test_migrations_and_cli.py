"""Migrations run on SQLite and PostgreSQL; the CLI works on the embedded defaults."""

import secrets
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from infra.settings import get_settings
from lifecert.cli import main
from storage.migrate import downgrade, upgrade
from storage.schema import described, metadata
from tests.conftest import PG_ADMIN_URL, entries_partitions


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _drift(url: str) -> list[str]:
    """What the migrated database has that storage/schema.py does not say, or the reverse
    (tables, columns, their types, indexes, constraints)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": True, "include_object": described}
            context = MigrationContext.configure(conn, opts=opts)
            return [str(d) for d in compare_metadata(context, metadata)]
    finally:
        engine.dispose()


def test_migrations_up_down_up_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url)
    assert set(metadata.tables) <= _tables(url)
    downgrade(url, "base")
    assert _tables(url) == {"alembic_version"}
    upgrade(url)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM regions WHERE level = 'district'")) == 38
    engine.dispose()
    assert _drift(url) == []  # the migrations build what the queries are written against


@pytest.fixture
def scratch_pg() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    name = f"lifecert_mig_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_migrations_up_down_up_on_postgresql(scratch_pg: str) -> None:
    url = scratch_pg
    upgrade(url)
    assert set(metadata.tables) <= _tables(url)
    downgrade(url, "base")
    assert _tables(url) == {"alembic_version"}
    upgrade(url)
    assert _drift(url) == []


@pytest.mark.postgres
def test_entries_stored_before_partitioning_move_into_a_partition_per_run_and_back(
    scratch_pg: str,
) -> None:
    """Revision 0022 moves each run's entries into a partition of their own (the lists of a
    run are then removed by dropping one table); the downgrade puts them back in one."""
    url = scratch_pg
    upgrade(url, "0021")
    runs = [UUID(int=n) for n in (1, 2)]
    engine = sa.create_engine(url)

    def entries() -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT run_id, entitlement_id, list, news FROM comparison_entries "
                    "ORDER BY run_id, entitlement_id"
                )
            )
            return [tuple(r) for r in rows]

    def partitions() -> set[str]:
        with engine.connect() as conn:
            return entries_partitions(conn)

    try:
        with engine.begin() as conn:
            for n, run in enumerate(runs):
                conn.execute(
                    sa.text(
                        "INSERT INTO comparison_runs (id, window_start, window_end, status,"
                        " counts, by_district, applied, timings, started_at) VALUES (:id,"
                        " '2025-12-01', '2026-11-30', 'applied', '{}', '{}', '{}', '{}', now())"
                    ),
                    {"id": run},
                )
                for k in range(3 + n):
                    conn.execute(
                        sa.text(
                            "INSERT INTO comparison_entries (run_id, entitlement_id, person_id,"
                            " district_code, benefit_kind, list, certified_in_window,"
                            " alive_count, lost_count, alive_evidence, lost_evidence, news)"
                            " VALUES (:r, :e, :e, '500103', 'pension', 'qualified', false, 1, 0,"
                            " '[1]', '[]', :news)"
                        ),
                        {"r": run, "e": UUID(int=100 * (n + 1) + k), "news": k % 2 == 0},
                    )
        before = entries()
        upgrade(url)
        assert partitions() == {f"comparison_entries_{r.hex}" for r in runs}
        assert entries() == before and len(before) == 7
        assert _drift(url) == []
        downgrade(url, "0021")
        assert entries() == before
        with engine.connect() as conn:
            kind = conn.scalar(
                sa.text("SELECT relkind FROM pg_class WHERE relname = 'comparison_entries'")
            )
        assert kind == "r"  # one plain table again
        assert _drift(url) != []  # (0021 had no removal date on runs: the schema is ahead)
    finally:
        engine.dispose()


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    """The embedded default: nothing configured but the data directory."""
    for key in ("LIFECERT_DATABASE_URL", "LIFECERT_BROKER_URL", "LIFECERT_OBJECT_STORE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LIFECERT_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield tmp_path / "var"
    get_settings.cache_clear()


def test_cli_migrate_demo_load_and_audit_verify_on_embedded_defaults(embedded):
    runner = CliRunner()
    assert runner.invoke(main, ["migrate"]).exit_code == 0
    result = runner.invoke(main, ["demo", "load", "--people", "120"])
    assert result.exit_code == 0, result.output
    assert "loaded 120 people" in result.output
    assert "yuzhong.clerk" in result.output and "operator" in result.output
    assert (embedded / "lifecert.sqlite3").exists()
    key = embedded / "secret_key"
    assert not key.exists()  # generated on first start of the service, not by the loader
    again = runner.invoke(main, ["demo", "load", "--people", "120"])
    assert "loaded 0 people" in again.output  # idempotent: the same people are not loaded twice
    verify = runner.invoke(main, ["audit", "verify"])
    assert verify.exit_code == 0 and "intact" in verify.output
    recompute = runner.invoke(main, ["periods", "recompute"])
    assert recompute.exit_code == 0 and "0 due dates changed" in recompute.output


def test_signing_key_is_generated_once_and_kept_private(embedded):
    settings = get_settings()
    first = settings.signing_key()
    assert settings.signing_key() == first
    path = embedded / "secret_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(first) >= 48


def test_production_refuses_to_start_without_explicit_services(monkeypatch, embedded):
    from infra.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="LIFECERT_SECRET_KEY"):
        Settings(environment="production")


def test_cli_generates_a_population_file(embedded, tmp_path):
    out = tmp_path / "population.csv"
    result = CliRunner().invoke(
        main, ["demo", "generate", "--people", "200", "--out", str(out), "--today", "2026-11-27"]
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("citizen_id,name,phone,region_code,kind")
    assert len(lines) >= 201


def test_regions_import_reports_rows_it_refuses(embedded, tmp_path):
    runner = CliRunner()
    runner.invoke(main, ["migrate"])
    csv_file = tmp_path / "regions.csv"
    csv_file.write_text(
        "code,name\n500103001,七星岗街道\n500103001001,石板坡社区\n500199001,不存在\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["regions", "import", str(csv_file)])
    assert result.exit_code == 1
    assert "added 2" in result.output and "refused 1" in result.output
    assert "row 4" in result.output


@pytest.mark.postgres
def test_the_sealing_migration_seals_what_was_stored_in_clear_and_the_downgrade_opens_it():
    """A database of the revision before sealing, with a person, an app account and its SMS
    login and a department event in clear: after the upgrade nothing is readable in the
    table, everything is found by its blind index and reads back; the downgrade refuses while
    events (which keep only the index) exist, then restores the clear values."""
    import uuid
    from datetime import UTC, datetime

    from infra.settings import Settings
    from lifecert.bootstrap import SettingsKeys
    from storage import crypto

    crypto.install(SettingsKeys(Settings()))
    name = f"lifecert_mig_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    cid, person_id, account_id = "50010319450301123X", uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    try:
        upgrade(url, "0012")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO persons (id, citizen_id, name, phone, address, birth_date, sex,"
                    " region_code, district_code, created_at, updated_at, version) VALUES "
                    "(:id, :cid, '张秀兰', '13800138000', '民族路1号', '1945-03-01', 'male',"
                    " '500103', '500103', :now, :now, 0)"
                ),
                {"id": person_id, "cid": cid, "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO accounts (id, kind, display_name, roles, citizen_id, phone,"
                    " identity_verified, active, failed_logins, created_at, version) VALUES "
                    "(:id, 'family', '张建国', '[]', :cid, '13900139000', false, true, 0, :now,"
                    " 0)"
                ),
                {"id": account_id, "cid": cid, "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO external_identities (id, provider, subject, account_id,"
                    " created_at) VALUES (:id, 'sms', '13900139000', :a, :now)"
                ),
                {"id": uuid.uuid4(), "a": account_id, "now": now},
            )
            import_id = uuid.uuid4()
            conn.execute(
                sa.text(
                    "INSERT INTO feed_imports (id, file_name, file_format, status, started_at,"
                    " rows_read, rows_accepted, rows_refused, rows_duplicate,"
                    " problems_by_code, ignored_columns) VALUES"
                    " (:id, 'f.csv', 'csv', 'done', :now, 1, 1, 0, 0, '{}', '[]')"
                ),
                {"id": import_id, "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO department_events (citizen_id, event_kind, event_date,"
                    " source_department, source_record_id, import_id) VALUES"
                    " (:cid, 'hospital_stay', '2026-06-01', 'health', 'H1', :i)"
                ),
                {"cid": cid, "i": import_id},
            )
        upgrade(url)
        with engine.connect() as conn:
            dump = " ".join(
                str(r)
                for table in ("persons", "accounts", "external_identities", "department_events")
                for r in conn.execute(sa.text(f"SELECT * FROM {table}"))
            )
            for clear in (cid, "张秀兰", "13800138000", "民族路1号", "张建国", "13900139000"):
                assert clear not in dump
            key = crypto.blind_index("citizen_id", cid)
            assert (
                conn.scalar(sa.text("SELECT id FROM persons WHERE citizen_id_key = :k"), {"k": key})
                == person_id
            )
            assert (
                conn.scalar(
                    sa.text("SELECT count(*) FROM department_events WHERE citizen_id_key = :k"),
                    {"k": key},
                )
                == 1
            )
            sealed = conn.scalar(sa.text("SELECT name FROM persons"))
            assert crypto.open_text(sealed, "persons.name") == "张秀兰"
            subject = conn.scalar(sa.text("SELECT subject_key FROM external_identities"))
            assert subject == crypto.blind_index("subject", "13900139000")
        with pytest.raises(RuntimeError, match="department events"):
            downgrade(url, "0012")
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM department_events"))
        downgrade(url, "0012")
        with engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT citizen_id, name, phone, address FROM persons")
            ).one()
            assert tuple(row) == (cid, "张秀兰", "13800138000", "民族路1号")
            assert conn.scalar(sa.text("SELECT subject FROM external_identities")) == "13900139000"
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_news_migration_marks_the_qualified_entries_of_runs_still_applying(tmp_path):
    """Entries stored before runs marked their news: those of a run not yet applied are all
    candidates (the walk checks each against the person), an applied run's stay unmarked."""
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url, "0019")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for run, status in (("a" * 32, "running"), ("b" * 32, "applied")):
                conn.execute(
                    sa.text(
                        "INSERT INTO comparison_runs (id, window_start, window_end, status,"
                        " counts, by_district, applied, timings, started_at) VALUES (:id,"
                        " '2025-12-01', '2026-11-30', :s, '{}', '{}', '{}', '{}',"
                        " '2026-12-01 00:00:00')"
                    ),
                    {"id": run, "s": status},
                )
                for n, listed in enumerate(("qualified", "to_verify")):
                    conn.execute(
                        sa.text(
                            "INSERT INTO comparison_entries (run_id, entitlement_id, person_id,"
                            " district_code, benefit_kind, list, certified_in_window,"
                            " alive_count, lost_count, alive_evidence, lost_evidence) VALUES"
                            " (:r, :e, :p, '500103', 'pension', :l, 0, 1, 0, '[1]', '[]')"
                        ),
                        {"r": run, "e": f"{n}{run[1:]}", "p": "c" * 32, "l": listed},
                    )
        upgrade(url)
        with engine.connect() as conn:
            marked = conn.execute(
                sa.text("SELECT run_id, list FROM comparison_entries WHERE news")
            ).all()
        assert [tuple(r) for r in marked] == [("a" * 32, "qualified")]
    finally:
        engine.dispose()
