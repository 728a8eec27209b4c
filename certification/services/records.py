"""Loading a record for a use case: it exists (else NotFound) and it is the version the
caller read (else StaleVersion). One rule each, for every kind of record."""

from __future__ import annotations

from typing import Protocol, TypeVar

from certification.errors import NotFound, StaleVersion

T = TypeVar("T")


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


def found(record: T | None, what: str, record_id: object) -> T:
    """The record, or a 404 naming what was asked for."""
    if record is None:
        raise NotFound(f"No {what} with id {record_id}.")
    return record


def check_version(record: Versioned, expected: int | None, what: str) -> None:
    """The optimistic lock of every change: ``expected`` is the version the caller read (the
    API's If-Match); a change made on an older read is refused. None: a job that read the
    record in this transaction."""
    if expected is not None and expected != record.version:
        raise StaleVersion(f"Someone else changed this {what}; reload it and try again.")
