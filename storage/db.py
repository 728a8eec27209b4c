"""Engines and sessions."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.mapping import start_mappers


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (see _sqlite_begin), so savepoints work: pysqlite's own
    # transaction handling would begin late and break SAVEPOINT / ROLLBACK TO.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _Turns:
    """One transaction at a time in this process, re-entrant for the thread holding the turn.

    SQLite fails a read transaction that tries to write after another connection committed
    ("database is locked" at once: no busy wait can help it), which is what two concurrent
    requests in the embedded mode did. Taking turns serialises them; a thread that opens a
    second unit of work inside its first (a long job's reader and its writers) keeps its turn
    instead of waiting for itself."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._owner: int | None = None
        self._depth = 0

    def take(self, timeout: float) -> bool:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            if not self._cond.wait_for(lambda: self._owner is None, timeout):
                return False
            self._owner, self._depth = me, 1
            return True

    def give(self) -> None:
        with self._cond:
            self._depth -= 1
            if self._depth <= 0:
                self._owner, self._depth = None, 0
                self._cond.notify_all()


_TURNS = _Turns()
TURN_TIMEOUT_S = 30.0


class _TakingTurns(sqlite3.Connection):
    """A SQLite connection that gives the process's turn back once its transaction ends."""

    holds_turn = False

    def take_turn(self) -> None:
        if not self.holds_turn:
            if not _TURNS.take(TURN_TIMEOUT_S):
                raise sqlite3.OperationalError("database is busy; try again in a moment")
            self.holds_turn = True

    def _give_turn(self) -> None:
        if self.holds_turn:
            self.holds_turn = False
            _TURNS.give()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_turn()


def _sqlite_begin(conn: Any) -> None:
    raw = conn.connection.dbapi_connection
    if isinstance(raw, _TakingTurns):
        raw.take_turn()
    conn.exec_driver_sql("BEGIN")


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    start_mappers()
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:":
            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, echo=echo, connect_args={"factory": _TakingTurns})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # Objects stay readable after commit so the API can serialise what a use case returned.
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


def rowcount(result: sa.Result[Any]) -> int:
    """Rows an UPDATE, DELETE or INSERT … SELECT touched (0 where the driver cannot say)."""
    return int(getattr(result, "rowcount", 0) or 0)


def as_dicts(result: sa.Result[Any]) -> list[dict[str, Any]]:
    """A result's rows as dicts by column name (without a mapping view made per row: this
    reads whole batches of a comparison run)."""
    names = list(result.keys())
    return [dict(zip(names, row, strict=True)) for row in result]


def dialect_insert(session: Session, table: sa.Table) -> Any:
    """An INSERT with the dialect's ON CONFLICT clause available (PostgreSQL or SQLite)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def refresh_statistics(session: Session, *tables: sa.Table) -> None:
    """ANALYZE tables a bulk step has just filled (PostgreSQL): the planner's idea of their
    size is otherwise the empty table's until autovacuum gets to them (or never, where it is
    off), and a keyset page of ten million people becomes a sort of all of them."""
    if tables and session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("ANALYZE " + ", ".join(t.name for t in tables)))
