"""Shared test settings: where the shared face data and PostgreSQL are."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LIFECERT_SHARED_DIR", PROJECT.parent / "shared"))
PG_ADMIN_URL = os.environ.get(
    "LIFECERT_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
