"""What the ``mdd`` commands share: finding and loading a manifest, failing with one line,
writing a command's output to standard output or a file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mdd.model import Manifest
    from mdd.problems import Problem

MANIFESTS_HELP = (
    "Folder of manifests (NAME.yaml). Default: $MDD_MANIFESTS (only there, when set), else "
    "./manifests; "
    "with neither, the bundled example datacenters (ams1)."
)

manifests_option = click.option(
    "--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP
)
OUTPUT_HELP = "Write to FILE (atomically) instead of standard output ('-')."


def locate(name: str, manifests_dir: str | None) -> Path:
    """``find_manifest``, saying on stderr when the bundled example is used."""
    from mdd.locate import find_manifest, is_bundled

    path = find_manifest(name, manifests_dir)
    if is_bundled(path):
        click.echo(
            f"mdd: using the bundled example manifest {path} ($MDD_MANIFESTS is not set and "
            f"there is no ./manifests folder)",
            err=True,
        )
    return path


def load(name: str, path: Path) -> Manifest:
    """The manifest in ``path``, asked for as ``name``: a datacenter's name, or the path."""
    from mdd.locate import looks_like_path
    from mdd.manifest import load

    return load(path, None if looks_like_path(name) or Path(name).is_file() else name)


def same_file(one: Path, other: Path) -> bool:
    try:
        return one.resolve().samefile(other)
    except (OSError, RuntimeError):  # ``one`` does not exist yet; RuntimeError: a symlink loop
        return False


def fail(message: str) -> NoReturn:
    click.echo(f"mdd: {message}", err=True)
    sys.exit(1)


def count(number: int, what: str) -> str:
    return f"{number} {what}" if number == 1 else f"{number} {what}s"


def report_problems(problems: list[Problem], where: str) -> NoReturn:
    for problem in problems:
        click.echo(str(problem), err=True)
    first = problems[0].file if problems else where
    click.echo(f"mdd: {first}: {count(len(problems), 'problem')}; nothing generated", err=True)
    sys.exit(1)


def load_or_exit(name: str, manifests_dir: str | None, status: int = 1) -> Manifest:
    """The validated manifest of ``name``; on any problem, print them all and exit."""
    from mdd.locate import LocateError
    from mdd.manifest import ManifestError

    try:
        return load(name, locate(name, manifests_dir))
    except LocateError as exc:
        click.echo(f"mdd: {exc}", err=True)
    except ManifestError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        where = exc.problems[0].file if exc.problems else name
        click.echo(f"mdd: {where}: {count(len(exc.problems), 'problem')}", err=True)
    sys.exit(status)


def emit(text: str, output: str | None) -> None:
    from mdd.output import write_atomically

    if output == "":
        fail("-o needs a file name (or - for standard output)")
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    try:
        write_atomically(Path(output), text)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}; nothing written")
