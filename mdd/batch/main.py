"""``check-mdd-batch``: run every point of a datacenter's plan in this one process.

The probes run concurrently in the runner of ``mdd verify`` (``mdd.runner.runner.run``),
each point's argv parsed by its check type's own parser, and every point is probed whatever
its dependencies (as the per-point checks are; Sensu's dependency filter, not the check,
holds back a dependant's alerts). Only the points that are due are probed: each on its own
interval or cron, whatever the runner's interval (the state file, ``mdd.batch.state``,
remembers when each was last probed). As each result is known it is submitted to the local
agent as the point's own check result (``mdd.batch.submit``) with its deployment state
(``mdd_state``: ``mdd.core.deployment.result_state``) and a ``ttl``: a runner that stops
running turns every point stale in Sensu (CRITICAL on Classic), never silently green.

This check reports the runner's own health, never the points' (each has its own result):
OK when it ran and every result reached the agent, CRITICAL when one did not (that point
then goes stale), UNKNOWN when it cannot run (plan or state file missing, damaged, of
another datacenter). Its output is one line, ``ams1: 7/12 green`` then the points that are
not green and how many results were submitted.
"""

from __future__ import annotations

import gc
import os
import sys
import time

# This runs on every agent at every interval: what it imports before the first probe is
# paid every time (issue 19). argparse only for --help and a command line the light reader
# below does not take; typing, dataclasses and pathlib not at all (tests/test_imports.py).
# Even mdd.checks.api (with socket, re and enum) is imported only once main() has turned
# the cyclic garbage collector off (see there).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from mdd.batch.planned import Plan, PlannedPoint
    from mdd.batch.state import BatchState
    from mdd.batch.submit import ClientSocketAnswer, Pacer
    from mdd.checks.api import State
    from mdd.runner.runner import Outcome

PROGRAM = "check-mdd-batch"


def _parser() -> argparse.ArgumentParser:
    from mdd.checks.api import LightParser

    parser = LightParser(
        prog=PROGRAM,
        description="Run every integration point of a datacenter's batch plan (written by "
        "`mdd generate --batch`) in one process, and submit each point's result to the local "
        "Sensu agent as that point's own check result.",
    )
    parser.add_argument("--plan", required=True, metavar="FILE", help="The plan file.")
    parser.add_argument(
        "--datacenter", required=True, metavar="NAME", help="The datacenter the plan must be of."
    )
    parser.add_argument(
        "--socket",
        metavar="HOST:PORT",
        default="127.0.0.1:3030",
        help="Sensu Classic: the client socket (default 127.0.0.1:3030).",
    )
    parser.add_argument(
        "--agent-api",
        metavar="HOST:PORT",
        default="127.0.0.1:3031",
        help="Sensu Go: the agent API (default 127.0.0.1:3031).",
    )
    parser.add_argument(
        "--jobs", type=int, default=256, metavar="N", help="Probes at a time (default 256)."
    )
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="Where the runner keeps what it needs between runs (default "
        "/var/cache/sensu/mdd-batch-<datacenter>.state).",
    )
    parser.add_argument(
        "--events-rate-limit",
        type=float,
        default=10.0,
        metavar="N",
        help="Sensu Go: results a second posted to the agent API at most, as the agent's own "
        "--events-rate-limit (default 10, the agent's default; 0: no limit).",
    )
    parser.add_argument(
        "--events-burst-limit",
        type=int,
        default=10,
        metavar="N",
        help="Sensu Go: results posted at once before the rate applies, as the agent's "
        "--events-burst-limit (default 10).",
    )
    return parser


# The runner's options: (flag, attribute, conversion, default). ``_parser`` declares the same.
_OPTIONS: tuple[tuple[str, str, type, object], ...] = (
    ("--plan", "plan", str, None),
    ("--datacenter", "datacenter", str, None),
    ("--socket", "socket", str, "127.0.0.1:3030"),
    ("--agent-api", "agent_api", str, "127.0.0.1:3031"),
    ("--jobs", "jobs", int, 256),
    ("--state", "state", str, None),
    ("--events-rate-limit", "events_rate_limit", float, 10.0),
    ("--events-burst-limit", "events_burst_limit", int, 10),
)


class _Args:
    """The parsed command line, as argparse's namespace would hold it."""

    plan: str
    datacenter: str
    socket: str
    agent_api: str
    jobs: int
    state: str | None
    events_rate_limit: float
    events_burst_limit: int

    def __init__(self, values: dict[str, object]) -> None:
        self.__dict__.update(values)


def _read_plain(argv: Sequence[str]) -> _Args | None:
    """The command line ``mdd generate --batch`` writes (``--flag VALUE`` or
    ``--flag=VALUE``, each of the runner's flags, values not starting with ``-``), read
    without argparse; None for anything else (``--help``, an unknown or shortened flag, a
    missing or bad value, a missing --plan or --datacenter), which argparse then reads, so
    its messages and exits stay argparse's."""
    flags = {flag: (name, convert) for flag, name, convert, _ in _OPTIONS}
    values: dict[str, object] = {name: default for _, name, _, default in _OPTIONS}
    words = list(argv)
    index = 0
    while index < len(words):
        flag, equals, value = words[index].partition("=")
        if flag not in flags:
            return None
        if not equals:
            index += 1
            if index == len(words):
                return None
            value = words[index]
        if value.startswith("-"):
            return None
        name, convert = flags[flag]
        try:
            values[name] = convert(value)
        except ValueError:
            return None
        index += 1
    if values["plan"] is None or values["datacenter"] is None:
        return None
    return _Args(values)


class _Exit(Exception):
    def __init__(self, state: State, line: str) -> None:
        self.state = state
        self.line = line


def _summary(
    datacenter: str, total: int, green: int, red: list[str], probed: int, failed: list[str]
) -> str:
    from mdd.checks.api import CUT, LINE_LIMIT

    text = f"{datacenter}: {green}/{total} green"
    if red:
        text += f"; not green: {', '.join(red)}"
    if failed:
        text += f"; {len(failed)} result(s) not submitted: {failed[0]}"
    else:
        text += f"; {probed} probed and submitted"
    if len(text) > LINE_LIMIT:
        text = text[: LINE_LIMIT - len(CUT)] + CUT
    return text


MARGIN = 1.0  # seconds kept before the runner's Sensu timeout to print its own line


class _Batch:
    """One run of the batch runner: its plan, where results go, and its memory."""

    __slots__ = ("plan", "address", "memory", "deadline", "now", "pacer", "sent", "failed")

    def __init__(
        self, plan: Plan, address: tuple[str, int], memory: BatchState, deadline: float
    ) -> None:
        self.plan = plan
        self.address = address
        self.memory = memory
        self.deadline = deadline  # time.monotonic() by which every submission ends
        self.now = 0.0  # time.time() of the run
        self.pacer: Pacer | None = None  # Sensu Go: the agent's events rate limit
        # Sensu Classic: results sent, the client's answer not read yet (see _confirm)
        self.sent: list[tuple[PlannedPoint, int, str, ClientSocketAnswer]] = []
        self.failed: list[str] = []  # "point: why", each result that did not reach the agent


def _prepare(args: argparse.Namespace | _Args) -> _Batch:
    """The plan, the agent's address and the state file; ``_Exit`` UNKNOWN on any problem."""
    from mdd.batch import planned as batch_plan
    from mdd.batch import submit
    from mdd.batch.state import BatchState, BatchStateError, default_path
    from mdd.checks.api import State

    started = time.monotonic()
    try:
        plan = batch_plan.load(args.plan, args.datacenter)
    except batch_plan.PlanError as exc:
        raise _Exit(State.UNKNOWN, str(exc)) from None
    try:
        address = submit.host_port(args.socket if plan.sensu == "classic" else args.agent_api)
    except ValueError as exc:
        raise _Exit(State.UNKNOWN, f"--socket/--agent-api: {exc}") from None
    if args.jobs < 1:
        raise _Exit(State.UNKNOWN, "--jobs must be at least 1")
    if args.events_rate_limit < 0 or args.events_burst_limit < 1:
        raise _Exit(
            State.UNKNOWN, "--events-rate-limit must be 0 or more, --events-burst-limit 1 or more"
        )
    try:
        memory = BatchState.load(args.state or default_path(plan.datacenter), plan.datacenter)
    except BatchStateError as exc:
        raise _Exit(State.UNKNOWN, str(exc)) from None
    # One deadline for every submission: an agent socket that never answers, or trickles,
    # cannot hold the runner past its own Sensu timeout (the probes have their own).
    deadline = started + max((plan.timeout or batch_plan.RUN_BUDGET) - MARGIN, 0.5)
    return _Batch(plan, address, memory, deadline)


def _submit(batch: _Batch, outcome: Outcome) -> None:
    """One point's result to the agent, with its deployment state; recorded as probed once
    it is there (Sensu Classic: once ``_confirm`` has read the client's ``ok``). Raises
    ``SubmitError``."""
    from mdd.batch import planned as batch_plan
    from mdd.batch import submit
    from mdd.checks.api import Result
    from mdd.core.deployment import BLOCKED, result_state

    point = outcome.point
    assert isinstance(point, batch_plan.PlannedPoint) and outcome.result is not None
    result = outcome.result
    status = int(result.state)
    label = result_state(status, outcome.blocked_by, batch.memory.was_green(point.check))
    if label == BLOCKED:
        blockers = ", ".join(outcome.blocked_by)
        result = Result(
            result.state,
            f"blocked by {blockers} (not green); its own check: {result.message}",
            result.perfdata,
        )
    output = f"{point.label} {result.state.name}: {result.line(point.name)}\n"
    if batch.pacer is not None:
        batch.pacer.wait()
    if batch.plan.sensu == "classic":
        sent = submit.send_to_client_socket(
            batch.address,
            submit.classic_result(point.result, status, output, label),
            batch.deadline,
        )
        batch.sent.append((point, status, label, sent))
        if len(batch.sent) >= UNREAD_LIMIT:
            _confirm(batch)
        return
    event = submit.go_event(
        point.result,
        status,
        output,
        int(outcome.started or time.time()),
        outcome.duration or 0.0,
        label,
    )
    submit.to_agent_api(batch.address, event, batch.deadline)
    batch.memory.record(point.check, batch.now, status, label)


# Results sent to the client socket whose answers are not read yet, at most (each holds a
# connection open).
UNREAD_LIMIT = 32


def _confirm(batch: _Batch) -> None:
    """Read the client socket's answer to each result sent, in order; record each point
    answered ``ok`` as probed, and each other one as failed.

    Sending the next result before reading the last answer is what saves the runner's CPU
    (one wait for many answers, not one a result); each answer is still bounded by its own
    submission's ``TIMEOUT`` and the runner's deadline, and read before the runner waits for
    a probe (the runner's ``idle``), at most ``UNREAD_LIMIT`` results later, and at the
    end."""
    from mdd.batch import submit

    sent, batch.sent = batch.sent, []
    for point, status, label, answer in sent:
        try:
            answer.confirm()
        except submit.SubmitError as exc:
            # not recorded as probed: the next run probes and submits it again
            batch.failed.append(f"{point.name}: {exc}")
            continue
        batch.memory.record(point.check, batch.now, status, label)


def run(args: argparse.Namespace | _Args) -> tuple[State, str]:
    from mdd.batch import submit
    from mdd.batch.cron import is_due
    from mdd.batch.state import BatchStateError
    from mdd.checks.api import State
    from mdd.runner.runner import run as run_points

    batch = _prepare(args)
    plan, memory = batch.plan, batch.memory
    if plan.stdin:
        from mdd.checks.api import read_client_definition

        read_client_definition()  # the {client: ...} secrets, read once

    now = batch.now = time.time()
    half = plan.interval / 2
    due = [p for p in plan.points if is_due(p.every, p.cron, memory.probed(p.check), now, half)]
    due_names = {p.name for p in due}
    green_before = {
        p.name for p in plan.points if p.name not in due_names and memory.status(p.check) == 0
    }
    if plan.sensu == "go":
        batch.pacer = submit.Pacer(args.events_rate_limit, args.events_burst_limit)
    failed = batch.failed
    # Everything is imported: out of the collector's sight from now on, and the collector on
    # again (for what the probes leave).
    gc.freeze()
    gc.enable()
    # A PlannedPoint has every attribute of an IntegrationPoint the runner reads.
    probes = run_points(
        due,  # type: ignore[arg-type]
        jobs=args.jobs,
        green=green_before,
        probe_blocked=True,
        idle=lambda: _confirm(batch),
    )
    for outcome in probes:
        try:
            _submit(batch, outcome)
        except submit.SubmitError as exc:
            _confirm(batch)  # the earlier results' answers first: failures in results' order
            # not recorded as probed: the next run probes and submits it again
            failed.append(f"{outcome.point.name}: {exc}")
    _confirm(batch)
    try:
        memory.save({p.check for p in plan.points})
    except BatchStateError as exc:
        raise _Exit(State.UNKNOWN, str(exc)) from None
    red = [p.name for p in plan.points if memory.status(p.check) != 0]
    green = len(plan.points) - len(red)
    probed = len(due) - len(failed)
    # The runner's own health, never the points' (each point has its own result in Sensu):
    # CRITICAL when a result did not reach Sensu, since that point then goes stale.
    state = State.CRITICAL if failed else State.OK
    return state, _summary(plan.datacenter, len(plan.points), green, red, probed, failed)


def main(argv: Sequence[str] | None = None) -> None:
    """The runner: one line on stdout, and its status as the exit status (``SystemExit``).

    Two things a short process need not pay for (issue 19; docs/performance.md): the cyclic
    garbage collector's passes while it imports (``run`` turns it on again before the probes)
    and, as the console script (``argv`` None), the interpreter's teardown: once its line is
    out, with the state file written and synced and every socket closed, the process ends
    there (``os._exit``) instead of freeing every module and object one by one."""
    gc.disable()
    try:
        state, line = _run_main(argv)
    finally:
        # for a caller in this process; run() enabled it before the probes, and froze what
        # was there then
        gc.unfreeze()
        gc.enable()
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")
    from mdd.checks.api import printable

    print(f"MddBatch {state.name}: {printable(line)}")  # one line, whatever a name holds
    sys.stdout.flush()
    if argv is None:
        sys.stderr.flush()
        os._exit(int(state))
    sys.exit(int(state))


def _run_main(argv: Sequence[str] | None) -> tuple[State, str]:
    from mdd.checks.api import State

    args: argparse.Namespace | _Args | None = _read_plain(sys.argv[1:] if argv is None else argv)
    try:
        if args is None:
            args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a bad flag (2, mapped to UNKNOWN)
        sys.exit(0 if exc.code == 0 else int(State.UNKNOWN))
    try:
        return run(args)
    except _Exit as exc:
        return exc.state, exc.line
    except Exception as exc:  # never a traceback: Sensu shows the output
        return State.UNKNOWN, f"{PROGRAM} failed: {type(exc).__name__}: {exc}"


if __name__ == "__main__":  # pragma: no cover
    main()
