"""Cursor pagination: ?limit=&cursor= in, {"items": [...], "next_cursor": ...} out."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import marshmallow as ma

from certification.errors import ValidationFailed
from certification.ports import Cursor, Page, PageRequest

MAX_LIMIT = 200


def cursor_field() -> ma.fields.String:
    """The ``cursor`` query parameter of every list (base64url of the last row's keys)."""
    return ma.fields.String(
        load_default=None,
        validate=[
            ma.validate.Length(max=512),
            ma.validate.Regexp(r"^[A-Za-z0-9_-]*$", error="The cursor is not valid."),
        ],
        metadata={"description": "The next_cursor of the previous page (base64url)."},
    )


class PageArgs(ma.Schema):
    limit = ma.fields.Integer(
        load_default=50,
        validate=ma.validate.Range(1, MAX_LIMIT),
        metadata={"description": f"Items per page (1-{MAX_LIMIT})."},
    )
    cursor = cursor_field()


def encode_cursor(after: Cursor | None) -> str | None:
    if after is None:
        return None
    raw = json.dumps(list(after), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Cursor | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError) as err:
        raise ValidationFailed(
            "The cursor is not valid; start again without it.", field="cursor"
        ) from err
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValidationFailed("The cursor is not valid; start again without it.", field="cursor")
    return tuple(values)


def page_request(args: dict[str, Any]) -> PageRequest:
    return PageRequest(limit=args.get("limit", 50), after=decode_cursor(args.get("cursor")))


def page_body(page: Page[Any]) -> dict[str, Any]:
    return {"items": list(page.items), "next_cursor": encode_cursor(page.next_after)}


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next_cursor": ma.fields.String(
                allow_none=True,
                metadata={"description": "Pass as ?cursor= for the next page; null at the end."},
            ),
        },
        name=name,
    )
