"""The typed options of every check type (``class Opts(Protocol)`` under ``TYPE_CHECKING``) say
exactly what its ``OPTIONS`` declare: every option, with the type its kind parses to, and
``| None`` where the parsed command line can leave it absent.

The Protocol costs nothing at run time (it exists for mypy only), so it is read here from the
module's source, with its bases (``checks/_typed.py``'s, or another module's: whatever the
module imports them from); mypy --strict then checks every ``opts.<name>`` of the probe
against it.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect

import pytest

from mdd.checks.api import BOOLEAN, COMMON_OPTIONS, SECRET, Option
from mdd.checks.registry import CHECK_TYPES


def _typed(source: str, name: str = "Opts") -> dict[str, str] | None:
    """``name -> annotation`` of the Protocol ``name`` (with its bases) in a module's source,
    if it has one."""
    tree = ast.parse(source)
    imported = {
        alias.asname or alias.name: (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == name:
            typed: dict[str, str] = {}
            for base in node.bases:
                base_name = ast.unparse(base)
                if base_name != "Protocol":
                    typed.update(_base(source, base_name, imported))
            typed.update(
                (item.target.id, ast.unparse(item.annotation))
                for item in node.body
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
            )
            return typed
    return None


def _base(source: str, name: str, imported: dict[str, tuple[str, str]]) -> dict[str, str]:
    """The annotations of the base ``name``: a class of the module, or an imported one."""
    if name in imported:
        module, name = imported[name]
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None, module
        with open(spec.origin, encoding="utf-8") as file:
            source = file.read()
    typed = _typed(source, name)
    assert typed is not None, f"no class {name}"
    return typed


def annotation(opt: Option) -> str:
    """The type of an option once the command line is parsed: what its kind's ``parse``
    returns (a list of them for a repeated option), ``| None`` when it may be absent (not
    required and no default; a repeated option or a secret is absent when not given)."""
    parsed = opt.kind.parse.__annotations__.get("return")
    assert isinstance(parsed, str), f"{opt.name}: the parse of kind {opt.kind.name} has no type"
    if opt.multiple or opt.pairs:
        parsed = f"list[{parsed}]"
    may_be_absent = opt.default is None or opt.multiple or opt.pairs or opt.kind is SECRET
    if not opt.required and opt.kind is not BOOLEAN and may_be_absent:
        parsed += " | None"
    return parsed


def mismatches(options: tuple[Option, ...], typed: dict[str, str]) -> list[str]:
    declared = {opt.name: opt for opt in COMMON_OPTIONS + options}
    found = [f"{name}: not an option" for name in typed if name not in declared]
    for name, opt in declared.items():
        if name not in typed:
            found.append(f"{name}: missing from Opts (want {annotation(opt)})")
        elif typed[name] != annotation(opt):
            found.append(f"{name}: {typed[name]}, want {annotation(opt)}")
    return found


@pytest.mark.parametrize("check_type", list(CHECK_TYPES))
def test_typed_options_match_the_declaration(check_type: str) -> None:
    module = CHECK_TYPES[check_type]
    typed = _typed(inspect.getsource(module))
    assert typed is not None, f"checks/check_{check_type}.py has no Opts (under TYPE_CHECKING)"
    assert mismatches(module.OPTIONS, typed) == []


@pytest.mark.parametrize("check_type", list(CHECK_TYPES))
def test_the_probe_reads_typed_options(check_type: str) -> None:
    tree = ast.parse(inspect.getsource(CHECK_TYPES[check_type]))
    probe = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "probe")
    assert ast.unparse(probe.args.args[0].annotation or ast.Constant(None)) == "Opts"


def test_the_bases_count() -> None:
    typed = _typed(inspect.getsource(CHECK_TYPES["tcp"]))
    assert typed is not None
    assert {"point", "timeout", "warn", "crit", "host", "port"} <= set(typed)


def test_a_mismatch_is_seen() -> None:
    module = CHECK_TYPES["tcp"]
    typed = _typed(inspect.getsource(module))
    assert typed is not None
    del typed["expect"]
    typed["warn"] = "float"
    typed["port"] = "str"
    typed["extra"] = "int"
    assert mismatches(module.OPTIONS, typed) == [
        "extra: not an option",
        "port: str, want int",
        "expect: missing from Opts (want str | None)",
        "warn: float, want float | None",
    ]


def test_a_repeated_option_or_a_secret_may_be_absent() -> None:
    status = next(o for o in CHECK_TYPES["http"].OPTIONS if o.name == "status")
    password = next(o for o in CHECK_TYPES["postgres"].OPTIONS if o.name == "password")
    assert status.default is not None
    assert annotation(status) == "list[tuple[int, int]] | None"
    assert annotation(password) == "tuple[str, str] | None"
