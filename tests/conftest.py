"""Shared test settings and servers: PostgreSQL (a fresh database per session) and an
S3-compatible server (moto's, on loopback), as the test command provides them."""

from __future__ import annotations

import base64
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

PROJECT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LIFECERT_SHARED_DIR", PROJECT.parent / "shared"))
PG_ADMIN_URL = os.environ.get(
    "LIFECERT_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# The test command runs the suite in parallel processes (pytest-xdist): each has its own
# PostgreSQL database and S3 server (session fixtures) and its own Redis databases, three
# per process counted down from 15, so that no process consumes another's tasks.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_WORKER_INDEX = int(_WORKER[2:]) if _WORKER[2:].isdigit() else 0
_REDIS_BASE = os.environ.get("LIFECERT_TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")


def redis_url(slot: int) -> str:
    """This test process's Redis database number ``slot`` (0, 1 or 2)."""
    if not 0 <= slot <= 2 or _WORKER_INDEX > 4:
        raise ValueError("three Redis databases per test process, at most five processes")
    return f"{_REDIS_BASE}/{13 - 3 * _WORKER_INDEX + slot}"


REDIS_URL = redis_url(0)
# One set of keys (face templates, personal data, the look-up index) for every runtime and
# worker process of this test process (a worker subprocess opens what the test process
# sealed, and the reverse).
for _name in ("LIFECERT_TEMPLATE_KEYS", "LIFECERT_DATA_KEYS", "LIFECERT_INDEX_KEY"):
    os.environ.setdefault(_name, base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))
MODEL_DIR = Path(os.environ.get("LIFECERT_MODEL_DIR", SHARED / "models"))

# fixtures that load the face models: a test using one is marked ``models``
MODEL_FIXTURES = frozenset({"engine", "face_engine", "worker", "enrolled"})
WAITS_FOR_THE_IMAGE = "tests/e2e/test_image.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that run the real face models (``-m "not models"`` leaves them out),
    and put the production image's tests last: they wait for the image the test command
    builds in the background, and a test process waiting on it early would idle for a
    minute or more (the test processes take their later tests last, or from each other's
    ends once their own are done)."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.models)
    items.sort(key=lambda item: item.nodeid.startswith(WAITS_FOR_THE_IMAGE))  # stable


def _all_tables_but_regions() -> str:
    from storage.schema import metadata

    return ", ".join(t.name for t in metadata.sorted_tables if t.name != "regions")


TRUNCATE = _all_tables_but_regions()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database of its own for this test session, migrated with Alembic."""
    from storage.migrate import upgrade

    name = f"lifecert_test_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as err:
        pytest.fail(f"PostgreSQL is needed for the integration tests ({PG_ADMIN_URL}): {err}")
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def entries_partitions(conn: sa.Connection) -> set[str]:
    """The names of the runs' partitions of the comparison entries (PostgreSQL)."""
    return set(
        conn.scalars(
            sa.text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'comparison_entries'::regclass"
            )
        )
    )


def truncate_all(engine: sa.Engine) -> None:
    """The audit table's triggers refuse TRUNCATE, so cleaning runs in replica mode, which
    only a superuser test harness can use. The runs' partitions of the comparison entries
    go with their runs."""
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for partition in entries_partitions(conn):
            conn.execute(sa.text(f"DROP TABLE {partition}"))
        conn.execute(sa.text(f"TRUNCATE {TRUNCATE} CASCADE"))
        conn.execute(sa.text("DELETE FROM regions WHERE level IN ('township', 'village')"))


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """host:port of an S3 server: LIFECERT_TEST_S3_ENDPOINT, or moto's server started here."""
    configured = os.environ.get("LIFECERT_TEST_S3_ENDPOINT")
    if configured:
        yield configured
        return
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the S3 test server did not start")
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)
