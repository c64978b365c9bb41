"""The import rules of ARCHITECTURE.md, held: each package of ``mdd`` imports only the floors
below it, and the bundled checks import nothing of the generator.

Read from the source with ``ast`` (imports inside functions and under ``TYPE_CHECKING``
count too), so an arrow that runs back up fails here before it surprises anyone.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What each part of mdd may import besides itself, ``mdd`` (the version) and the checks'
# public modules. The floors of ARCHITECTURE.md, top to bottom.
ALLOWED: dict[str, set[str]] = {
    "_entry": {"cli"},
    "__main__": {"cli", "_entry"},
    "cli": {"core", "manifest", "sensu", "runner", "batch", "living", "reference"},
    "reference": {"core", "manifest", "living"},
    "batch": {"core", "runner", "sensu"},
    "living": {"core", "runner"},
    "manifest": {"core", "sensu.classic_rules", "sensu.go_rules"},
    "sensu": {"core"},
    "runner": {"core"},
    "core": set(),
}


def _part(module: str) -> str | None:
    """The part of mdd a module name belongs to (``mdd.runner.states`` -> ``runner``)."""
    parts = module.split(".")
    if parts[0] != "mdd" or len(parts) == 1:
        return None
    return parts[1]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # ``from mdd.sensu import go_rules`` imports go_rules
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if _is_module(submodule) else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "mdd" or name.startswith("mdd.")}


def _is_module(name: str) -> bool:
    parts = name.split(".")
    if parts[:2] == ["mdd", "checks"]:
        return (ROOT / "checks" / Path(*parts[2:])).with_suffix(".py").is_file()
    return (ROOT / Path(*parts)).with_suffix(".py").is_file() or (ROOT / Path(*parts)).is_dir()


def _allowed(source: str, target: str) -> bool:
    part = _part(target)
    if part is None or part == source or part in ("checks", "templates", "examples", "__version__"):
        return True
    allowed = ALLOWED[source]
    if part in allowed:
        return True
    modules = [f"mdd.{rule}" for rule in allowed if "." in rule]  # one module of a part
    return any(target == module or target.startswith(module + ".") for module in modules)


def test_every_part_of_mdd_is_in_the_rules() -> None:
    parts = {p.stem if p.is_file() else p.name for p in (ROOT / "mdd").iterdir()}
    parts = {p for p in parts if not p.startswith("__") or p == "__main__"}
    parts -= {"examples", "manifest.schema", "__pycache__", "py"}
    assert parts <= set(ALLOWED), f"add {sorted(parts - set(ALLOWED))} to ARCHITECTURE.md"


def test_no_import_runs_back_up() -> None:
    wrong = []
    for path in sorted((ROOT / "mdd").rglob("*.py")):
        relative = path.relative_to(ROOT / "mdd")
        source = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        if source == "__init__":
            continue
        for target in sorted(_imports(path)):
            if not _allowed(source, target):
                wrong.append(f"mdd/{relative.as_posix()} imports {target}")
    assert not wrong, "imports against ARCHITECTURE.md's floors:\n" + "\n".join(wrong)


def test_the_checks_import_nothing_of_the_generator() -> None:
    wrong = []
    for path in sorted((ROOT / "checks").glob("*.py")):
        for target in sorted(_imports(path)):
            if target != "mdd" and not target.startswith(("mdd.checks", "mdd.__version__")):
                wrong.append(f"checks/{path.name} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_architecture_md_names_every_package() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for part in ALLOWED:
        if part.startswith("_"):
            continue
        assert f" {part}/ " in text or f" {part}.py " in text, f"ARCHITECTURE.md lacks mdd/{part}"


# A function a person can hold in their head: counted from ``def`` to its last line, its
# docstring included (decorators not). ruff's C901 (pyproject.toml) bounds the branches.
MAX_FUNCTION_LINES = 60


def _long_functions(folder: Path) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    where = f"{path.relative_to(folder.parent).as_posix()}:{node.lineno}"
                    found.append(f"{where}: {node.name} has {lines} lines")
    return found


def test_no_function_of_mdd_is_over_60_lines() -> None:
    found = _long_functions(ROOT / "mdd")
    assert not found, (
        f"over {MAX_FUNCTION_LINES} lines (split it into functions named for what each does):\n"
        + "\n".join(found)
    )


def test_the_length_rule_finds_a_long_function(tmp_path: Path) -> None:
    body = "".join(f"    x{n} = {n}\n" for n in range(MAX_FUNCTION_LINES - 1))
    (tmp_path / "long.py").write_text(f"def long():\n{body}\n\ndef short():\n    pass\n")
    assert _long_functions(tmp_path) == []
    (tmp_path / "long.py").write_text(f"def long():\n{body}    return x0\n")
    assert [line.rsplit(": ", 1)[1] for line in _long_functions(tmp_path)] == [
        f"long has {MAX_FUNCTION_LINES + 1} lines"
    ]
