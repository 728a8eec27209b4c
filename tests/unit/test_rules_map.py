"""docs/rules-to-tests.md maps every article RULES.md names to tests that exist."""

import ast
import re

import pytest

from tests.conftest import PROJECT, SHARED

RULES = SHARED / "docs" / "RULES.md"
MAP = PROJECT / "docs" / "rules-to-tests.md"


def articles_named(text: str) -> set[int]:
    """Every article number in ``Art. 9``, ``Art. 9/10`` or ``Art. 14–21``."""
    named: set[int] = set()
    for ref in re.findall(r"Art\. (\d+(?:\s*[/–-]\s*\d+)?)", text):
        parts = [int(p) for p in re.split(r"\s*[/–-]\s*", ref)]
        if "/" in ref:
            named.update(parts)
        else:
            named.update(range(parts[0], parts[-1] + 1))
    return named


def mapped() -> dict[int, list[str]]:
    rows: dict[int, list[str]] = {}
    for line in MAP.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            rows[int(cells[0])] = [t.strip() for t in cells[2].split(",") if t.strip()]
    return rows


def test_the_article_reader_expands_lists_and_ranges():
    assert articles_named("Art. 9/10, Art. 14–21 and Art. 8") == {8, 9, 10, *range(14, 22)}


@pytest.mark.skipif(not RULES.exists(), reason="the shared rules are not on this machine")
def test_every_article_of_the_rules_has_tests():
    missing = articles_named(RULES.read_text(encoding="utf-8")) - set(mapped())
    assert not missing, f"articles with no row in {MAP.name}: {sorted(missing)}"


def test_every_test_named_in_the_map_exists():
    defined: dict[str, set[str]] = {}
    absent = []
    for article, tests in mapped().items():
        assert tests, f"Art. {article} names no test"
        for ref in tests:
            path, _, name = ref.partition("::")
            if path not in defined:
                tree = ast.parse((PROJECT / path).read_text(encoding="utf-8"))
                defined[path] = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
            if name not in defined[path]:
                absent.append(f"Art. {article}: {ref}")
    assert not absent, absent
