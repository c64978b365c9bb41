"""How ``mdd verify`` grows with the number of integration points.

    .venv/bin/python benchmarks/verify_scale.py              # tcp 1..1000, silent 1..200
    .venv/bin/python benchmarks/verify_scale.py --repeat 5

Two cases, each a manifest of N tcp points, all on 127.0.0.1:

* **loopback**: every point connects to one listener that accepts and closes (an accept
  loop in this process: its CPU is not counted);
* **silent**: every point connects to a port whose listen backlog is full, so the kernel
  drops the SYN and the connection neither succeeds nor is refused until the check's
  ``timeout: 2s`` (what a firewall that drops packets looks like). A serial loop would take
  N x 2 s.

Each run is ``mdd verify DC --manifests DIR --no-state --no-color`` as a child process;
wall time is measured around it and CPU (user + system of the child and its threads) from
``os.wait4``. The median of ``--repeat`` runs is shown. The fixed start-up cost is the
1-point run; "CPU per point" is (CPU(N) - CPU(1)) / (N - 1): everything that grows with N,
manifest parsing included.

Targets (issue 6): at most 1 ms of CPU per tcp point beyond the fixed start-up, 1,000
loopback points in under 10 s of wall time on a 2-core machine, 200 silent points in about
one timeout. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

BIN = Path(sys.executable).parent


@contextlib.contextmanager
def accepting() -> Iterator[int]:
    """A listener on 127.0.0.1 that accepts every connection and closes it."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(4096)
    server.settimeout(0.2)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        server.close()


@contextlib.contextmanager
def hanging() -> Iterator[int]:
    """A port on 127.0.0.1 whose connection attempts hang: its backlog is full (as
    tests/conftest.py ``hanging``)."""
    server = socket.socket()
    fillers = []
    try:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        for _ in range(8):
            client = socket.socket()
            client.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                client.connect(("127.0.0.1", port))
            fillers.append(client)
        time.sleep(0.1)
        yield port
    finally:
        for client in fillers:
            client.close()
        server.close()


def manifest(folder: Path, count: int, port: int, timeout: str) -> Path:
    points = [
        {
            "name": f"p{index:05d}",
            "type": "tcp",
            "owner": f"team{index % 7}",
            "check": {"host": "127.0.0.1", "port": port, "timeout": timeout},
        }
        for index in range(count)
    ]
    path = folder / f"bench{count}.yaml"
    path.write_text(json.dumps({"datacenter": f"bench{count}", "integration_points": points}))
    return path


def run_once(path: Path, jobs: int | None, command: str = "verify") -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and exit status of one ``mdd verify`` (or ``mdd validate``:
    reading the manifest alone) run."""
    argv = [str(BIN / "mdd"), command, str(path)]
    if command == "verify":
        argv += ["--no-state", "--no-color"]
    if jobs is not None and command == "verify":
        argv += ["--jobs", str(jobs)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def measure(
    label: str,
    counts: list[int],
    port: int,
    timeout: str,
    repeat: int,
    jobs: int | None,
    folder: Path,
) -> None:
    print(f"\n{label} (timeout {timeout}, jobs {jobs or 'default'}, median of {repeat})")
    print(
        f"{'points':>7} {'wall s':>8} {'CPU s':>8} {'CPU ms/point':>13} {'exit':>5}"
        f" {'validate CPU s':>15} {'ms/point':>9} {'verify-validate ms/point':>25}"
    )
    base: tuple[float, float] | None = None
    for count in counts:
        path = manifest(folder, count, port, timeout)
        runs, checks = [], []
        for _ in range(repeat):  # interleaved: a busy moment hits both alike
            runs.append(run_once(path, jobs))
            checks.append(run_once(path, jobs, "validate"))
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        read = statistics.median(r[1] for r in checks)
        codes = ",".join(map(str, sorted({r[2] for r in runs})))
        if base is None:
            base = (cpu, read)
            per = per_read = per_run = "(start-up)"
        else:
            per = f"{(cpu - base[0]) / (count - 1) * 1000:.3f}"
            per_read = f"{(read - base[1]) / (count - 1) * 1000:.3f}"
            per_run = f"{((cpu - base[0]) - (read - base[1])) / (count - 1) * 1000:.3f}"
        print(
            f"{count:>7} {wall:>8.2f} {cpu:>8.3f} {per:>13} {codes:>5} {read:>15.3f}"
            f" {per_read:>9} {per_run:>25}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None, help="--jobs for mdd verify")
    parser.add_argument("--tcp", default="1,10,100,1000", help="point counts, loopback case")
    parser.add_argument("--silent", default="1,50,200", help="point counts, silent case")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with accepting() as port:
            measure(
                "loopback listener",
                [int(n) for n in args.tcp.split(",")],
                port,
                "2s",
                args.repeat,
                args.jobs,
                folder,
            )
        with hanging() as port:
            measure(
                "silent targets",
                [int(n) for n in args.silent.split(",")],
                port,
                "2s",
                args.repeat,
                args.jobs,
                folder,
            )


if __name__ == "__main__":
    main()
