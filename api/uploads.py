"""Uploads that are not JSON: streamed to object storage, never held whole in memory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from flask import request

from certification.errors import ValidationFailed


@contextmanager
def upload_stream(field: str, max_bytes: int) -> Iterator[tuple[IO[bytes], int, str]]:
    """(stream, length, content type) from a multipart form field (what wx.uploadFile and
    browser forms send) or from a raw body. Werkzeug spools form files to disk past 500 KB."""
    request.max_content_length = max_bytes + 64 * 1024
    if request.mimetype == "multipart/form-data":
        storage = request.files.get(field)
        if storage is None:
            raise ValidationFailed(f"Send the file in the form field '{field}'.", field=field)
        stream = storage.stream
        stream.seek(0, 2)
        length = stream.tell()
        stream.seek(0)
        try:
            yield stream, length, storage.mimetype or "application/octet-stream"
        finally:
            storage.close()
        return
    declared = request.content_length
    if declared is None:
        raise ValidationFailed("Send the Content-Length of the upload.", field=field)
    yield request.stream, declared, request.mimetype or "application/octet-stream"
