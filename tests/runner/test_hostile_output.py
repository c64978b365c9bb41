"""What servers and manifests say reaches terminals and pages escaped (issue 18).

A terminal escape (``ESC ] 0 ; pwned BEL`` retitles the terminal, ``ESC [ 2 J`` clears it)
taken from an HTTP reason phrase or a plugin's output is shown as ``\\x1b]0;pwned\\x07`` by
``mdd verify`` in every format, in the state file, and by ``mdd docs`` and ``mdd report``;
an owner or description holding one is refused at validation; a docs link cannot close its
Markdown autolink or HTML attribute.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.runner.helpers import mdd, write_manifest
from tests.runner.hostile_http import hostile, whole

ESCAPES = "\x1b]0;pwned\x07 \x1b[2J \x00 \x9b31m \u202e"
RAW = ("\x1b", "\x07", "\x00", "\x9b", "\u202e")


def script(tmp: Path) -> Path:
    path = tmp / "plugin.sh"
    path.write_text(
        f"#!/bin/sh\nprintf 'CRITICAL - {ESCAPES.replace(chr(0), '')}\\000 down\\n'\nexit 2\n"
    )
    path.chmod(0o755)
    return path


def points(tmp: Path, port: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "web",
            "type": "http",
            "owner": "web",
            "docs": "https://wiki.example.net/web?a=1&b=2",
            "check": {"url": f"http://127.0.0.1:{port}/health", "timeout": "2s"},
        },
        {
            "name": "plugin",
            "type": "command",
            "owner": "ops",
            "check": {"command": [str(script(tmp))], "timeout": "2s"},
        },
    ]


@pytest.fixture
def folder(tmp_path: Path) -> Any:
    phrase = f"503 {ESCAPES}".replace("\x00", "").encode().decode("latin-1")  # as UTF-8 bytes
    with hostile(lambda path: whole(b"", phrase)) as server:
        write_manifest(tmp_path, points(tmp_path, server.port))
        yield tmp_path


def clean(text: str) -> None:
    for raw in RAW:
        assert raw not in text, (raw, text)


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "tap"])
def test_verify_shows_what_servers_send_escaped(folder: Path, fmt: str) -> None:
    run = mdd(
        "verify",
        "lab1",
        "--manifests",
        str(folder / "manifests"),
        "--no-color",
        "--format",
        fmt,
        cwd=folder,
    )
    assert run.code == 1, run.err
    clean(run.out + run.err)
    assert "\\x1b]0;pwned\\x07" in run.out.replace("\\\\", "\\"), run.out
    state = (folder / ".mdd" / "lab1.json").read_text()
    assert "\\\\x1b]0;pwned" in state  # the JSON of the text \x1b, not of ESC
    clean(json.loads(state)["points"]["web"]["last_result"]["reason"])


def test_docs_and_report_show_the_reasons_escaped(folder: Path) -> None:
    manifests = str(folder / "manifests")
    assert mdd("verify", "lab1", "--manifests", manifests, "--no-color", cwd=folder).code == 1
    state = str(folder / ".mdd" / "lab1.json")
    for args in (["docs", "--format", "md"], ["docs", "--format", "html"]):
        run = mdd(
            *args[:1], "lab1", "--manifests", manifests, *args[1:], "--state", state, cwd=folder
        )
        assert run.code == 0, (args, run.err)
        clean(run.out)
        assert "0;pwned\\x07" in run.out.replace("\\\\", "\\").replace("\\]", "]"), args
    page = folder / "report.html"
    run = mdd("report", "lab1", "--manifests", manifests, "-o", str(page), cwd=folder)
    assert run.code == 0, run.err
    clean(page.read_text())
    assert "\\x1b]0;pwned" in page.read_text()


def manifest_with(tmp: Path, **keys: str) -> str:
    point = {"name": "p", "type": "tcp", "check": {"host": "127.0.0.1", "port": 1}, **keys}
    write_manifest(tmp, [point])
    return str(tmp / "manifests")


@pytest.mark.parametrize(
    "keys",
    [
        {"owner": "team\x1b]0;pwned\x07"},
        {"owner": "team\u202eevil"},
        {"description": "the\x1b[2Jgateway"},
    ],
)
def test_control_characters_in_names_are_refused_at_validation(
    tmp_path: Path, keys: dict[str, str]
) -> None:
    manifests = manifest_with(tmp_path, **keys)
    for command in ("validate", "docs", "verify"):
        run = mdd(command, "lab1", "--manifests", manifests, cwd=tmp_path)
        assert run.code == 2, (command, run.out, run.err)
        assert "holds a control or invisible character" in run.err, run.err
        clean(run.out + run.err)


HOSTILE_LINKS = [
    "https://w/x?b=\"><script>alert('docs')</script>",
    "https://w/x?b=<img src=x onerror=alert(1)>",
    "https://w/`x`",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("link", HOSTILE_LINKS)
def test_a_docs_link_that_would_break_out_is_refused(tmp_path: Path, link: str) -> None:
    manifests = manifest_with(tmp_path, docs=link)
    run = mdd("validate", "lab1", "--manifests", manifests, cwd=tmp_path)
    assert run.code == 2, run.out  # a manifest problem (docs/exit-status.md)
    assert "docs: " in run.err


@pytest.mark.parametrize("link", HOSTILE_LINKS)
def test_markdown_and_html_never_carry_a_live_link_or_tag(link: str) -> None:
    """Whatever reaches the renderers (a state file, a future kind), escaped in the output."""
    from mdd.living.html import _href
    from mdd.living.markdown import link as markdown_link

    shown = markdown_link(link)
    assert "<script" not in shown and "<img" not in shown and "`x`" not in shown
    assert shown.count("<") <= 1 and shown.count(">") <= 1
    assert not shown.startswith("<javascript")
    href = _href(link)
    assert '"' not in href and "<" not in href and not href.startswith("javascript")
