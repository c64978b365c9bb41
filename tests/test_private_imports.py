"""One public API between packages: no ``_private`` name or module imported across modules.

A module may import the private helper modules of its own package (``checks/check_tcp.py``
imports ``mdd.checks._net``), but no other package's, and no module imports a name that
begins with an underscore from another module. Everything ``mdd/`` needs from the checks is
in ``mdd.checks.api`` (or ``mdd.checks.registry``). ruff's PLC2701 cannot hold this rule here:
``checks/`` is installed as ``mdd.checks``, a layout ruff does not see.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Folder -> the package it is installed as.
PACKAGES = {"mdd": "mdd", "checks": "mdd.checks"}


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def module_name(path: Path, root: Path) -> str:
    relative = path.relative_to(root)
    parts = [PACKAGES[relative.parts[0]], *relative.parts[1:]]
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(".".join(parts).split("."))


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def violations(root: Path) -> Iterator[str]:
    """``file:line: what`` for each import of a private name or of another package's
    private module, in the package folders below ``root``."""
    for folder in PACKAGES:
        for path in sorted((root / folder).rglob("*.py")):
            module = module_name(path, root)
            package = _package_of(module, path)
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                        source = f"{base}.{node.module}" if node.module else base
                    else:
                        source = node.module or ""
                    targets = [source]
                    for alias in node.names:
                        if _private(alias.name) and source.split(".")[0] == "mdd":
                            if source == package and not _private_module_ok(
                                f"{source}.{alias.name}", module
                            ):
                                yield f"{path.relative_to(root)}:{node.lineno}: {alias.name}"
                            elif source != package:
                                yield (
                                    f"{path.relative_to(root)}:{node.lineno}: "
                                    f"{alias.name} from {source}"
                                )
                elif isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                else:
                    continue
                for target in targets:
                    if not _private_module_ok(target, module):
                        yield f"{path.relative_to(root)}:{node.lineno}: {target}"


def _private_module_ok(target: str, importer: str) -> bool:
    """A module path with a private part is for its own package (and that package's
    subpackages) only. Other projects' modules (``yaml._yaml``) are not this rule's."""
    if target.split(".")[0] != "mdd":
        return True
    parts = target.split(".")
    for index, part in enumerate(parts):
        if _private(part):
            owner = ".".join(parts[:index])
            if not (importer == owner or importer.startswith(owner + ".")):
                return False
    return True


def test_no_private_name_is_imported_across_modules() -> None:
    found = list(violations(REPO))
    assert not found, "private imports across modules (use mdd.checks.api):\n" + "\n".join(found)


def test_the_options_module_exports_no_private_name() -> None:
    from mdd.checks import _options

    assert not [name for name in _options.__all__ if _private(name)]


@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        ("mdd/runner/x.py", "from mdd.checks._options import Option\n", "mdd.checks._options"),
        ("mdd/runner/x.py", "from mdd.checks.api import _hidden\n", "_hidden from"),
        ("mdd/runner/x.py", "import mdd.checks._base\n", "mdd.checks._base"),
        ("mdd/runner/x.py", "from mdd.checks import _base\n", "_base from mdd.checks"),
        (
            "checks/check_x.py",
            "from mdd.checks._kinds import _string\n",
            "_string from",
        ),
        ("mdd/manifest/x.py", "from mdd.sensu.classic_rules import _cron\n", "_cron from"),
    ],
)
def test_the_rule_sees_a_private_import(
    tmp_path: Path, file: str, text: str, expected: str
) -> None:
    (tmp_path / "mdd").mkdir()
    (tmp_path / "checks").mkdir()
    path = tmp_path / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    found = list(violations(tmp_path))
    assert len(found) == 1 and expected in found[0], found


def test_a_package_may_use_its_own_private_modules(tmp_path: Path) -> None:
    (tmp_path / "mdd" / "cli").mkdir(parents=True)
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "check_x.py").write_text("from mdd.checks._net import connect\n")
    (tmp_path / "mdd" / "cli" / "x.py").write_text("from mdd.cli._common import load\n")
    assert list(violations(tmp_path)) == []
