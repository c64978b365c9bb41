"""The rules across options run even when a point has other problems (one `mdd validate` run
finds everything); the cases are tests/manifests/bad/rules-*.yaml.

For that, a check type's ``validate(values)`` is also called with ``BAD`` (a value of no
option's kind) for each option that was written wrong: it must not crash on it, or the
reader can only drop that point's rules.
"""

from __future__ import annotations

import pytest

from mdd.checks.registry import CHECK_TYPES
from mdd.manifest.points import _rules_on_read_values
from mdd.manifest.values import BAD


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_validate_takes_bad_for_any_option(check_type: str) -> None:
    module = CHECK_TYPES[check_type]
    for opt in module.OPTIONS:
        values = {**module.EXAMPLE, opt.name: BAD}
        problems = module.validate(values)  # must not raise
        assert all(isinstance(name, str) and isinstance(text, str) for name, text in problems)


def test_a_rule_judging_an_unread_option_by_its_default_is_dropped() -> None:
    def validate(values: dict[str, object]) -> list[tuple[str, str]]:
        timeout = values.get("timeout", 10.0)
        warn = values.get("warn")
        problems = []
        if isinstance(warn, float) and isinstance(timeout, float) and warn >= timeout:
            problems.append(("warn", "warn must be shorter than the timeout"))
        if values.get("send") is not None and values.get("state") == "closed":
            problems.append(("send", "send has no meaning with state: closed"))
        return problems

    assert _rules_on_read_values(validate, {"warn": 20.0}, {"timeout"}) == []
    assert _rules_on_read_values(validate, {"warn": 20.0}, set()) == [
        ("warn", "warn must be shorter than the timeout")
    ]
    # A rule whose inputs were all read still counts.
    read = {"warn": 20.0, "send": "x", "state": "closed"}
    assert _rules_on_read_values(validate, read, {"timeout"}) == [
        ("send", "send has no meaning with state: closed")
    ]


def test_a_rule_that_cannot_take_bad_reports_nothing_doubtful() -> None:
    def validate(values: dict[str, object]) -> list[tuple[str, str]]:
        return [("a", f"a is {len(values.get('a', ''))} long")]  # type: ignore[arg-type]

    assert _rules_on_read_values(validate, {}, set()) == [("a", "a is 0 long")]
    assert _rules_on_read_values(validate, {}, {"a"}) == []
