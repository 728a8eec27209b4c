"""Keyset pagination: rows strictly after the cursor, in a stable order, one more than a page
read to know whether another page follows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session

from certification.ports import Cursor, Page, PageRequest


def keyset_page(
    session: Session,
    stmt: sa.Select[Any],
    page: PageRequest,
    keys: Sequence[sa.ColumnElement[Any]],
    decode: Sequence[Callable[[str], Any]],
    encode: Callable[[Any], Cursor],
) -> Page[Any]:
    """Cursor pagination: rows strictly after ``page.after`` in ``keys`` order."""
    if page.after is not None:
        if len(page.after) != len(keys):
            raise ValueError("cursor does not fit this list")
        values = [fn(raw) for fn, raw in zip(decode, page.after, strict=True)]
        bound = [sa.literal(v, type_=k.type) for k, v in zip(keys, values, strict=True)]
        stmt = stmt.where(sa.tuple_(*keys) > sa.tuple_(*bound))
    stmt = stmt.order_by(*keys).limit(page.limit + 1)
    rows = list(session.scalars(stmt))
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(rows, encode(rows[-1]) if more and rows else None)


def page_by_time(
    session: Session, stmt: sa.Select[Any], page: PageRequest, table: sa.Table, order: str
) -> Page[Any]:
    """The usual list order: oldest first by ``order`` (a date or timestamp column of
    ``table``), ties broken by id; the cursor is both, as ISO text and the id."""
    column = table.c[order]
    return keyset_page(
        session,
        stmt,
        page,
        [column, table.c.id],
        [column.type.python_type.fromisoformat, UUID],
        lambda row: (getattr(row, order).isoformat(), str(row.id)),
    )
