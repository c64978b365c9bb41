"""A point whose check could not decide (UNKNOWN) is its own state, ``unknown``, on every
board, format and document, with its reason: never shown or counted as pending or green.

The UNKNOWN is a real one: an http point whose header secret ``{env: ...}`` is not set on
this workstation, run by ``mdd verify`` against a real listener.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runner.helpers import free_port, listener, mdd, tcp, write_manifest

MISSING = "MDD_TEST_NEVER_SET_TOKEN"


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    up = listener(0)
    port = up.getsockname()[1]
    write_manifest(
        tmp_path,
        [
            tcp("repo", port, owner="build-infra"),
            {
                "name": "api",
                "type": "http",
                "owner": "payments",
                "check": {
                    "url": f"http://127.0.0.1:{port}/health",
                    "secret_headers": {"Authorization": {"env": MISSING}},
                    "timeout": "2s",
                },
            },
            tcp("dns", free_port(), owner="netops"),
        ],
    )
    yield tmp_path
    up.close()


def run(folder: Path, *args: str) -> str:
    result = mdd("verify", "lab1", "--manifests", str(folder / "manifests"), *args, cwd=folder)
    assert result.code == 1, result.err
    return result.out


def test_text_board_shows_unknown_with_its_reason(folder: Path) -> None:
    out = run(folder, "--no-color")
    (line,) = [x for x in out.splitlines() if " api " in x]
    assert line.startswith("UNKNOWN   api"), out
    assert MISSING in line  # the reason: which variable is not set
    assert out.splitlines()[-1] == (
        "lab1: 1/3 integration points green (33%); 1 unknown, 1 pending"
    )
    state = json.loads((folder / ".mdd" / "lab1.json").read_text())
    assert state["points"]["api"]["state"] == "unknown"


def test_json_junit_tap_show_unknown(folder: Path) -> None:
    document = json.loads(run(folder, "--format", "json"))
    assert document["summary"]["unknown"] == 1 and document["summary"]["pending"] == 1
    api = {p["name"]: p for p in document["points"]}["api"]
    assert (api["state"], api["status_name"]) == ("unknown", "UNKNOWN")
    assert MISSING in api["reason"]

    suite = ET.fromstring(run(folder, "--format", "junit")).find("testsuite")
    assert suite is not None
    assert (suite.get("errors"), suite.get("failures")) == ("1", "1")
    case = {c.get("name"): c for c in suite.iter("testcase")}["api"]
    error = case.find("error")
    assert error is not None and error.get("type") == "unknown", ET.tostring(case)
    assert MISSING in (error.get("message") or "")

    tap = run(folder, "--format", "tap")
    assert re.search(r"^not ok \d+ - api \(unknown\)$", tap, re.M), tap
    assert '  state: "unknown"' in tap


def test_report_and_docs_show_unknown(folder: Path) -> None:
    run(folder, "--no-color")
    manifests = str(folder / "manifests")
    page = folder / "report.html"
    result = mdd("report", "lab1", "--manifests", manifests, "-o", str(page), cwd=folder)
    assert result.code == 0, result.err
    html = page.read_text()
    assert 'data-point="api" data-state="unknown"' in html
    assert '<span class="state unknown">unknown</span>' in html
    assert "1 unknown, 1 pending" in html
    # `mdd docs` reads the same .mdd/ state as verify and report, by default.
    docs = mdd("docs", "lab1", "--manifests", manifests, cwd=folder)
    assert docs.code == 0, docs.err
    assert "1 of 3 green (33%)" in docs.out
    assert "- **State:** 🔵 unknown" in docs.out, docs.out
    assert MISSING.replace("_", "\\_") in docs.out  # Markdown-escaped, in the reason
