"""The staff scope (certification.access.Scope) in SQL: the one translator every listing
uses, and the one scoped, keyset-paged list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from certification.access import Scope
from certification.ports import Page, PageRequest
from certification.regions import RegionLevel
from storage import schema
from storage.paging import page_by_time

_COLUMN = {RegionLevel.DISTRICT: "district_code", RegionLevel.TOWNSHIP: "township_code"}


def scope_clause(scope: Scope, table: sa.FromClause) -> sa.ColumnElement[bool] | None:
    """Rows of ``table`` inside the scope (None: no condition, the whole city). The row's own
    district/township column when the table has it; otherwise the registration of the
    person the row is about (``person_id``)."""
    if scope.code is None:
        return sa.false()
    level = scope.level
    if level is RegionLevel.CITY:
        return None
    assert level in _COLUMN, f"staff scopes stop at townships, not {scope.code}"
    column = _COLUMN[level]
    if column in table.c:
        return table.c[column] == scope.code
    if "person_id" in table.c:
        persons = schema.persons
        return table.c.person_id.in_(sa.select(persons.c.id).where(persons.c[column] == scope.code))
    raise TypeError(
        f"{table.description} has no region columns and no person_id: it cannot be scoped"
    )


_S = TypeVar("_S", bound=sa.Select[Any])


def within_scope(stmt: _S, scope: Scope, table: sa.FromClause) -> _S:
    clause = scope_clause(scope, table)
    return stmt if clause is None else stmt.where(clause)


def scoped_page(
    session: Session,
    entity: type[Any],
    table: sa.Table,
    *,
    scope: Scope,
    filters: Sequence[sa.ColumnElement[bool]] = (),
    page: PageRequest,
    order: str,
) -> Page[Any]:
    """Rows of ``table`` inside the scope matching ``filters``, oldest first by ``order`` (a
    date or timestamp column), paged by (order, id)."""
    stmt = within_scope(sa.select(entity), scope, table)
    for condition in filters:
        stmt = stmt.where(condition)
    return page_by_time(session, stmt, page, table, order)
