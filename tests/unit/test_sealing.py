"""The key ring that seals face templates: AES-GCM with key ids, the current key first,
older keys only read, a retired key's values refused."""

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag

from storage.crypto import TEMPLATE_AAD, KeyMissing, KeyRing


def key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def test_the_first_key_seals_older_ones_open_and_a_retired_one_is_refused():
    old, new = key(), key()
    before = KeyRing.parse(old)
    sealed_old = before.encrypt(b'{"embedding": [0.1]}', TEMPLATE_AAD)
    ring = KeyRing.parse(f"{new},{old}")
    sealed_new = ring.encrypt(b"x", TEMPLATE_AAD)
    assert sealed_new["kid"] == ring.current != sealed_old["kid"]
    assert ring.decrypt(sealed_old, TEMPLATE_AAD) == b'{"embedding": [0.1]}'
    assert b"embedding" not in base64.urlsafe_b64decode(sealed_old["ct"] + "==")
    retired = KeyRing.parse(new)
    with pytest.raises(KeyMissing):
        retired.decrypt(sealed_old, TEMPLATE_AAD)
    with pytest.raises(InvalidTag):  # sealed for another purpose, or altered
        ring.decrypt(sealed_new, b"another purpose")
    for bad in ("", "c2hvcnQ"):
        with pytest.raises(ValueError):
            KeyRing.parse(bad)
