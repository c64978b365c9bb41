"""The in-process runner: many integration points' probes in one process, concurrently.

Each point's options go through exactly the path the Sensu agent's command takes: the
generated argv (``mdd.core.command.check_argv``) is parsed by a parser built from the check
type's own option declarations, and the check type's ``probe(opts)`` is called with the
result. A probe that raises is mapped as the Sensu plugin maps it (``failed_result``), so a
verdict here equals the exit status of the generated check on the same target.

At most ``jobs`` probes run at a time, in a pool of threads that grows only while its
probes are slow: fast targets (a port on the same network answers in well under a
millisecond) are probed one after the other by a thread or two, since starting a thread
costs more CPU than connecting to a port. The pool doubles when probes wait, every thread
is on a probe, and either no result has come for ``PATIENCE`` (silent targets hold every
thread) or a probe has waited ``LAG`` (the queue drains too slowly): a slow target never
holds back the others for long.
Every probe bounds itself by its ``timeout``, counted from when a thread takes it up; the
runner adds a hard bound of ``timeout + GRACE`` from the same moment: a probe still running
then is reported CRITICAL and abandoned (its daemon thread ends on its own, or with the
process). A probe still waiting for a thread is never reported as a target that did not
answer. Results are yielded as they finish, not in manifest order.

A point whose ``depends_on`` points are not all green (OK) is *blocked*: by default it is not
probed, and its outcome says which dependency blocks it. Points are started as soon as their
dependencies have an outcome, so a chain runs in order without a round per link.
"""

from __future__ import annotations

import collections
import heapq
import queue
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence

from mdd.checks.api import (
    COMMON_OPTIONS,
    Deadline,
    Result,
    State,
    add_arguments,
    failed_result,
    no_answer,
    parse_known,
)
from mdd.checks.registry import CHECK_TYPES

# check-mdd-batch runs points through this module on every run: argparse (a command line
# that the light reader cannot read), typing and the dataclasses of mdd.core.model are for
# the type checker or imported when needed.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import NoReturn

    from mdd.checks.registry import CheckType
    from mdd.core.model import IntegrationPoint

GRACE = 0.5  # seconds past a probe's own timeout before the runner stops waiting for it
PATIENCE = 0.005  # seconds without a result, while probes wait, before more threads
LAG = 0.02  # seconds a probe waits for a thread at most before more threads (or since the last)
DEFAULT_TIMEOUT = 10.0  # for a check type without a timeout option
DEFAULT_JOBS = 256  # a bring-up has many silent targets (the pool grows only for them)


class Outcome:
    """What the runner found for one point: its result, or that it was blocked."""

    __slots__ = ("point", "result", "blocked_by", "started", "duration")

    def __init__(
        self,
        point: IntegrationPoint,
        result: Result | None,
        blocked_by: tuple[str, ...] = (),
        started: float | None = None,
        duration: float | None = None,
    ) -> None:
        self.point = point
        self.result = result  # None: not probed (blocked)
        self.blocked_by = blocked_by  # the depends_on points that were not green
        self.started = started  # time.time() when the probe started
        self.duration = duration  # seconds the probe took (or was waited for)

    @property
    def probed(self) -> bool:
        return self.result is not None

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.state is State.OK

    def __repr__(self) -> str:
        return f"Outcome({self.point.name!r}, {self.result!r}, blocked_by={self.blocked_by!r})"


class _BadArguments(Exception):
    pass


def check_module(check_type: str) -> CheckType:
    """The module of a check type, from the registry (imported when a point of that type
    first runs: the batch runner pays only for the types its datacenter uses)."""
    return CHECK_TYPES[check_type]


_parsers: dict[str, argparse.ArgumentParser] = {}
_parsers_lock = threading.Lock()


def parser_for(check_type: str) -> argparse.ArgumentParser:
    """The check type's own parser, as ``MddCheck.setup`` builds it (one per type)."""
    with _parsers_lock:
        parser = _parsers.get(check_type)
        if parser is None:
            import argparse

            class _Parser(argparse.ArgumentParser):
                def error(self, message: str) -> NoReturn:
                    raise _BadArguments(f"bad arguments: {message}")

            parser = _Parser(prog=f"check-mdd-{check_type}", add_help=False, allow_abbrev=False)
            add_arguments(parser, COMMON_OPTIONS + check_module(check_type).OPTIONS)
            _parsers[check_type] = parser
        return parser


def options_for(point: IntegrationPoint) -> argparse.Namespace:
    """The parsed options the generated Sensu command would give the check.

    Raises ``_BadArguments`` where the check itself would refuse its command line. A point
    of a batch plan (``mdd.batch.plan.PlannedPoint``) carries that argv, compiled by
    ``mdd generate --batch``; any other point's is built here."""
    planned: Sequence[str] | None = getattr(point, "argv", None)
    if planned is not None:
        argv = list(planned)
    else:
        from mdd.core.command import check_argv

        argv = check_argv(point.type, point.options, point.name)[1:]
    # As MddCheck reads its command line: directly when it is plain, else with argparse.
    opts = parse_known(COMMON_OPTIONS + check_module(point.type).OPTIONS, argv)
    if opts is not None:
        return opts
    opts, remain = parser_for(point.type).parse_known_args(argv)
    if remain:
        raise _BadArguments(f"unexpected arguments: {' '.join(remain)}")
    return opts


def probe_point(point: IntegrationPoint) -> Result:
    """One point's result, in this thread, as the Sensu check would give it (without the
    runner's hard bound: see ``run``)."""
    try:
        opts = options_for(point)
    except _BadArguments as exc:
        return Result(State.UNKNOWN, f"{exc} (see check-mdd-{point.type} --help)")
    return _call(point, opts)


def _call(point: IntegrationPoint, opts: argparse.Namespace) -> Result:
    try:
        return check_module(point.type).probe(opts)
    except (Exception, Deadline) as exc:  # mapped as the Sensu plugin maps it
        return failed_result(exc, getattr(opts, "timeout", None))


def run(
    points: Sequence[IntegrationPoint],
    *,
    jobs: int = DEFAULT_JOBS,
    green: Collection[str] = (),
    probe_blocked: bool = False,
    grace: float = GRACE,
    idle: Callable[[], object] | None = None,
) -> Iterator[Outcome]:
    """Probe ``points`` concurrently; yield each one's ``Outcome`` as it is known.

    ``green``: names of points outside ``points`` taken as green (a dependency that is not
    run here). A dependency neither in ``points`` nor in ``green`` blocks its dependants.
    ``probe_blocked``: probe blocked points all the same (their outcome still names what
    blocks them). ``idle``: called whenever the runner is about to wait for a probe (no
    outcome is ready), for the caller's own waiting (check-mdd-batch reads the agent's
    answers to the results it sent meanwhile). Closing the iterator early stops starting
    new probes.
    """
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    schedule = _Schedule(points, green)
    pool = _Pool(grace)
    finished = 0
    try:
        while finished < len(points):
            while schedule.ready and len(pool.running) < jobs:
                outcome = _start(schedule.ready.popleft(), schedule, pool, probe_blocked)
                if outcome is not None:
                    finished += 1
                    yield outcome
            if not pool.running:
                if schedule.ready:
                    continue
                break  # pragma: no cover - every point reaches ``ready`` (no cycles in a manifest)
            if idle is not None and pool.done.empty():
                idle()
            for outcome in pool.outcomes(schedule):
                finished += 1
                yield outcome
    finally:
        pool.close()


def _start(
    point: IntegrationPoint, schedule: _Schedule, pool: _Pool, probe_blocked: bool
) -> Outcome | None:
    """Start ``point``'s probe; or its outcome, when it is not probed (blocked, or its
    command line is one the check would refuse)."""
    blocked_by = schedule.blocked(point)
    if blocked_by and not probe_blocked:
        schedule.settle(point, False)
        return Outcome(point, None, blocked_by)
    started_wall = time.time()
    try:
        opts = options_for(point)
    except _BadArguments as exc:
        schedule.settle(point, False)
        message = f"{exc} (see check-mdd-{point.type} --help)"
        return Outcome(point, Result(State.UNKNOWN, message), blocked_by, started_wall, 0.0)
    pool.start(point, opts, started_wall)
    return None


class _Schedule:
    """Which points may start: a point is ready once every dependency run here has an
    outcome; ready points start in manifest order."""

    def __init__(self, points: Sequence[IntegrationPoint], green: Collection[str]) -> None:
        selected = {point.name for point in points}
        self.known: dict[str, bool] = {name: True for name in green if name not in selected}
        self.dependants: dict[str, list[IntegrationPoint]] = {}
        self.unmet: dict[str, int] = {}
        self.ready: collections.deque[IntegrationPoint] = collections.deque()
        for point in points:
            inside = [dep for dep in point.depends_on if dep in selected]
            self.unmet[point.name] = len(inside)
            for dep in inside:
                self.dependants.setdefault(dep, []).append(point)
            if not inside:
                self.ready.append(point)

    def settle(self, point: IntegrationPoint, green_now: bool) -> None:
        """``point`` has its outcome: its dependants whose dependencies all have one are
        ready."""
        self.known[point.name] = green_now
        for dependant in self.dependants.get(point.name, ()):
            self.unmet[dependant.name] -= 1
            if self.unmet[dependant.name] == 0:
                self.ready.append(dependant)

    def blocked(self, point: IntegrationPoint) -> tuple[str, ...]:
        return _blocked(point, self.known)


# Plain classes, not NamedTuple or dataclasses: check-mdd-batch imports this module on every
# run, and typing and dataclasses (with inspect) cost more than its probes.
class _Task:
    """A probe for a worker."""

    __slots__ = ("key", "point", "opts", "queued", "taken", "began")

    def __init__(
        self, key: int, point: IntegrationPoint, opts: argparse.Namespace, queued: float
    ) -> None:
        self.key = key
        self.point = point
        self.opts = opts
        self.queued = queued  # time.monotonic() when it was handed to the pool
        self.taken = False  # set by the worker that takes it up (under the pool's lock)
        self.began = 0.0  # time.monotonic() when it was taken up


class _Finished:
    """A probe's result, from its worker."""

    __slots__ = ("key", "result", "began", "began_wall", "at")

    def __init__(
        self, key: int, result: Result, began: float, began_wall: float, at: float
    ) -> None:
        self.key = key
        self.result = result
        self.began = began  # time.monotonic() when a worker took the probe up
        self.began_wall = began_wall  # time.time() then
        self.at = at  # time.monotonic() when it finished


class _Running:
    """A probe started and not finished."""

    __slots__ = ("task", "started", "started_wall", "timeout")

    def __init__(self, task: _Task, started: float, started_wall: float, timeout: float) -> None:
        self.task = task
        self.started = started  # time.monotonic()
        self.started_wall = started_wall  # time.time()
        self.timeout = timeout


class _Pool:
    """The probes running, in a pool of threads that grows only while its probes are slow
    (see the module's docstring). A worker whose probe overran its hard bound is abandoned:
    it exits after."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        # A Queue, not a SimpleQueue: Python 3.10's SimpleQueue.get(timeout=...) can block
        # until the next put() when its timeout runs out between two of its own steps (seen:
        # get(timeout=0) waited 28 s for a hanging probe, so its hard bound never came).
        self.done: queue.Queue[_Finished] = queue.Queue()
        self.tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self.waiting: collections.deque[_Task] = collections.deque()  # put, maybe not taken
        self.running: dict[int, _Running] = {}
        self.abandoned: set[int] = set()
        self.bounds: list[tuple[float, int]] = []  # a heap of (hard bound, key) of probes started
        self.lock = threading.Lock()
        self.workers = 0  # worker threads not abandoned
        self.busy = 0  # workers on a probe (under ``lock``)
        self.serial = 0
        self.progress = 0.0  # time.monotonic() when a result was last read or the pool grew
        self.grown = 0.0  # time.monotonic() when the pool last grew

    def worker(self) -> None:
        while True:
            task = self.tasks.get()
            if task is None:
                return
            with self.lock:  # the runner reads ``taken`` and ``began`` under it
                task.taken = True
                task.began = began = time.monotonic()
                self.busy += 1
            began_wall = time.time()
            result = _call(task.point, task.opts)
            with self.lock:
                self.busy -= 1
                if task.key in self.abandoned:
                    return
                self.done.put(_Finished(task.key, result, began, began_wall, time.monotonic()))

    def _add_workers(self, count: int) -> None:
        for _ in range(count):
            threading.Thread(target=self.worker, name="mdd-probe", daemon=True).start()
        self.workers += count
        self.progress = self.grown = time.monotonic()

    def start(self, point: IntegrationPoint, opts: argparse.Namespace, started_wall: float) -> None:
        timeout = getattr(opts, "timeout", None) or DEFAULT_TIMEOUT
        started = time.monotonic()
        self.serial += 1
        bound = started + timeout + self.grace
        task = _Task(self.serial, point, opts, started)
        self.running[self.serial] = _Running(task, started, started_wall, timeout)
        heapq.heappush(self.bounds, (bound, self.serial))
        self.waiting.append(task)
        self.tasks.put(task)
        if not self.workers:
            self._add_workers(1)

    def _grow_at(self) -> float | None:
        """When the pool should grow (``time.monotonic()``), if no probe finishes before;
        None while no probe waits for a worker, or a worker is free (it takes the next probe
        as soon as it gets to run)."""
        while self.waiting and (self.waiting[0].taken or self.waiting[0].key not in self.running):
            self.waiting.popleft()
        if not self.waiting or self.busy < self.workers:
            return None
        return min(self.progress + PATIENCE, max(self.waiting[0].queued, self.grown) + LAG)

    def _grow(self) -> None:
        """Double the pool (no more threads than probes waiting) when it is time to."""
        grow_at = self._grow_at()
        if grow_at is not None and time.monotonic() >= grow_at:
            count = sum(not t.taken and t.key in self.running for t in self.waiting)
            self._add_workers(min(count, max(self.workers, 1)))

    def outcomes(self, schedule: _Schedule) -> Iterator[Outcome]:
        """Wait for the next probe to finish, or the earliest hard bound to pass, or the
        pool's patience to run out; the outcomes then known."""
        while self.bounds[0][1] not in self.running:
            heapq.heappop(self.bounds)  # a probe that has finished
        limit = self.bounds[0][0]
        grow_at = self._grow_at()
        if grow_at is not None:
            limit = min(limit, grow_at)
        finished: _Finished | None = None
        try:
            finished = self.done.get(timeout=max(limit - time.monotonic(), 0))
            # when it was read, not when it finished: results waiting to be read (a runner
            # busier than its probes) are progress, not a reason for more threads
            self.progress = time.monotonic()
        except queue.Empty:
            pass
        self._grow()
        if finished is None:
            yield from self._overrun(schedule)
            return
        entry = self.running.pop(finished.key, None)
        if entry is None:  # an abandoned probe that finished after all
            return
        point = entry.task.point
        schedule.settle(point, finished.result.state is State.OK)
        duration = finished.at - finished.began
        yield Outcome(
            point, finished.result, schedule.blocked(point), finished.began_wall, duration
        )

    def _overrun(self, schedule: _Schedule) -> Iterator[Outcome]:
        """The probes past their hard bound: abandoned, CRITICAL."""
        now = time.monotonic()
        while self.bounds and self.bounds[0][0] <= now:
            _, key = heapq.heappop(self.bounds)
            if key not in self.running:
                continue
            entry = self.running[key]
            with self.lock:
                # Its hard bound counts from when a worker took it up, as its own timeout
                # does: a probe still waiting for a thread (the runner was held up, say by a
                # slow agent socket) has not been given its time, and is not reported as a
                # target that did not answer.
                due = entry.task.began + entry.timeout + self.grace if entry.task.taken else None
                if due is None or due > now:
                    heapq.heappush(self.bounds, (now + LAG if due is None else due, key))
                    continue
                self.abandoned.add(key)
            del self.running[key]
            self.workers -= 1  # its worker exits after the probe
            point = entry.task.point
            schedule.settle(point, False)
            began_wall = entry.started_wall + (entry.task.began - entry.started)
            yield Outcome(
                point,
                no_answer(entry.timeout),
                schedule.blocked(point),
                began_wall,
                now - entry.task.began,
            )

    def close(self) -> None:
        for _ in range(self.workers):
            self.tasks.put(None)  # idle workers end; an abandoned one ends after its probe


def _blocked(point: IntegrationPoint, known: dict[str, bool]) -> tuple[str, ...]:
    return tuple(dep for dep in point.depends_on if not known.get(dep, False))


def select(
    points: Iterable[IntegrationPoint],
    only: Collection[str] = (),
    owners: Collection[str] = (),
    types: Collection[str] = (),
) -> list[IntegrationPoint]:
    """The points named in ``only`` (all when empty), owned by one of ``owners``, of one of
    ``types``; manifest order."""
    return [
        point
        for point in points
        if (not only or point.name in only)
        and (not owners or point.owner in owners)
        and (not types or point.type in types)
    ]
