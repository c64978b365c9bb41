"""The libyaml reader and the pure-Python reader give the same values and the same spans.

``mdd.manifest.yamlload`` reads with libyaml's scanner and parser when PyYAML has them; every
message and position mdd prints comes from the spans, so they must not depend on which
reader ran. Compared over every manifest in the repository (tests and examples)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mdd.manifest import yamlload

REPO = Path(__file__).resolve().parent.parent
TEXTS = sorted(
    {
        *REPO.glob("tests/manifests/**/*.yaml"),
        *REPO.glob("tests/fixtures/**/*.yaml"),
        *REPO.glob("mdd/examples/**/*.yaml"),
    }
)

pytestmark = pytest.mark.skipif(yamlload.CParser is None, reason="PyYAML without libyaml")


def tree(value: Any) -> Any:
    """Values with every span, keys in order: what the two readers must agree on."""
    if isinstance(value, yamlload.YamlMap):
        return (
            "map",
            value.span,
            [(k, value.key_spans[k], value.value_spans[k], tree(v)) for k, v in value.items()],
            value.duplicates,
        )
    if isinstance(value, yamlload.YamlList):
        return (
            "list",
            value.span,
            [(s, tree(v)) for s, v in zip(value.item_spans, value, strict=True)],
        )
    return (type(value).__name__, value)


def read(cls: Any, text: str) -> Any:
    try:
        value, span = yamlload._load(cls, text)
    except yamlload.YamlSyntaxError as exc:
        return ("refused", str(exc))
    except Exception as exc:  # a YAML error: the C path hands these to Python (see load)
        return ("yaml error", type(exc).__name__)
    return tree(value), span


def test_there_are_manifests_to_compare() -> None:
    assert len(TEXTS) > 20


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(REPO)))
def test_both_readers_agree(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    python = read(yamlload._Loader, text)
    if python[0] == "yaml error":
        return  # load() re-reads these in Python: only the Python message is ever shown
    if "\t" in text:
        return  # load() reads these in Python (libyaml takes tabs PyYAML refuses)
    assert read(yamlload._CLoader, text) == python


def test_quoted_and_plain_scalars_keep_their_style_and_source() -> None:
    text = "a: 0636\nb: '0636'\nc: \"x\\ty\"\nd: |\n  block\né: [1, 'two']\n"
    python, c = read(yamlload._Loader, text), read(yamlload._CLoader, text)
    assert c == python
    value, _ = yamlload.load(text)
    assert value.value_spans["a"].style is None and value.value_spans["a"].trap
    assert value.value_spans["b"].source == "'0636'"
    assert value.value_spans["c"].source == '"x\\ty"'
    assert value.key_spans["é"].column == 1 and value.value_spans["é"].column == 4
