"""Bounds on what a request may carry, checked before anything parses it: JSON nested deeper
than people's data ever is (a parser's recursion is not a limit), and NUL characters, which
no field of this service holds and PostgreSQL's text refuses."""

from __future__ import annotations

import re

MAX_JSON_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = bytes.maketrans(b"", b"")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


class BodyRefused(ValueError):
    """The body cannot be accepted as it is; the message says why."""


def check_json_body(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> None:
    if b"\x00" in raw or b"\\u0000" in raw:
        raise BodyRefused("Text may not contain NUL characters (\\u0000).")
    outside = _STRING.sub(b'""', raw)
    brackets = outside.translate(_BRACKETS, _NOT_BRACKETS)
    if len(brackets) <= max_depth:
        return
    depth = 0
    for char in brackets:
        depth += 1 if char in b"[{" else -1
        if depth > max_depth:
            raise BodyRefused(f"The JSON body is nested deeper than {max_depth} levels.")


def has_nul(values: list[str]) -> bool:
    return any("\x00" in v for v in values)
