"""The ``mdd`` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mdd import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mdd.model import Manifest

MANIFESTS_HELP = (
    "Folder of manifests (NAME.yaml). Default: $MDD_MANIFESTS, else ./manifests; "
    "the bundled example datacenters are used when neither has NAME."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mdd")
def main() -> None:
    """Monitoring Driven Deployment: a datacenter's integration points, as Sensu checks.

    Write one manifest per datacenter listing every integration point the platform needs
    (DNS, LDAP, NTP, VIPs, repositories, databases, TLS endpoints...) and who delivers it.
    `mdd generate` turns it into Sensu check definitions that stay red until each point is
    really there.
    """


def _locate(name: str, manifests_dir: str | None) -> Path:
    """``find_manifest``, saying on stderr when the bundled example is used."""
    from mdd.locate import find_manifest, is_bundled

    path = find_manifest(name, manifests_dir)
    if is_bundled(path):
        click.echo(
            f"mdd: using the bundled example manifest {path} (no {name}.yaml in "
            f"$MDD_MANIFESTS or ./manifests)",
            err=True,
        )
    return path


def _load(name: str, manifests_dir: str | None) -> Manifest:
    """The manifest asked for as ``name``: a datacenter's name, or a file path."""
    from mdd.locate import looks_like_path
    from mdd.manifest import load

    path = _locate(name, manifests_dir)
    return load(path, None if looks_like_path(name) or Path(name).is_file() else name)


def _count(number: int, what: str) -> str:
    return f"{number} {what}" if number == 1 else f"{number} {what}s"


@main.command()
@click.argument("datacenters", nargs=-1, required=True, metavar="DATACENTER...")
@click.option("--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP)
def validate(datacenters: tuple[str, ...], manifests_dir: str | None) -> None:
    """Report every problem in the manifests of DATACENTER... (names or file paths).

    Problems are printed as file:line:col: message, all of them, and the exit status is 1.
    With no problem, prints one summary line per manifest and exits 0.
    """
    from mdd.locate import LocateError
    from mdd.manifest import ManifestError

    failed = False
    for name in datacenters:
        try:
            manifest = _load(name, manifests_dir)
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
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file (atomically: all or nothing) instead of standard output.",
)
def generate(datacenter: str, manifests_dir: str | None, output: str | None) -> None:
    """Print the Sensu Classic (1.x) check definitions for DATACENTER.

    The JSON goes into /etc/sensu/conf.d/ on the datacenter's Sensu agents (or servers).
    Every check starts red and turns green when its integration point is delivered.
    On any problem nothing is written and the exit status is 1.
    """
    from mdd.locate import LocateError
    from mdd.manifest import ManifestError
    from mdd.output import write_atomically
    from mdd.sensu_classic import GenerateError, render

    try:
        manifest = _load(datacenter, manifests_dir)
        text = render(manifest)
    except LocateError as exc:
        raise click.ClickException(str(exc)) from None
    except (ManifestError, GenerateError) as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        where = exc.problems[0].file if exc.problems else datacenter
        click.echo(
            f"mdd: {where}: {_count(len(exc.problems), 'problem')}; nothing generated", err=True
        )
        sys.exit(1)
    if output:
        try:
            write_atomically(Path(output), text)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            click.echo(f"mdd: cannot write {output}: {reason}; nothing written", err=True)
            sys.exit(1)
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
    """Show a check type's options, as the manifest's `check:` block takes them."""
    from mdd.checks.registry import CHECK_TYPES
    from mdd.docgen import check_type_text

    if check_type not in CHECK_TYPES:
        known = ", ".join(sorted(CHECK_TYPES))
        raise click.ClickException(f"unknown check type {check_type!r}; known types: {known}")
    click.echo(check_type_text(check_type), nl=False)
