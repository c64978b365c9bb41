"""The guide's second datacenter: its files, and what render, init and diff print for them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from mdd.cli import main

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guide.md"


def blocks(language: str) -> list[str]:
    """The fenced blocks of the guide in ``language`` ("" for plain fences)."""
    found: list[str] = []
    current: list[str] | None = None
    fence = ""
    for line in GUIDE.read_text(encoding="utf-8").splitlines(keepends=True):
        if current is None and line.startswith("```"):
            current, fence = [], line[3:].strip()
        elif current is not None and line.rstrip("\n") == "```":
            if fence == language:
                found.append("".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return found


def printed(command: str) -> str:
    [block] = [b for b in blocks("console") if b.startswith(f"$ {command}\n")]
    return block.removeprefix(f"$ {command}\n")


@pytest.fixture
def guide_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The guide's manifests/ files, each written where its first comment line says."""
    written = []
    for block in blocks("yaml"):
        match = re.match(r"# (manifests/\S+\.yaml)", block)
        if match:
            path = tmp_path / match.group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block, encoding="utf-8")
            written.append(match.group(1))
    assert written == ["manifests/base/global.yaml", "manifests/ams1.yaml"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MDD_MANIFESTS", raising=False)
    return tmp_path


def invoke(command: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, command.split()[1:])
    return result.exit_code, result.stdout


def test_the_guides_render_shows_the_start_of_the_real_output(guide_files: Path) -> None:
    shown = printed("mdd render ams1")
    assert shown.endswith("\n...\n")
    code, out = invoke("mdd render ams1")
    assert code == 0 and out.startswith(shown.removesuffix("...\n"))


def test_the_guides_init_and_diff_print_what_mdd_prints(guide_files: Path) -> None:
    command = "mdd init fra1 --from ams1 --set domain=fra1.example.net"
    assert invoke(command) == (0, printed(command))
    assert (guide_files / "manifests" / "fra1.yaml").is_file()
    command = "mdd diff ams1 fra1 --ignore-vars"
    assert invoke(command) == (0, printed(command))
    code, out = invoke("mdd diff ams1 fra1")
    assert code == 1 and "vault.fra1.example.net" in out


def test_the_guides_living_document_entry_is_generated(guide_files: Path) -> None:
    [entry] = [b for b in blocks("") if b.startswith("### artifact-repo\n")]
    code, out = invoke("mdd docs ams1")
    assert code == 0
    for line in entry.splitlines():
        assert line in out.splitlines()
