"""Field encryption at rest: AES-256-GCM under key rings (key ids, rotation), so a copy of the
database or a backup holds no usable biometric vector and no readable citizen ID, name, phone
or address (decision 0020).

Two rings and one index key, each from the settings behind the :class:`KeyProvider` port (a
KMS can stand behind it): the face templates' ring (`LIFECERT_TEMPLATE_KEYS`), the personal
data's ring (`LIFECERT_DATA_KEYS`), and the key of the blind index (`LIFECERT_INDEX_KEY`): a
keyed HMAC of a citizen ID, phone or exact name, stored beside the sealed value, by which the
database finds and joins records without holding the value itself.

The rings are set once per process by the composition root (`lifecert.bootstrap`): the column
types below cannot be handed objects. Keys are identified by a short hash of the key, so a
process that builds several runtimes (the tests) keeps every key it was given: a row written
under one stays readable. New values are written under the current (first) key;
`lifecert keys rotate` rewrites older rows under it, after which an old key can be retired.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.types import TypeDecorator

TEMPLATE_AAD = b"lifecert face template v1"
TEMPLATES = "templates"
PERSONAL = "personal"
SEALED_TEXT = "e1."  # the prefix of a sealed text value: e1.<kid>.<nonce>.<ciphertext>


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _checked(key: bytes) -> bytes:
    if len(key) != 32:
        raise ValueError("a key is 32 bytes (AES-256)")
    return key


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:12]


class KeyMissing(Exception):
    """A value encrypted under a key this process does not hold (retired, or not configured)."""


@dataclass
class KeyRing:
    keys: dict[str, bytes] = field(default_factory=dict)
    current: str | None = None
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, repr=False, compare=False)

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
        kid = key_id(_checked(key))
        self.keys[kid] = key
        if current or self.current is None:
            self.current = kid
        return kid

    def encrypt(self, plaintext: bytes, aad: bytes) -> dict[str, str]:
        kid, [(nonce, sealed)] = self.encrypt_many([plaintext], aad)
        return {"kid": kid, "n": _b64(nonce), "ct": _b64(sealed)}

    def encrypt_many(
        self, plaintexts: Sequence[bytes], aad: bytes
    ) -> tuple[str, list[tuple[bytes, bytes]]]:
        """Each plaintext sealed under the current key with a random nonce of its own (the
        block's nonces drawn in one call): the key id and each (nonce, ciphertext)."""
        if self.current is None:
            raise KeyMissing("no encryption key is configured")
        cipher = self._cipher(self.current)
        nonces = os.urandom(12 * len(plaintexts))
        sealed: list[tuple[bytes, bytes]] = []
        for at, plaintext in enumerate(plaintexts):
            nonce = nonces[12 * at : 12 * at + 12]
            sealed.append((nonce, cipher.encrypt(nonce, plaintext, aad)))
        return self.current, sealed

    def decrypt(self, doc: dict[str, str], aad: bytes) -> bytes:
        key = self.keys.get(doc.get("kid", ""))
        if key is None:
            raise KeyMissing(f"no key {doc.get('kid')!r} in this process's ring")
        return self._cipher(doc["kid"]).decrypt(_unb64(doc["n"]), _unb64(doc["ct"]), aad)

    def _cipher(self, kid: str) -> AESGCM:
        """The key's cipher, made once (its key schedule costs more than sealing a name)."""
        cipher = self._ciphers.get(kid)
        if cipher is None:
            cipher = self._ciphers[kid] = AESGCM(self.keys[kid])
        return cipher


def parse_key(text: str) -> bytes:
    """One base64url 32-byte key."""
    return _checked(_unb64(text.strip()))


class KeyProvider(Protocol):
    """Where a process gets its keys: the settings (file or environment) here, a KMS later."""

    def template_keys(self) -> KeyRing: ...

    def personal_keys(self) -> KeyRing: ...

    def index_key(self) -> bytes: ...


_lock = threading.Lock()
_rings: dict[str, KeyRing] = {TEMPLATES: KeyRing(), PERSONAL: KeyRing()}
_index: list[bytes] = []


def install(provider: KeyProvider) -> None:
    """Add the provider's keys to the process rings (its current keys become current) and
    set the index key."""
    configure(provider.template_keys(), TEMPLATES)
    configure(provider.personal_keys(), PERSONAL)
    key = _checked(provider.index_key())
    with _lock:
        _index[:] = [key]


def configure(ring: KeyRing, which: str = TEMPLATES) -> None:
    """Add a ring's keys to the process ring ``which``; its current key becomes current."""
    with _lock:
        target = _rings[which]
        for key in ring.keys.values():
            target.add(key, current=False)
        if ring.current is not None:
            target.current = ring.current


def process_ring(which: str = TEMPLATES) -> KeyRing:
    return _rings[which]


def blind_index(domain: str, value: str) -> str:
    """The keyed HMAC-SHA256 of a value, 128 bits in hex: equal values give equal indexes in
    every table (``domain`` keeps citizen IDs, phones and names apart), and without the key
    nobody can test a guess against the database."""
    return blind_indexes(domain, (value,))[0]


def blind_indexes(domain: str, values: Iterable[str]) -> list[str]:
    """:func:`blind_index` of many values of one domain (a register or feed block): the
    HMAC's keyed inner and outer states are made once and copied per value (RFC 2104, the
    same digest as ``hmac.new``)."""
    if not _index:
        raise KeyMissing("no index key is configured")
    inner, outer = _hmac_states(_index[0])
    prefix = domain.encode() + b"\x00"
    out: list[str] = []
    for value in values:
        mac = inner.copy()
        mac.update(prefix + value.encode())
        done = outer.copy()
        done.update(mac.digest())
        out.append(done.hexdigest()[:32])
    return out


@functools.lru_cache(maxsize=4)
def _hmac_states(key: bytes) -> tuple[Any, Any]:
    """HMAC-SHA256's inner and outer hashes with the padded key already absorbed."""
    padded = key.ljust(64, b"\x00")  # keys are 32 bytes, within SHA-256's 64-byte block
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    return inner, outer


def blind_default(source: str, domain: str) -> Any:
    """A column default: the blind index of the row's ``source`` value (None for None)."""

    def default(context: Any) -> str | None:
        value = context.get_current_parameters().get(source)
        return None if value is None else blind_index(domain, value)

    return default


def seal_text(value: str, purpose: str) -> str:
    sealed = seal_texts((value,), purpose)[0]
    assert sealed is not None
    return sealed


def seal_texts(values: Sequence[str | None], purpose: str) -> list[str | None]:
    """:func:`seal_text` of many values of one column (None stays None), sealed together
    (:meth:`KeyRing.encrypt_many`)."""
    present = [value.encode() for value in values if value is not None]
    kid, sealed = _rings[PERSONAL].encrypt_many(present, purpose.encode())
    texts = iter(f"{SEALED_TEXT}{kid}.{_b64(nonce)}.{_b64(ct)}" for nonce, ct in sealed)
    return [None if value is None else next(texts) for value in values]


def open_text(stored: str, purpose: str) -> str:
    if not stored.startswith(SEALED_TEXT):
        return stored  # written before encryption: readable until `keys rotate` seals it
    kid, nonce, sealed = stored[len(SEALED_TEXT) :].split(".")
    doc = {"kid": kid, "n": nonce, "ct": sealed}
    return _rings[PERSONAL].decrypt(doc, purpose.encode()).decode()


def sealed_text_prefix() -> str:
    """What every value sealed under the current personal-data key starts with."""
    current = _rings[PERSONAL].current
    if current is None:
        raise KeyMissing("no personal-data key is configured")
    return f"{SEALED_TEXT}{current}."


def generated_secret_file(path: Path, make: Callable[[], str]) -> str:
    """A development secret kept in ``path``: made by ``make`` on first use, owner-only. Safe
    when several processes start at once: the secret is written whole to a file of its own
    and linked into place, so every process reads the one that won, never a half-written
    file."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(make())
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(tmp, path)
        finally:
            Path(tmp).unlink()
    return path.read_text().strip()


def generated_key_file(path: Path) -> str:
    """The development default: a key made on first use, owner-only (production names its
    keys in the settings)."""
    return generated_secret_file(path, lambda: _b64(AESGCM.generate_key(bit_length=256)))


def seal_template(value: dict[str, Any]) -> dict[str, Any]:
    return {"enc": _rings[TEMPLATES].encrypt(json.dumps(value).encode(), TEMPLATE_AAD)}


def open_template(stored: dict[str, Any]) -> dict[str, Any]:
    if "enc" not in stored:
        return stored  # written before encryption: readable until `keys rotate` seals it
    opened: dict[str, Any] = json.loads(_rings[TEMPLATES].decrypt(stored["enc"], TEMPLATE_AAD))
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


class SealedText(TypeDecorator[str]):
    """A personal text value stored sealed (``e1.<kid>.<nonce>.<ciphertext>``) under the
    personal-data ring, bound to its ``purpose`` (the table and column) as associated data, so
    a value copied into another column does not open. Never compare this column in SQL: the
    same value seals differently each time; compare its blind index."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else seal_text(value, self.purpose)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else open_text(value, self.purpose)
