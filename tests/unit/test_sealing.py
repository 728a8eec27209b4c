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


@pytest.fixture
def personal_keys():
    """A personal-data key and an index key for this test, the process's own put back after."""
    from storage import crypto

    ring = crypto.process_ring(crypto.PERSONAL)
    saved_current, saved_index = ring.current, list(crypto._index)
    crypto.configure(KeyRing.parse(key()), crypto.PERSONAL)
    crypto._index[:] = [os.urandom(32)]
    yield crypto
    ring.current = saved_current
    crypto._index[:] = saved_index


def test_a_sealed_text_opens_only_for_its_own_column_and_shows_nothing(personal_keys):
    crypto = personal_keys
    sealed = crypto.seal_text("50010319450301123X", "persons.citizen_id")
    assert sealed.startswith(crypto.sealed_text_prefix()) and "1945" not in sealed
    assert sealed != crypto.seal_text("50010319450301123X", "persons.citizen_id")  # fresh nonce
    assert crypto.open_text(sealed, "persons.citizen_id") == "50010319450301123X"
    with pytest.raises(InvalidTag):  # copied into another column, it does not open
        crypto.open_text(sealed, "accounts.citizen_id")
    assert crypto.open_text("张秀兰", "persons.name") == "张秀兰"  # written before sealing


def test_the_blind_index_is_stable_keyed_and_kept_apart_by_kind(personal_keys):
    import hashlib

    crypto = personal_keys
    cid = "50010319450301123X"
    first = crypto.blind_index("citizen_id", cid)
    assert first == crypto.blind_index("citizen_id", cid) and len(first) == 32
    assert first != crypto.blind_index("phone", cid)
    assert first not in (
        hashlib.sha256(cid.encode()).hexdigest()[:32],
        hashlib.md5(cid.encode()).hexdigest(),
    )
    crypto._index[:] = [os.urandom(32)]  # another key: another index, a guess cannot be tested
    assert crypto.blind_index("citizen_id", cid) != first
    crypto._index[:] = []
    with pytest.raises(KeyMissing):
        crypto.blind_index("citizen_id", cid)


def test_a_block_of_values_seals_and_indexes_as_one_value_at_a_time(personal_keys):
    import hashlib
    import hmac

    crypto = personal_keys
    values = ["50010319450301123X", "张秀兰", "13800000000", "50010319450301123X"]
    sealed = crypto.seal_texts([*values, None], "persons.name")
    assert sealed[-1] is None
    assert [crypto.open_text(s, "persons.name") for s in sealed[:-1]] == values
    assert sealed[0] != sealed[3]  # each value its own nonce, even the same value
    assert len({s.split(".")[2] for s in sealed[:-1]}) == len(values)
    with pytest.raises(InvalidTag):
        crypto.open_text(sealed[0], "persons.citizen_id")
    # the blind index is RFC 2104's HMAC-SHA256 of domain, NUL, value under the index key
    key = crypto._index[0]
    expected = [
        hmac.new(key, b"citizen_id\x00" + v.encode(), hashlib.sha256).hexdigest()[:32]
        for v in values
    ]
    assert crypto.blind_indexes("citizen_id", values) == expected
    assert [crypto.blind_index("citizen_id", v) for v in values] == expected
