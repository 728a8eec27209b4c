"""The API's blueprint: flask-smorest's, with query strings held to their schema.

webargs ignores unknown query parameters by default; here the schema decides (every query
schema refuses unknown names), so ``?stauts=open`` is a 422 naming the field, not a silently
unfiltered list."""

from __future__ import annotations

import flask_smorest
from webargs.flaskparser import FlaskParser


class _SchemaDecidesParser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION: dict[str, str | None] = {  # noqa: RUF012 (webargs' own)
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _SchemaDecidesParser()
