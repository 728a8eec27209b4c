"""Object storage for evidence (videos, photos, frames): MinIO/S3 in production, a local folder
in the embedded default. Both stream; neither holds a whole object in memory."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol, cast

from certification.ports import ObjectMissing, UploadTarget

CHUNK = 1024 * 1024
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,511}$")


class ObjectStoreError(Exception):
    """The object store is unreachable or overloaded: an outage, worth retrying (503)."""


class ObjectNotFound(ObjectMissing):
    """No object under this key (deleted at the end of its retention, or never stored)."""


class UploadRefused(ValueError):
    """What was sent is not what was declared (a short or long body): the sender's mistake."""


class StoreRefused(RuntimeError):
    """The object store refused a well-formed request (credentials, bucket, policy): a
    configuration fault for the operators, not something a retry fixes."""


# S3 error codes that mean the service is briefly unable, not that the request was wrong
_OUTAGE_CODES = frozenset(
    {
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "XMinioServerNotInitialized",
    }
)
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchObject", "ResourceNotFound"})


@contextmanager
def _s3_call(key: str | None = None) -> Iterator[None]:
    """The one translation of the S3 client's failures: a missing key, an outage (network,
    5xx, throttling) and a refusal are three different things; a bug stays a bug."""
    import urllib3
    from minio.error import S3Error, ServerError

    try:
        yield
    except S3Error as err:
        if err.code in _MISSING_CODES:
            raise ObjectNotFound(key or "") from err
        if err.code in _OUTAGE_CODES:
            raise ObjectStoreError(f"object store unavailable: {err.code}") from err
        raise StoreRefused(f"the object store refused the request: {err.code}") from err
    except (ServerError, urllib3.exceptions.HTTPError, OSError) as err:
        raise ObjectStoreError(f"object store unavailable: {type(err).__name__}: {err}") from err


class InvalidObjectKey(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    content_type: str
    sha256: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/") or "//" in key:
        raise InvalidObjectKey(f"invalid object key {key!r}")
    return key


class _HashingReader:
    """Reads through a stream, counting and hashing."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self.raw = raw
        self.limit = limit
        self.size = 0
        self.digest = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        chunk = self.raw.read(n if n and n > 0 else CHUNK)
        self.size += len(chunk)
        if self.size > self.limit:
            raise UploadRefused(f"the upload is larger than the declared {self.limit} bytes")
        self.digest.update(chunk)
        return chunk


def _copy_hashed(data: IO[bytes], length: int, out: IO[bytes]) -> str:
    """Copy exactly ``length`` bytes to ``out``; return their SHA-256. Refuses short or long."""
    reader = _HashingReader(data, length)
    while chunk := reader.read(CHUNK):
        out.write(chunk)
    if reader.size != length:
        raise UploadRefused(f"the upload declared {length} bytes but sent {reader.size}")
    return reader.digest.hexdigest()


class ObjectStore(Protocol):
    kind: str

    def put(
        self,
        key: str,
        data: IO[bytes],
        length: int,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject: ...

    def stat(self, key: str) -> StoredObject | None: ...

    @contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]: ...

    def delete(self, key: str) -> None: ...

    def ping(self) -> None: ...

    def presigned_post(
        self,
        key: str,
        *,
        max_bytes: int,
        content_type_prefix: str,
        expires_at: datetime,
        metadata: Mapping[str, str] | None = None,
    ) -> UploadTarget | None: ...

    def presigned_get(self, key: str, *, seconds: int) -> str | None: ...

    def sha256_of(self, key: str) -> str: ...

    def sha256_and_head(self, key: str, head: int) -> tuple[str, bytes]: ...

    def copy(self, source: str, target: str) -> None: ...

    def put_bytes(
        self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]
    ) -> None: ...

    def put_stream(
        self, key: str, data: IO[bytes], length: int, content_type: str, metadata: Mapping[str, str]
    ) -> StoredObject: ...

    def fetch_to(self, key: str, path: str) -> None: ...

    def list_keys(self, prefix: str) -> Iterator[str]: ...


class _Conveniences:
    """What both stores derive from their own put and open."""

    def put(
        self,
        key: str,
        data: IO[bytes],
        length: int,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject:
        raise NotImplementedError

    def open(self, key: str) -> AbstractContextManager[IO[bytes]]:
        raise NotImplementedError

    def sha256_of(self, key: str) -> str:
        return self.sha256_and_head(key, 0)[0]

    def sha256_and_head(self, key: str, head: int) -> tuple[str, bytes]:
        digest, first = hashlib.sha256(), b""
        with self.open(key) as fh:
            while chunk := fh.read(CHUNK):
                if len(first) < head:
                    first += chunk[: head - len(first)]
                digest.update(chunk)
        return digest.hexdigest(), first

    def put_bytes(
        self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]
    ) -> None:
        self.put(key, io.BytesIO(data), len(data), content_type, metadata)

    def put_stream(
        self, key: str, data: IO[bytes], length: int, content_type: str, metadata: Mapping[str, str]
    ) -> StoredObject:
        return self.put(key, data, length, content_type, metadata)

    def fetch_to(self, key: str, path: str) -> None:
        with self.open(key) as src, Path(path).open("wb") as out:
            shutil.copyfileobj(src, out, CHUNK)


class LocalObjectStore(_Conveniences):
    """Objects as files under a folder, metadata in a sidecar JSON file."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(
        self,
        key: str,
        data: IO[bytes],
        length: int,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                digest = _copy_hashed(data, length, out)
            info = StoredObject(key, length, content_type, digest, dict(metadata or {}))
            Path(tmp).replace(path)
            path.with_name(path.name + ".meta.json").write_text(
                json.dumps(
                    {
                        "content_type": content_type,
                        "sha256": info.sha256,
                        "metadata": info.metadata,
                    }
                )
            )
            return info
        finally:
            Path(tmp).unlink(missing_ok=True)

    def copy(self, source: str, target: str) -> None:
        """A server-side copy, with its metadata (a file and its sidecar here)."""
        src, dst = self._path(source), self._path(target)
        if not src.is_file():
            raise ObjectNotFound(source)
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=".copy-")
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            Path(tmp).replace(dst)
        finally:
            Path(tmp).unlink(missing_ok=True)
        meta = src.with_name(src.name + ".meta.json")
        if meta.exists():
            shutil.copyfile(meta, dst.with_name(dst.name + ".meta.json"))

    def stat(self, key: str) -> StoredObject | None:
        path = self._path(key)
        if not path.is_file():
            return None
        meta_path = path.with_name(path.name + ".meta.json")
        meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        return StoredObject(
            key,
            path.stat().st_size,
            meta.get("content_type", "application/octet-stream"),
            meta.get("sha256"),
            meta.get("metadata", {}),
        )

    @contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        with path.open("rb") as fh:
            yield fh

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".meta.json").unlink(missing_ok=True)

    def list_keys(self, prefix: str) -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        if not base.exists():
            return
        for path in sorted(base.rglob("*")):
            if (
                path.is_file()
                and not path.name.endswith(".meta.json")
                and not path.name.startswith(".")
            ):
                yield str(path.relative_to(self.root))

    def presigned_post(
        self,
        key: str,
        *,
        max_bytes: int,
        content_type_prefix: str,
        expires_at: datetime,
        metadata: Mapping[str, str] | None = None,
    ) -> UploadTarget | None:
        return None  # the API takes the upload itself

    def presigned_get(self, key: str, *, seconds: int) -> str | None:
        return None

    def ping(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise ObjectStoreError(f"{self.root} is not writable")
        shutil.disk_usage(self.root)


class S3ObjectStore(_Conveniences):
    """MinIO (or any S3-compatible server) through the ``minio`` client."""

    kind = "s3"

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool,
        region: str | None = None,
        public_endpoint: str | None = None,
        public_secure: bool | None = None,
    ) -> None:
        import urllib3
        from minio import Minio
        from minio.helpers import check_bucket_name

        check_bucket_name(bucket)  # a misnamed bucket is a setting to fix, found at start
        # Fail fast when the server is down: requests must not hang on retries.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=3.0, read=30.0),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(502, 503, 504)),
            maxsize=16,
        )
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        self.bucket = bucket
        # Links handed to phones and browsers are signed for the address they use, which
        # may differ from the one the servers use inside the agency's network.
        public_host = public_endpoint or endpoint
        public_tls = secure if public_secure is None else public_secure
        self.public_base = f"{'https' if public_tls else 'http'}://{public_host}"
        self.signer = Minio(
            public_host,
            access_key=access_key,
            secret_key=secret_key,
            secure=public_tls,
            region=region or "us-east-1",
        )

    def ensure_bucket(self, *, expire_after_days: int | None = 1100) -> None:
        """Create the bucket; a lifecycle rule deletes anything left after about three years
        (a backstop: the sweep deletes evidence exactly when its retention ends)."""
        from minio.commonconfig import ENABLED, Filter
        from minio.lifecycleconfig import Expiration, LifecycleConfig, Rule

        with _s3_call():
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
            if expire_after_days:
                rule = Rule(
                    ENABLED,
                    rule_filter=Filter(prefix=""),
                    rule_id="evidence-retention-backstop",
                    expiration=Expiration(days=expire_after_days),
                )
                self.client.set_bucket_lifecycle(self.bucket, LifecycleConfig([rule]))

    def list_keys(self, prefix: str) -> Iterator[str]:
        with _s3_call():
            for item in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
                if item.object_name:
                    yield item.object_name

    def put(
        self,
        key: str,
        data: IO[bytes],
        length: int,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject:
        check_key(key)
        # Hash while streaming into a spooled temp file, then upload with the digest as metadata.
        with tempfile.SpooledTemporaryFile(max_size=8 * CHUNK) as spool:
            digest = _copy_hashed(data, length, spool)
            spool.seek(0)
            meta: dict[str, str | list[str] | tuple[str]] = {**(metadata or {}), "sha256": digest}
            with _s3_call(key):
                self.client.put_object(
                    self.bucket,
                    key,
                    cast(BinaryIO, spool),
                    length,
                    content_type=content_type,
                    metadata=meta,
                )
        return StoredObject(key, length, content_type, digest, dict(metadata or {}))

    def stat(self, key: str) -> StoredObject | None:
        check_key(key)
        try:
            with _s3_call(key):
                st = self.client.stat_object(self.bucket, key)
        except ObjectNotFound:
            return None
        raw_meta = {k.lower(): v for k, v in (st.metadata or {}).items()}
        user_meta = {
            k.removeprefix("x-amz-meta-"): str(v)
            for k, v in raw_meta.items()
            if k.startswith("x-amz-meta-")
        }
        return StoredObject(
            key,
            int(st.size or 0),
            st.content_type or "application/octet-stream",
            user_meta.pop("sha256", None),
            user_meta,
        )

    @contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        check_key(key)
        with _s3_call(key):
            response = self.client.get_object(self.bucket, key)
        try:
            yield response  # type: ignore[misc]
        finally:
            response.close()
            response.release_conn()

    def delete(self, key: str) -> None:
        check_key(key)
        with _s3_call(key):
            self.client.remove_object(self.bucket, key)

    def copy(self, source: str, target: str) -> None:
        """A server-side copy (the bytes never leave the store), with its metadata."""
        from minio.commonconfig import CopySource

        check_key(source)
        check_key(target)
        with _s3_call(source):
            self.client.copy_object(self.bucket, target, CopySource(self.bucket, source))

    def presigned_post(
        self,
        key: str,
        *,
        max_bytes: int,
        content_type_prefix: str,
        expires_at: datetime,
        metadata: Mapping[str, str] | None = None,
    ) -> UploadTarget | None:
        """A POST form the phone (wx.uploadFile, a browser form) sends straight to storage:
        the key, a content type starting with the prefix, at most max_bytes, before expiry;
        the metadata (retention) is a policy condition the form must carry unchanged."""
        from minio.datatypes import PostPolicy

        check_key(key)
        policy = PostPolicy(self.bucket, expires_at)
        policy.add_equals_condition("key", key)
        meta_fields = {f"x-amz-meta-{k}": v for k, v in (metadata or {}).items()}
        for name, value in meta_fields.items():
            policy.add_equals_condition(name, value)
        policy.add_starts_with_condition("Content-Type", content_type_prefix)
        policy.add_content_length_range_condition(1, max_bytes)
        with _s3_call(key):
            fields = self.signer.presigned_post_policy(policy)
        return UploadTarget(
            url=f"{self.public_base}/{self.bucket}",
            fields={"key": key, **meta_fields, **fields},
            max_bytes=max_bytes,
            expires_at=expires_at,
        )

    def presigned_get(self, key: str, *, seconds: int) -> str | None:
        with _s3_call(key):
            url: str = self.signer.presigned_get_object(
                self.bucket, check_key(key), expires=timedelta(seconds=seconds)
            )
        return url

    def ping(self) -> None:
        with _s3_call():
            self.client.bucket_exists(self.bucket)
