"""The in-process runner: concurrency, the hard bound, failure mapping, dependencies.

Real loopback targets for the bundled tcp check; a check type registered only for these
tests stands in for a probe that hangs, raises or counts how many run at once (the runner is
what is tested here, not that probe).
"""

from __future__ import annotations

import argparse
import threading
import time
import types
from collections.abc import Iterator

import pytest

from mdd.checks.api import DURATION, CheckError, Option, Result, State, choice
from mdd.checks.registry import CHECK_TYPES
from mdd.core.model import IntegrationPoint
from mdd.runner.runner import Outcome, probe_point, run, select
from tests.conftest import hanging
from tests.runner.helpers import free_port, listener

_lock = threading.Lock()
_now = 0
_most = 0


def _probe(opts: argparse.Namespace) -> Result:
    global _now, _most
    if opts.mode == "hang":
        time.sleep(30)  # far past its timeout: the runner must stop waiting
        return Result(State.OK, "too late")
    if opts.mode == "checkerror":
        raise CheckError("cannot read /etc/mdd/ca.pem: no such file")
    if opts.mode == "crash":
        raise RuntimeError("boom")
    with _lock:
        _now += 1
        _most = max(_most, _now)
    time.sleep(0.3 if opts.mode == "slow" else 0.05)
    with _lock:
        _now -= 1
    return Result(State.OK, "fine")


FAKE = types.SimpleNamespace(
    TYPE="fake",
    SUMMARY="test only",
    OPTIONS=(
        Option(
            "mode", choice("ok", "slow", "hang", "checkerror", "crash"), "what to do", default="ok"
        ),
        Option("timeout", DURATION, "timeout", default=1.0),
    ),
    EXAMPLE={},
    validate=lambda values: [],
    probe=_probe,
    main=lambda: None,
)


@pytest.fixture
def fake_type(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(CHECK_TYPES, "fake", FAKE)
    yield


def point(
    name: str, type_: str = "tcp", depends_on: tuple[str, ...] = (), **options: object
) -> IntegrationPoint:
    return IntegrationPoint(name, type_, dict(options), owner="netops", depends_on=depends_on)


def by_name(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.point.name: o for o in outcomes}


def test_tcp_points_against_loopback() -> None:
    up = listener(0)
    try:
        port = up.getsockname()[1]
        points = [
            point("open", host="127.0.0.1", port=port, timeout=1.0),
            point("refused", host="127.0.0.1", port=free_port(), timeout=1.0),
        ]
        found = by_name(list(run(points, jobs=4)))
    finally:
        up.close()
    assert found["open"].result is not None and found["open"].result.state is State.OK
    assert found["refused"].result is not None
    assert found["refused"].result.state is State.CRITICAL
    assert "refused the connection" in found["refused"].result.message


def test_a_silent_target_does_not_hold_back_the_others() -> None:
    up = listener(0)
    with hanging() as silent:
        points = [point("silent", host="127.0.0.1", port=silent, timeout=1.0)] + [
            point(f"up{i}", host="127.0.0.1", port=up.getsockname()[1], timeout=1.0)
            for i in range(6)
        ]
        order = [o.point.name for o in run(points, jobs=2)]
    up.close()
    assert order[-1] == "silent"  # started first, finished last: the others did not wait
    assert sorted(order[:-1]) == [f"up{i}" for i in range(6)]


def test_an_overrunning_probe_is_critical_and_abandoned(fake_type: None) -> None:
    outcomes = list(
        run(
            [
                point("stuck", "fake", mode="hang", timeout=0.5),
                point("next", "fake", mode="ok", timeout=1.0),
            ],
            jobs=1,
            grace=0.2,
        )
    )
    found = by_name(outcomes)
    stuck = found["stuck"].result
    assert stuck is not None and stuck.state is State.CRITICAL
    assert stuck.message == "no answer within the timeout of 500ms"
    assert found["next"].result == Result(State.OK, "fine")  # its slot was freed


def test_failures_map_as_the_sensu_plugin_maps_them(fake_type: None) -> None:
    found = by_name(
        list(
            run(
                [point("bad-file", "fake", mode="checkerror"), point("crash", "fake", mode="crash")]
            )
        )
    )
    assert found["bad-file"].result == Result(
        State.UNKNOWN, "cannot read /etc/mdd/ca.pem: no such file"
    )
    assert found["crash"].result == Result(State.UNKNOWN, "check failed to run: RuntimeError: boom")


def test_bad_options_are_unknown_not_a_crash(fake_type: None) -> None:
    result = probe_point(point("odd", "fake", mode="sideways"))
    assert result.state is State.UNKNOWN
    assert result.message.startswith("bad arguments: argument --mode: ")


def test_jobs_bounds_the_probes_running_at_once(fake_type: None) -> None:
    global _most
    _most = 0
    outcomes = list(run([point(f"p{i}", "fake") for i in range(12)], jobs=3))
    assert len(outcomes) == 12 and all(o.ok for o in outcomes)
    assert 1 <= _most <= 3


def test_slow_probes_do_not_wait_for_each_other(fake_type: None) -> None:
    global _most
    _most = 0
    # The pool starts with one thread and grows while its probes are slow: one after the
    # other, these 16 probes of 0.3 s would take 4.8 s.
    points = [point(f"p{i}", "fake", mode="slow", timeout=1.0) for i in range(16)]
    outcomes = list(run(points, grace=0.2))
    assert [o.result for o in outcomes] == [Result(State.OK, "fine")] * 16
    assert _most > 1


def test_a_probe_waiting_for_a_thread_is_not_reported_as_not_answering(fake_type: None) -> None:
    # The runner is held up (check-mdd-batch reading a slow agent's answers, in ``idle``)
    # while its one thread is on a hanging probe: "quick" waits for a thread past its own
    # timeout + grace, counted from when the runner started it. It has not been probed, so
    # it must not be reported as a target that did not answer; it is probed once a thread
    # takes it up.
    held = []

    def hold_up() -> None:
        if not held:
            held.append(True)
            time.sleep(1.5)

    points = [
        point("stuck", "fake", mode="hang", timeout=1.0),
        point("quick", "fake", mode="ok", timeout=0.3),
    ]
    found = by_name(list(run(points, grace=0.2, idle=hold_up)))
    assert held
    assert found["quick"].result == Result(State.OK, "fine")
    stuck = found["stuck"].result
    assert stuck is not None and stuck.message == "no answer within the timeout of 1s"


def test_dependants_of_a_red_point_are_blocked_and_not_probed() -> None:
    up = listener(0)
    port = up.getsockname()[1]
    points = [
        point("dns", host="127.0.0.1", port=free_port(), timeout=1.0),
        point("ldap", depends_on=("dns",), host="127.0.0.1", port=port, timeout=1.0),
        point("bind", depends_on=("ldap",), host="127.0.0.1", port=port, timeout=1.0),
        point("other", host="127.0.0.1", port=port, timeout=1.0),
    ]
    try:
        found = by_name(list(run(points)))
        probed_anyway = by_name(list(run(points, probe_blocked=True)))
    finally:
        up.close()
    assert found["ldap"].result is None and found["ldap"].blocked_by == ("dns",)
    assert found["bind"].result is None and found["bind"].blocked_by == ("ldap",)
    assert found["other"].ok
    assert probed_anyway["ldap"].ok and probed_anyway["ldap"].blocked_by == ("dns",)


def test_a_dependency_outside_the_selection_counts_as_given() -> None:
    up = listener(0)
    port = up.getsockname()[1]
    ldap = point("ldap", depends_on=("dns",), host="127.0.0.1", port=port, timeout=1.0)
    try:
        unknown = list(run([ldap]))
        known_green = list(run([ldap], green={"dns"}))
    finally:
        up.close()
    assert unknown[0].result is None and unknown[0].blocked_by == ("dns",)
    assert known_green[0].ok and known_green[0].blocked_by == ()


def test_select_filters() -> None:
    points = [
        IntegrationPoint("a", "tcp", {}, owner="x"),
        IntegrationPoint("b", "http", {}, owner="y"),
        IntegrationPoint("c", "tcp", {}, owner="y"),
    ]
    assert [p.name for p in select(points, only={"a", "b"})] == ["a", "b"]
    assert [p.name for p in select(points, owners={"y"})] == ["b", "c"]
    assert [p.name for p in select(points, owners={"y"}, types={"tcp"})] == ["c"]


@pytest.mark.parametrize(
    ("pieces", "says"),
    [
        (
            [b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n", *[b"x"] * 20],
            "returned 200 but its body did not arrive within 1s",
        ),
        (
            [bytes([c]) for c in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"],
            "sent no response within 1s",
        ),
    ],
)
def test_http_bounds_a_trickling_answer_without_the_alarm(pieces: list[bytes], says: str) -> None:
    """In a thread there is no SIGALRM backstop: the probe's own deadline must stop it, with
    the message the Sensu check gives (tests/checks/test_check_http.py), not the runner's."""
    from tests.checks.http_servers import raw_http

    with raw_http(*pieces, pause=0.25) as base:
        outcomes = list(run([point("web", "http", url=f"{base}/health", timeout=1.0)], grace=5))
    result = outcomes[0].result
    assert result is not None and result.state is State.CRITICAL
    assert result.message == f"{base}/health {says}"


def test_tls_bounds_a_trickling_smtp_greeting_without_the_alarm() -> None:
    from tests.checks.tls_servers import plain_server

    with plain_server(b"220 mail.ams1.example.net ESMTP ready\r\n", pause=0.25) as port:
        outcomes = list(
            run(
                [point("relay", "tls", host="127.0.0.1", port=port, starttls="smtp", timeout=1.0)],
                grace=5,
            )
        )
    result = outcomes[0].result
    assert result is not None and result.state is State.CRITICAL
    assert result.message == f"127.0.0.1:{port} (smtp STARTTLS) sent no SMTP greeting within 1s"
