"""Migrations run on SQLite and PostgreSQL; the CLI works on the embedded defaults."""

import secrets

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from infra.settings import get_settings
from lifecert.cli import main
from storage.migrate import downgrade, upgrade
from storage.schema import metadata
from tests.conftest import PG_ADMIN_URL


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
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


@pytest.mark.postgres
def test_migrations_up_down_up_on_postgresql():
    name = f"lifecert_mig_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        assert set(metadata.tables) <= _tables(url)
        downgrade(url, "base")
        assert _tables(url) == {"alembic_version"}
        upgrade(url)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
