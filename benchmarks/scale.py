"""How `mdd validate` and `mdd generate` scale with the number of integration points.

    .venv/bin/python benchmarks/scale.py                 # 100, 1,000 and 10,000 points
    .venv/bin/python benchmarks/scale.py --points 100 1000 --runs 5

Writes one synthetic manifest per size into a temporary folder (a mix of tcp, http and tls
points with vars, owners, descriptions and depends_on chains), then runs each command as a
fresh process, as a user or a CI job would, ``--runs`` times per size. For every run it takes
the wall time and the CPU time (user + system) and peak RSS of that child alone (``os.wait4``,
forked by a small launcher so the benchmark's own memory is not counted). It prints medians
and the cost per point, so a line that stays flat as the size grows shows linear scaling.

It also times ``mdd --help`` beside a bare ``python -c pass`` with the same interpreter: the
fixed cost every mdd command pays before it does anything.

No check is run and no network traffic is sent. This is a measurement, never a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from _measure import Launcher  # benchmarks/: the launcher every benchmark shares

BIN = Path(sys.executable).parent


def manifest_text(points: int) -> str:
    """A valid manifest of ``points`` integration points; every host is a documentation name."""
    lines = [
        "datacenter: bench1",
        f"description: synthetic datacenter of {points} points",
        "vars:",
        "  domain: bench1.example.net",
        "sensu:",
        "  interval: 1m",
        "  timeout: 30s",
        "  handlers: [default]",
        "integration_points:",
    ]
    for index in range(points):
        kind = index % 3
        lines.append(f"  - name: point-{index:05d}")
        lines.append(f"    owner: team-{index % 17}")
        lines.append(f"    description: synthetic integration point number {index}")
        if index % 10 and index > 0:
            lines.append(f"    depends_on: [point-{index - 1:05d}]")
        if kind == 0:
            lines.append("    type: tcp")
            lines.append(
                f'    check: {{host: "h{index}.{{{{ domain }}}}", port: {1 + index % 65535}}}'
            )
        elif kind == 1:
            lines.append("    type: http")
            lines.append("    check:")
            lines.append(f"      url: https://h{index}.{{{{ domain }}}}/health")
            lines.append("      contains: OK")
            lines.append("      warn: 500ms")
        else:
            lines.append("    type: tls")
            lines.append(f'    check: {{host: "h{index}.{{{{ domain }}}}", warn_days: 21}}')
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--runs", type=int, default=3, help="runs per size (default 3)")
    args = parser.parse_args()

    mdd = str(BIN / "mdd")
    with tempfile.TemporaryDirectory() as tmp, Launcher() as launcher:
        folder = Path(tmp)
        print("start-up (median of 20 runs, CPU ms):")
        base = [launcher.run([sys.executable, "-c", "pass"]).cpu for _ in range(20)]
        helps = [launcher.run([mdd, "--help"]).cpu for _ in range(20)]
        b, h = statistics.median(base) * 1000, statistics.median(helps) * 1000
        print(f"  python -c pass  {b:7.1f} ms")
        print(f"  mdd --help      {h:7.1f} ms  ({h / b:.1f}x)")
        print()
        print(
            f"{'command':10} {'points':>7} {'wall s':>8} {'cpu s':>8} "
            f"{'ms/point':>9} {'peak MiB':>9}"
        )
        for points in args.points:
            path = folder / f"bench-{points}.yaml"
            path.write_text(manifest_text(points), encoding="utf-8")
            out = folder / f"bench-{points}.json"
            for label, argv in (
                ("validate", [mdd, "validate", str(path)]),
                ("generate", [mdd, "generate", str(path), "-o", str(out)]),
            ):
                runs = [launcher.run(argv) for _ in range(args.runs)]
                if any(run.code != 0 for run in runs):
                    sys.exit(f"{label} {points}: exit status {[run.code for run in runs]}")
                wall = statistics.median(run.wall for run in runs)
                cpu = statistics.median(run.cpu for run in runs)
                rss = statistics.median(run.rss for run in runs) / 1024
                print(
                    f"{label:10} {points:7d} {wall:8.2f} {cpu:8.2f} "
                    f"{cpu * 1000 / points:9.3f} {rss:9.1f}"
                )


if __name__ == "__main__":
    main()
