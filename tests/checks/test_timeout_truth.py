"""A timeout's reason tells where the time went: the host is blamed only for the time it was
actually given, and ``Deadline`` (the backstop) cannot be swallowed.

A check's timeout counts from the start of its probe, before it imports its protocol library
(``checks/_budget.py``). No protocol library imports in 1 ms, whatever the machine's load:
``--timeout 1ms`` makes, honestly and without depending on an idle (or a busy) machine, a
check whose budget is eaten before it can connect, as a slow or overloaded agent does.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from mdd.checks.api import CheckFailed, Deadline, Result, State, duration, failed_result
from tests.conftest import hanging, run_check

# The connection-based types, each with what it needs besides the target.
TARGETS: dict[str, Any] = {
    "tcp": lambda port: {"host": "127.0.0.1", "port": port},
    "ssh": lambda port: {"host": "127.0.0.1", "port": port},
    "tls": lambda port: {"host": "127.0.0.1", "port": port},
    "smtp": lambda port: {"host": "127.0.0.1", "port": port},
    "http": lambda port: {"url": f"http://127.0.0.1:{port}/"},
    "ldap": lambda port: {"url": f"ldap://127.0.0.1:{port}"},
    "redis": lambda port: {"host": "127.0.0.1", "port": port},
    "postgres": lambda port: {"host": "127.0.0.1", "port": port, "user": "x"},
    "mysql": lambda port: {"host": "127.0.0.1", "port": port, "user": "x"},
    "amqp": lambda port: {"host": "127.0.0.1", "port": port},
}


# The types whose probe imports a protocol library within its timeout, before it connects.
LIBRARY_TYPES = ["amqp", "mysql", "postgres", "redis"]  # ldap: its clock starts after ldap3


@pytest.mark.parametrize("check_type", LIBRARY_TYPES)
def test_a_budget_spent_before_connecting_blames_the_machine_not_the_host(
    check_type: str,
) -> None:
    with hanging() as port:
        run = run_check(check_type, timeout="1ms", **TARGETS[check_type](port))
    assert run.code == 2, run.out
    # Said when it tried to connect, or by the backstop alarm if the import outlasted it.
    assert "the check ran out of its 1ms timeout before it could connect" in run.out, run.out
    assert "slow or overloaded" in run.out
    assert "did not answer" not in run.out, run.out
    assert "host down" not in run.out, run.out
    assert "no answer within" not in run.out, run.out


@pytest.mark.parametrize("check_type", sorted(TARGETS))
@pytest.mark.parametrize("timeout", ["1ms", "300ms"])
def test_a_host_is_blamed_only_for_the_time_it_was_waited_on(check_type: str, timeout: str) -> None:
    with hanging() as port:
        began = time.monotonic()
        run = run_check(check_type, timeout=timeout, **TARGETS[check_type](port))
        wall = time.monotonic() - began
    assert run.code == 2, run.out
    claimed = re.search(r"did not answer within (\d\S*?)[,) ]", run.out)
    if claimed is None:  # the probe's time went before it could connect
        assert f"ran out of its {timeout} timeout before it could connect" in run.out, run.out
        assert "host down" not in run.out, run.out
    else:
        assert duration(claimed.group(1)) <= wall, f"{run.out} after {wall:.3f}s"
        assert "host down or filtered" in run.out


def test_the_reason_names_the_wait_the_host_was_given() -> None:
    from mdd.checks._net import ConnectTimeout, timeout_reason

    where = "127.0.0.1:42679"
    assert timeout_reason(where, 3.0, ConnectTimeout(2.9)) == (
        f"{where} did not answer within 3s (host down or filtered)"
    )
    partial = timeout_reason(where, 3.0, ConnectTimeout(0.42))
    assert partial.startswith(f"{where} did not answer within 420ms, ")
    assert "3s timeout after 2.58s went by before it could connect" in partial
    assert "within 3s" not in partial
    gone = timeout_reason(where, 1.0, ConnectTimeout(0.0))
    assert gone.startswith("the check ran out of its 1s timeout before it could connect")
    assert "did not answer" not in gone


def _probe_that_catches_everything() -> Result:
    try:
        raise Deadline()  # what the backstop alarm raises in the middle of a library call
    except Exception as exc:  # as libraries and probes write it
        return Result(State.CRITICAL, f"failed during the bind: {type(exc).__name__}: {exc}")


def test_the_backstop_deadline_cannot_be_swallowed() -> None:
    # Before: "ldap://...: failed during the bind as ...: Deadline:" (an empty reason).
    with pytest.raises(Deadline) as caught:
        _probe_that_catches_everything()
    result = failed_result(caught.value, 3.0)
    assert result == Result(State.CRITICAL, "no answer within the timeout of 3s")


def test_a_probe_stopped_while_starting_does_not_blame_the_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mdd.checks import _budget

    monkeypatch.setattr(_budget, "phase", "starting")  # as _net.out_of_time leaves it
    result = failed_result(Deadline(), 1.0)
    assert result.state is State.CRITICAL
    assert result.message.startswith("the check ran out of its 1s timeout before it could connect")


def test_the_one_failure_exception_is_critical_with_its_reason() -> None:
    assert failed_result(CheckFailed("127.0.0.1:1 refused the connection"), 3.0) == Result(
        State.CRITICAL, "127.0.0.1:1 refused the connection"
    )
