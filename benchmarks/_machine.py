"""What a benchmark's figures were measured on, and mdd as it was at another revision.

* ``describe(bin_dir)``: the lines every benchmark prints first (and docs/performance.md
  quotes): the date, the machine, its load (``os.getloadavg``) when the run started, the
  interpreter and the versions of the libraries installed beside mdd in ``bin_dir``'s venv.
* ``install_revision(rev, venv)``: a wheel of the repository at git revision ``rev`` (a
  baseline: "today's" mdd), installed into its own venv like the tree measured.

A measurement, never a test.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import tarfile
import tempfile
from pathlib import Path

from _measure import REPO, install_wheel

# The libraries an agent's checks and mdd itself use (the checks' protocol libraries).
LIBRARIES = (
    "PyYAML",
    "click",
    "Jinja2",
    "pg8000",
    "redis",
    "PyMySQL",
    "amqp",
    "dnspython",
    "ldap3",
)


def describe(bin_dir: Path) -> list[str]:
    """Date, machine, load, interpreter and library versions, one fact a line."""
    load = ", ".join(f"{figure:.2f}" for figure in os.getloadavg())
    script = "\n".join(
        [
            "import importlib.metadata as m, sys, yaml",
            "found = []",
            f"for name in {LIBRARIES!r}:",
            "    try: found.append(f'{name} {m.version(name)}')",
            "    except m.PackageNotFoundError: pass",
            "libyaml = 'absent'",
            "if yaml.__with_libyaml__:",
            "    from yaml._yaml import get_version_string",
            "    libyaml = get_version_string()",
            "print(sys.version.split()[0], ', '.join(found), 'libyaml ' + libyaml, sep=' | ')",
        ]
    )
    proc = subprocess.run(
        [str(bin_dir / "python"), "-c", script], capture_output=True, text=True, cwd="/"
    )
    python, libraries, libyaml = (proc.stdout.strip().split(" | ") + ["?", "?", "?"])[:3]
    plugins = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "monitoring-plugins-basic"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return [
        f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}; "
        f"load average (1, 5, 15 min) at the start: {load}",
        f"python {python} ({bin_dir.parent}); {libraries}; {libyaml}",
        f"monitoring-plugins {plugins or 'not installed'}",
    ]


def install_revision(rev: str, venv: Path) -> Path:
    """mdd at git revision ``rev`` of this repository, as a wheel installed into ``venv``;
    that venv's ``bin`` folder."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "tree.tar"
        subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(archive), rev], check=True)
        tree = Path(tmp) / "tree"
        with tarfile.open(archive) as tar:
            tar.extractall(tree, filter="data")
        return install_wheel(venv, tree)


def installs(baseline: str | None) -> dict[str, Path]:
    """The mdd versions a benchmark compares: ``this tree`` (a wheel of the working tree),
    and, with ``baseline``, mdd at that git revision; each name to its venv's ``bin``."""
    versions = {"this tree": install_wheel()}
    if baseline:
        versions[baseline] = install_revision(baseline, REPO / "build" / "bench-venv-baseline")
    return versions
