"""What the audit trail may keep of personal data: enough for a person to recognise a
record, never the whole name of a guardian, a witness or a renamed beneficiary."""

from __future__ import annotations

from typing import Any

# the parts of an Art. 18 record that name people
_NAMED = ("signer_name",)


def mask_name(name: str | None) -> str | None:
    """张秀兰 → 张**, Li Ming → L******: the first character only."""
    if not name:
        return name
    text = name.strip()
    return text[:1] + "*" * max(1, len(text) - 1)


def redacted_statement(statement: object) -> dict[str, Any] | None:
    """An Art. 18 record for the audit trail: every fact kept, the people's names masked
    (the full record stays on the task, for the staff who may read it)."""
    if not isinstance(statement, dict):
        return None
    out = dict(statement)
    for key in _NAMED:
        out[key] = mask_name(out.get(key))
    out["witnesses"] = [mask_name(w) for w in out.get("witnesses") or []]
    return out
