"""The typed options of a check type (``class Opts(Protocol)`` under ``TYPE_CHECKING``) say
what its ``OPTIONS`` declare: every option, and ``None`` where an option can be absent.

The Protocol costs nothing at run time (it exists for mypy only), so it is read here from the
module's source; mypy --strict then checks every ``opts.<name>`` of the probe against it.
"""

from __future__ import annotations

import ast
import inspect

import pytest

from mdd.checks.api import BOOLEAN, COMMON_OPTIONS, Option
from mdd.checks.registry import CHECK_TYPES


def _typed(source: str) -> dict[str, str] | None:
    """``name -> annotation`` of the ``Opts`` Protocol in a module's source, if it has one."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == "Opts":
            return {
                item.target.id: ast.unparse(item.annotation)
                for item in node.body
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
            }
    return None


def mismatches(options: tuple[Option, ...], typed: dict[str, str]) -> list[str]:
    declared = {opt.name: opt for opt in COMMON_OPTIONS + options}
    found = [f"{name}: not an option" for name in typed if name not in declared]
    for name, opt in declared.items():
        annotation = typed.get(name)
        if annotation is None:
            found.append(f"{name}: missing from Opts")
            continue
        absent = not opt.required and opt.default is None and opt.kind is not BOOLEAN
        if absent != annotation.endswith("| None"):
            found.append(f"{name}: {annotation} ({'can' if absent else 'cannot'} be None)")
    return found


TYPED = [t for t in CHECK_TYPES if _typed(inspect.getsource(CHECK_TYPES[t])) is not None]


def test_some_types_have_typed_options() -> None:
    assert {"tcp", "ssh"} <= set(TYPED)


@pytest.mark.parametrize("check_type", TYPED)
def test_typed_options_match_the_declaration(check_type: str) -> None:
    module = CHECK_TYPES[check_type]
    typed = _typed(inspect.getsource(module))
    assert typed is not None
    assert mismatches(module.OPTIONS, typed) == []


def test_a_mismatch_is_seen() -> None:
    module = CHECK_TYPES["tcp"]
    typed = _typed(inspect.getsource(module))
    assert typed is not None
    del typed["expect"]
    typed["warn"] = "float"
    typed["extra"] = "int"
    assert mismatches(module.OPTIONS, typed) == [
        "extra: not an option",
        "expect: missing from Opts",
        "warn: float (can be None)",
    ]
