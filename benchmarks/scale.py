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
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent

_LAUNCHER = r"""
import os, sys, time
null = os.open(os.devnull, os.O_RDWR)
for line in sys.stdin:
    argv = line.rstrip("\n").split("\0")
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(null, 0); os.dup2(null, 1); os.dup2(null, 2)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    code = os.waitstatus_to_exitcode(status)
    print(f"{wall} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss} {code}", flush=True)
"""


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


def measure(launcher: subprocess.Popen[str], argv: list[str]) -> tuple[float, float, int, int]:
    assert launcher.stdin is not None and launcher.stdout is not None
    launcher.stdin.write("\0".join(argv) + "\n")
    launcher.stdin.flush()
    wall, cpu, rss, code = launcher.stdout.readline().split()
    return float(wall), float(cpu), int(rss), int(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--runs", type=int, default=3, help="runs per size (default 3)")
    args = parser.parse_args()

    mdd = str(BIN / "mdd")
    launcher = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("start-up (median of 20 runs, CPU ms):")
        base = [measure(launcher, [sys.executable, "-c", "pass"])[1] for _ in range(20)]
        helps = [measure(launcher, [mdd, "--help"])[1] for _ in range(20)]
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
                runs = [measure(launcher, argv) for _ in range(args.runs)]
                if any(code != 0 for *_, code in runs):
                    sys.exit(f"{label} {points}: exit status {[c for *_, c in runs]}")
                wall = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                rss = statistics.median(r[2] for r in runs) / 1024
                print(
                    f"{label:10} {points:7d} {wall:8.2f} {cpu:8.2f} "
                    f"{cpu * 1000 / points:9.3f} {rss:9.1f}"
                )
    assert launcher.stdin is not None
    launcher.stdin.close()
    launcher.wait()


if __name__ == "__main__":
    main()
