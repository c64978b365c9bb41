"""Lint, format and type checks, run as the tools run them, so CI enforces them.

    .venv/bin/python tests/test_quality.py     # the same three, with their full output

mypy cannot follow setuptools' package-dir mapping (``checks/`` installs as ``mdd.checks``,
``templates/`` as ``mdd.templates``), so it checks the package ``mdd`` in ``build/mypy/``: a
tree of symlinks laid out as the package is installed (``build/mypy/mdd/*`` -> ``mdd/*``,
``build/mypy/mdd/checks`` -> ``checks/``, ``build/mypy/mdd/templates`` -> ``templates/``).
pyproject.toml points mypy there (``mypy_path``, ``packages``); this file makes the tree,
and reports mypy's paths as the real ones (``checks/_base.py``, not
``build/mypy/mdd/checks/_base.py``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

REPO = Path(__file__).resolve().parent.parent
TREE = REPO / "build" / "mypy"


def link_tree() -> Path:
    """Make (or bring up to date) build/mypy/mdd, the package as installed, in symlinks."""
    package = TREE / "mdd"
    package.mkdir(parents=True, exist_ok=True)
    wanted = {
        entry.name: Path("..", "..", "..", "mdd", entry.name)
        for entry in (REPO / "mdd").iterdir()
        if entry.name != "__pycache__"
    }
    wanted["checks"] = Path("..", "..", "..", "checks")
    wanted["templates"] = Path("..", "..", "..", "templates")
    for entry in package.iterdir():
        current = Path(os.readlink(entry)) if entry.is_symlink() else None
        if current != wanted.get(entry.name):
            entry.unlink()
    for name, target in wanted.items():
        link = package / name
        if not link.is_symlink():
            with contextlib.suppress(FileExistsError):  # another run made it meanwhile
                link.symlink_to(target)
    return TREE


def _real_paths(text: str) -> str:
    for folder in ("checks", "templates"):
        text = text.replace(f"build/mypy/mdd/{folder}/", f"{folder}/")
    return text.replace("build/mypy/mdd/", "mdd/")


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    if name == "mypy":
        link_tree()
    proc = subprocess.run(
        [sys.executable, "-m", name, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    if name == "mypy":
        proc.stdout, proc.stderr = _real_paths(proc.stdout), _real_paths(proc.stderr)
    return proc


# (tool, arguments): mypy takes its targets (the package mdd) from pyproject.toml.
COMMANDS = {
    "ruff check": ("ruff", "check", "."),
    "ruff format": ("ruff", "format", "--check", "."),
    "mypy --strict": ("mypy",),
}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_tool_passes(command: str) -> None:
    proc = run_tool(*COMMANDS[command])
    if proc.returncode != 0:
        pytest.fail(
            f"`{command}` failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}",
            pytrace=False,
        )


def test_mypy_checks_the_checks_package() -> None:
    # If the tree lost mdd/checks, mypy would pass without reading a single check.
    package = link_tree() / "mdd"
    assert (package / "checks" / "_base.py").is_file()
    assert (package / "cli" / "__init__.py").is_file()


# Records (checks/_result.py Record) have one generic constructor at run time; mypy must still
# check each call against the fields, as it does a hand-written __init__ (Option and Kind keep
# theirs: made some 40 times a run, a generic constructor cost them 0.65 M instructions).
# Lines marked "# wrong" must each be an error, and no other line.
RECORD_CALLS = """
from mdd.checks._certificates import Cert
from mdd.checks._http_exchange import Answer
from mdd.checks._kinds import HOST, Kind
from mdd.checks._options import Option
from mdd.checks._result import Perf, Result, State

Perf("x", "not a float")  # wrong
Perf("x", 1.0, warn="1")  # wrong
Perf("x")  # wrong
Perf("x", 1.0, "s", 1.0, 2.0, 0.0, 9.0, 10.0)  # wrong
Perf("x", 1.0, colour="red")  # wrong
Result(State.OK)  # wrong
Result(State.OK, "fine", [Perf("x", 1.0)])  # wrong
Option("host", "HOST", "help")  # wrong
Option("host", HOST, "help", required="yes")  # wrong
Kind("k", str, str, metavar=3)  # wrong
Answer(200, "OK", None, "utf-8", b"", truncated="no")  # wrong
Cert((), (), 0.0, 1.0, (), 7)  # wrong
Perf("x", 1.0, "s", max=2.0)
Result(State.OK, "fine", (Perf("x", 1.0),))
Option("host", HOST, "help", True, multiple=True)
Kind("k", str, str, metavar="K")
Answer(200, "OK", None, "utf-8", b"", truncated=False)
Cert((("CN", "x"),), (), 0.0, 1.0, ("DNS:x",), "7")
"""


def test_mypy_checks_each_call_of_a_record_constructor(tmp_path: Path) -> None:
    link_tree()
    snippet = tmp_path / "calls.py"
    snippet.write_text(RECORD_CALLS)
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), str(snippet)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    wrong = [n for n, line in enumerate(RECORD_CALLS.splitlines(), 1) if "# wrong" in line]
    flagged = sorted(
        {int(line.split(":")[1]) for line in proc.stdout.splitlines() if ": error:" in line}
    )
    assert flagged == wrong, proc.stdout + proc.stderr


def main() -> int:
    failed = 0
    for command, argv in COMMANDS.items():
        proc = run_tool(*argv)
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        print(f"== {command}: {status}")
        output = (proc.stdout + proc.stderr).strip()
        if output:
            print(output)
        failed += proc.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
