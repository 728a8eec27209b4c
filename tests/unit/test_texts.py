"""The texts people read come from message catalogues a translator edits: the console's
(Flask-Babel) and the service's (reasons, next steps, notices: certification/texts.py).
Every text has its Chinese, a compiled catalogue is the edited one, a notice's Chinese keeps
every field of its English, and the pages speak the language the person chose."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "console" / "translations" / "zh" / "LC_MESSAGES"
SERVICE = ROOT / "certification" / "translations" / "zh" / "LC_MESSAGES"


def _used() -> set[tuple[str | None, str]]:
    """(context, English text) of every translatable text in the templates, as
    ``pybabel extract -F babel.cfg`` finds them."""
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT / "console" / "templates"),
        method_map=[("**.html", "jinja2")],
        keywords={"_": None, "gettext": None, "pgettext": ((1, "c"), 2)},
    ):
        found.add((context, message if isinstance(message, str) else message[0]))
    return found


def test_every_text_of_the_templates_has_its_chinese():
    catalogue = read_po((CATALOGUE / "messages.po").open("rb"))
    used = _used()
    assert len(used) > 300
    missing = sorted(
        (ctx or "", text)
        for ctx, text in used
        if not (catalogue.get(text, ctx) or None) or not catalogue.get(text, ctx).string
    )
    assert missing == []
    leftover = [
        p.name for p in (ROOT / "console" / "templates").rglob("*.html") if "{{ t(" in p.read_text()
    ]
    assert leftover == []  # the old inline pairs are gone


def test_the_compiled_catalogues_are_the_edited_ones():
    for folder, name in ((CATALOGUE, "messages"), (SERVICE, "texts")):
        edited = read_po((folder / f"{name}.po").open("rb"))
        compiled = read_mo((folder / f"{name}.mo").open("rb"))
        as_edited = {(m.context, m.id): m.string for m in edited if m.id}
        as_compiled = {(m.context, m.id): m.string for m in compiled if m.id}
        assert as_compiled == as_edited, f"run: pybabel compile for {folder}"


def _service_texts() -> list[tuple[str, str]]:
    """(context, English) of every text of the service the catalogue must translate."""
    from biometrics.reasons import REASONS
    from certification import notices, selfservice

    texts = [("reason", r.en) for r in REASONS.values()]
    texts += [("next step", en) for en in selfservice._NEXT_STEPS_EN.values()]
    for template in notices.CATALOGUE.values():
        texts += [("notice title", template.en_title), ("notice", template.en)]
    texts += [("notice phrase", en) for en in notices.PHRASES.values()]
    return texts


def test_every_text_of_the_service_has_its_chinese_with_the_same_fields():
    import re

    from certification.texts import chinese

    catalogue = read_po((SERVICE / "texts.po").open("rb"))
    texts = _service_texts()
    assert len(texts) > 80
    for context, english in texts:
        message = catalogue.get(english, context)
        assert message is not None and message.string, (context, english)
        assert chinese(english, context) == message.string
        fields = re.compile(r"\{\w+\}")
        assert sorted(fields.findall(message.string)) == sorted(fields.findall(english)), english
    unused = {(m.context, m.id) for m in catalogue if m.id} - set(texts)
    assert unused == set()  # nothing left behind for a translator to maintain in vain


def test_the_console_speaks_the_chosen_language(tmp_path, monkeypatch):
    from infra.settings import Settings
    from lifecert.web import create_app

    app = create_app(Settings(data_dir=tmp_path, secret_key="texts-" + "k" * 32))
    client = app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    assert "工作人员登录" in page and "Staff sign-in" not in page
    client.get("/console/language/en")
    page = client.get("/console/login").get_data(as_text=True)
    assert "Staff sign-in" in page and "工作人员登录" not in page
