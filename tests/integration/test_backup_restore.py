"""Backup and restore as the runbook (docs/ops/backup-restore.md) says: the chain's head is
anchored outside the database, the database dumped with pg_dump and restored into a fresh
one; the restored copy passes the chain check against the anchor, and reads the sealed
personal data with the same keys. A copy that lost its newest records does not pass."""

from __future__ import annotations

import secrets
import subprocess
from datetime import date
from uuid import UUID

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from certification.citizen_id import make_citizen_id
from infra.settings import get_settings
from lifecert.bootstrap import build_runtime
from lifecert.cli import main
from tests.conftest import PG_ADMIN_URL
from tests.integration.conftest import grant, new_person

pytestmark = pytest.mark.postgres


def libpq(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def cli(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("LIFECERT_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, list(args))
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_a_restored_dump_passes_the_chain_check_against_the_anchor(
    clerk, settings, pg_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("LIFECERT_DATA_DIR", str(tmp_path / "var"))
    cid = make_citizen_id("500103", date(1950, 2, 3), 41).value
    person = new_person(clerk, cid, name="诸葛明月")
    grant(clerk, person["id"])
    code, anchor = cli(monkeypatch, pg_url, "audit", "anchor")
    assert code == 0, anchor
    anchor = anchor.strip()
    assert anchor.startswith("lifecert-audit-anchor:v1:")

    dump = tmp_path / "lifecert.dump"
    subprocess.run(
        ["pg_dump", "--format=custom", "--file", str(dump), libpq(pg_url)],
        check=True,
        capture_output=True,
    )
    name = f"lifecert_restore_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    restored = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", libpq(restored), str(dump)],
            check=True,
            capture_output=True,
        )
        code, out = cli(monkeypatch, restored, "audit", "verify", "--anchor", anchor)
        assert code == 0, out
        assert "audit chain intact" in out and anchor in out
        # the same keys open the restored copy's sealed name; at rest it is sealed
        copy = build_runtime(settings.model_copy(update={"database_url": restored}))
        try:
            with copy.use_case() as ctx:
                back = ctx.uow.persons.get(UUID(person["id"]))
                assert back is not None and back.name == "诸葛明月"
        finally:
            copy.close()
        engine = sa.create_engine(restored)
        with engine.begin() as conn:
            names = list(conn.scalars(sa.text("SELECT name FROM persons")))
            assert names and all("诸葛明月" not in n for n in names)  # sealed at rest
            # a copy that lost its newest audit record (an old backup passed off as new, or
            # a cut): the anchor shows it
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(
                sa.text(
                    "DELETE FROM audit_events WHERE sequence = "
                    "(SELECT max(sequence) FROM audit_events)"
                )
            )
        engine.dispose()
        code, out = cli(monkeypatch, restored, "audit", "verify", "--anchor", anchor)
        assert code == 1 and "cut from its end" in out, out
        code, out = cli(monkeypatch, restored, "audit", "verify", "--anchor", "nonsense")
        assert code == 2 and "lifecert-audit-anchor:v1" in out
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
