"""The measurement every benchmark shares: fresh processes, their own CPU, interleaved runs.

* ``Launcher``: a small process that forks and execs each command and reports its exit
  status, CPU time (user + system, its threads and the children it waited for), peak RSS
  (``ru_maxrss``) and wall time, from ``os.wait4``. The benchmark does not fork the commands
  itself: Linux counts the memory of the process a child was forked from in the child's
  ``ru_maxrss``, and a benchmark (servers, trustme, cryptography) is far bigger than what it
  measures.
* ``Subject``, ``interleaved``, ``print_table``: N runs of each subject, interleaved, the
  order turning every round so that a busy moment on the machine hits them alike; medians.
* ``install_wheel``, ``check_subject``: mdd installed from a wheel as on an agent, and a
  check's command as ``mdd generate`` writes it.

Importing it puts the repository on ``sys.path`` (last): the benchmarks use the tests' own
servers (``tests/checks/``, ``tests/conftest.py``), one copy for both.

A measurement, never a test: timings never go into the test suite.
"""

from __future__ import annotations

import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # the tests' servers (tests/checks/); appended, so that the
    sys.path.append(str(REPO))  # installed mdd measured is never shadowed by the source tree
BENCH_VENV = REPO / "build" / "bench-venv"  # a wheel install, remade by install_wheel

# argv[1]: folders to put first on PATH (for commands run under /bin/sh), or "".
_LAUNCHER = r"""
import os, sys, time
env = dict(os.environ, PATH=sys.argv[1] + os.pathsep + os.environ.get("PATH", ""))
null = os.open(os.devnull, os.O_RDWR)
for line in sys.stdin:
    argv = line.rstrip("\n").split("\0")
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(null, 0); os.dup2(null, 1); os.dup2(null, 2)
            os.execve(argv[0], argv, env) if sys.argv[1] else os.execv(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    code = os.waitstatus_to_exitcode(status)
    print(code, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, wall, flush=True)
"""


@dataclass
class Run:
    code: int
    cpu: float  # seconds, user + system
    rss: int  # KiB
    wall: float  # seconds


class Launcher:
    """Runs commands one at a time, each a fresh process; a context manager."""

    def __init__(self, cwd: Path | None = None, path: Path | None = None) -> None:
        """``path``: a folder put first on PATH (``shell`` commands find its scripts)."""
        self._proc = subprocess.Popen(
            [sys.executable, "-S", "-c", _LAUNCHER, str(path or "")],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, argv: list[str]) -> Run:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        if any("\n" in word or "\0" in word for word in argv):
            raise ValueError(f"a command for the launcher is one line without NULs: {argv!r}")
        self._proc.stdin.write("\0".join(argv) + "\n")
        self._proc.stdin.flush()
        code, cpu, rss, wall = self._proc.stdout.readline().split()
        return Run(int(code), float(cpu), int(rss), float(wall))

    def shell(self, command: str) -> Run:
        """``command`` under ``/bin/sh -c``, as the Sensu agent runs a check."""
        return self.run(["/bin/sh", "-c", command])

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=10)

    def __enter__(self) -> Launcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Subject:
    label: str
    argv: list[str]
    cpu: list[float] = field(default_factory=list)  # seconds
    rss: list[int] = field(default_factory=list)  # KiB
    codes: set[int] = field(default_factory=set)
    instructions: int | None = None  # one run under valgrind (see count_instructions)
    instructions_code: int | None = None  # that run's exit status


def run_once(launcher: Launcher, subject: Subject) -> None:
    """Run the subject once; record its own CPU time, peak RSS and exit status."""
    run = launcher.run(subject.argv)
    subject.cpu.append(run.cpu)
    subject.rss.append(run.rss)
    subject.codes.add(run.code)


def interleaved(launcher: Launcher, subjects: list[Subject], runs: int) -> None:
    """``runs`` runs of each subject, after two warm-up rounds (page cache, .pyc files) that
    are not counted; every round runs each once, the order turning so no one always goes
    first."""
    for _ in range(2):
        for subject in subjects:
            first_line(subject.argv)
    for i in range(runs):
        shift = i % len(subjects)
        for subject in subjects[shift:] + subjects[:shift]:
            run_once(launcher, subject)


def first_line(argv: list[str]) -> str:
    """``exit N: first line of output`` of one run (shown before measuring)."""
    proc = subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30, cwd="/"
    )
    text = (proc.stdout + proc.stderr).strip().splitlines()
    return f"exit {proc.returncode}: {text[0] if text else '(no output)'}"


def summary(subject: Subject, baseline: Subject) -> str:
    median = statistics.median(subject.cpu) * 1000
    mean = statistics.fmean(subject.cpu) * 1000
    ratio = median / (statistics.median(baseline.cpu) * 1000)
    rss = statistics.median(subject.rss) / 1024
    codes = ",".join(str(c) for c in sorted(subject.codes))
    line = f"{subject.label:34} {median:8.1f} {mean:8.1f} {ratio:8.2f}x {rss:9.1f} {codes:>5}"
    if baseline.instructions:
        if subject.instructions:
            count = subject.instructions / 1e6
            share = subject.instructions / baseline.instructions
            # An exit status under valgrind other than the timed runs' (a timeout that the
            # slower run under valgrind hit): the count is of another path, flagged.
            odd = "?" if subject.instructions_code not in subject.codes else " "
            line += f" {count:9.1f}{odd} {share:7.2f}x"
        else:
            line += f" {'-':>10} {'-':>8}"
    return line


def print_table(subjects: list[Subject], baseline: Subject, runs: int) -> None:
    """Median and mean CPU ms, the ratio of medians to ``baseline``, median peak RSS and the
    exit statuses seen, one line a subject (and the instructions of one run under valgrind
    and their ratio to ``baseline``'s, when counted); then a warning for an exit status that
    changed."""
    counted = baseline.instructions is not None
    print(f"\n{runs} runs each, interleaved; CPU = user + system time of the child process")
    if counted:
        print("instructions: one run of each under valgrind (callgrind), in millions")
    head = f"{'':34} {'CPU ms':>8} {'':8} {'ratio':>9} {'peak RSS':>9} {'exit':>5}"
    head2 = f"{'':34} {'median':>8} {'mean':>8} {'(median)':>9} {'MiB med.':>9} {'':>5}"
    if counted:
        head += f" {'instr. M':>10} {'ratio':>8}"
    print(head)
    print(head2)
    for subject in subjects:
        print(summary(subject, baseline))
    unsteady = [s.label for s in subjects if len(s.codes) > 1]
    if unsteady:
        print(f"\nWARNING: exit status changed between runs of: {', '.join(unsteady)}")
    odd = [s.label for s in subjects if s.instructions and s.instructions_code not in s.codes]
    if odd:
        print(f"WARNING (?): another exit status under valgrind: {', '.join(odd)}")


def count_instructions(subjects: list[Subject]) -> None:
    """The instructions of one run of each subject under valgrind (nothing without it)."""
    if not valgrind_available():
        print("valgrind is not installed: no instruction counts (apt-get install valgrind)")
        return
    print(f"counting instructions under valgrind, one run of each of {len(subjects)} ...")
    for subject in subjects:
        counted = instructions(subject.argv)
        if counted is not None:
            subject.instructions, subject.instructions_code = counted


def check_subject(
    label: str, check_type: str, values: Mapping[str, Any], bin_dir: Path
) -> Subject | None:
    """The check's command as the generator writes it, from the values its type declares,
    run from ``bin_dir`` (the venv measured); None (with a note) without a required value."""
    from mdd.checks.registry import CHECK_TYPES
    from mdd.core.command import check_argv

    if check_type not in CHECK_TYPES:
        return None
    options = {opt.name: opt for opt in CHECK_TYPES[check_type].OPTIONS}
    missing = [name for name, opt in options.items() if opt.required and name not in values]
    if missing:
        print(f"skipping {label}: no value for its required option(s) {', '.join(missing)}")
        return None
    loaded = {name: options[name].load(v) for name, v in values.items() if name in options}
    argv = check_argv(check_type, loaded, point="bench")
    argv[0] = str(bin_dir / argv[0])
    return Subject(label, argv)


def install_wheel(venv: Path = BENCH_VENV, source_tree: Path = REPO) -> Path:
    """Build a wheel of this source tree (or of ``source_tree``) and install it into
    ``venv``, as on an agent; its ``bin`` folder.

    The development venv holds an *editable* install, whose .pth file imports pathlib, re,
    enum, urllib.parse and more into every Python that starts there, ``python -c pass``
    included: that makes the baseline dearer and the check look cheaper than on an agent.
    """
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
    )
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source"
        shutil.copytree(source_tree, source, ignore=ignore)
        print(f"building a wheel of {source_tree} and installing it into {venv} ...", flush=True)
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
        _quietly([*pip, "wheel", "--no-deps", "-w", tmp, str(source)])
        wheel = next(Path(tmp).glob("mdd_sensu-*.whl"))
        # A fresh venv every time, as on a new agent: nothing left over from an earlier
        # version (a dependency since dropped would still be there, and its metadata read).
        shutil.rmtree(venv, ignore_errors=True)
        _quietly([sys.executable, "-m", "venv", str(venv)])
        venv_pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
        _quietly([*venv_pip, "install", str(wheel)])
    return venv / "bin"


def _quietly(argv: list[str]) -> None:
    """Run a set-up command; show its output only when it fails."""
    proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        sys.exit(f"{shlex.join(argv)} failed:\n{proc.stdout}{proc.stderr}")


def valgrind_available() -> bool:
    return shutil.which("valgrind") is not None


def instructions(argv: list[str], cwd: Path | None = None) -> tuple[int, int] | None:
    """The instructions one run of ``argv`` executes (all its threads; not the processes
    it starts), counted by valgrind's callgrind from the first instruction (``Ir``), and
    that run's exit status; None without valgrind, or when the count cannot be read. Unlike
    CPU time, the count does not move with the machine's load."""
    if not valgrind_available():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        proc = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--collect-atstart=yes",
                f"--callgrind-out-file={out}",
                *argv,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=300,
            cwd=cwd or "/",
        )
        try:
            text = out.read_text()
        except OSError:
            return None
    for line in text.splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1]), proc.returncode
    return None
