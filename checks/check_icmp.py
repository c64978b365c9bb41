"""icmp: a host answers ping, with little loss and a short round trip.

Runs the system ``ping`` (iputils: ``ping -n -q -c COUNT -i 0.2 -W WAIT HOST``) and reads
its summary: packet loss and the average round-trip time. Sending ICMP echo needs a raw
socket (privileged) or an unprivileged ICMP socket (allowed only to the groups in the
``net.ipv4.ping_group_range`` sysctl); the system ``ping`` has what it needs for either
(the ``cap_net_raw`` file capability, or the sysctl on newer distributions), so the check
itself needs no privilege and opens no socket. ``ping`` must be on the agent's PATH (Debian
and Ubuntu: package iputils-ping); without it the check is UNKNOWN.

``warn_rtt`` and ``crit_rtt`` are thresholds on the average round trip; ``warn_loss`` and
``crit_loss`` on the share of lost packets, in percent (``20`` or ``"20%"``). CRITICAL when
no reply comes back at all (100% loss), when the name cannot be resolved, or when the network
is unreachable. The pings go 0.2 s apart, so ``count`` pings take about ``count`` / 5 seconds
plus the last reply's wait; ``timeout`` bounds the whole run.
"""

from __future__ import annotations

import os
import re
import time

from mdd.checks._base import main_of
from mdd.checks._options import (
    COUNT,
    DURATION,
    HOST,
    TIMEOUT,
    Kind,
    Option,
    duration_text,
    type_name,
)
from mdd.checks._result import Perf, Result, State, ms_text
from mdd.checks._shared import threshold_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    from mdd.checks._typed import Common

    class Opts(Common, Protocol):
        host: str
        count: int
        warn_rtt: float | None
        crit_rtt: float | None
        warn_loss: float | None
        crit_loss: float | None


def _percent(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f'expected a percentage such as 20 or "20%", got {type_name(value)}')
    if isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f'{value!r} is not a percentage: write 20 or "20%"') from None
    if not isinstance(value, int | float):
        raise ValueError(f'expected a percentage such as 20 or "20%", got {type_name(value)}')
    if not 0 <= value <= 100:
        raise ValueError(f"a percentage is 0-100, got {value:g}")
    return float(value)


PERCENT = Kind("percent", _percent, _percent, lambda v: f"{v:g}%", doc='0-100, as 20 or "20%"')


def _pings(value: Any) -> int:
    number: int = COUNT.load(value)
    if not 1 <= number <= 100:
        raise ValueError(f"must be 1-100, got {number}")
    return number


# 1-100 where the option is declared: the manifest and the command line refuse 0 alike (a
# ping count of 0 once read as "answered 1 of 1")
PINGS = Kind("pings", _pings, _pings, doc="a whole number, 1-100")

TYPE = "icmp"
SUMMARY = "A host answers ping (ICMP echo), with little loss and a short round trip."
OPTIONS: tuple[Option, ...] = (
    Option("host", HOST, "Host name or address to ping.", required=True),
    Option("count", PINGS, "Echo requests to send (1-100).", default=5),
    Option("warn_rtt", DURATION, "WARNING when the average round trip is longer than this."),
    Option("crit_rtt", DURATION, "CRITICAL when the average round trip is longer than this."),
    Option("warn_loss", PERCENT, "WARNING when more than this share of the pings is lost."),
    Option("crit_loss", PERCENT, "CRITICAL when more than this share of the pings is lost."),
    TIMEOUT,
)
EXAMPLE = {"host": "gw.ams1.example.net", "crit_loss": "20%", "warn_rtt": "50ms"}
# The Debian packages its tests use (.ci/setup installs them): servers and plugins they run.
TEST_PACKAGES = ("iputils-ping", "monitoring-plugins-basic")

INTERVAL = 0.2  # seconds between pings: the smallest an unprivileged user may ask for
OUTPUT_LIMIT = 65536
_LOCAL_PROBLEMS = ("invalid argument", "usage", "not permitted", "permission", "option")
_LOSS = r"(\d+) packets transmitted, (\d+) (?:packets )?received.*?([\d.]+)% packet loss"
_RTT = r"= ([\d.]+)/([\d.]+)/([\d.]+)(?:/([\d.]+))? ms"


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    problems = threshold_rules(values, OPTIONS, "warn_rtt", "crit_rtt")
    low, high = values.get("warn_loss"), values.get("crit_loss")
    if isinstance(low, float) and isinstance(high, float) and low > high:
        problems.append(("warn_loss", "warn_loss must not be more than crit_loss"))
    count = values.get("count", 5)
    timeout = values.get("timeout", 10.0)
    if isinstance(count, int) and isinstance(timeout, float) and (count - 1) * INTERVAL >= timeout:
        problems.append(
            (
                "count",
                f"{count} pings {INTERVAL:g}s apart do not fit in the timeout "
                f"({duration_text(timeout)})",
            )
        )
    return problems


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
    env["LC_ALL"] = "C"  # ping's summary in English, whatever the agent's locale
    return env


def run_ping(argv: list[str], deadline: float) -> tuple[int | None, str]:
    """Exit status and output (bounded) of ping. At the deadline ping is interrupted, as
    Ctrl-C does, so it still prints its summary; status ``None`` when it had to be killed."""
    import signal
    import subprocess

    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=_environment(),
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=max(deadline - time.monotonic() - 0.15, 0.01))
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=0.1)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            code = None
    return code, out[:OUTPUT_LIMIT].decode("utf-8", "replace")


def probe(opts: Opts) -> Result:
    started = time.monotonic()
    deadline = started + opts.timeout
    count = opts.count
    # -W: how long the last reply may take (ping is interrupted at the deadline anyway). No
    # -w: with it, ping sends until a reply count or its deadline is reached.
    wait = max(min(opts.timeout - 0.3 - (count - 1) * INTERVAL, 10.0), 0.2)
    argv = [
        "ping",
        "-n",
        "-q",
        "-c",
        str(count),
        "-i",
        f"{INTERVAL:g}",
        "-W",
        f"{wait:.1f}",
        opts.host,
    ]
    try:
        code, out = run_ping(argv, deadline)
    except FileNotFoundError:
        return Result(State.UNKNOWN, "ping is not installed on the agent (package iputils-ping)")
    except PermissionError:
        return Result(State.UNKNOWN, "ping cannot be run by the agent: permission denied")
    target = opts.host
    last = (out.strip().splitlines() or [""])[-1].strip()
    if code is None:
        return Result(
            State.CRITICAL,
            f"ping {target} did not finish within {duration_text(opts.timeout)}",
        )
    loss_match = re.search(_LOSS, out, re.S)
    if loss_match is None:
        reason = last.removeprefix("ping: ")[:200] or f"ping exited with status {code}"
        if "Name or service not known" in reason or "resolv" in reason.lower():
            return Result(State.CRITICAL, f"cannot resolve {target}: {reason}")
        if "unreachable" in reason.lower():
            return Result(State.CRITICAL, f"ping {target}: {reason}")
        if any(word in reason.lower() for word in _LOCAL_PROBLEMS):
            return Result(State.UNKNOWN, f"ping {target} cannot run on the agent: {reason}")
        return Result(State.CRITICAL, f"ping {target} failed: {reason}")
    sent, received, loss = int(loss_match[1]), int(loss_match[2]), float(loss_match[3])
    perf_loss = Perf("loss", loss, "%", opts.warn_loss, opts.crit_loss, 0, 100)
    if received == 0:
        return Result(
            State.CRITICAL,
            f"{target} did not answer any of {sent} pings (100% loss)",
            (perf_loss,),
        )
    rtt_match = re.search(_RTT, out)
    avg = float(rtt_match[2]) / 1000 if rtt_match else 0.0
    perf = (
        Perf("rtt", round(avg, 6), "s", opts.warn_rtt, opts.crit_rtt, 0),
        perf_loss,
    )
    message = (
        f"{target} answered {received} of {sent} pings ({loss:g}% loss), "
        f"rtt avg {avg * 1000:.3f} ms"
    )
    problems: list[tuple[State, str]] = []
    if opts.crit_loss is not None and loss > opts.crit_loss:
        problems.append((State.CRITICAL, f"loss critical above {opts.crit_loss:g}%"))
    elif opts.warn_loss is not None and loss > opts.warn_loss:
        problems.append((State.WARNING, f"loss warning above {opts.warn_loss:g}%"))
    if opts.crit_rtt is not None and avg > opts.crit_rtt:
        problems.append((State.CRITICAL, f"rtt critical above {ms_text(opts.crit_rtt)}"))
    elif opts.warn_rtt is not None and avg > opts.warn_rtt:
        problems.append((State.WARNING, f"rtt warning above {ms_text(opts.warn_rtt)}"))
    if not problems:
        return Result(State.OK, message, perf)
    state = State.CRITICAL if any(s is State.CRITICAL for s, _ in problems) else State.WARNING
    return Result(state, f"{message} ({'; '.join(text for _, text in problems)})", perf)


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
