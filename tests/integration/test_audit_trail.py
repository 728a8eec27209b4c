"""Art. 24: an append-only, hash-chained audit trail whose check names the first broken row."""

import threading
from datetime import date

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from certification.citizen_id import make_citizen_id
from certification.vocabulary import AccountKind
from lifecert.cli import main
from tests.integration.conftest import grant, new_person
from tests.integration.test_comparison_workflow import run_comparison

pytestmark = pytest.mark.postgres


def _activity(clerk, n=3):
    for seq in range(1, n + 1):
        person = new_person(clerk, make_citizen_id("500103", date(1950, 1, 1), seq).value)
        grant(clerk, person["id"])


def test_every_change_records_who_when_where_what_and_why(clerk, runtime):
    _activity(clerk, 1)
    with runtime.database.connect() as conn:
        row = conn.execute(
            sa.text("SELECT * FROM audit_events WHERE action = 'entitlement.granted'")
        ).one()
    assert row.actor_label == "yuzhong.clerk" and row.actor_kind == "staff"
    assert row.origin == "127.0.0.1"
    assert row.occurred_at is not None and row.entity_type == "entitlement"
    assert row.details["monthly_amount_fen"] == 300_000


def test_the_database_refuses_to_edit_or_delete_audit_rows(clerk, runtime):
    _activity(clerk, 1)
    for statement in (
        "UPDATE audit_events SET reason = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ):
        with (
            pytest.raises(sa.exc.DBAPIError, match="append-only"),
            runtime.database.begin() as conn,
        ):
            conn.execute(sa.text(statement))


def test_an_edited_row_is_found_by_the_chain_check(clerk, login, runtime, settings, monkeypatch):
    _activity(clerk, 3)
    op = login("ops", None, (), kind=AccountKind.OPERATOR)
    assert op.post("/api/audit/verification").get_json()["intact"] is True
    with runtime.database.begin() as conn:
        # Someone with superuser rights switches the triggers off and edits history.
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            sa.text(
                "UPDATE audit_events SET details = '{\"monthly_amount_fen\": 1}' WHERE sequence = 5"
            )
        )
    report = op.post("/api/audit/verification").get_json()
    assert report == {
        "intact": False,
        "checked": 4,
        "first_broken_sequence": 5,
        "problem": "its content does not match its hash (edited)",
    }
    monkeypatch.setenv("LIFECERT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LIFECERT_DATA_DIR", str(settings.data_dir))
    from infra.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["audit", "verify"])
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "BROKEN at sequence 5" in result.output


def test_a_deleted_row_is_found(clerk, runtime, login):
    _activity(clerk, 2)
    with runtime.database.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text("DELETE FROM audit_events WHERE sequence = 3"))
    op = login("ops", None, (), kind=AccountKind.OPERATOR)
    report = op.post("/api/audit/verification").get_json()
    assert report["first_broken_sequence"] == 4 and "removed" in report["problem"]


def test_concurrent_writers_keep_one_linear_chain(app, login, runtime):
    clerk = login("yuzhong.clerk")
    errors: list[str] = []

    def worker(offset: int) -> None:
        client = app.test_client()
        headers = clerk.headers
        for i in range(8):
            cid = make_citizen_id("500103", date(1950, 1, 1), offset * 10 + i).value
            resp = client.post(
                "/api/persons",
                json={"citizen_id": cid, "name": "并发", "region_code": "500103"},
                headers=headers,
            )
            if resp.status_code != 201:
                errors.append(str(resp.get_json()))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    op = login("ops", None, (), kind=AccountKind.OPERATOR)
    report = op.post("/api/audit/verification").get_json()
    assert report["intact"] is True and report["checked"] >= 32


def test_audit_reading_is_for_operators_and_municipal_auditors(clerk, login):
    _activity(clerk, 1)
    assert clerk.get("/api/audit").status_code == 403
    auditor = login("city.auditor", "500000", ("auditor",))
    page = auditor.get("/api/audit?action=person.registered").get_json()
    assert [r["action"] for r in page["items"]] == ["person.registered"]


def test_staff_reads_of_personal_data_leave_a_trace(clerk, login, runtime):
    """A record read, a ledger export and a page of a comparison list: who, what, from where."""
    person = new_person(clerk, make_citizen_id("500103", date(1950, 1, 1), 61).value)
    grant(clerk, person["id"])
    assert clerk.get(f"/api/persons/{person['id']}").status_code == 200
    assert clerk.get("/api/verification/ledger").status_code == 200
    operator = login("ops", None, (), kind=AccountKind.OPERATOR)
    run = run_comparison(operator)  # applied before the test ends: nothing left running
    entries = clerk.get(f"/api/comparison/runs/{run['id']}/entries?list=to_verify")
    assert entries.status_code == 200
    with runtime.database.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT action, entity_id, actor_label FROM audit_events "
                "WHERE action IN ('person.read', 'ledger.exported', 'comparison.entries_read')"
            )
        ).all()
    seen = {(r.action, r.entity_id) for r in rows}
    assert ("person.read", person["id"]) in seen
    assert ("ledger.exported", "500103") in seen
    assert ("comparison.entries_read", run["id"]) in seen
    assert {r.actor_label for r in rows} == {"yuzhong.clerk"}
