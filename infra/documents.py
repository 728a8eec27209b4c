"""Receipt signatures (Ed25519 through ``cryptography``) and the PDFs the service prints
(receipts, the townships' letter batches) through ``reportlab``, with its built-in Chinese
font (STSong-Light, a CID font every PDF reader has) and its QR code widget."""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from certification.receipts import Receipt
from storage.crypto import generated_secret_file


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class Ed25519Signer:
    """Signs with the current key; verifies with it or any earlier public key still listed
    (a key rotation keeps old receipts valid)."""

    def __init__(self, private: Ed25519PrivateKey, earlier: Mapping[str, Ed25519PublicKey]) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id_of(self.public)
        self._keys = {**earlier, self.key_id: self.public}

    @classmethod
    def from_seed(cls, seed_b64: str, earlier_b64: Sequence[str] = ()) -> Ed25519Signer:
        private = Ed25519PrivateKey.from_private_bytes(_unb64(seed_b64.strip()))
        publics = [Ed25519PublicKey.from_public_bytes(_unb64(k.strip())) for k in earlier_b64]
        return cls(private, {key_id_of(k): k for k in publics})

    @classmethod
    def from_file(cls, path: Path, earlier_b64: Sequence[str] = ()) -> Ed25519Signer:
        """The key kept in ``path`` (base64url of the 32-byte seed), made on first use with
        owner-only permissions (the development default; production names its key)."""

        def seed() -> str:
            return _b64(
                Ed25519PrivateKey.generate().private_bytes(
                    serialization.Encoding.Raw,
                    serialization.PrivateFormat.Raw,
                    serialization.NoEncryption(),
                )
            )

        return cls.from_seed(generated_secret_file(path, seed), earlier_b64)

    def sign(self, statement: bytes) -> str:
        return _b64(self._private.sign(statement))

    def verify(self, key_id: str, statement: bytes, signature: str) -> bool:
        key = self._keys.get(key_id)
        if key is None:
            return False
        try:
            key.verify(_unb64(signature), statement)
        except (InvalidSignature, ValueError):
            return False
        return True

    def public_keys(self) -> dict[str, str]:
        """key id → base64url raw public key: what a pension office needs to check offline."""
        return {
            kid: _b64(k.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
            for kid, k in self._keys.items()
        }


_FONT = "STSong-Light"
_font_lock = threading.Lock()
_font_ready = False


def _font() -> str:
    global _font_ready
    with _font_lock:
        if not _font_ready:
            from reportlab.pdfbase import pdfmetrics
            from reportlab.pdfbase.cidfonts import UnicodeCIDFont

            pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
            _font_ready = True
    return _FONT


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters (Chinese has no spaces to break at)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        while len(paragraph) > width:
            lines.append(paragraph[:width])
            paragraph = paragraph[width:]
        lines.append(paragraph)
    return lines


class PdfDocuments:
    """certification.ports.Documents with reportlab."""

    def receipt_pdf(self, receipt: Receipt, verify_url: str) -> bytes:
        from reportlab.graphics import renderPDF
        from reportlab.graphics.barcode.qr import QrCodeWidget
        from reportlab.graphics.shapes import Drawing
        from reportlab.lib.pagesizes import A5
        from reportlab.pdfgen import canvas

        font = _font()
        out = io.BytesIO()
        page = canvas.Canvas(out, pagesize=A5)
        page.setTitle(f"认证回执 {receipt.code}")
        _, height = A5
        y = height - 60
        page.setFont(font, 18)
        page.drawString(40, y, "待遇领取资格认证回执")
        page.setFont(font, 11)
        lines = [
            f"姓名 Name: {receipt.masked_name}",
            f"认证日期 Certified on: {receipt.certified_on.isoformat()}",
            f"认证方式 Channel: {receipt.channel}",
            "下次认证截止 Next due: "
            + (receipt.next_due_on.isoformat() if receipt.next_due_on else "-"),
            f"回执码 Receipt code: {receipt.code}",
            f"查验 Check at: {verify_url}",
        ]
        for line in lines:
            y -= 6
            for part in _wrap(line, 44):
                y -= 16
                page.drawString(40, y, part)
        widget = QrCodeWidget(verify_url)
        x1, y1, x2, y2 = widget.getBounds()
        size = 140
        drawing = Drawing(size, size, transform=[size / (x2 - x1), 0, 0, size / (y2 - y1), 0, 0])
        drawing.add(widget)
        renderPDF.draw(drawing, page, 40, y - size - 20)
        page.setFont(font, 8)
        page.drawString(
            40, 30, f"签名密钥 {receipt.key_id}  Ed25519 签名 {receipt.signature[:32]}…"
        )
        page.showPage()
        page.save()
        return out.getvalue()

    def letters_pdf(self, township: str, letters: Sequence[tuple[str, str, str]]) -> bytes:
        from reportlab.lib.pagesizes import A4
        from reportlab.pdfgen import canvas

        font = _font()
        out = io.BytesIO()
        page = canvas.Canvas(out, pagesize=A4)
        page.setTitle(f"告知书 {township}")
        _, height = A4
        for address, title, body in letters:
            page.setFont(font, 11)
            y = height - 70
            for part in _wrap(address, 40):
                page.drawString(60, y, part)
                y -= 16
            y -= 40
            page.setFont(font, 16)
            page.drawString(60, y, title)
            y -= 30
            page.setFont(font, 12)
            for part in _wrap(body, 36):
                page.drawString(60, y, part)
                y -= 20
            page.setFont(font, 9)
            page.drawString(60, 50, f"重庆市社会保险事务中心  {township}")
            page.showPage()
        if not letters:
            page.showPage()
        page.save()
        return out.getvalue()
