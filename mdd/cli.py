"""The ``mdd`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from mdd import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mdd.model import Manifest

MANIFESTS_HELP = (
    "Folder of manifests (NAME.yaml). Default: $MDD_MANIFESTS, else ./manifests; "
    "with neither, the bundled example datacenters (ams1)."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    mdd render ams1                   the resolved manifest (bases, vars, for_each)
    mdd diff ams1 fra1                how two datacenters differ
    mdd init fra1 --from ams1 --set domain=fra1.example.net
    mdd docs ams1 -o ams1.md          the living document, grouped by owner
    mdd types show http               the options of a check type

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
    except OSError:  # ``one`` does not exist yet
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
def types(ctx: click.Context) -> None:
    """List the bundled check types (`mdd types show TYPE`: one type's options).

    `mdd checks` is the same command, under its old name.
    """
    if ctx.invoked_subcommand is None:
        from mdd.checks.registry import CHECK_TYPES, command_name

        for name, module in sorted(CHECK_TYPES.items()):
            click.echo(f"{name:8} {command_name(name):18} {module.SUMMARY}")


@types.command("show")
@click.argument("check_type")
def types_show(check_type: str) -> None:
    """Show a check type's options: what its `check:` block takes."""
    from mdd.checks.registry import CHECK_TYPES
    from mdd.docgen import check_type_text

    if check_type not in CHECK_TYPES:
        known = ", ".join(sorted(CHECK_TYPES))
        raise click.ClickException(f"unknown check type {check_type!r}; known types: {known}")
    click.echo(check_type_text(check_type), nl=False)


main.add_command(types, "checks")  # the old name


# --------------------------------------------------------------------------- many datacenters


def _load_or_exit(name: str, manifests_dir: str | None, status: int = 1) -> Manifest:
    """The validated manifest of ``name``; on any problem, print them all and exit."""
    from mdd.locate import LocateError
    from mdd.manifest import ManifestError

    try:
        return _load(name, _locate(name, manifests_dir))
    except LocateError as exc:
        click.echo(f"mdd: {exc}", err=True)
    except ManifestError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        where = exc.problems[0].file if exc.problems else name
        click.echo(f"mdd: {where}: {_count(len(exc.problems), 'problem')}", err=True)
    sys.exit(status)


def _emit(text: str, output: str | None) -> None:
    from mdd.output import write_atomically

    if output == "":
        _fail("-o needs a file name (or - for standard output)")
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    try:
        write_atomically(Path(output), text)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}; nothing written")


OUTPUT_HELP = "Write to FILE (atomically) instead of standard output ('-')."


@main.command("render")
@click.argument("datacenter")
@click.option("--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP)
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml")
@click.option("-o", "--output", metavar="FILE", help=OUTPUT_HELP)
def render_command(
    datacenter: str, manifests_dir: str | None, fmt: str, output: str | None
) -> None:
    """Print DATACENTER's fully resolved manifest: bases merged, vars and for_each applied.

    Exactly what `mdd generate` turns into checks; the YAML is itself a valid manifest.
    """
    from mdd.render import render

    _emit(render(_load_or_exit(datacenter, manifests_dir), fmt), output)


@main.command("diff")
@click.argument("left", metavar="DATACENTER")
@click.argument("right", metavar="OTHER")
@click.option("--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--ignore-vars",
    is_flag=True,
    help="Hide differences that each side's own vars explain (ldap.{{ domain }} on both).",
)
def diff_command(
    left: str, right: str, manifests_dir: str | None, fmt: str, ignore_vars: bool
) -> None:
    """Show how two datacenters' resolved manifests differ.

    Points one has and the other lacks, and every option that differs (vars resolved;
    with --ignore-vars, only what the vars do not explain).
    Exit status: 0 when they are the same, 1 when they differ, 2 on a manifest problem.
    """
    from mdd.diff import as_json, compare, datacenter_vars, text

    one = _load_or_exit(left, manifests_dir, 2)
    other = _load_or_exit(right, manifests_dir, 2)
    if ignore_vars:
        result = compare(one, other, datacenter_vars(one.path), datacenter_vars(other.path))
    else:
        result = compare(one, other)
    click.echo(as_json(result) if fmt == "json" else text(result), nl=False)
    sys.exit(0 if result.equal else 1)


@main.command("init")
@click.argument("datacenter")
@click.option("--from", "source", required=True, metavar="DATACENTER", help="Derive from this one.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Set a var (repeatable).")
@click.option("--description", help="The new datacenter's description.")
@click.option("--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP)
@click.option("-o", "--output", metavar="FILE", help="Where to write (default: beside --from).")
def init_command(
    datacenter: str,
    source: str,
    sets: tuple[str, ...],
    description: str | None,
    manifests_dir: str | None,
    output: str | None,
) -> None:
    """Write a new manifest for DATACENTER, derived from an existing one.

    It extends the same bases, with its own vars (--set domain=fra1.example.net) and a copy
    of the source's own points. Validated first, written atomically, never over a file.

    \b
    mdd init fra1 --from ams1 --set domain=fra1.example.net
    """
    from mdd.init import InitError, check_name, derive, parse_sets, write
    from mdd.locate import LocateError, is_bundled
    from mdd.manifest import ManifestError

    try:
        check_name(datacenter)
        values = parse_sets(sets)
        path = _locate(source, manifests_dir)
        if output:
            target = Path(output)
        elif manifests_dir:
            target = Path(manifests_dir) / f"{datacenter}.yaml"
        elif is_bundled(path):
            raise InitError(
                f"{source} is a bundled example: say where the new manifest goes, with "
                f"-o FILE or --manifests DIR"
            )
        else:
            target = path.parent / f"{datacenter}{path.suffix}"
        derived = derive(path, datacenter, target, values, description)
        write(derived, datacenter)
    except (InitError, LocateError) as exc:
        _fail(f"{exc}; nothing written")
    except ManifestError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        _fail(f"{_count(len(exc.problems), 'problem')}; nothing written")
    click.echo(f"{target}: datacenter {datacenter}, derived from {source}")
    for name, value in derived.kept_vars.items():
        click.echo(f"  var {name} keeps the value of {source}: {value} (change it if it differs)")


@main.command("docs")
@click.argument("datacenter")
@click.option("--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP)
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md")
@click.option("--state", "state_file", metavar="FILE", help="A state file of `mdd verify`.")
@click.option("-o", "--output", metavar="FILE", help=OUTPUT_HELP)
def docs_command(
    datacenter: str,
    manifests_dir: str | None,
    fmt: str,
    state_file: str | None,
    output: str | None,
) -> None:
    """Write DATACENTER's living document: every point, who owes it, what is checked.

    Grouped by owner, with each point's description, docs link, the check in words and
    the dependencies as a graph; with --state, each point's state and when it turned green.
    """
    from mdd.docs import StateError, document, read_state

    manifest = _load_or_exit(datacenter, manifests_dir)
    try:
        state = read_state(Path(state_file)) if state_file else None
    except StateError as exc:
        _fail(str(exc))
    _emit(document(manifest, fmt, state), output)


@main.command("schema")
@click.option("-o", "--output", metavar="FILE", help=OUTPUT_HELP)
def schema_command(output: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) of a manifest, for editors.

    The same file ships as mdd/manifest.schema.json; point an editor at it with a first
    line `# yaml-language-server: $schema=PATH`.
    """
    from mdd.schema import schema_text

    _emit(schema_text(), output)
