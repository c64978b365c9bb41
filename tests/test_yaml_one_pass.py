"""The one-pass reader (``yamlload._CLoader``) reads what mdd's manifests hold by itself, and
leaves the rest to the node reader with the same result.

``tests/test_yaml_c_loader.py`` compares what ``_CLoader`` gives with the pure-Python reader
over every manifest in the repository; this file checks that the one pass really did the
reading there (it did not hand every document to ``_CNodeLoader``), and that what it hands on
(merge keys, tags on collections, limits, values YAML cannot construct) reads the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mdd.manifest import yamlload
from tests.test_yaml_c_loader import read, tree

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(REPO.glob("mdd/examples/**/*.yaml"))

pytestmark = pytest.mark.skipif(yamlload.CParser is None, reason="PyYAML without libyaml")


def one_pass(text: str) -> Any:
    """The one pass alone, without its hand-over to the node reader."""
    loader = yamlload._CLoader(text, "")
    try:
        value, span = loader._document()
    finally:
        loader.dispose()
    return tree(value), span


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_the_examples_are_read_in_one_pass(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert one_pass(text) == read(yamlload._Loader, text)


ONE_PASS = {
    "aliases keep the anchor's span": "a: &x [1, 'two']\nb: *x\nc: &y 0636\nd: *y\n",
    "a key written three times": "k: 1\nk: 2\nj: 0\nk: 3\n",
    "a number as a key keeps no trap": "0636: octal\n1:30: sexagesimal\n",
    "every scalar style": "a: 'q'\nb: \"d\\t\"\nc: |\n  lit\nd: >\n  fold\ne: ~\nf: 2026-01-02\n",
    "explicit tags on scalars": "a: !!str 12\nb: !!int '7'\nc: !!float '1.5'\nd: ! 12\n",
    "explicit tags on collections": "a: !!map {b: 1}\nc: !!seq [1]\n",
    "an empty document": "# nothing\n",
    "a scalar document": "plain text\n",
    "non-ASCII text": "é: [ü, 'ß']\nname: ñ\n",
}


@pytest.mark.parametrize("text", ONE_PASS.values(), ids=ONE_PASS.keys())
def test_one_pass_reads_as_the_python_reader(text: str) -> None:
    assert one_pass(text) == read(yamlload._Loader, text)


HANDED_ON = {
    "merge key": "base: &b {x: 1, y: 2}\nover:\n  <<: *b\n  y: 3\n",
    "a set": "s: !!set {a, b}\n",
    "an ordered map": "o: !!omap [a: 1, b: 2]\n",
    "a list tagged as a mapping": "a: !!map [1]\n",
    "an alias inside its own anchor": "a: &x [1, *x]\n",
    "an undefined alias": "a: *nowhere\n",
    "an anchor defined twice": "a: &x 1\nb: &x 2\n",
    "a value YAML cannot construct": "a: !!int abc\nb: 2026-13-45\n",
    "a number of too many digits": "a: " + "9" * 101 + "\n",
    "too deep": "a: " + "[" * 40 + "]" * 40 + "\n",
    "a list as a key": "? [a]\n: b\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "an unknown tag": "a: !vault secret\n",
}


@pytest.mark.parametrize("text", HANDED_ON.values(), ids=HANDED_ON.keys())
def test_what_one_pass_hands_on_reads_as_the_python_reader(text: str) -> None:
    with pytest.raises(yamlload._Slow):
        one_pass(text)
    python = read(yamlload._Loader, text)
    c = read(yamlload._CLoader, text)
    assert c == python or python[0] == c[0] == "yaml error"


def test_the_file_is_in_every_span() -> None:
    value, span = yamlload.load("a: [1, {b: c}]\n", "dc.yaml")
    assert span.file == value.key_spans["a"].file == value.value_spans["a"].file == "dc.yaml"
    inner = value["a"][1]
    assert inner.span.file == inner.key_spans["b"].file == inner.value_spans["b"].file == "dc.yaml"
    assert value["a"].item_spans[0].file == "dc.yaml"
