"""`mdd verify` writes the state file; `mdd docs --state` shows the states it recorded.

The seam between the runner and the living document, end to end over loopback targets:
one point green, one green then regressed (its listener closed), one never green (pending),
one blocked by it. The document reads the file through ``mdd.runner.states.StateFile``, so
the format has one definition.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from tests.runner.helpers import free_port, listener, mdd, state_file, tcp, write_manifest


def _when(iso: str) -> str:
    """The state file's ``2026-12-02T12:04:31Z`` as the document prints it."""
    return iso[:10] + " " + iso[11:16] + " UTC"


class _Sections(HTMLParser):
    """``{point: data-state}`` of the HTML document's ``section.point`` elements."""

    def __init__(self) -> None:
        super().__init__()
        self.states: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section" and "point" in (values.get("class") or "").split():
            self.states[str(values["data-point"])] = str(values.get("data-state"))


def test_docs_shows_the_states_verify_recorded(tmp_path: Path) -> None:
    up, flaky = listener(0), listener(0)
    refused = free_port()
    points = [
        tcp("db-port", up.getsockname()[1], owner="data"),
        tcp("cache-port", flaky.getsockname()[1], owner="data"),
        tcp("mail-port", refused, owner="mail"),
        tcp("mail-vip", up.getsockname()[1], owner="mail", depends_on=["mail-port"]),
    ]
    manifests = write_manifest(tmp_path, points)
    try:
        first = mdd("verify", "lab1", "--manifests", str(manifests), "--no-color", cwd=tmp_path)
        assert first.code == 1, first.err
        flaky.close()
        second = mdd("verify", "lab1", "--manifests", str(manifests), "--no-color", cwd=tmp_path)
        assert second.code == 1, second.err
    finally:
        up.close()
    recorded = state_file(tmp_path)["points"]
    assert {name: p["state"] for name, p in recorded.items()} == {
        "db-port": "green",
        "cache-port": "regressed",
        "mail-port": "pending",
        "mail-vip": "blocked",
    }
    path = tmp_path / ".mdd" / "lab1.json"
    before = path.read_bytes()

    md = mdd("docs", "lab1", "--manifests", str(manifests), "--state", str(path), cwd=tmp_path)
    assert md.code == 0, md.err
    text = md.out
    assert "1 of 4 green (25%)" in text
    section = {name: text.split(f"### {name}\n", 1)[1].split("\n### ", 1)[0] for name in recorded}
    db, cache = recorded["db-port"], recorded["cache-port"]
    assert f"- **State:** 🟢 green since {_when(db['first_green'])}" in section["db-port"]
    assert (
        f"- **State:** 🔴 regressed (first green {_when(cache['first_green'])}), "
        f"last change {_when(cache['last_change'])}"
    ) in section["cache-port"]
    assert re.search(r"- \*\*Reason:\*\* .*refused", section["cache-port"])
    assert "- **State:** 🟠 pending" in section["mail-port"]
    assert "first green" not in section["mail-port"]
    assert "- **State:** ⚪ blocked" in section["mail-vip"]
    assert "- **Reason:** blocked by mail-port" in section["mail-vip"]
    assert "class p_cache_port regressed" in text  # the Mermaid graph is coloured too

    out = tmp_path / "lab1.html"
    html = mdd(
        "docs", "lab1", "--manifests", str(manifests), "--state", str(path),
        "--format", "html", "-o", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert html.code == 0 and html.out == "", html.err
    parser = _Sections()
    parser.feed(out.read_text())
    assert parser.states == {name: p["state"] for name, p in recorded.items()}
    assert f"green since {_when(db['first_green'])}" in out.read_text()
    assert path.read_bytes() == before  # docs only reads the state file


def test_docs_refuses_another_datacenters_state(tmp_path: Path) -> None:
    manifests = write_manifest(tmp_path, [tcp("db-port", free_port())])
    write_manifest(tmp_path, [tcp("db-port", free_port())], dc="lab2")
    run = mdd("verify", "lab2", "--manifests", str(manifests), "--no-color", cwd=tmp_path)
    assert run.code == 1, run.err
    path = tmp_path / ".mdd" / "lab2.json"
    before = path.read_text()
    docs = mdd("docs", "lab1", "--manifests", str(manifests), "--state", str(path), cwd=tmp_path)
    assert docs.code == 2 and docs.out == ""
    assert "holds the state of datacenter 'lab2', not 'lab1'" in docs.err
    assert "Traceback" not in docs.err and len(docs.err.strip().splitlines()) == 1
    assert json.loads(path.read_text()) == json.loads(before)
