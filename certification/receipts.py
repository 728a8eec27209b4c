"""The receipt of a certification (认证回执): a short code anyone can check, signed by the
service, naming the person only by a masked name.

The code is random (60 bits) with a check character, so a mistyped code is told apart from a
forged one at once. The signed statement is a fixed line of text; the signature (Ed25519) is
kept with it, and the public check verifies it again, so a receipt row edited in the database
no longer verifies.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from uuid import UUID

# Crockford's base 32 (no I, L, O, U) and its five extra check symbols
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_SYMBOLS = ALPHABET + "*~$=U"
CODE_SYMBOLS = 12  # 60 bits
STATEMENT_VERSION = "LC1"


def _check_symbol(body: str) -> str:
    value = 0
    for char in body:
        value = value * 32 + ALPHABET.index(char)
    return CHECK_SYMBOLS[value % 37]


def new_code() -> str:
    """``XXXX-XXXX-XXXX-C``: twelve random symbols and a check symbol."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(CODE_SYMBOLS))
    return format_code(body + _check_symbol(body))


def format_code(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, CODE_SYMBOLS, 4)) + "-" + raw[CODE_SYMBOLS:]


def normalise_code(text: str) -> str | None:
    """The code as stored, from what a person typed (case, spaces, dashes, O for 0, I/L for 1
    forgiven), or None when it cannot be a receipt code (wrong length or check symbol)."""
    raw = "".join(ch for ch in (text or "").upper() if ch not in " -")
    raw = raw.translate(str.maketrans("OIL", "011"))
    if len(raw) != CODE_SYMBOLS + 1:
        return None
    body, check = raw[:CODE_SYMBOLS], raw[CODE_SYMBOLS:]
    if any(ch not in ALPHABET for ch in body) or check != _check_symbol(body):
        return None
    return format_code(raw)


@dataclass(eq=False)
class Receipt:
    code: str
    certification_id: UUID
    person_id: UUID
    masked_name: str
    certified_on: date
    channel: str
    next_due_on: date | None
    key_id: str
    signature: str  # base64url of the Ed25519 signature of statement()
    issued_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def statement(self) -> bytes:
        return statement(
            self.code, self.masked_name, self.certified_on, self.channel, self.next_due_on
        )


def statement(
    code: str, masked_name: str, certified_on: date, channel: str, next_due_on: date | None
) -> bytes:
    """The signed line: what the receipt says, nothing else."""
    due = next_due_on.isoformat() if next_due_on else "-"
    line = "|".join((STATEMENT_VERSION, code, masked_name, certified_on.isoformat(), channel, due))
    return line.encode("utf-8")


@dataclass(frozen=True, slots=True)
class ReceiptCheck:
    """What the public check says: valid with the dates and the masked name, or not valid."""

    valid: bool
    masked_name: str | None = None
    certified_on: date | None = None
    next_due_on: date | None = None
    channel: str | None = None
