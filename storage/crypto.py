"""Field encryption at rest: AES-256-GCM under a key ring (key ids, rotation). Used for the
face templates (their own keys, `LIFECERT_TEMPLATE_KEYS`), so a copy of the database or a
backup holds no usable biometric vector.

The ring is set once per process by the composition root (`lifecert.bootstrap`): the column
type below cannot be handed objects. Keys are identified by a short hash of the key, so a
process that builds several runtimes (the tests) keeps every key it was given: a row written
under one stays readable. New values are written under the current (first) key;
`lifecert keys rotate` rewrites older rows under it, after which an old key can be retired.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.types import TypeDecorator

TEMPLATE_AAD = b"lifecert face template v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:12]


class KeyMissing(Exception):
    """A value encrypted under a key this process does not hold (retired, or not configured)."""


@dataclass
class KeyRing:
    keys: dict[str, bytes] = field(default_factory=dict)
    current: str | None = None

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        """Comma-separated base64url 32-byte keys, the current one first."""
        ring = cls()
        for item in reversed([s.strip() for s in spec.split(",") if s.strip()]):
            ring.add(_unb64(item), current=True)
        if ring.current is None:
            raise ValueError("no key given")
        return ring

    def add(self, key: bytes, *, current: bool) -> str:
        if len(key) != 32:
            raise ValueError("a template key is 32 bytes (AES-256)")
        kid = key_id(key)
        self.keys[kid] = key
        if current or self.current is None:
            self.current = kid
        return kid

    def encrypt(self, plaintext: bytes, aad: bytes) -> dict[str, str]:
        if self.current is None:
            raise KeyMissing("no encryption key is configured")
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext, aad)
        return {"kid": self.current, "n": _b64(nonce), "ct": _b64(sealed)}

    def decrypt(self, doc: dict[str, str], aad: bytes) -> bytes:
        key = self.keys.get(doc.get("kid", ""))
        if key is None:
            raise KeyMissing(f"no key {doc.get('kid')!r} in this process's ring")
        return AESGCM(key).decrypt(_unb64(doc["n"]), _unb64(doc["ct"]), aad)


_lock = threading.Lock()
_ring = KeyRing()


def configure(ring: KeyRing) -> None:
    """Add the runtime's keys to the process ring; its current key becomes current."""
    with _lock:
        for key in ring.keys.values():
            _ring.add(key, current=False)
        if ring.current is not None:
            _ring.current = ring.current


def process_ring() -> KeyRing:
    return _ring


def generated_key_file(path: Path) -> str:
    """The development default: a key made on first use, owner-only (production names its
    keys in the settings)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(_b64(AESGCM.generate_key(bit_length=256)))
    return path.read_text().strip()


def seal_template(value: dict[str, Any]) -> dict[str, Any]:
    return {"enc": _ring.encrypt(json.dumps(value).encode(), TEMPLATE_AAD)}


def open_template(stored: dict[str, Any]) -> dict[str, Any]:
    if "enc" not in stored:
        return stored  # written before encryption: readable until `keys rotate` seals it
    opened: dict[str, Any] = json.loads(_ring.decrypt(stored["enc"], TEMPLATE_AAD))
    return opened


def sealed_kid(stored: dict[str, Any]) -> str | None:
    enc = stored.get("enc")
    return enc.get("kid") if isinstance(enc, dict) else None


class EncryptedTemplate(TypeDecorator[dict[str, Any]]):
    """A face template stored sealed: ``{"enc": {"kid", "n", "ct"}}`` in a JSON column."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Any) -> Any:
        return None if value is None else seal_template(value)

    def process_result_value(self, value: Any, dialect: Any) -> dict[str, Any] | None:
        return None if value is None else open_template(value)
