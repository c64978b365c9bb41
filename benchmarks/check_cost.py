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

The checks run against the tests' own servers on 127.0.0.1: a listening socket (tcp), an
HTTP server (http) and an HTTPS server with a throwaway CA from trustme (tls; skipped when
trustme is not installed). The first output line of each check is shown;
a check whose exit status changes between runs is flagged.

Each run is also counted once under valgrind (callgrind), in instructions, which do not move
with the machine's load (``--no-instructions`` skips that).

Target (issue 19): one run of every check type costs at most 4x ``python -c pass``, by CPU
and by instructions.
This is a measurement, not a test: timings never go into the test suite.
"""

from __future__ import annotations

import argparse
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from _measure import (  # benchmarks/: the launcher and the loop every benchmark shares
    Launcher,
    Subject,
    check_subject,
    count_instructions,
    first_line,
    install_wheel,
    interleaved,
    print_table,
)
from net_subjects import net_subjects  # benchmarks/: the dns, ntp, ssh, udp, icmp, command runs

from mdd.checks.registry import CHECK_TYPES, libraries
from tests.checks.http_servers import serve, server_context
from tests.conftest import accepting

# The venv whose interpreter and console scripts are measured (see main).
BIN = Path(sys.executable).parent
TARGET_RATIO = 4.0  # issue 19: every check type, by CPU and by instructions


# --------------------------------------------------------------------------- data stores

# The machine's shared servers (see .ci/services): PostgreSQL trusts loopback, MariaDB's root
# has no password, RabbitMQ's guest logs in over loopback.
DATA_STORES = {
    "postgres": (5432, {"user": "postgres", "database": "postgres", "query": "SELECT 1"}),
    "mysql": (3306, {"user": "root", "query": "SELECT 1"}),
    "redis": (6379, {}),
    "amqp": (5672, {}),
}
# The library each probe imports (its type's LIBRARIES), and its own import cost measured
# beside the check: none today (every type speaks its protocol with mdd's own code).
LIBRARIES = {t: ", ".join(libraries(t)) for t in CHECK_TYPES if libraries(t)}
PLUGINS = Path("/usr/lib/nagios/plugins")


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
    library_subjects: dict[str, Subject] = {}
    for check_type, (port, values) in DATA_STORES.items():
        if not _answering(port):
            print(f"skipping {check_type}: nothing answers on 127.0.0.1:{port}")
            continue
        subject = check_subject(
            f"check-mdd-{check_type}",
            check_type,
            {"host": "127.0.0.1", "port": port, **values},
            BIN,
        )
        if subject is None:
            continue
        subjects.append(subject)
        library = LIBRARIES.get(check_type)
        if library is None:
            continue
        library_subjects[check_type] = Subject(
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
    return subjects, library_subjects


def targets(checks: list[Subject], baseline: Subject) -> None:
    """Each check type's run against 4x bare python, by CPU and by instructions."""
    base = statistics.median(baseline.cpu)
    for check in checks:
        name = Path(check.argv[0]).name
        if not name.startswith("check-mdd-") or not check.cpu:
            continue
        ratio = statistics.median(check.cpu) / base
        verdict = ratio <= TARGET_RATIO
        text = f"CPU {ratio:.2f}x"
        if check.instructions and baseline.instructions:
            share = check.instructions / baseline.instructions
            verdict = verdict and share <= TARGET_RATIO
            text += f", instructions {share:.2f}x"
        print(
            f"target: {check.label} <= {TARGET_RATIO:g}x python -c pass: {text}, "
            f"{'met' if verdict else 'NOT met'}"
        )


# The least any Python check pays: the console-script wrapper's re, socket, signal (the
# timeout alarm). And the least a Python TLS client pays: that, ssl, one verified handshake.
FLOOR_CHECK = "import re, signal, socket"
FLOOR_TLS = (  # one line: the launcher reads one command a line
    "import re, signal, socket, ssl, sys; "
    "c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); c.load_verify_locations(sys.argv[1]); "
    "s = c.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[2]))), "
    "server_hostname=b'127.0.0.1'); s.getpeercert(); s.close()"
)


def floor_subjects(tls: tuple[Path, int] | None) -> list[Subject]:
    python = str(BIN / "python")
    floors = [Subject("floor: re, signal, socket", [python, "-c", FLOOR_CHECK])]
    floors.append(Subject("floor: ... and ssl", [python, "-c", f"{FLOOR_CHECK}, ssl"]))
    if tls is not None:
        ca_file, port = tls
        floors.append(
            Subject(
                "floor: ... and a TLS handshake",
                [python, "-c", FLOOR_TLS, str(ca_file), str(port)],
            )
        )
    return floors


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
        own_us, cumulative_us, module_name = line.removeprefix("import time:").split("|", 2)
        rows.append((int(cumulative_us), int(own_us), module_name.rstrip()))
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
    parser.add_argument(
        "--no-instructions",
        action="store_true",
        help="do not count instructions under valgrind (one run of each, about a minute)",
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
        BIN = install_wheel()
    print(f"measuring the mdd installed in {BIN.parent}")

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        tcp_port = stack.enter_context(accepting(lambda conn: None))
        web = stack.enter_context(serve())
        subjects: list[Subject | None] = [
            check_subject(
                "check-mdd-tcp (open port)",
                "tcp",
                {"host": "127.0.0.1", "port": tcp_port, "timeout": "5s"},
                BIN,
            ),
            check_subject(
                "check-mdd-http (http://, 200)",
                "http",
                {"url": web.url("/health"), "timeout": "5s"},
                BIN,
            ),
        ]
        tls_target: tuple[Path, int] | None = None
        try:
            import trustme
        except ImportError:
            print("skipping check-mdd-tls: trustme is not installed (pip install -e '.[test]')")
        else:
            ca = trustme.CA()
            ca_file = workdir / "ca.pem"
            ca.cert_pem.write_to_path(str(ca_file))
            secure = stack.enter_context(serve(context=server_context(ca, "127.0.0.1")))
            tls_target = (ca_file, secure.port)
            subjects.append(
                check_subject(
                    "check-mdd-tls (trusted cert)",
                    "tls",
                    {
                        "host": "127.0.0.1",
                        "port": secure.port,
                        "ca_file": str(ca_file),
                        "timeout": "5s",
                    },
                    BIN,
                )
            )
        subjects += net_subjects(stack, workdir, BIN)
        data, library_subjects = data_subjects()
        floors = floor_subjects(tls_target)
        baseline = Subject("python -c pass", [str(BIN / "python"), "-c", "pass"])
        checks = (
            [s for s in subjects if s is not None] + data + list(library_subjects.values()) + floors
        )

        print(f"interpreter: {BIN / 'python'} ({first_line([str(BIN / 'python'), '-VV'])[8:]})")
        for subject in checks:
            print(f"  {shlex.join([Path(subject.argv[0]).name, *subject.argv[1:]])}")
            print(f"    {first_line(subject.argv)}")

        everyone = [baseline, *checks]
        launcher = stack.enter_context(Launcher(workdir))
        interleaved(launcher, everyone, args.runs)
        if not args.no_instructions:
            count_instructions(everyone)

    print_table(everyone, baseline, args.runs)

    print()
    targets(checks, baseline)

    if args.imports:
        for check_type in sorted(CHECK_TYPES):
            import_report(f"mdd.checks.check_{check_type}", top=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
