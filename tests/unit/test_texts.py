"""The console's texts come from a message catalogue a translator edits: every text the
templates use has its Chinese, the compiled catalogue is the edited one, and the pages
speak the language the person chose."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "console" / "translations" / "zh" / "LC_MESSAGES"


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


def test_the_compiled_catalogue_is_the_edited_one():
    edited = read_po((CATALOGUE / "messages.po").open("rb"))
    compiled = read_mo((CATALOGUE / "messages.mo").open("rb"))
    as_edited = {(m.context, m.id): m.string for m in edited if m.id}
    as_compiled = {(m.context, m.id): m.string for m in compiled if m.id}
    assert as_compiled == as_edited, "run: pybabel compile -d console/translations"


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
