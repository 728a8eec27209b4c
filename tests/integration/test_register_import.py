"""The register import on PostgreSQL: the COPY path writes exactly what the row-by-row path
writes, an interrupted import run again writes nobody twice, and the command reports refused
rows by line."""

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from certification.access import Actor
from certification.ports import PageRequest
from certification.services.periods import recompute_periods
from certification.services.register_import import import_register
from lifecert.cli import main
from lifecert.demo import PopulationGenerator, register_rows, write_csv
from lifecert.demo_load import ensure_demo_regions, load_population
from storage import schema
from storage.register_load import SqlRegisterLoad
from tests.conftest import truncate_all

TODAY = date(2026, 11, 27)


def state(runtime: Any) -> dict[str, Any]:
    """Everything an import wrote, by citizen ID, without the ids it drew."""
    out: dict[str, Any] = {}
    with runtime.use_case() as ctx:
        session = ctx.uow.persons.session
        for person in session.scalars(sa.select(schema.persons.c.id)).all():
            p = ctx.uow.persons.get(person)
            certs = ctx.uow.certifications.for_person(p.id, PageRequest(limit=10)).items
            out[p.citizen_id] = (
                p.name,
                p.phone,
                p.birth_date,
                p.sex,
                p.region_code,
                p.district_code,
                p.township_code,
                p.village_code,
                p.last_certified_on,
                p.period_starts_on,
                p.due_on,
                p.period_basis,
                p.version,
                sorted(
                    (
                        e.kind.value,
                        e.role.value,
                        e.relationship,
                        e.start_date,
                        e.monthly_amount_fen,
                        e.status.value,
                        tuple(
                            (a.effective_from, a.monthly_amount_fen, a.reason) for a in e.amounts
                        ),
                    )
                    for e in p.entitlements
                ),
                sorted((c.certified_at, c.certified_on, c.channel.value, c.note) for c in certs),
            )
    return out


def people(count: int, seed: int = 5) -> list[Any]:
    return list(PopulationGenerator(seed, TODAY).people(count))


def test_the_copy_path_writes_what_the_row_path_writes(runtime: Any, monkeypatch) -> None:
    crowd = people(400)
    copy_report = load_population(runtime, crowd)
    assert copy_report.people_loaded == 400 and copy_report.rows_refused == 0
    by_copy = state(runtime)
    truncate_all(runtime.database)
    # the same people through the Core inserts the embedded database uses
    monkeypatch.setattr(
        SqlRegisterLoad, "write", lambda self, batch, now: self._insert_rows(batch, now)
    )
    load_population(runtime, crowd)
    by_rows = state(runtime)
    assert by_copy == by_rows and len(by_copy) == 400
    with runtime.database.connect() as conn:  # its plans are made for the rows now there
        analyzed = conn.scalar(
            sa.text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'persons'")
        )
    assert analyzed is not None
    # the stored periods are those the domain computes for the stored facts
    with runtime.use_case() as ctx:
        assert recompute_periods(ctx, Actor.system("test")) == 0
        sample = crowd[17]
        found = ctx.uow.persons.by_citizen_id(sample.citizen_id)  # through the blind index
        assert found is not None and found.name == sample.name


def test_an_interrupted_import_run_again_writes_nobody_twice(runtime: Any) -> None:
    ensure_demo_regions(runtime.database)
    rows = list(enumerate(register_rows(people(250, seed=9)), start=2))

    def breaks_after(n: int):  # type: ignore[no-untyped-def]
        for i, item in enumerate(rows):
            if i == n:
                raise OSError("the connection to the file server dropped")
            yield item

    with runtime.use_case() as ctx, pytest.raises(OSError):
        import_register(ctx, Actor.system("t"), breaks_after(180), source="r", batch_people=50)
    with runtime.database.connect() as conn:
        partial = conn.scalar(sa.text("SELECT count(*) FROM persons"))
    assert 0 < partial < 250  # the batches before the break were committed
    with runtime.use_case() as ctx:
        report = import_register(ctx, Actor.system("t"), rows, source="r", batch_people=50)
    assert report.people_known == partial and report.people_loaded == 250 - partial
    with runtime.database.connect() as conn:
        counts = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM persons), (SELECT count(DISTINCT person_id) "
                "FROM entitlements), (SELECT count(*) FROM entitlements e WHERE (SELECT "
                "count(*) FROM entitlement_amounts a WHERE a.entitlement_id = e.id) <> 1)"
            )
        ).one()
    assert tuple(counts) == (250, 250, 0)


def test_the_command_imports_files_side_by_side_and_reports_refused_lines(
    runtime: Any, settings: Any, tmp_path: Path, monkeypatch
) -> None:
    ensure_demo_regions(runtime.database)
    monkeypatch.setattr("lifecert.cli._settings", lambda: settings)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    with first.open("w", encoding="utf-8", newline="") as fh:
        write_csv(iter(people(60, seed=1)), fh)
    text = first.read_text(encoding="utf-8").splitlines()
    text[3] = text[3].replace(",pension,", ",bonus,", 1)
    first.write_text("\n".join(text) + "\n", encoding="utf-8")
    with second.open("w", encoding="gb18030", newline="") as fh:  # a GBK export
        write_csv(iter(people(40, seed=2)), fh)
    result = CliRunner().invoke(
        main, ["register", "import", str(first), str(second), "--processes", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "line 4 (kind): invalid: Unknown kind 'bonus'" in result.output
    assert "40 people loaded" in result.output
    with runtime.database.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM persons")) == 99
    broken = tmp_path / "broken.csv"
    broken.write_text("citizen_id,name\n1,2\n", encoding="utf-8")
    refused = CliRunner().invoke(main, ["register", "import", str(broken)])
    assert refused.exit_code == 1 and "misses the required column(s)" in refused.output
