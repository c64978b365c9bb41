"""How ``mdd verify`` grows with the number of integration points.

    .venv/bin/python benchmarks/verify_scale.py              # tcp 1..5000, silent 1..200
    .venv/bin/python benchmarks/verify_scale.py --baseline d07c0fb --repeat 5

Installs a wheel of this tree into build/bench-venv, as on an agent (never the editable
development venv), and with ``--baseline REV`` a wheel of the repository at git revision
REV into build/bench-venv-baseline, measured in the same run, interleaved.

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

Targets: at most 0.25 ms of CPU per tcp point at 5,000 points (issue 19; Prometheus's
blackbox_exporter spends about 0.46 ms per TCP probe), 1,000 loopback points in under 10 s
of wall time on a 2-core machine, 200 silent points in about one timeout (issue 6).
A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from _machine import describe, installs
from _measure import Launcher  # benchmarks/: what they all share

from tests.conftest import accepting, hanging  # the tests' listeners, on 127.0.0.1

TARGET_MS = 0.25  # CPU per tcp point at 5,000 points


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
    launcher: Launcher, bin_dir: Path, path: Path, jobs: int | None, command: str = "verify"
) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and exit status of one ``mdd verify`` (or ``mdd validate``:
    reading the manifest alone) run."""
    argv = [str(bin_dir / "mdd"), command, str(path)]
    if command == "verify":
        argv += ["--no-state", "--no-color"]
    if jobs is not None and command == "verify":
        argv += ["--jobs", str(jobs)]
    run = launcher.run(argv)
    return run.wall, run.cpu, run.code


def measure(
    launcher: Launcher,
    versions: dict[str, Path],
    label: str,
    counts: list[int],
    port: int,
    timeout: str,
    repeat: int,
    jobs: int | None,
    folder: Path,
) -> dict[str, float]:
    """Prints the table; returns each version's CPU ms per point at the largest count."""
    print(f"\n{label} (timeout {timeout}, jobs {jobs or 'default'}, median of {repeat})")
    print(
        f"{'mdd':>10} {'points':>7} {'wall s':>8} {'CPU s':>8} {'CPU ms/point':>13} {'exit':>5}"
        f" {'validate CPU s':>15} {'ms/point':>9} {'verify-validate ms/point':>25}"
    )
    base: dict[str, tuple[float, float]] = {}
    last: dict[str, float] = {}
    for count in counts:
        path = manifest(folder, count, port, timeout)
        runs: dict[str, list[tuple[float, float, int]]] = {v: [] for v in versions}
        checks: dict[str, list[tuple[float, float, int]]] = {v: [] for v in versions}
        order = list(versions)
        for round_ in range(repeat):  # interleaved: a busy moment hits all alike
            shift = round_ % len(order)
            for version in order[shift:] + order[:shift]:
                runs[version].append(run_once(launcher, versions[version], path, jobs))
                checks[version].append(
                    run_once(launcher, versions[version], path, jobs, "validate")
                )
        for version in versions:
            wall = statistics.median(r[0] for r in runs[version])
            cpu = statistics.median(r[1] for r in runs[version])
            read = statistics.median(r[1] for r in checks[version])
            codes = ",".join(map(str, sorted({r[2] for r in runs[version]})))
            if version not in base:
                base[version] = (cpu, read)
                per = per_read = per_run = "(start-up)"
            else:
                first, first_read = base[version]
                last[version] = (cpu - first) / (count - 1) * 1000
                per = f"{last[version]:.3f}"
                per_read = f"{(read - first_read) / (count - 1) * 1000:.3f}"
                per_run = f"{((cpu - first) - (read - first_read)) / (count - 1) * 1000:.3f}"
            print(
                f"{version:>10} {count:>7} {wall:>8.2f} {cpu:>8.3f} {per:>13} {codes:>5}"
                f" {read:>15.3f} {per_read:>9} {per_run:>25}"
            )
    return last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None, help="--jobs for mdd verify")
    parser.add_argument("--tcp", default="1,100,1000,5000", help="point counts, loopback case")
    parser.add_argument("--silent", default="1,50,200", help="point counts, silent case")
    parser.add_argument("--baseline", metavar="REV", help="also measure mdd at git revision REV")
    args = parser.parse_args()
    versions = installs(args.baseline)
    print("\n".join(describe(versions["this tree"])))
    with tempfile.TemporaryDirectory() as tmp, Launcher(cwd=Path(tmp)) as launcher:
        folder = Path(tmp)
        counts = [int(n) for n in args.tcp.split(",")]
        with accepting(lambda conn: None, backlog=4096) as port:
            per_point = measure(
                launcher,
                versions,
                "loopback listener",
                counts,
                port,
                "2s",
                args.repeat,
                args.jobs,
                folder,
            )
        if args.silent:
            with hanging() as port:
                measure(
                    launcher,
                    versions,
                    "silent targets",
                    [int(n) for n in args.silent.split(",")],
                    port,
                    "2s",
                    args.repeat,
                    args.jobs,
                    folder,
                )
    if "this tree" in per_point:
        figure = per_point["this tree"]
        verdict = "met" if figure <= TARGET_MS else "NOT met"
        print(
            f"\ntarget: <= {TARGET_MS} ms of CPU per tcp point at {counts[-1]:,} points: "
            f"{figure:.3f} ms, {verdict}"
        )


if __name__ == "__main__":
    main()
