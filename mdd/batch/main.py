"""``check-mdd-batch``: run every point of a datacenter's plan in this one process.

The probes run concurrently in the runner of ``mdd verify`` (``mdd.runner.runner.run``),
each point's argv parsed by its check type's own parser, and every point is probed whatever
its dependencies (as the per-point checks are; Sensu's dependency filter, not the check,
holds back a dependant's alerts). As each result is known it is submitted to the local
agent as the point's own check result (``mdd.batch.submit``), with a ``ttl``: a runner that
stops running turns every point stale in Sensu, never silently green.

This check's own output is one line, ``ams1: 7/12 green`` (then the points that are not),
and its exit status is the worst point's (UNKNOWN ranking below CRITICAL, as in Nagios);
CRITICAL when any result could not be submitted, since Sensu then shows stale points.
A plan that cannot be run (missing, damaged, another plan version or datacenter) is UNKNOWN.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from mdd.checks._result import CUT, LINE_LIMIT, State, worst

PROGRAM = "check-mdd-batch"


def _parser() -> argparse.ArgumentParser:
    from mdd.checks._help import LightParser

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
    return parser


class _Exit(Exception):
    def __init__(self, state: State, line: str) -> None:
        self.state = state
        self.line = line


def _summary(datacenter: str, total: int, green: int, red: list[str], failed: list[str]) -> str:
    text = f"{datacenter}: {green}/{total} green"
    if red:
        text += f"; not green: {', '.join(red)}"
    if failed:
        text += f"; {len(failed)} result(s) not submitted: {failed[0]}"
    if len(text) > LINE_LIMIT:
        text = text[: LINE_LIMIT - len(CUT)] + CUT
    return text


MARGIN = 1.0  # seconds kept before the runner's Sensu timeout to print its own line


def run(args: argparse.Namespace) -> tuple[State, str]:
    from mdd.batch import plan as batch_plan
    from mdd.batch import submit
    from mdd.runner.runner import run as run_points

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
    if plan.stdin:
        from mdd.checks._base import MddCheck

        MddCheck._read_client_definition()  # the {client: ...} secrets, read once
    # One deadline for every submission: an agent socket that never answers, or trickles,
    # cannot hold the runner past its own Sensu timeout (the probes have their own).
    deadline = started + max((plan.timeout or batch_plan.RUN_BUDGET) - MARGIN, 0.5)

    states: list[State] = []
    red: list[str] = []
    failed: list[str] = []
    for outcome in run_points(plan.points, jobs=args.jobs, probe_blocked=True):
        point = outcome.point
        assert isinstance(point, batch_plan.PlannedPoint) and outcome.result is not None
        result = outcome.result
        output = f"{point.label} {result.state.name}: {result.line(point.name)}\n"
        states.append(result.state)
        if result.state is not State.OK:
            red.append(point.name)
        try:
            if plan.sensu == "classic":
                submit.to_client_socket(
                    address,
                    submit.classic_result(point.result, int(result.state), output),
                    deadline,
                )
            else:
                event = submit.go_event(
                    point.result,
                    int(result.state),
                    output,
                    int(outcome.started or time.time()),
                    outcome.duration or 0.0,
                )
                submit.to_agent_api(address, event, deadline)
        except submit.SubmitError as exc:
            failed.append(f"{point.name}: {exc}")
    order = {p.name: i for i, p in enumerate(plan.points)}
    red.sort(key=order.__getitem__)
    state = worst(*states)
    if failed:
        state = State.CRITICAL
    green = len(plan.points) - len(red)
    return state, _summary(plan.datacenter, len(plan.points), green, red, failed)


def main(argv: Sequence[str] | None = None) -> None:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a bad flag (2, mapped to UNKNOWN)
        sys.exit(0 if exc.code == 0 else int(State.UNKNOWN))
    try:
        state, line = run(args)
    except _Exit as exc:
        state, line = exc.state, exc.line
    except Exception as exc:  # never a traceback: Sensu shows the output
        state, line = State.UNKNOWN, f"{PROGRAM} failed: {type(exc).__name__}: {exc}"
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")
    from mdd.checks._result import printable

    print(f"MddBatch {state.name}: {printable(line)}")  # one line, whatever a name holds
    sys.stdout.flush()
    sys.exit(int(state))


if __name__ == "__main__":  # pragma: no cover
    main()
