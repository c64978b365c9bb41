"""The ``mdd`` command line."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from mdd import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mdd.model import Manifest

MANIFESTS_HELP = (
    "Folder of manifests (NAME.yaml). Default: $MDD_MANIFESTS, else ./manifests; "
    "with neither, the bundled example datacenters (ams1)."
)


# errno values of a write to standard output that cannot succeed: a full disk (> /dev/full),
# a closed pipe (| head), a quota, a revoked terminal.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EPIPE, errno.EDQUOT, errno.EFBIG, errno.EIO})


class _Main(click.Group):
    """The command group: a failed write to standard output, SIGTERM or SIGHUP end any
    command with one line on standard error and exit status 1, never a traceback (files
    are written by ``write_atomically``, which leaves the previous file as it was)."""

    def invoke(self, ctx: click.Context) -> Any:
        previous = {}
        for signum in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError):  # not the main thread: leave them be
                previous[signum] = signal.signal(signum, _interrupted)
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()
            return result
        except OSError as exc:
            if exc.errno not in _OUTPUT_ERRNOS or exc.filename is not None:
                raise
            _output_failed(exc)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _interrupted(signum: int, frame: object) -> NoReturn:
    # SystemExit unwinds like an exception: a file being written is removed, the old one kept.
    click.echo(f"mdd: interrupted by {signal.Signals(signum).name}", err=True)
    sys.exit(1)


def _output_failed(exc: OSError) -> NoReturn:
    with contextlib.suppress(OSError):  # the interpreter's last flush would fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    _fail(f"cannot write to standard output: {exc.strerror or exc}")


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mdd")
def main() -> None:
    """Monitoring Driven Deployment: a datacenter's integration points, as Sensu checks.

    Write one manifest per datacenter listing every integration point the platform needs
    (DNS, LDAP, NTP, VIPs, repositories, databases, TLS endpoints...) and who delivers it.
    `mdd generate` turns it into Sensu check definitions that stay red until each point is
    really there.

    \b
    mdd validate ams1                 check manifests/ams1.yaml; every problem at once
    mdd generate ams1 -o checks.json  its Sensu Classic check definitions
    mdd checks show http              the options of a check type

    DATACENTER is a name, for NAME.yaml in --manifests DIR, else $MDD_MANIFESTS, else
    ./manifests; or the path of a manifest file.
    """


def _locate(name: str, manifests_dir: str | None) -> Path:
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


def _load(name: str, path: Path) -> Manifest:
    """The manifest in ``path``, asked for as ``name``: a datacenter's name, or the path."""
    from mdd.locate import looks_like_path
    from mdd.manifest import load

    return load(path, None if looks_like_path(name) or Path(name).is_file() else name)


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.resolve().samefile(other)
    except (OSError, RuntimeError):  # ``one`` does not exist yet; RuntimeError: a symlink loop
        return False


def _fail(message: str) -> NoReturn:
    click.echo(f"mdd: {message}", err=True)
    sys.exit(1)


def _count(number: int, what: str) -> str:
    return f"{number} {what}" if number == 1 else f"{number} {what}s"


@main.command()
@click.argument("datacenters", nargs=-1, required=True, metavar="DATACENTER...")
@click.option("--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP)
def validate(datacenters: tuple[str, ...], manifests_dir: str | None) -> None:
    """Report every problem in the manifests of DATACENTER... (names or file paths).

    Problems are printed on standard error as file:line:col: message, all of them, and
    the exit status is 1. With no problem, prints one summary line per manifest and exits 0.
    """
    from mdd.locate import LocateError
    from mdd.manifest import ManifestError

    failed = False
    for name in datacenters:
        try:
            manifest = _load(name, _locate(name, manifests_dir))
        except LocateError as exc:
            click.echo(f"mdd: {exc}", err=True)
            failed = True
            continue
        except ManifestError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            where = exc.problems[0].file if exc.problems else name
            click.echo(f"mdd: {where}: {_count(len(exc.problems), 'problem')}", err=True)
            failed = True
            continue
        owners = {p.owner for p in manifest.points if p.owner}
        click.echo(
            f"{manifest.path}: datacenter {manifest.datacenter}: "
            f"{_count(len(manifest.points), 'integration point')}, "
            f"{_count(len(owners), 'owning team')}, ok"
        )
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("datacenter")
@click.option("--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write to FILE (atomically: all or nothing) instead of standard output ('-').",
)
def generate(datacenter: str, manifests_dir: str | None, output: str | None) -> None:
    """Print the Sensu Classic (1.x) check definitions for DATACENTER.

    The JSON goes into /etc/sensu/conf.d/ on the datacenter's Sensu agents (or servers).
    Every check starts red and turns green when its integration point is delivered.
    The manifest is validated first (as `mdd validate` does): on any problem nothing is
    written and the exit status is 1. The same manifest always gives the same bytes.

    \b
    mdd generate ams1 -o /etc/sensu/conf.d/mdd-ams1.json
    """
    from mdd.locate import LocateError
    from mdd.manifest import ManifestError
    from mdd.output import write_atomically
    from mdd.sensu.classic import GenerateError, render

    if output == "":
        _fail("-o needs a file name (or - for standard output)")
    try:
        path = _locate(datacenter, manifests_dir)
        if output not in (None, "-") and _same_file(Path(output), path):
            _fail(
                f"-o {output} is the manifest {path} itself: write the checks to another "
                f"file; nothing written"
            )
        manifest = _load(datacenter, path)
        text = render(manifest)
    except LocateError as exc:
        _fail(str(exc))
    except (ManifestError, GenerateError) as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        where = exc.problems[0].file if exc.problems else datacenter
        click.echo(
            f"mdd: {where}: {_count(len(exc.problems), 'problem')}; nothing generated", err=True
        )
        sys.exit(1)
    if output is not None and output != "-":
        try:
            write_atomically(Path(output), text)
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror or exc}; nothing written")
    else:
        click.echo(text, nl=False)


@main.group(invoke_without_command=True)
@click.pass_context
def checks(ctx: click.Context) -> None:
    """List the bundled check types (see `mdd checks show TYPE`)."""
    if ctx.invoked_subcommand is None:
        from mdd.checks.registry import CHECK_TYPES, command_name

        for name, module in sorted(CHECK_TYPES.items()):
            click.echo(f"{name:8} {command_name(name):18} {module.SUMMARY}")


@checks.command("show")
@click.argument("check_type")
def checks_show(check_type: str) -> None:
    """Show a check type's options: what its `check:` block takes."""
    from mdd.checks.registry import CHECK_TYPES
    from mdd.docgen import check_type_text

    if check_type not in CHECK_TYPES:
        known = ", ".join(sorted(CHECK_TYPES))
        raise click.ClickException(f"unknown check type {check_type!r}; known types: {known}")
    click.echo(check_type_text(check_type), nl=False)
