"""Art. 24: the audit trail's hash chain finds edits, deletions and reordering."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from certification.audit import (
    GENESIS_HASH,
    Anchor,
    AuditContent,
    ChainedRecord,
    chain_hash,
    verify_chain,
)


def build(n):
    records, prev = [], GENESIS_HASH
    for i in range(1, n + 1):
        content = AuditContent(
            sequence=i,
            occurred_at=datetime(2026, 11, 27, 8, 0, i, tzinfo=UTC),
            actor_id="a1",
            actor_kind="staff",
            actor_label="yuzhong.clerk",
            origin="10.0.0.8",
            action="certification.recorded",
            entity_type="person",
            entity_id=f"p{i}",
            reason=None,
            details={"channel": "counter", "due_on": "2027-11-27", "名": "张三"},
        )
        digest = chain_hash(prev, content)
        records.append(ChainedRecord(content, prev, digest))
        prev = digest
    return records


def test_an_untouched_chain_is_intact():
    report = verify_chain(build(5))
    assert report.intact and report.checked == 5


def test_an_edited_record_is_found():
    records = build(5)
    records[2] = replace(records[2], content=replace(records[2].content, reason="edited"))
    report = verify_chain(records)
    assert not report.intact
    assert report.first_broken_sequence == 3
    assert "edited" in report.problem


def test_a_deleted_record_is_found():
    records = build(5)
    del records[1]
    report = verify_chain(records)
    assert report.first_broken_sequence == 3
    assert "removed" in report.problem


def test_a_rehashed_record_breaks_the_next_link():
    records = build(4)
    forged = replace(records[1].content, actor_label="someone else")
    records[1] = ChainedRecord(
        forged, records[1].prev_hash, chain_hash(records[1].prev_hash, forged)
    )
    report = verify_chain(records)
    assert report.first_broken_sequence == 3


def test_naive_and_aware_times_hash_alike():
    a = build(1)[0].content
    naive = replace(a, occurred_at=a.occurred_at.replace(tzinfo=None))
    assert chain_hash(GENESIS_HASH, a) == chain_hash(GENESIS_HASH, naive)


def rewritten_from(records, index, reason):
    """An insider with database access rewrites the chain from ``index`` on, rehashing every
    record after it: the chain alone stays consistent."""
    out, prev = list(records[:index]), records[index - 1].hash if index else GENESIS_HASH
    for record in records[index:]:
        content = replace(record.content, reason=reason)
        digest = chain_hash(prev, content)
        out.append(ChainedRecord(content, prev, digest))
        prev = digest
    return out


def test_the_head_is_the_anchor_and_a_chain_rewritten_after_it_was_written_down_is_found():
    records = build(6)
    head = verify_chain(records[:4]).head
    assert head == Anchor(4, records[3].hash)
    assert Anchor.parse(str(head)) == head
    forged = rewritten_from(records, 2, "rewritten")
    assert verify_chain(forged).intact  # consistent in itself
    report = verify_chain(forged, head)
    assert report.first_broken_sequence == 4 and "anchored" in report.problem
    assert verify_chain(records, head).intact  # grown since: still reaches the anchor


def test_records_cut_from_the_end_are_found_by_the_anchor():
    records = build(6)
    anchor = verify_chain(records).head
    assert verify_chain(records[:5]).intact  # the chain alone cannot tell
    report = verify_chain(records[:5], anchor)
    assert report.first_broken_sequence == 6 and "cut from its end" in report.problem


def test_an_anchor_is_read_strictly():
    for text in (
        "",
        "lifecert-audit-anchor:v1:4",
        "lifecert-audit-anchor:v2:4:" + "a" * 64,
        "lifecert-audit-anchor:v1:x:" + "a" * 64,
        "lifecert-audit-anchor:v1:4:" + "A" * 64,
    ):
        with pytest.raises(ValueError, match="lifecert audit"):
            Anchor.parse(text)


def test_audit_details_are_kept_as_the_database_will_return_them():
    """The hash covers the details as JSON gives them back: a plain value is copied as it is
    (not shared with the caller), anything JSON changes goes through JSON."""
    import json
    from datetime import date
    from enum import StrEnum

    from storage.audit_log import _json_roundtrip

    class Colour(StrEnum):
        RED = "red"

    evidence = ["department_event:1", "department_event:2"]
    cases = [
        {"a": "text", "n": 2**63, "ok": True, "none": None, "list": evidence, "obj": {"k": [1]}},
        {"when": date(2026, 2, 28), "colour": Colour.RED, "pair": (1, 2), "share": 0.1},
        {"nested": {"1": [{"deep": (3,)}]}, "keys": {1: "a"}},
        {"nan": float("nan")},
    ]
    for details in cases:
        expected = json.loads(json.dumps(details, default=str, ensure_ascii=False))
        got = _json_roundtrip(details)
        assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    kept = _json_roundtrip(cases[0])
    evidence.append("department_event:3")  # the caller changes its list after the audit call
    assert kept["list"] == ["department_event:1", "department_event:2"]
    assert type(_json_roundtrip(cases[1])["colour"]) is str
