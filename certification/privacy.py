"""What the audit trail may keep of personal data: enough for a person to recognise a
record, never the whole name of a guardian, a witness or a renamed beneficiary."""

from __future__ import annotations

from typing import Any

# the parts of an Art. 18 record that name people
_NAMED = ("signer_name",)


def mask_name(name: str | None, *, for_helper: bool = False) -> str | None:
    """The one masking of a name. For records and anyone holding a code (audit, notices,
    receipts): the first character only, 张秀兰 → 张**, Li Ming → L******. For a bound family
    member choosing whom they help (``for_helper``): the first and the last, 王建国 → 王*国,
    李四 → 李*, so that two parents with one surname can be told apart."""
    if not name:
        return name
    text = name.strip()
    if for_helper and len(text) != 2:
        return text if len(text) < 2 else text[0] + "*" * (len(text) - 2) + text[-1]
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
