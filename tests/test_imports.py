"""Import guard: a check imports only what it uses.

Every bundled check runs as a fresh process on every agent at every interval, so its import
cost is paid over and over. The generator's libraries (click, Jinja2, PyYAML), the HTTP stack
of sensu-plugin's handler (requests, urllib3) and mdd's own generator modules must never be
imported by a check. Each import is tried in a fresh interpreter, as the agent runs it.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mdd.checks._options import COMMON_OPTIONS, SECRET
from mdd.checks.registry import CHECK_TYPES, command_name

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Never imported by a check: each name also stands for its submodules.
FORBIDDEN = (
    "click",
    "jinja2",
    "yaml",
    "requests",
    "urllib3",
    "sensu_plugin.handler",
    "mdd.cli",
    "mdd.manifest",
    "mdd.sensu.classic",
    "mdd.sensu.go",
    "mdd.sensu.go_rules",
    "mdd.sensu.facts",
    "mdd.sensu.asset",
    "mdd.docgen",
    "mdd.checks.registry",  # imports every check type
    # Protocol libraries: imported by the probe that uses them, never by importing a check.
    "pg8000",
    "pymysql",
    "redis",
    "amqp",
)

_NEW_MODULES = """
import sys
before = set(sys.modules)
import {module}
print("\\n".join(sorted(set(sys.modules) - before)))
"""


def _modules_imported_by(module: str) -> set[str]:
    """The modules that ``import module`` adds, in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", _NEW_MODULES.format(module=module)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
    )
    assert proc.returncode == 0, f"import {module} failed:\n{proc.stderr}"
    return set(proc.stdout.split())


def _forbidden(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_check_imports_nothing_it_does_not_use(check_type: str) -> None:
    module = f"mdd.checks.check_{check_type}"
    imported = _modules_imported_by(module)
    assert module in imported  # the probe itself works: it sees the module being imported
    bad = _forbidden(imported)
    assert not bad, f"importing {module} also imports {', '.join(bad)}"


def test_the_guard_sees_a_forbidden_import() -> None:
    # mdd.cli imports click: if this passes unnoticed, the guard above proves nothing.
    imported = _modules_imported_by("mdd.cli")
    assert "click" in _forbidden(imported)
    # mdd.cli is a package: a check importing any one command module of it is caught too.
    commands = {m for m in imported if m.startswith("mdd.cli.")}
    assert {"mdd.cli._common", "mdd.cli.generate"} <= commands
    assert commands <= set(_forbidden(imported))


def test_the_command_line_imports_what_its_commands_use_only_when_they_run() -> None:
    # `mdd --help` imports mdd.cli and each command family's module: the libraries and mdd
    # modules a command needs are imported inside the command.
    heavy = [f for f in FORBIDDEN if f not in ("click", "mdd.cli")]
    heavy += ["mdd.batch", "mdd.runner.runner", "mdd.locate", "mdd.model", "mdd.output"]
    imported = _modules_imported_by("mdd.cli")
    loaded = sorted(m for m in imported if any(m == h or m.startswith(h + ".") for h in heavy))
    assert not loaded, f"import mdd.cli also imports {', '.join(loaded)}"


def test_mdd_package_imports_nothing() -> None:
    assert _modules_imported_by("mdd") == {"mdd"}
    tree = ast.parse((REPO / "mdd" / "__init__.py").read_text())
    imports = [
        node.lineno for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert not imports, f"mdd/__init__.py has imports on lines {imports}"


def test_checks_package_imports_nothing() -> None:
    assert _modules_imported_by("mdd.checks") <= {"mdd", "mdd.checks"}


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_check_help_lists_every_option(check_type: str) -> None:
    proc = subprocess.run(
        [str(BIN / command_name(check_type)), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stdout}{proc.stderr}"
    options = COMMON_OPTIONS + CHECK_TYPES[check_type].OPTIONS
    # A secret option is two flags, --NAME-file and --NAME-env.
    flags = [
        flag
        for opt in options
        for flag in ([f"{opt.flag}-file", f"{opt.flag}-env"] if opt.kind is SECRET else [opt.flag])
    ]
    missing = [
        flag
        for flag in flags
        if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", proc.stdout)
    ]
    assert not missing, f"{command_name(check_type)} --help does not list {missing}:\n{proc.stdout}"


def _flags(flag: str, secret: bool) -> list[str]:
    """A secret option is two flags: ``--password-file PATH`` and ``--password-env NAME``."""
    return [f"{flag}-file", f"{flag}-env"] if secret else [flag]
