"""command: any Nagios-compatible plugin, run as an integration point.

Runs ``command``, a list of argv words: the first is the program (an absolute path, or a
name looked up on the agent's PATH), each word is passed to it literally, never through a
shell (``$HOME``, ``*``, ``;`` and quotes reach the plugin as written). The plugin's exit
status 0-3 is the check's state (OK, WARNING, CRITICAL, UNKNOWN) and the first line of its
output, with its performance data, is the check's message, cut to 1000 characters; further
lines are dropped. Standard output is read; standard error stands in only when standard
output is empty.

UNKNOWN, with one line, when the program is not found or cannot be run, exits with another
status (or is killed by a signal), or has not finished within ``timeout``: then its whole
process group is killed, so nothing it started keeps running. Output past 64 KiB is read
and dropped, so an endless writer cannot fill the agent's memory.
"""

from __future__ import annotations

import os
import time

from mdd.checks._base import main_of
from mdd.checks._options import ARGV_WORD, DURATION, Option, duration_text
from mdd.checks._result import Perf, Result, State

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from mdd.checks._typed import Common

    class Opts(Common, Protocol):
        command: list[str]


TYPE = "command"
SUMMARY = "Any Nagios-compatible plugin: its exit status and first output line pass through."
OPTIONS: tuple[Option, ...] = (
    Option(
        "command",
        ARGV_WORD,
        "The plugin and its arguments, one list item per argv word (no shell), e.g. "
        "[/usr/lib/nagios/plugins/check_tcp, -H, 10.0.0.1, -p, 389].",
        required=True,
        multiple=True,
    ),
    Option("timeout", DURATION, "Kill the plugin after this long (UNKNOWN).", default=10.0),
)
EXAMPLE = {"command": ["/usr/lib/nagios/plugins/check_tcp", "-H", "10.0.0.1", "-p", "389"]}
# The Debian packages its tests use (.ci/setup installs them): servers and plugins they run.
TEST_PACKAGES = ("monitoring-plugins-basic",)

OUTPUT_LIMIT = 65536  # bytes of output kept; the rest is read and dropped
LINE_LIMIT = 1000  # characters of the first line passed through
EXIT_GRACE = 0.5  # seconds to wait for the output to end once the plugin has exited


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    problems: list[tuple[str, str]] = []
    words = values.get("command")
    if isinstance(words, list) and words:
        program = str(words[0])
        if len(words) == 1 and len(program.split()) > 1:
            listed = ", ".join(program.split())
            problems.append(
                (
                    "command",
                    f"{program!r} is one word (a program of that name): no shell splits it, so "
                    f"list the words, as [{listed}]",
                )
            )
        elif "/" in program and not program.startswith("/"):
            problems.append(
                (
                    "command",
                    f"{program!r} is a relative path: write the absolute path on the agent, or "
                    f"a bare name found on its PATH",
                )
            )
    return problems


class _RawPerf(Perf):
    """The plugin's performance data as it wrote it: passed through, never reformatted."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        super().__init__("raw", 0.0)
        self.text = text

    def __str__(self) -> str:
        return self.text


def run(argv: list[str], deadline: float) -> tuple[int | None, bytes, bytes]:
    """(exit status, or None when it had to be killed at the deadline; stdout; stderr).

    Each stream keeps its first ``OUTPUT_LIMIT`` bytes. Raises ``OSError`` when the program
    cannot be started.
    """
    import contextlib
    import selectors
    import signal
    import subprocess

    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, killed as a whole
    )
    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    kept = {out_fd: bytearray(), err_fd: bytearray()}
    killed = False
    with selectors.DefaultSelector() as selector:
        for stream in (proc.stdout, proc.stderr):
            selector.register(stream, selectors.EVENT_READ)
        exited_at: float | None = None
        while selector.get_map():
            now = time.monotonic()
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            limit = deadline if exited_at is None else min(deadline, exited_at + EXIT_GRACE)
            if now >= limit:  # time is up, or the plugin left children holding its output
                killed = exited_at is None
                break
            for key, _ in selector.select(timeout=min(limit - now, 0.1)):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                buffer = kept[key.fd]
                buffer += chunk[: max(OUTPUT_LIMIT - len(buffer), 0)]
    if not killed and exited_at is None:
        # Both streams ended: the plugin is exiting (it closes them on its way out). Wait for
        # it, or a SIGKILL in that moment would turn its status into "killed by signal 9".
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:  # it closed its output and runs on
            killed = True
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever it left behind, or itself
    code = proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    return (None if killed else code), bytes(kept[out_fd]), bytes(kept[err_fd])


def probe(opts: Opts) -> Result:
    argv: list[str] = list(opts.command)
    program = argv[0]
    deadline = time.monotonic() + opts.timeout
    try:
        code, out, err = run(argv, deadline)
    except FileNotFoundError:
        where = "" if "/" in program else " on the agent's PATH"
        return Result(State.UNKNOWN, f"plugin {program} not found{where}")
    except PermissionError:
        return Result(State.UNKNOWN, f"plugin {program} cannot be run: permission denied")
    except OSError as exc:
        return Result(State.UNKNOWN, f"plugin {program} cannot be run: {exc.strerror or exc}")
    text = (out if out.strip() else err).decode("utf-8", "replace")
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    if len(line) > LINE_LIMIT:
        line = line[: LINE_LIMIT - 3] + "..."
    name = program.rsplit("/", 1)[-1]
    if code is None:
        return Result(
            State.UNKNOWN,
            f"plugin {name} did not finish within {duration_text(opts.timeout)} (killed)",
        )
    if not 0 <= code <= 3:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        said = f": {line}" if line else ""
        return Result(State.UNKNOWN, f"plugin {name} {how} (not 0-3){said}"[:LINE_LIMIT])
    message, bar, perf = line.partition("|")
    message = message.strip() or f"plugin {name} said nothing"
    return Result(State(code), message, (_RawPerf(perf.strip()),) if bar and perf.strip() else ())


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
