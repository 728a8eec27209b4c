"""The Chinese of the texts people read: the face check's reasons, a self-service session's
next step, the notices (text message, WeChat, app, letter).

The code holds the English (the msgid); the Chinese is in the message catalogue
``certification/translations/zh/LC_MESSAGES/texts.po``, which a translator edits and
``pybabel compile -d certification/translations -D texts`` compiles (README "Texts"); the
context (``reason``, ``next step``, ``notice``…) says where a text is used. The staff
console's own texts are Flask-Babel's (``console/translations``). Read with the standard
library's gettext, so the domain needs no framework; a text missing from the catalogue
would come out in English, which ``tests/unit/test_texts.py`` does not let happen.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "translations"
DOMAIN = "texts"


@lru_cache(maxsize=1)
def _catalogue() -> gettext.GNUTranslations:
    found = gettext.translation(DOMAIN, FOLDER, languages=["zh"])
    assert isinstance(found, gettext.GNUTranslations)
    return found


def chinese(english: str, context: str) -> str:
    return _catalogue().pgettext(context, english)


def both(english: str, context: str) -> tuple[str, str]:
    """(Chinese, English): the pair the API and the notices carry."""
    return chinese(english, context), english
