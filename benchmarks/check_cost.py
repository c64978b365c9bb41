"""What one run of a bundled check costs the Sensu agent's machine, next to a bare Python.

    .venv/bin/python benchmarks/check_cost.py            # 50 runs of each, interleaved
    .venv/bin/python benchmarks/check_cost.py -n 200 --imports

By default the checks measured are those of a wheel of this tree, installed into
build/bench-venv as on an agent (``--dev`` measures the editable development venv instead,
``--venv DIR`` any other).

Each run is a fresh process, as the agent starts it at every interval. The CPU time of a run
is the user + system time of that child process alone, from ``os.wait4``; peak memory is its
``ru_maxrss`` (children are forked by a small launcher process, so that figure is theirs).
The baseline is ``python -c pass`` with the very interpreter the console scripts use (that
venv's ``bin/python``), so interpreter start-up and site-packages set-up are the same on both
sides. Runs of the baseline and of each check are interleaved, so a busy moment on the
machine hits them alike.

The checks run against servers this script starts on 127.0.0.1: a listening socket (tcp),
an HTTP server (http) and an HTTPS server with a throwaway CA from trustme (tls; skipped
when trustme is not installed). The first output line of each check is shown;
a check whose exit status changes between runs is flagged.

Target (issue): one run of check-mdd-tcp costs at most 3x the CPU of ``python -c pass``.
This is a measurement, not a test: timings never go into the test suite.
"""

from __future__ import annotations

import argparse
import http.server
import shlex
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from net_subjects import net_subjects  # benchmarks/: the dns, ntp, ssh, udp, icmp, command runs

from mdd.checks.registry import CHECK_TYPES
from mdd.command import check_argv

REPO = Path(__file__).resolve().parent.parent
BENCH_VENV = REPO / "build" / "bench-venv"  # a wheel install, remade on every run
# The venv whose interpreter and console scripts are measured (see main).
BIN = Path(sys.executable).parent
TARGET_RATIO = 3.0


@dataclass
class Subject:
    label: str
    argv: list[str]
    cpu: list[float] = field(default_factory=list)  # seconds
    rss: list[int] = field(default_factory=list)  # KiB
    codes: set[int] = field(default_factory=set)


# Children are started by this small launcher, not by the benchmark itself: Linux counts the
# memory of the process a child was forked from in the child's ru_maxrss, and this process
# (servers, trustme, cryptography) is far bigger than the checks it measures.
_LAUNCHER = r"""
import os, sys
null = os.open(os.devnull, os.O_RDWR)
for line in sys.stdin:
    argv = line.rstrip("\n").split("\0")
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(null, 0); os.dup2(null, 1); os.dup2(null, 2)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    print(code, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, flush=True)
"""


class Launcher:
    """Runs commands one at a time; reports each one's exit status, CPU time and peak RSS."""

    def __init__(self, cwd: Path) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-S", "-c", _LAUNCHER],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, argv: list[str]) -> tuple[int, float, int]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write("\0".join(argv) + "\n")
        self._proc.stdin.flush()
        code, cpu, rss = self._proc.stdout.readline().split()
        return int(code), float(cpu), int(rss)

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=10)


def run_once(launcher: Launcher, subject: Subject) -> None:
    """Run the subject once; record its own CPU time, peak RSS and exit status."""
    code, cpu, rss = launcher.run(subject.argv)
    subject.cpu.append(cpu)
    subject.rss.append(rss)
    subject.codes.add(code)


def first_line(argv: list[str]) -> str:
    proc = subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30, cwd="/"
    )
    text = (proc.stdout + proc.stderr).strip().splitlines()
    return f"exit {proc.returncode}: {text[0] if text else '(no output)'}"


# --------------------------------------------------------------------------- local servers


@contextmanager
def tcp_server() -> Iterator[int]:
    """A loopback port that accepts connections and closes them."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        body = b'{"status": "UP"}\n'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@contextmanager
def http_server(context: ssl.SSLContext | None = None) -> Iterator[int]:
    """An HTTP (or, given a context, HTTPS) server on loopback answering 200 to any GET."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)


def tls_context(workdir: Path) -> tuple[ssl.SSLContext, str] | None:
    """A server context with a certificate for 127.0.0.1 and localhost, and the CA's file."""
    try:
        import trustme
    except ImportError:
        return None
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    ca_file = workdir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return context, str(ca_file)


# --------------------------------------------------------------------------- data stores

# The machine's shared servers (see .ci/services): PostgreSQL trusts loopback, MariaDB's root
# has no password, RabbitMQ's guest logs in over loopback.
DATA_STORES = {
    "postgres": (5432, {"user": "postgres", "database": "postgres", "query": "SELECT 1"}),
    "mysql": (3306, {"user": "root", "query": "SELECT 1"}),
    "redis": (6379, {}),
    "amqp": (5672, {}),
}
# The library each probe imports: its own import cost is part of the target.
LIBRARIES = {
    "postgres": "pg8000.native",
    "mysql": "pymysql",
    "redis": "redis.connection",
    "amqp": "amqp",
}
PLUGINS = Path("/usr/lib/nagios/plugins")
TARGET_MARGIN = 0.015  # s: a check needing a library costs at most bare + library + 15 ms


def _answering(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def data_subjects() -> tuple[list[Subject], dict[str, Subject]]:
    """The data-store checks against the shared servers, the matching C plugins, and for each
    type a ``python -c 'import LIBRARY'`` (keyed by type) for the library's own cost."""
    subjects: list[Subject] = []
    libraries: dict[str, Subject] = {}
    for check_type, (port, values) in DATA_STORES.items():
        if not _answering(port):
            print(f"skipping {check_type}: nothing answers on 127.0.0.1:{port}")
            continue
        subject = check_subject(
            f"check-mdd-{check_type}", check_type, {"host": "127.0.0.1", "port": port, **values}
        )
        if subject is None:
            continue
        subjects.append(subject)
        library = LIBRARIES[check_type]
        libraries[check_type] = Subject(
            f"python -c 'import {library}'", [str(BIN / "python"), "-c", f"import {library}"]
        )
    plugins = {
        "check_pgsql": ["-H", "127.0.0.1", "-l", "postgres", "-d", "postgres"],
        "check_mysql": ["-H", "127.0.0.1", "-u", "root"],
        "check_tcp": ["-H", "127.0.0.1", "-p", "6379", "-E", "-s", "PING\\r\\n", "-e", "+PONG"],
    }
    for name, args in plugins.items():
        if (PLUGINS / name).exists():
            subjects.append(Subject(f"{name} (C plugin)", [str(PLUGINS / name), *args]))
    return subjects, libraries


def library_targets(
    checks: list[Subject], libraries: dict[str, Subject], baseline: Subject
) -> None:
    """Each data-store check against bare python + its library's import + 15 ms."""
    base = statistics.median(baseline.cpu)
    for check_type, library in libraries.items():
        check = next((s for s in checks if s.label == f"check-mdd-{check_type}"), None)
        if check is None or not library.cpu:
            continue
        own = statistics.median(library.cpu) - base
        limit = base + own + TARGET_MARGIN
        cpu = statistics.median(check.cpu)
        verdict = "met" if cpu <= limit else "NOT met"
        print(
            f"target: check-mdd-{check_type} <= python + import {LIBRARIES[check_type]} "
            f"({own * 1000:.1f} ms) + 15 ms = {limit * 1000:.1f} ms: {cpu * 1000:.1f} ms, "
            f"{verdict}"
        )


# --------------------------------------------------------------------------- subjects


def check_subject(label: str, check_type: str, values: Mapping[str, Any]) -> Subject | None:
    """The check's command as the generator writes it, from the values its type declares."""
    if check_type not in CHECK_TYPES:
        return None
    options = {opt.name: opt for opt in CHECK_TYPES[check_type].OPTIONS}
    missing = [name for name, opt in options.items() if opt.required and name not in values]
    if missing:
        print(f"skipping {label}: no value for its required option(s) {', '.join(missing)}")
        return None
    loaded = {name: options[name].load(v) for name, v in values.items() if name in options}
    argv = check_argv(check_type, loaded, point="bench")
    argv[0] = str(BIN / argv[0])
    return Subject(label, argv)


def install_wheel(venv: Path) -> Path:
    """Build a wheel of this source tree and install it into ``venv``, as on an agent.

    The development venv holds an *editable* install, whose .pth file imports pathlib, re,
    enum, urllib.parse and more into every Python that starts there, ``python -c pass``
    included: that makes the baseline dearer and the check look cheaper than on an agent.
    """
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
    )
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source"
        shutil.copytree(REPO, source, ignore=ignore)
        print(f"building a wheel of {REPO} and installing it into {venv} ...", flush=True)
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
        _quietly([*pip, "wheel", "--no-deps", "-w", tmp, str(source)])
        wheel = next(Path(tmp).glob("mdd_sensu-*.whl"))
        if not (venv / "bin" / "python").is_file():
            _quietly([sys.executable, "-m", "venv", str(venv)])
        venv_pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
        _quietly([*venv_pip, "uninstall", "-y", "mdd"])
        _quietly([*venv_pip, "install", str(wheel)])
    return venv / "bin"


def _quietly(argv: list[str]) -> None:
    """Run a set-up command; show its output only when it fails."""
    proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        sys.exit(f"{shlex.join(argv)} failed:\n{proc.stdout}{proc.stderr}")


def summary(subject: Subject, baseline: Subject) -> str:
    median = statistics.median(subject.cpu) * 1000
    mean = statistics.fmean(subject.cpu) * 1000
    ratio = median / (statistics.median(baseline.cpu) * 1000)
    rss = statistics.median(subject.rss) / 1024
    codes = ",".join(str(c) for c in sorted(subject.codes))
    return f"{subject.label:34} {median:8.1f} {mean:8.1f} {ratio:8.2f}x {rss:9.1f} {codes:>5}"


def import_report(module: str, top: int) -> None:
    """The costliest imports of ``module`` by cumulative time (``python -X importtime``)."""
    proc = subprocess.run(
        [str(BIN / "python"), "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",  # not the source tree: its mdd/ would shadow the installed package
    )
    rows: list[tuple[int, int, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|", 2)
        rows.append((int(cumulative), int(own), name.rstrip()))
    total = sum(own for _, own, _ in rows)
    print(f"\nimports of {module}: {len(rows)} modules, {total / 1000:.1f} ms in all (one run)")
    print(f"{'cumulative ms':>14} {'own ms':>8}  module")
    for cumulative, own, name in sorted(rows, reverse=True)[:top]:
        print(f"{cumulative / 1000:14.1f} {own / 1000:8.1f}  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("-n", "--runs", type=int, default=50, help="runs of each (default: 50)")
    parser.add_argument(
        "--imports",
        action="store_true",
        help="also list the costliest imports of each check module (python -X importtime)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--venv",
        type=Path,
        help="measure the python and check-mdd-* of this virtualenv, as it is",
    )
    where.add_argument(
        "--dev",
        action="store_true",
        help="measure the virtualenv running this script (an editable install: see README)",
    )
    args = parser.parse_args(argv)
    global BIN
    if args.venv is not None:
        BIN = args.venv.resolve() / "bin"
        if not (BIN / "check-mdd-tcp").is_file():
            parser.error(f"{BIN} has no check-mdd-tcp: install mdd into {args.venv} first")
    elif not args.dev:
        BIN = install_wheel(BENCH_VENV)
    print(f"measuring the mdd installed in {BIN.parent}")

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        tcp_port = stack.enter_context(tcp_server())
        http_port = stack.enter_context(http_server())
        subjects: list[Subject | None] = [
            check_subject(
                "check-mdd-tcp (open port)",
                "tcp",
                {"host": "127.0.0.1", "port": tcp_port, "timeout": "5s"},
            ),
            check_subject(
                "check-mdd-http (http://, 200)",
                "http",
                {"url": f"http://127.0.0.1:{http_port}/health", "timeout": "5s"},
            ),
        ]
        tls = tls_context(workdir)
        if tls is None:
            print("skipping check-mdd-tls: trustme is not installed (pip install -e '.[test]')")
        else:
            context, ca_file = tls
            tls_port = stack.enter_context(http_server(context))
            subjects.append(
                check_subject(
                    "check-mdd-tls (trusted cert)",
                    "tls",
                    {
                        "host": "127.0.0.1",
                        "port": tls_port,
                        "url": f"https://127.0.0.1:{tls_port}/",
                        "ca_file": ca_file,
                        "timeout": "5s",
                    },
                )
            )
        subjects += net_subjects(stack, workdir, check_subject, Subject)
        data, libraries = data_subjects()
        baseline = Subject("python -c pass", [str(BIN / "python"), "-c", "pass"])
        checks = [s for s in subjects if s is not None] + data + list(libraries.values())

        print(f"interpreter: {BIN / 'python'} ({first_line([str(BIN / 'python'), '-VV'])[8:]})")
        for subject in checks:
            print(f"  {shlex.join([Path(subject.argv[0]).name, *subject.argv[1:]])}")
            print(f"    {first_line(subject.argv)}")

        everyone = [baseline, *checks]
        for _ in range(2):  # warm the page cache and the .pyc files; not counted
            for subject in everyone:
                first_line(subject.argv)
        launcher = Launcher(workdir)
        stack.callback(launcher.close)
        for i in range(args.runs):
            # Interleaved, and the order turns each round so no one always goes first.
            shift = i % len(everyone)
            for subject in everyone[shift:] + everyone[:shift]:
                run_once(launcher, subject)

    print(f"\n{args.runs} runs each, interleaved; CPU = user + system time of the child process")
    print(f"{'':34} {'CPU ms':>8} {'':8} {'ratio':>9} {'peak RSS':>9} {'exit':>5}")
    print(f"{'':34} {'median':>8} {'mean':>8} {'(median)':>9} {'MiB med.':>9} {'':>5}")
    for subject in everyone:
        print(summary(subject, baseline))
    unsteady = [s.label for s in checks if len(s.codes) > 1]
    if unsteady:
        print(f"\nWARNING: exit status changed between runs of: {', '.join(unsteady)}")

    tcp = next((s for s in checks if s.argv[0].endswith("check-mdd-tcp")), None)
    if tcp is not None:
        ratio = statistics.median(tcp.cpu) / statistics.median(baseline.cpu)
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(
            f"\ntarget: check-mdd-tcp <= {TARGET_RATIO:g}x the CPU of python -c pass: "
            f"{ratio:.2f}x, {verdict}"
        )

    library_targets(checks, libraries, baseline)

    if args.imports:
        for check_type in sorted(CHECK_TYPES):
            import_report(f"mdd.checks.check_{check_type}", top=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
