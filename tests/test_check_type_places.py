"""A check type is one file plus one registry line: everything else follows or fails a test.

A throwaway type is registered in a temporary copy of the tree. The places derived from the
registry and the module at run time follow it by themselves (the import guard's list, the
benchmarks' lists, ``mdd docs``' sentence with the module's own opening words, the reference
docs); each place that must be written by hand (the console script, the README row, the
tests, the differential row, a benchmark, the Debian package of the server its tests need in
.ci/setup and .ci/services) is reported missing until it is there (tests/check_type_places.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.check_type_places import problems

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

REPO = Path(__file__).resolve().parent.parent

THROWAWAY = '''"""throwaway: a check type a test makes up (the port of ``host`` answers)."""

from __future__ import annotations

from mdd.checks._base import main_of
from mdd.checks._options import DURATION, HOST, PORT, Option
from mdd.checks._result import Result, State

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    class Opts(Protocol):
        point: str | None
        host: str
        port: int
        warn: float | None

TYPE = "throwaway"
SUMMARY = "A made-up check type answers."
LIBRARIES = ("wave",)
OPTIONS: tuple[Option, ...] = (
    Option("host", HOST, "Host name or address.", required=True),
    Option("port", PORT, "TCP port.", required=True),
    Option("warn", DURATION, "WARNING when the wave takes longer than this."),
)
EXAMPLE = {"host": "made-up.ams1.example.net", "port": 7}
TEST_SERVICES = ("throwaway-server",)
DESCRIBE_TIMED = "the wave"


def describe_opening(values: dict[str, Any]) -> str:
    return f"waves back from {values['host']} port {values['port']}"


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    return []


def probe(opts: Opts) -> Result:
    return Result(State.OK, f"{opts.host} answers")


main = main_of(__name__)
'''

# What the derived places say about the throwaway type, in the copy, at run time.
DERIVED = """
import json, sys
sys.path += [sys.argv[1], sys.argv[1] + "/benchmarks"]  # after the copy's mdd (PYTHONPATH)
from mdd.checks.registry import CHECK_TYPES, command_name, libraries
from mdd.living.describe import describe_values
from mdd.reference import type_page_markdown
import check_cost
from tests.test_imports import FORBIDDEN

print(json.dumps({
    "module": CHECK_TYPES["throwaway"].__file__,
    "forbidden": "wave" in FORBIDDEN,
    "library": check_cost.LIBRARIES.get("throwaway"),
    "describe": describe_values("throwaway", {"host": "h.example.net", "port": 7, "warn": 1.0}),
    "page": "throwaway" in type_page_markdown("throwaway"),
}))
"""


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("checks", "mdd", "tests", "benchmarks", "docs"):
        shutil.copytree(REPO / name, tree / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, tree / name)
    shutil.copytree(REPO / ".ci", tree / ".ci")
    return tree


def _package(tree: Path, tmp_path: Path) -> Path:
    """The copy laid out as installed (checks/ as mdd/checks), in symlinks."""
    package = tmp_path / "site" / "mdd"
    package.mkdir(parents=True)
    for entry in (tree / "mdd").iterdir():
        (package / entry.name).symlink_to(entry)
    (package / "checks").symlink_to(tree / "checks")
    return package.parent


def _register(tree: Path) -> None:
    (tree / "checks" / "check_throwaway.py").write_text(THROWAWAY, encoding="utf-8")
    registry = tree / "checks" / "registry.py"
    text = registry.read_text(encoding="utf-8")
    assert '    "amqp",\n)' in text
    registry.write_text(text.replace('    "amqp",\n)', '    "amqp",\n    "throwaway",\n)'))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path}: {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_tree_has_every_place_of_every_registered_type() -> None:
    assert problems(REPO) == []


def test_a_new_type_is_one_file_and_one_line_and_every_other_place_follows(
    tmp_path: Path,
) -> None:
    tree = _copy(tmp_path)
    assert problems(tree) == []
    _register(tree)

    # Derived at run time: the copy's own registry drives them.
    site = _package(tree, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run(
        [sys.executable, "-c", DERIVED, str(tree)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    derived = json.loads(proc.stdout)
    assert Path(derived["module"]).resolve() == tree / "checks" / "check_throwaway.py"
    assert derived["forbidden"], "the import guard does not forbid the type's library"
    assert derived["library"] == "wave", "benchmarks/check_cost.py does not measure its library"
    assert derived["describe"] == (
        "waves back from h.example.net port 7, WARNING when the wave takes over 1s."
    )
    assert derived["page"]

    # Written by hand: each is missing until it is there, and then only the others are.
    steps = [
        (
            "pyproject.toml [project.scripts]",
            lambda: _edit(
                tree / "pyproject.toml",
                'check-mdd-amqp = "mdd.checks.check_amqp:main"\n',
                'check-mdd-amqp = "mdd.checks.check_amqp:main"\n'
                'check-mdd-throwaway = "mdd.checks.check_throwaway:main"\n',
            ),
        ),
        (
            "README.md's table",
            lambda: _edit(
                tree / "README.md",
                "| `amqp` | `check-mdd-amqp` |",
                "| `throwaway` | `check-mdd-throwaway` | a made-up check type answers |\n"
                "| `amqp` | `check-mdd-amqp` |",
            ),
        ),
        (
            "docs/reference/types/throwaway.md",
            lambda: subprocess.run(
                [sys.executable, "-m", "mdd.reference"],
                env=env,
                cwd=tmp_path,  # not the copy: its mdd/ has no checks/
                check=True,
                capture_output=True,
                timeout=120,
            ),
        ),
        (
            "tests/checks/test_check_throwaway.py",
            lambda: (tree / "tests" / "checks" / "test_check_throwaway.py").write_text(""),
        ),
        (
            "test_differential_types.py (CASES)",
            lambda: _edit(
                tree / "tests" / "runner" / "test_differential_types.py",
                '    "amqp": amqp_cases,\n',
                '    "amqp": amqp_cases,\n    "throwaway": amqp_cases,\n',
            ),
        ),
        (
            "no benchmark measures",
            lambda: _edit(
                tree / "benchmarks" / "check_cost.py",
                '    "amqp": (5672, {}),\n',
                '    "amqp": (5672, {}),\n    "throwaway": (7, {}),\n',
            ),
        ),
        (
            ".ci/setup's APT_PACKAGES",
            lambda: _edit(
                tree / ".ci" / "setup",
                " rabbitmq-server\n)",
                " rabbitmq-server\n    throwaway-server\n)",
            ),
        ),
        (
            ".ci/services does not start",
            lambda: _edit(
                tree / ".ci" / "services",
                "\nexit 0",
                "\nif start throwaway-server 7; then\n    throwaway-server --daemon\nfi\nexit 0",
            ),
        ),
    ]
    for index, (place, write) in enumerate(steps):
        before = problems(tree)
        assert len(before) == len(steps) - index, before
        assert any(place.split(" (")[0].split("'")[0] in p for p in before), (place, before)
        write()
        after = problems(tree)
        assert len(after) == len(before) - 1, (place, after)
    assert problems(tree) == []


def test_a_script_or_module_the_registry_does_not_have_is_reported(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    (tree / "checks" / "check_orphan.py").write_text(THROWAWAY.replace("throwaway", "orphan"))
    _edit(
        tree / "pyproject.toml",
        'check-mdd-amqp = "mdd.checks.check_amqp:main"\n',
        'check-mdd-amqp = "mdd.checks.check_amqp:main"\n'
        'check-mdd-ghost = "mdd.checks.check_ghost:main"\n',
    )
    found = problems(tree)
    assert any(re.search(r"check-mdd-ghost is not a registered check type", p) for p in found)
    assert any("checks/check_orphan.py is not in" in p for p in found), found


def test_what_a_type_needs_from_the_machine_is_declared_and_installed(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    _edit(tree / "checks" / "check_postgres.py", 'TEST_SERVICES = ("postgresql",)', "")
    _edit(tree / ".ci" / "setup", " redis-server ", " ")
    found = problems(tree)
    assert any(
        "check_postgres.py declares neither TEST_PACKAGES nor TEST_SERVICES" in p for p in found
    )
    assert "redis: .ci/setup's APT_PACKAGES does not install redis-server" in found
    assert ".ci/services starts postgresql, which no check type's TEST_SERVICES names" in found
