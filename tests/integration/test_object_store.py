"""Evidence storage: the local folder and an S3-compatible server (MinIO in production; here
moto's standalone server on loopback, started by this fixture)."""

import hashlib
import io
import os
import time

import pytest

from storage.objects import (
    InvalidObjectKey,
    LocalObjectStore,
    ObjectNotFound,
    ObjectStoreError,
    S3ObjectStore,
    StoreRefused,
    UploadRefused,
)
from tests.conftest import free_port

DATA = os.urandom(3 * 1024 * 1024 + 17)


def stores(tmp_path, endpoint):
    s3 = S3ObjectStore(
        endpoint=endpoint,
        access_key="testing",
        secret_key="testing",
        bucket="evidence-test",
        secure=False,
        region="us-east-1",
    )
    s3.ensure_bucket()
    return [LocalObjectStore(tmp_path / "objects"), s3]


@pytest.mark.s3
def test_put_stat_open_delete_on_both_stores(tmp_path, s3_endpoint):
    for store in stores(tmp_path, s3_endpoint):
        info = store.put(
            "videos/2026/a.mp4", io.BytesIO(DATA), len(DATA), "video/mp4", {"session": "s1"}
        )
        assert info.sha256 == hashlib.sha256(DATA).hexdigest()
        st = store.stat("videos/2026/a.mp4")
        assert st is not None and st.size == len(DATA) and st.sha256 == info.sha256
        assert st.content_type == "video/mp4" and st.metadata.get("session") == "s1"
        with store.open("videos/2026/a.mp4") as fh:
            got = hashlib.sha256()
            while chunk := fh.read(65536):
                got.update(chunk)
        assert got.hexdigest() == info.sha256
        store.delete("videos/2026/a.mp4")
        assert store.stat("videos/2026/a.mp4") is None
        with pytest.raises(ObjectNotFound), store.open("videos/2026/a.mp4"):
            pass
        store.ping()


@pytest.mark.s3
def test_a_short_upload_is_refused_and_nothing_is_kept(tmp_path, s3_endpoint):
    for store in stores(tmp_path, s3_endpoint):
        with pytest.raises(UploadRefused):  # the sender's mistake, not an outage to retry
            store.put("videos/short.mp4", io.BytesIO(DATA[:100]), len(DATA), "video/mp4")
        assert store.stat("videos/short.mp4") is None


def test_keys_cannot_escape(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    for key in ("../etc/passwd", "/abs", "a//b", "a/../b", ""):
        with pytest.raises(InvalidObjectKey):
            store.put(key, io.BytesIO(b"x"), 1, "text/plain")


def test_an_unreachable_s3_server_fails_fast_with_a_store_error():
    store = S3ObjectStore(
        endpoint=f"127.0.0.1:{free_port()}",
        access_key="k",
        secret_key="s",
        bucket="unreachable-bucket",
        secure=False,
        region="us-east-1",
    )
    started = time.monotonic()
    with pytest.raises(ObjectStoreError):
        store.ping()
    assert time.monotonic() - started < 15


def test_a_refused_request_is_not_an_outage_and_a_missing_key_is_not_either(s3_endpoint):
    wrong_secret = S3ObjectStore(
        endpoint=s3_endpoint,
        access_key="testing",
        secret_key="testing",
        bucket="no-such-bucket-here",
        secure=False,
        region="us-east-1",
    )
    with pytest.raises(StoreRefused):  # a configuration fault: no "retry in a minute"
        wrong_secret.put("a/b.txt", io.BytesIO(b"x"), 1, "text/plain")


@pytest.mark.s3
def test_a_copy_keeps_the_bytes_and_metadata_and_outlives_the_original(tmp_path, s3_endpoint):
    for store in stores(tmp_path, s3_endpoint):
        store.put("up/a.video", io.BytesIO(DATA), len(DATA), "video/mp4", {"retain_until": "x"})
        store.copy("up/a.video", "kept/a.video")
        store.put("up/a.video", io.BytesIO(b"other"), 5, "video/mp4", {})  # overwritten later
        kept = store.stat("kept/a.video")
        assert kept is not None and kept.size == len(DATA)
        assert kept.metadata.get("retain_until") == "x" and kept.content_type == "video/mp4"
        digest, head = store.sha256_and_head("kept/a.video", 16)
        assert digest == hashlib.sha256(DATA).hexdigest() and head == DATA[:16]
        with pytest.raises(ObjectNotFound):
            store.copy("up/missing.video", "kept/b.video")
