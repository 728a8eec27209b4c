"""Evidence retention (Art. 20: kept 3 years in principle): the sweep deletes only what
has provably expired (its retain-until metadata has passed). Enrolment photos are kept with
the template made from them (``retain-with``) and deleted with it
(certification.services.consent.forget). Objects with neither are kept and counted, for an
operator to look at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from storage.objects import ObjectStore

EVIDENCE_PREFIXES = ("selfservice/", "evidence/", "enrolment/")


@dataclass(frozen=True, slots=True)
class SweepReport:
    checked: int
    deleted: int
    kept: int
    without_retention: int


def sweep_expired(
    store: ObjectStore, today: date, prefixes: tuple[str, ...] = EVIDENCE_PREFIXES
) -> SweepReport:
    checked = deleted = unknown = 0
    for prefix in prefixes:
        for key in list(store.list_keys(prefix)):
            checked += 1
            info = store.stat(key)
            if info is None:
                continue
            if info.metadata.get("retain-with"):
                continue  # deleted with what it belongs to, never by date
            until = info.metadata.get("retain-until")
            if until is None:
                unknown += 1
                continue
            try:
                expired = date.fromisoformat(until) < today
            except ValueError:
                unknown += 1
                continue
            if expired:
                store.delete(key)
                deleted += 1
    return SweepReport(checked, deleted, checked - deleted, unknown)
