"""Running the Alembic migrations from code and from the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str, *, signing_key: Callable[[], str] | None = None) -> Config:
    """``signing_key`` is asked for only by a data migration that derives hashes with it."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if signing_key:
        cfg.attributes["signing_key"] = signing_key
    return cfg


def upgrade(
    url: str, revision: str = "head", *, signing_key: Callable[[], str] | None = None
) -> None:
    command.upgrade(alembic_config(url, signing_key=signing_key), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def revision(url: str, message: str, *, autogenerate: bool = True) -> None:
    command.revision(alembic_config(url), message=message, autogenerate=autogenerate)
