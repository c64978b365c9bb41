"""ntp: NTP servers answer with the time, synchronised, close to the agent's clock.

Asks every server in ``servers`` (``host`` or ``host:port``, port 123 by default) at once,
with one SNTP request each (RFC 4330: a 48-byte datagram; no library needed), and judges each
server on its own; the message names every server that fails. A server is CRITICAL when it
does not answer within ``timeout``, refuses (ICMP port unreachable), sends a kiss-o'-death
(``DENY``, ``RATE``...), says it is not synchronised (leap indicator 3 or stratum 16), or
reports a stratum above ``max_stratum``. ``warn_offset`` and ``crit_offset`` are thresholds
on the absolute difference between the server's clock and the agent's (the offset, computed
as NTP does from the four timestamps of the exchange); without them the offset is reported
but not judged. ``warn`` and ``crit`` are thresholds on the time a server's reply took (the
round trip of the query, name lookup included, as for udp; ``time`` in the perfdata, next to
``offset``); a server over both an offset and a time threshold gets the worse verdict, and
the message says both. A reply must carry back the random cookie the request sent (its origin
timestamp), so a stale or stray datagram is never taken for the answer.
"""

from __future__ import annotations

import os
import socket
import struct
import time

from mdd.checks._base import main_of
from mdd.checks._net import host_port, split_address
from mdd.checks._options import ADDRESS, COUNT, DURATION, Option, duration_text, time_thresholds
from mdd.checks._result import Perf, Result, State, ms_text, threshold_state
from mdd.checks._servers import ask_all, combine, datagram_exchange, perf_label
from mdd.checks._shared import threshold_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from mdd.checks._typed import Timed

    class Opts(Timed, Protocol):
        servers: list[str]
        warn_offset: float | None
        crit_offset: float | None
        max_stratum: int | None


TYPE = "ntp"
SUMMARY = "NTP servers answer, synchronised, with a clock close to the agent's."
DESCRIBE_TIMED = "a server's reply"  # what warn and crit time (their help; mdd docs)
OPTIONS: tuple[Option, ...] = (
    Option(
        "servers",
        ADDRESS,
        "NTP servers, each host or host:port (port 123); each is judged on its own.",
        required=True,
        multiple=True,
    ),
    Option("warn_offset", DURATION, "WARNING when a server's clock is off by more than this."),
    Option("crit_offset", DURATION, "CRITICAL when a server's clock is off by more than this."),
    Option("max_stratum", COUNT, "CRITICAL when a server's stratum is above this (1-15)."),
    *time_thresholds(DESCRIBE_TIMED),
    Option("timeout", DURATION, "Give up waiting for the servers after this long.", default=10.0),
)
EXAMPLE = {
    "servers": ["ntp1.ams1.example.net", "ntp2.ams1.example.net"],
    "warn_offset": "100ms",
    "crit_offset": "1s",
    "max_stratum": 4,
}
# The Debian packages its tests use (.ci/setup installs them): servers and plugins they run.
TEST_PACKAGES = ("chrony", "monitoring-plugins-basic")


PORT = 123
NTP_EPOCH = 2208988800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)
_REPLY = struct.Struct("!BBbb4s4s4s8s8s8s8s")  # the 48-byte header


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    problems = threshold_rules(values, OPTIONS)
    warn, crit = values.get("warn_offset"), values.get("crit_offset")
    if isinstance(warn, float) and isinstance(crit, float) and warn > crit:
        problems.append(("warn_offset", "warn_offset must not be more than crit_offset"))
    stratum = values.get("max_stratum")
    if isinstance(stratum, int) and not 1 <= stratum <= 15:
        problems.append(("max_stratum", f"max_stratum must be 1-15, got {stratum}"))
    return problems


def _ntp_seconds(raw: bytes) -> float:
    seconds, fraction = struct.unpack("!II", raw)
    return float(seconds - NTP_EPOCH + fraction / 2**32)


def _signed_ms(seconds: float) -> str:
    return f"{seconds * 1000:+.3f} ms" if abs(seconds) < 1 else f"{seconds:+.3f} s"


def ask(host: str, port: int, opts: Opts, deadline: float, many: bool) -> Result:
    """One SNTP exchange with one server, judged."""
    where = host_port(host, port)
    cookie = os.urandom(8)
    request = b"\x23" + bytes(39) + cookie  # LI 0, version 4, mode 3 (client)

    def is_answer(reply: bytes) -> bool:
        return len(reply) >= 48 and reply[24:32] == cookie

    started = time.monotonic()
    sent = time.time()
    try:
        reply = datagram_exchange(host, port, request, deadline, is_answer)
    except socket.gaierror as exc:
        return Result(State.CRITICAL, f"cannot resolve {host}: {exc.strerror}")
    except ConnectionRefusedError:
        return Result(State.CRITICAL, f"{where} refused (ICMP port unreachable: no NTP server)")
    except TimeoutError:
        return Result(
            State.CRITICAL, f"{where} did not answer within {duration_text(opts.timeout)}"
        )
    except OSError as exc:
        return Result(State.CRITICAL, f"{where} cannot be reached: {exc.strerror or exc}")
    received = time.time()
    elapsed = round(time.monotonic() - started, 6)
    first, stratum, _, _, _, _, refid, _, _, rx, tx = _REPLY.unpack(reply[:48])
    leap, mode = first >> 6, first & 7
    if mode not in (4, 5):  # server, broadcast
        return Result(State.CRITICAL, f"{where} sent an NTP packet of mode {mode}, not a reply")
    code = refid.rstrip(b"\0").decode("ascii", "replace")
    if stratum == 0 and code.isalpha():  # a kiss-o'-death (RFC 5905 7.4), usually with leap 3
        return Result(State.CRITICAL, f"{where} sent a kiss-o'-death: {code}")
    if leap == 3 or stratum >= 16:
        return Result(
            State.CRITICAL,
            f"{where} is not synchronised (leap indicator {leap}, stratum {stratum})",
        )
    if stratum == 0:
        return Result(State.CRITICAL, f"{where} answered with stratum 0 (unspecified)")
    if tx == bytes(8):
        return Result(State.CRITICAL, f"{where} sent a reply without a transmit time")
    offset = ((_ntp_seconds(rx) - sent) + (_ntp_seconds(tx) - received)) / 2
    perf = (
        Perf(
            perf_label("offset", host, port, many),
            round(offset, 6),
            "s",
            opts.warn_offset,
            opts.crit_offset,
        ),
        Perf(
            perf_label("time", host, port, many),
            elapsed,
            "s",
            opts.warn,
            opts.crit,
            0.0,
            opts.timeout,
        ),
    )
    text = f"{where} offset {_signed_ms(offset)}, stratum {stratum}"
    if opts.max_stratum is not None and stratum > opts.max_stratum:
        return Result(State.CRITICAL, f"{text}: stratum above {opts.max_stratum}", perf)
    state = threshold_state(abs(offset), opts.warn_offset, opts.crit_offset)
    limit = opts.crit_offset if state is State.CRITICAL else opts.warn_offset
    if state is not State.OK and limit is not None:
        text += f" ({_level(state)} above {ms_text(limit)})"
    slow = threshold_state(elapsed, opts.warn, opts.crit)
    limit = opts.crit if slow is State.CRITICAL else opts.warn
    if slow is not State.OK and limit is not None:
        text += f", replied in {elapsed * 1000:.1f} ms ({_level(slow)} above {ms_text(limit)})"
    return Result(max(state, slow), text, perf)


def _level(state: State) -> str:
    return "critical" if state is State.CRITICAL else "warning"


def probe(opts: Opts) -> Result:
    deadline = time.monotonic() + opts.timeout
    servers = [split_address(text, PORT) for text in opts.servers]
    many = len(servers) > 1

    def one(host: str, port: int) -> Result:
        return ask(host, port, opts, deadline, many)

    return combine(ask_all(servers, one, deadline, "the NTP server"))


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
