"""Every place a check type must be, found from the registry: each missing one is a problem.

A check type is one file (``checks/check_<type>.py``) and one line in ``checks/registry.py``.
The rest is derived from those, at run time (the import guard's list, the benchmarks' lists,
``mdd docs``' sentence, the reference docs' generator, the differential tests' parameters) or
checked against them here, statically, so that a copy of the tree can be checked too
(tests/test_check_type_places.py):

* the module declares ``TYPE`` (its name), ``SUMMARY``, ``OPTIONS``, ``EXAMPLE``, ``validate``,
  ``probe`` and ends with ``main = main_of(__name__)``;
* ``[project.scripts]`` has ``check-mdd-<type> = "mdd.checks.check_<type>:main"``, and no script
  names a type the registry does not have;
* the README's table of check types has its row;
* its generated reference page exists (``python -m mdd.reference`` writes it; tests/test_docs.py
  holds it up to date);
* its tests exist (``tests/checks/test_check_<type>.py``), it has a row in the differential
  tests (verify's verdict equals the Sensu check's), and a benchmark measures it;
* the module says what its tests need from the machine: ``TEST_PACKAGES`` (Debian packages:
  servers the tests start themselves, reference plugins) and/or ``TEST_SERVICES`` (the Debian
  package of a shared server the tests reach on 127.0.0.1); ``.ci/setup`` installs each of them
  (``APT_PACKAGES``) and ``.ci/services`` starts each service (``start <package> <port>``), and
  starts nothing that no type declares.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: tomli, the same parser (a test dependency there)
    import tomli as tomllib

REQUIRED = ("TYPE", "SUMMARY", "OPTIONS", "EXAMPLE", "validate", "probe", "main")
DIFFERENTIAL = Path("tests/runner/test_differential_types.py")


def registered(root: Path) -> list[str]:
    """The type names of ``TYPES`` in ``checks/registry.py``."""
    tree = ast.parse((root / "checks" / "registry.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == "TYPES" for t in targets):
                assert node.value is not None
                return [
                    ast.literal_eval(item)
                    for item in ast.walk(node.value)
                    if isinstance(item, ast.Constant) and isinstance(item.value, str)
                ]
    raise AssertionError("checks/registry.py has no TYPES")


def _declared(path: Path) -> dict[str, ast.AST]:
    names: dict[str, ast.AST] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef):
            names[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            for target in targets:
                if isinstance(target, ast.Name) and node.value is not None:
                    names[target.id] = node.value
    return names


def _module_problems(root: Path, check_type: str) -> list[str]:
    path = root / "checks" / f"check_{check_type}.py"
    if not path.is_file():
        return [f"{check_type}: no module checks/check_{check_type}.py"]
    names = _declared(path)
    problems = [
        f"{check_type}: checks/check_{check_type}.py has no {name}"
        for name in REQUIRED
        if name not in names
    ]
    kind = names.get("TYPE")
    if isinstance(kind, ast.Constant) and kind.value != check_type:
        problems.append(f"{check_type}: checks/check_{check_type}.py says TYPE = {kind.value!r}")
    main = names.get("main")
    if main is not None and ast.unparse(main) != "main_of(__name__)":
        problems.append(f"{check_type}: main is not main_of(__name__)")
    return problems


def _string_keys(path: Path, name: str) -> set[str]:
    """The string keys/items of the module-level dict or set ``name`` in ``path``, and of a
    local one of that name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                value = node.value
                items = value.keys if isinstance(value, ast.Dict) else getattr(value, "elts", [])
                found |= {i.value for i in items if isinstance(i, ast.Constant)}
    return found


def benchmarked(root: Path) -> set[str]:
    """Types a benchmark measures: the type given to ``check_subject(label, TYPE, ...)`` and
    the data stores of benchmarks/check_cost.py."""
    found = _string_keys(root / "benchmarks" / "check_cost.py", "DATA_STORES")
    for path in (root / "benchmarks").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "check_subject"
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
            ):
                found.add(node.args[1].value)
    return found


def _test_needs(root: Path, check_type: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(``TEST_PACKAGES``, ``TEST_SERVICES``) of a type's module; ``None`` if it has neither."""
    path = root / "checks" / f"check_{check_type}.py"
    if not path.is_file():
        return (), ()
    names = _declared(path)
    if "TEST_PACKAGES" not in names and "TEST_SERVICES" not in names:
        return None
    packages, services = (
        tuple(ast.literal_eval(names[n])) if n in names else ()
        for n in ("TEST_PACKAGES", "TEST_SERVICES")
    )
    return packages, services


def apt_packages(root: Path) -> set[str]:
    """The Debian packages ``.ci/setup`` installs (its ``APT_PACKAGES=( ... )``)."""
    found = re.search(r"^APT_PACKAGES=\(([^)]*)\)", (root / ".ci" / "setup").read_text(), re.M)
    return set(found.group(1).split()) if found else set()


def started_services(root: Path) -> set[str]:
    """The Debian packages whose servers ``.ci/services`` starts (``if start <package> <port>``)."""
    text = (root / ".ci" / "services").read_text(encoding="utf-8")
    return set(re.findall(r"^if start (\S+) \d+; then", text, re.M))


def _ci_problems(root: Path, types: list[str]) -> list[str]:
    installed, started = apt_packages(root), started_services(root)
    found: list[str] = []
    declared_services: set[str] = set()
    for check_type in types:
        needs = _test_needs(root, check_type)
        if needs is None:
            found.append(
                f"{check_type}: checks/check_{check_type}.py declares neither TEST_PACKAGES nor "
                f"TEST_SERVICES (what its tests need from the machine; () for nothing)"
            )
            continue
        packages, services = needs
        declared_services.update(services)
        for package in packages + services:
            if package not in installed:
                found.append(f"{check_type}: .ci/setup's APT_PACKAGES does not install {package}")
        for package in services:
            if package not in started:
                found.append(
                    f"{check_type}: .ci/services does not start {package} "
                    f"(if start {package} PORT; then ...)"
                )
    for package in sorted(started - declared_services):
        found.append(f".ci/services starts {package}, which no check type's TEST_SERVICES names")
    return found


def problems(root: Path) -> list[str]:
    """Every place a registered check type is missing from, in the tree at ``root``."""
    types = registered(root)
    scripts: dict[str, str] = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "scripts"
    ]
    readme = (root / "README.md").read_text(encoding="utf-8")
    differential = _string_keys(root / DIFFERENTIAL, "CASES") | _string_keys(
        root / DIFFERENTIAL, "covered_elsewhere"
    )
    measured = benchmarked(root)
    found: list[str] = []
    for check_type in types:
        found += _module_problems(root, check_type)
        command = f"check-mdd-{check_type}"
        if scripts.get(command) != f"mdd.checks.check_{check_type}:main":
            found.append(
                f"{check_type}: pyproject.toml [project.scripts] needs "
                f'{command} = "mdd.checks.check_{check_type}:main"'
            )
        if f"| `{check_type}` | `{command}` |" not in readme:
            found.append(f"{check_type}: README.md's table of check types has no row for it")
        if not (root / "docs" / "reference" / "types" / f"{check_type}.md").is_file():
            found.append(
                f"{check_type}: no docs/reference/types/{check_type}.md "
                f"(run: python -m mdd.reference)"
            )
        if not (root / "tests" / "checks" / f"test_check_{check_type}.py").is_file():
            found.append(f"{check_type}: no tests/checks/test_check_{check_type}.py")
        if check_type not in differential:
            found.append(f"{check_type}: no row in {DIFFERENTIAL} (CASES)")
        if check_type not in measured:
            found.append(f"{check_type}: no benchmark measures {command} (benchmarks/)")
    found += _ci_problems(root, types)
    for name in scripts:
        check_type = name.removeprefix("check-mdd-")
        if name != check_type and name != "check-mdd-batch" and check_type not in types:
            found.append(f"pyproject.toml: {name} is not a registered check type")
    for path in sorted((root / "checks").glob("check_*.py")):
        if path.stem.removeprefix("check_") not in types:
            found.append(f"checks/{path.name} is not in checks/registry.py's TYPES")
    return found
