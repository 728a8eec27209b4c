"""What an uploaded file is, by its first bytes (never by its name or declared type)."""

from __future__ import annotations

_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"\x1a\x45\xdf\xa3", 0, "video/webm", "webm"),
    (b"ftyp", 4, "video/mp4", "mp4"),
)


def sniff(head: bytes) -> tuple[str, str] | None:
    for magic, offset, content_type, ext in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            if ext == "mp4" and head[8:12] in (b"heic", b"heix", b"mif1"):
                return "image/heic", "heic"
            return content_type, ext
    return None
