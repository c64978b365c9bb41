"""ssh: an SSH server identifies itself (with the expected version).

Connects to ``host:port`` and reads the server's identification line
(``SSH-2.0-OpenSSH_9.2p1 Debian-2``, RFC 4253 section 4.2); nothing is logged in to. The
regular expression ``expect`` is searched in the whole line (``OpenSSH_9``), and
``protocol: "2.0"`` requires protocol version 2 (a server that says ``1.99`` speaks 2.0 too).
The check then sends its own identification and closes, so the server logs a plain
disconnect.

CRITICAL when the port refuses or does not answer, when the server sends something that is
not an SSH identification (another service on the port), when the identification is not a
proper RFC 4253 line (``SSH-protoversion-softwareversion [comments]``, printable US-ASCII,
at most 255 characters with its CR LF; a bare LF is accepted, as OpenSSH does), or when the
line does not match.
Lines before the identification are allowed, as the RFC does, up to 8 KiB in all; a server
that sent such a line is given at most one more second for the rest. ``warn`` and ``crit``
are thresholds on the time until the identification arrived.
"""

from __future__ import annotations

import re
import socket
import time

from mdd.checks._base import main_of
from mdd.checks._budget import deadline as budget_deadline
from mdd.checks._budget import within
from mdd.checks._net import host_port, open_connection
from mdd.checks._options import (
    REGEX,
    Option,
    choice,
    endpoint,
    timed,
)
from mdd.checks._result import Perf, Result, State, timed_result
from mdd.checks._shared import excerpt, threshold_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from mdd.checks._typed import Endpoint

    class Opts(Endpoint, Protocol):
        expect: str | None
        protocol: str | None


TYPE = "ssh"
SUMMARY = "An SSH server answers with its identification (version), without logging in."
OPTIONS: tuple[Option, ...] = (
    *endpoint(22),
    Option(
        "expect",
        REGEX,
        "Regular expression searched in the whole identification line, e.g. OpenSSH_9.",
    ),
    Option(
        "protocol",
        choice("2.0"),
        'The SSH protocol version the server must speak ("2.0"; 1.99 counts as 2.0).',
    ),
    *timed("the identification"),
)
EXAMPLE = {"host": "bastion.ams1.example.net", "expect": "OpenSSH_9", "protocol": "2.0"}
# The Debian packages its tests use (.ci/setup installs them): servers and plugins they run.
TEST_PACKAGES = ("openssh-server",)

BANNER_LIMIT = 8192  # bytes read before the identification line, at most
PRELUDE_GRACE = 1.0  # seconds allowed after a line that is not the identification
IDENTIFICATION = b"SSH-2.0-mdd_check\r\n"
LINE_LIMIT = 255  # characters of the identification line, CR LF included (RFC 4253 4.2)
_PROPER = re.compile(r"SSH-[!-,.-~]+-[!-,.-~]+(?: [ -~]*)?\r?")


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    return threshold_rules(values, OPTIONS)


def read_identification(sock: socket.socket, deadline: float) -> tuple[str | None, list[str]]:
    """The ``SSH-`` line and the lines before it; ``None`` when it did not come.

    Stops at the identification line, when the peer closes, after ``BANNER_LIMIT`` bytes, or
    at ``deadline`` (moved closer once a line that is not the identification came).
    """
    received = b""
    while True:
        lines = received.split(b"\n")
        complete, partial = lines[:-1], lines[-1]
        for line in complete:
            if line.startswith(b"SSH-"):
                return line.decode("utf-8", "replace"), []  # its CR kept: probe checks it
        if partial.startswith(b"SSH-") and len(partial) > LINE_LIMIT - 2:  # too long already
            return partial[:LINE_LIMIT].decode("utf-8", "replace"), []
        before = [line.decode("utf-8", "replace") for line in complete]
        if complete:
            deadline = min(deadline, time.monotonic() + PRELUDE_GRACE)
        remaining = deadline - time.monotonic()
        if remaining <= 0 or len(received) >= BANNER_LIMIT:
            return None, before + ([partial.decode("utf-8", "replace")] if partial else [])
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(min(4096, BANNER_LIMIT - len(received)))
        except TimeoutError:
            chunk = b""
        if not chunk:  # the peer closed, or time is up
            return None, before + ([partial.decode("utf-8", "replace")] if partial else [])
        received += chunk


def probe(opts: Opts) -> Result:
    where = host_port(opts.host, opts.port)
    started = time.monotonic()
    deadline = budget_deadline(opts.timeout)
    sock, _ = open_connection(
        opts.host, opts.port, deadline, opts.timeout, " (no SSH server there)"
    )
    with sock:
        try:
            line, before = read_identification(sock, deadline)
        except OSError as exc:
            return Result(State.CRITICAL, f"{where} dropped the connection: {exc}")
        elapsed = round(time.monotonic() - started, 6)
        if line is not None:
            try:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                sock.sendall(IDENTIFICATION)
            except OSError:
                pass  # the answer is already in; a polite goodbye is not the point
    perf = (Perf("time", elapsed, "s", opts.warn, opts.crit, 0.0, opts.timeout),)
    if line is None:
        text = " ".join(before)
        if not text:
            said = (
                f"said nothing within {within(time.monotonic() - started, opts.timeout)}"
                if time.monotonic() >= deadline
                else "closed the connection without a word"
            )
            return Result(State.CRITICAL, f"{where} accepted the connection but {said}", perf)
        if before[-1].startswith("SSH-"):
            return Result(
                State.CRITICAL,
                f"{where} began but never finished its identification line: {excerpt(text)}",
                perf,
            )
        return Result(
            State.CRITICAL,
            f"{where} does not speak SSH: it sent {excerpt(text)}, not an SSH- identification",
            perf,
        )
    if len(line.rstrip("\r")) + 2 > LINE_LIMIT or not _PROPER.fullmatch(line):
        what = (
            f"longer than {LINE_LIMIT} characters"
            if len(line.rstrip("\r")) + 2 > LINE_LIMIT
            else "not SSH-protoversion-softwareversion in printable US-ASCII"
        )
        return Result(
            State.CRITICAL,
            f"{where} sent a malformed identification line ({what}, RFC 4253 4.2): "
            f"{excerpt(line, 80)}",
            perf,
        )
    line = line.rstrip("\r")
    shown = excerpt(line, 120)
    parts = line.split("-", 2)
    version = parts[1] if len(parts) == 3 else ""
    if opts.protocol == "2.0" and version not in ("2.0", "1.99"):
        return Result(
            State.CRITICAL,
            f"{where} speaks SSH protocol {version or '(none given)'}, not 2.0: {shown}",
            perf,
        )
    if opts.expect is not None and not re.search(opts.expect, line):
        return Result(State.CRITICAL, f"{where} identifies as {shown}, not /{opts.expect}/", perf)
    message = f"{where} identifies as {shown} in {elapsed * 1000:.1f} ms"
    return timed_result(message, elapsed, opts.warn, opts.crit, perf)


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
