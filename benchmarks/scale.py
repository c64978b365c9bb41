"""How `mdd validate` and `mdd generate` scale with the number of integration points.

    .venv/bin/python benchmarks/scale.py                      # 100, 1,000 and 10,000 points
    .venv/bin/python benchmarks/scale.py --baseline d07c0fb   # beside mdd at that revision
    .venv/bin/python benchmarks/scale.py --points 100 1000 --runs 5

Installs a wheel of this tree into build/bench-venv, as on an agent or a CI runner (never
the editable development venv, whose .pth file makes every Python there start dearer), and
with ``--baseline REV`` a wheel of the repository at git revision REV into
build/bench-venv-baseline: "today's" mdd, measured in the same run.

Writes one synthetic manifest per size into a temporary folder (a mix of tcp, http and tls
points with vars, owners, descriptions and depends_on chains), then runs each command as a
fresh process, as a user or a CI job would, ``--runs`` times per size, the subject's and the
baseline's runs interleaved (the order turning every round). For every run it takes the
wall time and the CPU time (user + system) and peak RSS of that child alone (``os.wait4``,
forked by a small launcher so the benchmark's own memory is not counted). It prints medians
and the cost per point, so a line that stays flat as the size grows shows linear scaling,
and with a baseline the ratio of the medians (this tree / baseline).

It also times ``mdd --help`` beside a bare ``python -c pass`` with the same interpreter (the
installed venv's), interleaved: the fixed cost every mdd command pays before it does anything.

No check is run and no network traffic is sent. This is a measurement, never a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from _machine import describe, installs
from _measure import Launcher, Run  # benchmarks/: what they all share


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


def interleave(
    launcher: Launcher, subjects: dict[str, list[str]], runs: int
) -> dict[str, list[Run]]:
    """``runs`` runs of each argv, one of each per round, the order turning every round."""
    found: dict[str, list[Run]] = {label: [] for label in subjects}
    labels = list(subjects)
    for round_ in range(runs):
        shift = round_ % len(labels)
        for label in labels[shift:] + labels[:shift]:
            found[label].append(launcher.run(subjects[label]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--runs", type=int, default=3, help="runs per size (default 3)")
    parser.add_argument("--baseline", metavar="REV", help="also measure mdd at git revision REV")
    args = parser.parse_args()

    versions = installs(args.baseline)
    print("\n".join(describe(versions["this tree"])))
    with tempfile.TemporaryDirectory() as tmp, Launcher(cwd=Path(tmp)) as launcher:
        folder = Path(tmp)
        print("\nstart-up (median of 20 interleaved runs, CPU ms):")
        start = {"python -c pass": [str(versions["this tree"] / "python"), "-c", "pass"]}
        start.update({f"mdd --help ({v})": [str(b / "mdd"), "--help"] for v, b in versions.items()})
        found = interleave(launcher, start, 20)
        bare = statistics.median(run.cpu for run in found["python -c pass"]) * 1000
        for label, runs in found.items():
            cpu = statistics.median(run.cpu for run in runs) * 1000
            print(f"  {label:28} {cpu:7.1f} ms  ({cpu / bare:.1f}x)")
        print()
        ratio_head = f" {'x baseline':>11}" if args.baseline else ""
        print(
            f"{'command':10} {'mdd':>10} {'points':>7} {'wall s':>8} {'cpu s':>8} "
            f"{'ms/point':>9} {'peak MiB':>9}{ratio_head}"
        )
        for points in args.points:
            path = folder / f"bench-{points}.yaml"
            path.write_text(manifest_text(points), encoding="utf-8")
            for command in ("validate", "generate"):
                subjects = {}
                for version, bin_dir in versions.items():
                    argv = [str(bin_dir / "mdd"), command, str(path)]
                    if command == "generate":
                        argv += ["-o", str(folder / f"bench-{points}.json")]
                    subjects[version] = argv
                found = interleave(launcher, subjects, args.runs)
                for version, runs in found.items():
                    if any(run.code != 0 for run in runs):
                        sys.exit(f"{command} {points} ({version}): exit {[r.code for r in runs]}")
                cpus = {v: statistics.median(run.cpu for run in runs) for v, runs in found.items()}
                for version, runs in found.items():
                    wall = statistics.median(run.wall for run in runs)
                    rss = statistics.median(run.rss for run in runs) / 1024
                    cpu = cpus[version]
                    ratio = ""
                    if args.baseline:
                        ratio = f" {cpu / cpus[args.baseline]:10.2f}x"
                    print(
                        f"{command:10} {version:>10} {points:7d} {wall:8.2f} {cpu:8.2f} "
                        f"{cpu * 1000 / points:9.3f} {rss:9.1f}{ratio}"
                    )


if __name__ == "__main__":
    main()
