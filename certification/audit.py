"""The audit trail's hash chain (Art. 24: results recorded truthfully).

Every state change is one audit record: who, when, from where, what, why.
Each record stores the SHA-256 of its own canonical content together with the
previous record's hash, so editing, deleting or reordering any row breaks the
chain from that row on. Storage appends under a lock with contiguous sequence numbers, so the chain
is linear and a gap shows a deletion. Truncating the newest rows can only be
seen against an anchored head hash, which the verify command prints for
operators to keep outside the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
# one encoder for every record (json.dumps with options makes a new one per call)
_CANONICAL = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
)


def canonical_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class AuditContent:
    """The fields the hash covers."""

    sequence: int
    occurred_at: datetime
    actor_id: str | None
    actor_kind: str
    actor_label: str | None
    origin: str | None
    action: str
    entity_type: str
    entity_id: str | None
    reason: str | None
    details: Mapping[str, Any] = field(default_factory=dict)

    def canonical(self) -> bytes:
        payload = {
            "sequence": self.sequence,
            "occurred_at": canonical_time(self.occurred_at),
            "actor_id": self.actor_id,
            "actor_kind": self.actor_kind,
            "actor_label": self.actor_label,
            "origin": self.origin,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "reason": self.reason,
            "details": self.details,
        }
        return _CANONICAL.encode(payload).encode("utf-8")


def chain_hash(prev_hash: str, content: AuditContent) -> str:
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(content.canonical())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class ChainedRecord:
    content: AuditContent
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Anchor:
    """The chain's head written down outside the database (a notary, a signed letter, another
    agency's system): the chain alone cannot show that records were cut from its end, or
    that the whole chain was rewritten from some point on; a copy of an earlier head can."""

    sequence: int
    hash: str

    PREFIX = "lifecert-audit-anchor:v1"

    def __str__(self) -> str:
        return f"{self.PREFIX}:{self.sequence}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        prefix, _, rest = text.strip().rpartition(":")
        head, _, sequence = prefix.rpartition(":")
        if head != cls.PREFIX or not sequence.isdigit() or not _is_sha256(rest):
            raise ValueError(
                f"an anchor reads {cls.PREFIX}:<sequence>:<sha256 hex>, as `lifecert audit "
                "anchor` prints it"
            )
        return cls(int(sequence), rest)


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


@dataclass(frozen=True, slots=True)
class ChainReport:
    checked: int
    first_broken_sequence: int | None = None
    problem: str | None = None
    head: Anchor | None = None  # the last record checked

    @property
    def intact(self) -> bool:
        return self.first_broken_sequence is None


def verify_chain(records: Iterable[ChainedRecord], anchor: Anchor | None = None) -> ChainReport:
    """Walk records in sequence order; report the first that does not fit. With an anchor,
    the record at its sequence must carry its hash, and the chain must reach it."""
    report = _walk(records, anchor)
    if report.intact and anchor is not None and report.checked < anchor.sequence:
        return ChainReport(
            report.checked,
            report.checked + 1,
            f"the chain ends at sequence {report.checked}, before the anchored record "
            f"{anchor.sequence} (records were cut from its end)",
            report.head,
        )
    return report


def _walk(records: Iterable[ChainedRecord], anchor: Anchor | None) -> ChainReport:
    expected_prev = GENESIS_HASH
    checked = 0
    last_sequence = 0
    for record in records:
        seq = record.content.sequence
        if seq != last_sequence + 1:
            return ChainReport(
                checked,
                seq,
                f"sequence jumps from {last_sequence} to {seq} (records were removed or reordered)",
            )
        if record.prev_hash != expected_prev:
            return ChainReport(
                checked,
                seq,
                "its link to the previous record does not match (a record before it was "
                "removed or inserted)",
            )
        if chain_hash(record.prev_hash, record.content) != record.hash:
            return ChainReport(checked, seq, "its content does not match its hash (edited)")
        if anchor is not None and seq == anchor.sequence and record.hash != anchor.hash:
            return ChainReport(
                checked,
                seq,
                "it is not the record that was anchored (the chain was rewritten from here "
                "or before)",
            )
        expected_prev = record.hash
        last_sequence = seq
        checked += 1
    head = Anchor(last_sequence, expected_prev) if checked else None
    return ChainReport(checked, head=head)
