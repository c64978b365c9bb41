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
thresholds on the time the reply took.

A name with several addresses (A and AAAA records, or several A) is asked on every address
at once, each with the whole ``timeout``: the verdict is the worst of them, the message names
each address that failed and why (``1 of 2 addresses OK``), and OK says how many replied.
``time`` is then the slowest reply. A name is resolved as clients resolve it: an agent
without an IPv6 address of its own is not given the name's AAAA records (nor one without IPv4
its A records); any other address that does not answer fails the check.
"""

from __future__ import annotations

import re
import socket
import time

from mdd.checks._base import main_of
from mdd.checks._escapes import decode_escapes
from mdd.checks._net import host_port, resolve
from mdd.checks._options import ESCAPED_TEXT as ESCAPED
from mdd.checks._options import REGEX, Option, duration_text, endpoint, timed
from mdd.checks._result import Perf, Result, State, timed_result, worst
from mdd.checks._servers import ask_all, datagram_to
from mdd.checks._shared import excerpt, threshold_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    Target = tuple[socket.AddressFamily, tuple[Any, ...]]  # family, sockaddr
    from mdd.checks._typed import Endpoint

    class Opts(Endpoint, Protocol):
        send: str
        expect: str | None


TYPE = "udp"
SUMMARY = "A UDP service answers a datagram, with a reply matching the expected pattern."
OPTIONS: tuple[Option, ...] = (
    *endpoint(None, "to send to", "UDP port."),
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
    *timed("the reply", "Give up waiting for a reply after this long."),
)
EXAMPLE = {"host": "echo.ams1.example.net", "port": 7, "send": "ping\\n", "expect": "ping"}
# The Debian packages its tests use (.ci/setup installs them): servers and plugins they run.
TEST_PACKAGES = ("monitoring-plugins-basic",)

REPLY_LIMIT = 65536  # bytes: one datagram at most
MESSAGE_LIMIT = 600  # characters: a name with many dead addresses stays one readable line


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    return threshold_rules(values, OPTIONS)


def probe(opts: Opts) -> Result:
    where = host_port(opts.host, opts.port)
    started = time.monotonic()
    deadline = started + opts.timeout
    try:
        payload = decode_escapes(opts.send)
    except ValueError as exc:
        return Result(State.UNKNOWN, f"send: {exc}")
    try:
        infos = resolve(opts.host, opts.port, deadline)
    except socket.gaierror as exc:
        return Result(State.CRITICAL, f"cannot resolve {opts.host}: {exc.strerror}")
    targets: dict[str, Target] = {}
    for family, _, _, _, address in infos:
        targets.setdefault(address[0], (family, address))
    return ask_addresses(opts, where, list(targets.values()), payload, started)


def ask_addresses(
    opts: Opts, where: str, targets: list[Target], payload: bytes, started: float
) -> Result:
    """Send ``payload`` to every address of the host at once; one verdict for them all.

    One address is judged as ``where``. With several, each gets the whole time left in its
    own thread; the verdict is the worst, the message names each address that failed (the
    worst first) or, when all are OK, how many replied; ``time`` is the slowest reply.
    """
    deadline = started + opts.timeout
    if len(targets) == 1:
        return _ask(opts, where, targets[0], payload, started)
    by_address = {target[1][0]: target for target in targets}

    def one(address: str, _port: int) -> Result:
        return _ask(opts, address, by_address[address], payload, started)

    results = ask_all([(a, opts.port) for a in by_address], one, deadline, "the address")
    state = worst(*(r.state for r in results))
    times = [p for r in results for p in r.perfdata]
    perf: tuple[Perf, ...] = (max(times, key=lambda p: p.value),) if times else ()
    if state is State.OK:  # every address replied, each with its time
        slowest = perf[0].value * 1000
        message = f"{where} replied on all {len(results)} addresses, in at most {slowest:.1f} ms"
        if opts.expect is not None:
            message += f" with /{opts.expect}/"
        return Result(state, message, perf)
    first = [r.message for r in results if r.state is state]
    rest = [r.message for r in results if r.state not in (state, State.OK)]
    failed = "; ".join(first + rest)
    good = sum(r.state is State.OK for r in results)
    message = f"{where}: {failed} ({good} of {len(results)} addresses OK)"
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 3] + "..."
    return Result(state, message, perf)


def _ask(opts: Opts, where: str, target: Target, payload: bytes, started: float) -> Result:
    """One datagram to one address (named ``where`` in the message), judged."""
    try:
        reply = datagram_to(*target, payload, started + opts.timeout, lambda _: True)
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


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
