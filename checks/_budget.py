"""A check's time budget, and how its time is bounded.

A check's ``timeout`` counts from the start of its probe, before the probe imports its
protocol library (redis-py, pg8000, ldap3, ...): on a slow or overloaded agent the import can
eat the budget, and the reason then says so (``_net.timeout_reason``) instead of blaming the
host for time it was never given. The interpreter's own start-up is the Sensu check
``timeout``'s to bound (``sensu.timeout``, set above the check's own).

Three mechanisms bound the time, each for what the others cannot do:

* every socket call is given the time left until the deadline (``deadline``); this is the
  one that normally ends a wait, and the one whose reason names the step that waited;
* ``_steps.Steps``' watchdog thread cuts the sockets a protocol library (redis-py, pg8000,
  PyMySQL, py-amqp) owns, whose own calls would restart their timeouts;
* the Sensu plugin's SIGALRM backstop (``_base``, only in a check's own process) raises
  ``Deadline`` a moment after the deadline, for calls that take no timeout at all (a
  backtracking regular expression). ``Deadline`` is a ``BaseException``: no ``except
  Exception`` of a probe or a library can swallow it.

Standard library only: imported by every check on every run.
"""

from __future__ import annotations

import time

# What the probe of this process was doing when the backstop alarm stopped it: "starting"
# (importing its library, before any connection) or "" (anything else). Only a check's own
# process has the alarm; the runner's probes never read this.
phase = ""


def start() -> float:
    """When the budget starts: now, when the probe starts (before it imports its protocol
    library: the import is part of the time the check takes)."""
    return time.monotonic()


def deadline(timeout: float) -> float:
    """The ``time.monotonic()`` by which a check with this timeout must be done."""
    return start() + timeout


def measured(seconds: float) -> str:
    """A time the check measured, to the millisecond: ``420ms``, ``1.234s``."""
    millis = max(round(seconds * 1000), 1)
    return f"{millis}ms" if millis < 1000 else f"{millis / 1000:g}s"


def within(waited: float, timeout: float) -> str:
    """How long a target was waited on, for "said nothing within ...": the timeout's own text
    when the wait took (nearly) all of it, else the time measured, never more than was waited."""
    from mdd.checks._options import duration_text

    return duration_text(timeout) if waited >= timeout * 0.75 else measured(waited)
