"""tcp: a TCP port accepts connections (or, with ``state: closed``, is blocked).

Connects to ``host:port`` within ``timeout``. Optionally sends ``send``, in which
``\\r``, ``\\n``, ``\\t``, ``\\0``, ``\\\\`` and ``\\xHH`` stand for bytes (in YAML, in
single quotes: ``send: 'PING\\r\\n'``), and requires the reply (the banner, when nothing
is sent) to match the regular expression ``expect``. With ``state: closed`` the check is
green only while the port refuses or drops connections: use it to prove a firewall rule
is in place. ``warn`` and ``crit`` are thresholds on the time the connection took.
"""

from __future__ import annotations

import re
import socket
import time

from mdd.checks._base import Deadline, main_of
from mdd.checks._budget import deadline as budget_deadline
from mdd.checks._net import attempt, host_port, open_connection, resolve
from mdd.checks._options import (
    ESCAPED_TEXT,
    REGEX,
    Option,
    choice,
    endpoint,
    timed,
)
from mdd.checks._result import CheckError, Perf, Result, State, timed_result
from mdd.checks._shared import excerpt, threshold_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    from mdd.checks._typed import Endpoint

    class Opts(Endpoint, Protocol):
        state: str
        send: str | None
        expect: str | None


TYPE = "tcp"
SUMMARY = "A TCP port accepts connections, answers with the expected banner, or is blocked."
DESCRIBE_TIMED = "connecting"  # what warn and crit time (their help; mdd docs)
OPTIONS: tuple[Option, ...] = (
    *endpoint(),
    Option(
        "state",
        choice("open", "closed"),
        "open: the port must accept connections. closed: it must refuse or drop them "
        "(a firewall must block it).",
        default="open",
    ),
    Option(
        "send",
        ESCAPED_TEXT,
        "Text to send once connected; \\r \\n \\t \\0 \\\\ and \\xHH stand for bytes, as in "
        "'PING\\r\\n' (in YAML, in single quotes).",
    ),
    Option(
        "expect",
        REGEX,
        "Regular expression the reply (or the banner, when nothing is sent) must match.",
    ),
    *timed(DESCRIBE_TIMED),
)
EXAMPLE = {"host": "ldap.ams1.example.net", "port": 636}
# The Debian packages its tests use (.ci/setup installs them): servers and plugins they run.
TEST_PACKAGES = ("monitoring-plugins-basic",)


def describe_opening(values: dict[str, Any]) -> str:
    """The first words of the sentence ``mdd docs`` writes for this check (``values``: its
    canonical options, defaults filled in)."""
    where = f"{values['host']} port {values['port']}"
    if values.get("state") == "closed":
        return f"refuses or drops TCP connections to {where} (it must stay blocked)"
    return f"accepts TCP connections on {where}"


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    problems: list[tuple[str, str]] = []
    if values.get("state") == "closed":
        for name in ("send", "expect", "warn", "crit"):
            if name in values:
                problems.append((name, f"'{name}' has no meaning with state: closed"))
    problems += threshold_rules(values, OPTIONS)
    return problems


def _read_until(sock: socket.socket, pattern: re.Pattern[str], deadline: float) -> tuple[bool, str]:
    """Read until ``pattern`` matches, the peer closes, or the deadline passes (at most
    64 KiB: the regex never sees more)."""
    received = b""
    while True:
        text = received.decode("utf-8", "replace")
        try:
            if pattern.search(text):
                return True, text
        except Deadline:  # the backstop alarm interrupts the regex engine
            raise CheckError(
                f"matching /{pattern.pattern}/ against the reply took longer than the timeout: "
                f"the regex backtracks catastrophically; simplify it (e.g. no nested repeats)"
            ) from None
        remaining = deadline - time.monotonic()
        if remaining <= 0 or len(received) > 65536:
            return False, text
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            return False, text
        if not chunk:
            return False, text
        received += chunk


def probe(opts: Opts) -> Result:
    where = host_port(opts.host, opts.port)
    started = time.monotonic()
    deadline = budget_deadline(opts.timeout)
    if opts.state == "closed":
        return _closed(opts, where, deadline)
    sock, failed = open_connection(opts.host, opts.port, deadline, opts.timeout)
    elapsed = time.monotonic() - started
    # With an address that failed first, say which one answered and what the others did.
    via = f" on {sock.getpeername()[0]} ({', '.join(failed)})" if failed else ""

    perf = (Perf("time", round(elapsed, 6), "s", opts.warn, opts.crit, 0.0, opts.timeout),)
    with sock:
        if opts.send is not None or opts.expect is not None:
            try:
                if opts.send is not None:
                    sock.settimeout(max(deadline - time.monotonic(), 0.001))
                    from mdd.checks._escapes import decode_escapes

                    sock.sendall(decode_escapes(opts.send))
                if opts.expect is not None:
                    matched, reply = _read_until(sock, re.compile(opts.expect), deadline)
                    if not matched:
                        what = "reply" if opts.send is not None else "banner"
                        found = f"got {excerpt(reply)}" if reply else "got nothing"
                        return Result(
                            State.CRITICAL,
                            f"{where} accepted the connection but its {what} does not match "
                            f"/{opts.expect}/: {found}",
                            perf,
                        )
            except OSError as exc:
                return Result(State.CRITICAL, f"{where} dropped the conversation: {exc}", perf)

    message = f"{where} accepts connections in {perf[0].value * 1000:.1f} ms{via}"
    if opts.expect is not None:
        message += f" and answers /{opts.expect}/"
    return timed_result(message, perf[0].value, opts.warn, opts.crit, perf)


def _closed(opts: Opts, where: str, deadline: float) -> Result:
    """OK only when every address of the host refuses or drops the connection."""
    try:
        infos = resolve(opts.host, opts.port, deadline)
    except socket.gaierror as exc:
        return Result(State.UNKNOWN, f"cannot resolve {opts.host}: {exc.strerror}")
    error: OSError | None = None
    for index, info in enumerate(infos):
        try:
            sock = attempt(info, deadline, len(infos) - index)
        except OSError as exc:
            error = exc
            continue
        sock.close()
        on = f" on {info[4][0]}" if len(infos) > 1 else ""
        return Result(
            State.CRITICAL,
            f"{where} accepts connections{on} but must be closed (a firewall should block it)",
        )
    if isinstance(error, ConnectionRefusedError):
        return Result(State.OK, f"{where} is closed (connection refused), as required")
    if error is None or isinstance(error, TimeoutError):
        return Result(State.OK, f"{where} is closed (no answer, filtered), as required")
    return Result(State.OK, f"{where} is closed ({error.strerror or error}), as required")


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
