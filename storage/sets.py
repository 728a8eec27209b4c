"""Membership in a list of values, sent as one parameter where the database can take it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session


def among(session: Session, column: sa.ColumnElement[Any], values: Sequence[Any]) -> Any:
    """``column IN values``: on PostgreSQL ``= ANY(:array)``, one parameter however many
    values (a list of thousands of ids is neither rendered nor parsed value by value);
    elsewhere an expanding IN."""
    if session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(
            sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        )
    return column.in_(list(values))
