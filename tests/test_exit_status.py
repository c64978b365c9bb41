"""Exit statuses are declared once (``mdd.cli._common.Exit``): the docs page and ``mdd --help``
say the same, and an unexpected error is a one-line bug report (traceback only with --debug)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mdd import cli
from mdd.cli._common import Exit

ROOT = Path(__file__).resolve().parents[1]


def test_the_docs_table_lists_every_status_of_the_enum() -> None:
    page = (ROOT / "docs" / "exit-status.md").read_text(encoding="utf-8")
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", page, re.MULTILINE)}
    assert documented == {int(e) for e in Exit}


def test_mdd_help_lists_every_status_of_the_enum() -> None:
    result = CliRunner().invoke(cli.main, ["--help"])
    block = result.output.split("Exit status, the same for every command:", 1)[1]
    listed = {int(m) for m in re.findall(r"^\s+(\d+)\s", block.split("Options:", 1)[0], re.M)}
    assert listed == {int(e) for e in Exit}


def test_a_manifest_problem_is_2_for_every_command(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("datacenter: bad\nintegration_points: [{name: x, type: tcp}]\n")
    for argv in (
        ["validate", str(bad)],
        ["generate", str(bad)],
        ["render", str(bad)],
        ["docs", str(bad)],
        ["verify", str(bad), "--no-state"],
        ["diff", str(bad), str(bad)],
    ):
        result = CliRunner().invoke(cli.main, argv)
        assert result.exit_code == Exit.USAGE, (argv, result.output)


@pytest.fixture
def broken_command() -> click.Command:
    @click.command("explode")
    def explode() -> None:
        raise ZeroDivisionError("a planted bug")

    cli.main.add_command(explode)
    yield explode
    del cli.main.commands["explode"]


def test_a_bug_is_one_line_and_exit_70(broken_command: click.Command) -> None:
    result = CliRunner().invoke(cli.main, ["explode"])
    assert result.exit_code == Exit.BUG
    assert "unexpected error (a bug in mdd)" in result.stderr
    assert "ZeroDivisionError: a planted bug" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback_of_a_bug(broken_command: click.Command) -> None:
    result = CliRunner().invoke(cli.main, ["--debug", "explode"])
    assert result.exit_code == Exit.BUG
    assert "Traceback" in result.stderr and "a planted bug" in result.stderr


def test_a_real_process_usage_error_is_2() -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("mdd")), "validate", "/nonexistent/x.yaml"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == Exit.USAGE, proc.stderr
    assert "Traceback" not in proc.stderr
