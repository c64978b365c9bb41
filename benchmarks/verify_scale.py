"""How ``mdd verify`` grows with the number of integration points.

    .venv/bin/python benchmarks/verify_scale.py              # tcp 1..1000, silent 1..200
    .venv/bin/python benchmarks/verify_scale.py --repeat 5

Two cases, each a manifest of N tcp points, all on 127.0.0.1:

* **loopback**: every point connects to one listener that accepts and closes (an accept
  loop in this process: its CPU is not counted);
* **silent**: every point connects to a port whose listen backlog is full, so the kernel
  drops the SYN and the connection neither succeeds nor is refused until the check's
  ``timeout: 2s`` (what a firewall that drops packets looks like; ``hanging`` of
  tests/conftest.py). A serial loop would take N x 2 s.

Each run is ``mdd verify DC --manifests DIR --no-state --no-color`` as a child process
(forked by _measure.py's launcher); wall time is measured around it and CPU (user + system
of the child and its threads) from ``os.wait4``. The median of ``--repeat`` runs is shown.
The fixed start-up cost is the 1-point run; "CPU per point" is (CPU(N) - CPU(1)) / (N - 1):
everything that grows with N, manifest parsing included.

Targets (issue 6): at most 1 ms of CPU per tcp point beyond the fixed start-up, 1,000
loopback points in under 10 s of wall time on a 2-core machine, 200 silent points in about
one timeout. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from _measure import Launcher  # benchmarks/: the launcher every benchmark shares

from tests.conftest import accepting, hanging  # the tests' listeners, on 127.0.0.1

BIN = Path(sys.executable).parent


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


def run_once(
    launcher: Launcher, path: Path, jobs: int | None, command: str = "verify"
) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and exit status of one ``mdd verify`` (or ``mdd validate``:
    reading the manifest alone) run."""
    argv = [str(BIN / "mdd"), command, str(path)]
    if command == "verify":
        argv += ["--no-state", "--no-color"]
    if jobs is not None and command == "verify":
        argv += ["--jobs", str(jobs)]
    run = launcher.run(argv)
    return run.wall, run.cpu, run.code


def measure(
    launcher: Launcher,
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
            runs.append(run_once(launcher, path, jobs))
            checks.append(run_once(launcher, path, jobs, "validate"))
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
    with tempfile.TemporaryDirectory() as tmp, Launcher() as launcher:
        folder = Path(tmp)
        with accepting(lambda conn: None, backlog=4096) as port:
            measure(
                launcher,
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
                launcher,
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
