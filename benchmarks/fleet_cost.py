"""What one interval of a whole datacenter costs an agent: per-point, batch, and C plugins.

    .venv/bin/python benchmarks/fleet_cost.py                # 7 rounds, valgrind if present
    .venv/bin/python benchmarks/fleet_cost.py --rounds 15 --no-valgrind

Installs a wheel of this tree into build/bench-venv (as on an agent: see _measure.py), then
measures two datacenters of 50 points, every target on 127.0.0.1:

* **mixed**: 30 tcp (a listening socket), 10 http (an HTTP server), 5 tls (an HTTPS server
  with a throwaway CA from trustme), 3 postgres and 2 redis (the machine's shared servers on
  5432 and 6379, see .ci/services);
* **all-tcp**: 50 tcp points on the same listening socket.

For each datacenter, one interval three ways, each command under ``/bin/sh -c`` as the
Sensu agent runs it:

* **per-point**: the 50 commands ``mdd generate`` writes, one after the other;
* **batch**: the one ``check-mdd-batch`` command of ``mdd generate --batch``, submitting its
  50 results to a client socket this process serves (and counts: the run fails unless every
  result arrived), with a fresh state file each round so every point is due;
* **C plugins**: the equivalent 50 runs of the monitoring-plugins: ``check_tcp``,
  ``check_http`` (http), ``check_http --ssl --sni -C`` (tls: the certificate's expiry, no
  request), ``check_pgsql`` and ``check_tcp`` sending ``PING`` and expecting ``+PONG``
  (redis, which has no plugin).

The three are interleaved, the order turning every round. CPU is user + system of each
shell and everything it waited for (``os.wait4`` in the launcher); an interval's CPU is the
sum over its commands; peak memory is the largest ``ru_maxrss`` of one of its processes.
With valgrind installed, each way also runs once under ``valgrind --tool=cachegrind
--trace-children=yes``: the instructions of every process of the interval, which do not
move with the machine's load (the per-point commands of one type, alike but for their
``--point``, counted once and multiplied).

Targets (issue 19): mixed batch at most 0.5x the C plugins' CPU, all-tcp batch at most 0.3x.
No traffic leaves 127.0.0.1. A measurement, never a test.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _machine import describe
from _measure import Launcher, install_wheel  # benchmarks/: shared

from tests.batch.sensu_agents import client_socket
from tests.checks.http_servers import serve, server_context
from tests.conftest import accepting

PLUGINS = Path("/usr/lib/nagios/plugins")
TARGETS = {"mixed": 0.5, "all-tcp": 0.3}  # batch CPU / the C plugins' CPU, at most
MIX = (("tcp", 30), ("http", 10), ("tls", 5), ("postgres", 3), ("redis", 2))
TIMEOUT = 20  # seconds: generous (a run under valgrind is slow), under Sensu's 30 s


@dataclass
class Way:
    """One way of running an interval: its commands, and what each round cost."""

    label: str
    commands: list[str]
    cpu: list[float] = field(default_factory=list)  # seconds, one figure per round
    rss: list[int] = field(default_factory=list)  # KiB, the largest process per round
    codes: set[int] = field(default_factory=set)
    instructions: int | None = None


def points(kinds: tuple[tuple[str, int], ...], targets: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's points: ``count`` points of each type, numbered."""
    found = []
    for check_type, count in kinds:
        for index in range(count):
            found.append(
                {
                    "name": f"{check_type}-{index:02d}",
                    "type": check_type,
                    "owner": "netops",
                    "check": {**targets[check_type], "timeout": f"{TIMEOUT}s"},
                }
            )
    return found


def plugin_commands(kinds: tuple[tuple[str, int], ...], ports: dict[str, int]) -> list[str]:
    """The C plugin runs equivalent to the points of ``kinds``."""
    host = ["-H", "127.0.0.1", "-t", str(TIMEOUT)]
    one = {
        "tcp": ["check_tcp", *host, "-p", str(ports["tcp"])],
        "http": ["check_http", *host, "-p", str(ports["http"]), "-u", "/health"],
        "tls": ["check_http", *host, "-p", str(ports["tls"]), "--ssl", "--sni", "-C", "14"],
        "postgres": ["check_pgsql", *host, "-p", "5432", "-l", "postgres", "-d", "postgres"],
        "redis": [
            "check_tcp",
            *host,
            "-p",
            "6379",
            "-E",
            "-s",
            "PING\\r\\n",
            "-e",
            "+PONG",
        ],
    }
    commands = []
    for check_type, count in kinds:
        argv = one[check_type]
        commands += [shlex.join([str(PLUGINS / argv[0]), *argv[1:]])] * count
    return commands


def generated(bin_dir: Path, folder: Path, datacenter: str, batch: bool) -> list[str]:
    """The commands of ``mdd generate`` (Sensu Classic) for ``datacenter``."""
    out = folder / f"{datacenter}{'-batch' if batch else ''}.json"
    argv = [str(bin_dir / "mdd"), "generate", datacenter, "--manifests", str(folder)]
    subprocess.run([*argv, "-o", str(out), *(["--batch"] if batch else [])], check=True)
    checks = json.loads(out.read_text())["checks"]
    return [check["command"] for check in checks.values()]


def count_instructions(commands: list[str], bin_dir: Path, workdir: Path) -> int | None:
    """Instructions of every process of ``commands`` (each under /bin/sh -c), by valgrind.

    Commands that differ only in ``--point NAME`` (the same type against the same server)
    are counted once and multiplied: under valgrind a Python run takes seconds."""
    alike: dict[str, int] = {}
    for command in commands:
        key = re.sub(r"--point \S+ ", "", command)
        alike[key] = alike.get(key, 0) + 1
    total = 0
    logs = workdir / "valgrind"
    for command, count in alike.items():
        shutil.rmtree(logs, ignore_errors=True)
        logs.mkdir()
        subprocess.run(
            [
                "valgrind",
                "--tool=cachegrind",
                "--cache-sim=no",
                "--trace-children=yes",
                "--cachegrind-out-file=/dev/null",
                f"--log-file={logs}/%p",
                "/bin/sh",
                "-c",
                command,
            ],
            env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=600,
            check=False,
        )
        counted = 0
        for log in logs.iterdir():
            if found := re.search(r"I\s+refs:\s+([\d,]+)", log.read_text()):
                counted += int(found.group(1).replace(",", ""))
        if not counted:
            return None
        total += counted * count
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="intervals of each way (7)")
    parser.add_argument("--no-valgrind", action="store_true", help="no instruction counts")
    args = parser.parse_args()
    try:
        import trustme
    except ImportError:
        sys.exit("fleet_cost.py needs trustme for the tls points: pip install -e '.[test]'")
    for port in (5432, 6379):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            sys.exit(f"nothing answers on 127.0.0.1:{port}: start the servers (bash .ci/services)")

    bin_dir = install_wheel()
    print("\n".join(describe(bin_dir)))
    valgrind = not args.no_valgrind and shutil.which("valgrind") is not None

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        tcp_port = stack.enter_context(accepting(lambda conn: None, backlog=1024))
        web = stack.enter_context(serve())
        ca = trustme.CA()
        ca_file = workdir / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        secure = stack.enter_context(serve(context=server_context(ca, "127.0.0.1")))
        ports = {"tcp": tcp_port, "http": web.port, "tls": secure.port}
        targets = {
            "tcp": {"host": "127.0.0.1", "port": tcp_port},
            "http": {"url": web.url("/health")},
            "tls": {"host": "127.0.0.1", "port": secure.port, "ca_file": str(ca_file)},
            "postgres": {
                "host": "127.0.0.1",
                "port": 5432,
                "user": "postgres",
                "database": "postgres",
                "query": "SELECT 1",
            },
            "redis": {"host": "127.0.0.1", "port": 6379},
        }
        socket_port, received = stack.enter_context(client_socket())
        folder = workdir / "manifests"
        folder.mkdir()
        fleets: dict[str, list[Way]] = {}
        for label, kinds in (("mixed", MIX), ("all-tcp", (("tcp", 50),))):
            datacenter = label.replace("-", "")
            manifest = {"datacenter": datacenter, "integration_points": points(kinds, targets)}
            (folder / f"{datacenter}.yaml").write_text(json.dumps(manifest))
            (runner,) = generated(bin_dir, folder, datacenter, batch=True)
            batch = f"{runner} --socket 127.0.0.1:{socket_port} --state {workdir}/state"
            fleets[label] = [
                Way("per-point", generated(bin_dir, folder, datacenter, batch=False)),
                Way("batch", [batch]),
                Way("C plugins", plugin_commands(kinds, ports)),
            ]

        expected = 0
        launcher = stack.enter_context(Launcher(workdir, path=bin_dir))
        for round_ in range(args.rounds):
            for ways in fleets.values():
                turned = ways[round_ % 3 :] + ways[: round_ % 3]
                for way in turned:
                    (workdir / "state").unlink(missing_ok=True)  # every point due
                    runs = [launcher.shell(command) for command in way.commands]
                    way.cpu.append(sum(run.cpu for run in runs))
                    way.rss.append(max(run.rss for run in runs))
                    way.codes.update(run.code for run in runs)
                    expected += 50 if way.label == "batch" else 0
        if len(received) != expected:
            sys.exit(f"the client socket received {len(received)} results, not {expected}")
        if valgrind:
            print("counting instructions under valgrind (one interval of each way) ...")
            for ways in fleets.values():
                for way in ways:
                    (workdir / "state").unlink(missing_ok=True)
                    way.instructions = count_instructions(way.commands, bin_dir, workdir)

    report(fleets, args.rounds, valgrind)


def report(fleets: dict[str, list[Way]], rounds: int, valgrind: bool) -> None:
    """The table: each way's CPU, peak memory and instructions, against the C plugins'."""
    print(f"\none interval of 50 points, median of {rounds} interleaved rounds")
    print("CPU: user + system of every process of the interval; peak: its largest process")
    head = f"{'datacenter':10} {'way':10} {'CPU ms':>9} {'x C':>6} {'peak MiB':>9} {'exit':>6}"
    print(head + (f" {'instr. M':>10} {'x C':>6}" if valgrind else ""))
    for label, ways in fleets.items():
        plugins = ways[2]
        for way in ways:
            cpu = statistics.median(way.cpu) * 1000
            ratio = cpu / (statistics.median(plugins.cpu) * 1000)
            peak = statistics.median(way.rss) / 1024
            codes = ",".join(map(str, sorted(way.codes)))
            line = f"{label:10} {way.label:10} {cpu:9.1f} {ratio:6.2f} {peak:9.1f} {codes:>6}"
            if valgrind:
                if way.instructions and plugins.instructions:
                    share = way.instructions / plugins.instructions
                    line += f" {way.instructions / 1e6:10.0f} {share:6.2f}"
                else:
                    line += f" {'-':>10} {'-':>6}"
            print(line)
    print()
    for label, ways in fleets.items():
        batch, plugins = ways[1], ways[2]
        ratio = statistics.median(batch.cpu) / statistics.median(plugins.cpu)
        verdict = "met" if ratio <= TARGETS[label] else "NOT met"
        print(
            f"target: {label} batch <= {TARGETS[label]}x the C plugins' CPU: {ratio:.2f}x, "
            f"{verdict}"
        )


if __name__ == "__main__":
    main()
