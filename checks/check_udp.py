"""udp: a UDP service answers a datagram (with the expected reply).

Sends ``send`` to ``host:port`` in one datagram and waits up to ``timeout`` for the first
reply, which must match the regular expression ``expect`` when given (any reply will do
otherwise). UDP has no connection: a service is only proven by its answer, so ``send`` is
required. ``send`` is text with escapes: ``\\r`` ``\\n`` ``\\t`` ``\\0`` ``\\\\`` and ``\\xHH``
stand for those bytes (``"PING\\r\\n"``); the manifest and the command line keep the text as
written.

CRITICAL when the host answers with ICMP port unreachable (nothing listens: "refused"), when
no reply comes within ``timeout`` (the service is down, or a firewall drops the datagrams:
UDP cannot tell these apart), or when the reply does not match. ``warn`` and ``crit`` are
thresholds on the time the reply took. Only the first address of a name is asked.
"""

from __future__ import annotations

import re
import socket
import time

from mdd.checks._base import MddCheck
from mdd.checks._escapes import decode_escapes
from mdd.checks._net import host_port
from mdd.checks._options import DURATION, HOST, PORT, REGEX, Option, duration_text
from mdd.checks._options import ESCAPED_TEXT as ESCAPED
from mdd.checks._result import Perf, Result, State, timed_result
from mdd.checks._servers import datagram_exchange
from mdd.checks._shared import excerpt, threshold_rules

TYPE_CHECKING = False  # argparse is needed by annotations only (see _argv)
if TYPE_CHECKING:
    import argparse

TYPE = "udp"
SUMMARY = "A UDP service answers a datagram, with a reply matching the expected pattern."
OPTIONS: tuple[Option, ...] = (
    Option("host", HOST, "Host name or address to send to.", required=True),
    Option("port", PORT, "UDP port.", required=True),
    Option(
        "send",
        ESCAPED,
        'The datagram to send, e.g. "PING\\r\\n" (\\r \\n \\t \\0 \\\\ \\xHH are escapes).',
        required=True,
    ),
    Option(
        "expect",
        REGEX,
        "Regular expression the reply must match (any reply will do without it).",
    ),
    Option("timeout", DURATION, "Give up waiting for a reply after this long.", default=10.0),
    Option("warn", DURATION, "WARNING when the reply takes longer than this."),
    Option("crit", DURATION, "CRITICAL when the reply takes longer than this."),
)
EXAMPLE = {"host": "echo.ams1.example.net", "port": 7, "send": "ping\\n", "expect": "ping"}

REPLY_LIMIT = 65536  # bytes: one datagram at most


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    return threshold_rules(values, OPTIONS)


def probe(opts: argparse.Namespace) -> Result:
    where = host_port(opts.host, opts.port)
    started = time.monotonic()
    deadline = started + opts.timeout
    try:
        payload = decode_escapes(opts.send)
    except ValueError as exc:
        return Result(State.UNKNOWN, f"send: {exc}")
    try:
        reply = datagram_exchange(opts.host, opts.port, payload, deadline, lambda _: True)
    except socket.gaierror as exc:
        return Result(State.CRITICAL, f"cannot resolve {opts.host}: {exc.strerror}")
    except ConnectionRefusedError:
        return Result(
            State.CRITICAL,
            f"{where} refused the datagram (ICMP port unreachable: nothing listens there)",
        )
    except TimeoutError:
        return Result(
            State.CRITICAL,
            f"{where} sent no reply within {duration_text(opts.timeout)} (service down, or "
            f"a firewall drops the datagrams)",
        )
    except OSError as exc:
        return Result(State.CRITICAL, f"{where} cannot be reached: {exc.strerror or exc}")
    elapsed = round(time.monotonic() - started, 6)
    perf = (Perf("time", elapsed, "s", opts.warn, opts.crit, 0.0, opts.timeout),)
    if opts.expect is not None:
        text = reply[:REPLY_LIMIT].decode("utf-8", "replace")
        if not re.search(opts.expect, text):
            found = f"got {excerpt(text)}" if reply else "got an empty datagram"
            return Result(
                State.CRITICAL, f"{where} replied but not with /{opts.expect}/: {found}", perf
            )
    message = f"{where} replied in {elapsed * 1000:.1f} ms"
    if opts.expect is not None:
        message += f" with /{opts.expect}/"
    return timed_result(message, elapsed, opts.warn, opts.crit, perf)


class UdpCheck(MddCheck):
    DOC = __doc__ or ""
    OPTIONS = OPTIONS

    def probe(self, opts: argparse.Namespace) -> Result:
        return probe(opts)


def main() -> None:
    UdpCheck()


if __name__ == "__main__":
    main()
