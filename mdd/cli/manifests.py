"""The commands that read manifests without generating checks: ``validate``, ``render``,
``diff``, ``init``, ``docs`` and ``schema``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mdd.cli._common import (
    OUTPUT_HELP,
    Exit,
    complete_datacenter,
    count,
    emit,
    fail,
    format_option,
    guard_output,
    load_or_exit,
    load_or_say,
    locate,
    manifests_option,
)


@click.command()
@click.argument(
    "datacenters",
    nargs=-1,
    required=True,
    metavar="DATACENTER...",
    shell_complete=complete_datacenter,
)
@manifests_option
def validate(datacenters: tuple[str, ...], manifests_dir: str | None) -> None:
    """Report every problem in the manifests of DATACENTER... (names or file paths).

    Problems are printed on standard error as file:line:col: message, all of them, and
    the exit status is 2. With no problem, prints one summary line per manifest and exits 0.
    """
    failed = False
    for name in datacenters:
        manifest = load_or_say(name, manifests_dir)
        if manifest is None:
            failed = True
            continue
        owners = {p.owner for p in manifest.points if p.owner}
        click.echo(
            f"{manifest.path}: datacenter {manifest.datacenter}: "
            f"{count(len(manifest.points), 'integration point')}, "
            f"{count(len(owners), 'owning team')}, ok"
        )
    sys.exit(Exit.USAGE if failed else Exit.OK)


@click.command("render")
@click.argument("datacenter", shell_complete=complete_datacenter)
@manifests_option
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml")
@click.option("-o", "--output", metavar="FILE", help=OUTPUT_HELP)
def render_command(
    datacenter: str, manifests_dir: str | None, fmt: str, output: str | None
) -> None:
    """Print DATACENTER's fully resolved manifest: bases merged, vars and for_each applied.

    Exactly what `mdd generate` turns into checks; the YAML is itself a valid manifest.
    """
    from mdd.manifest.render import render

    manifest = load_or_exit(datacenter, manifests_dir)
    guard_output(output, manifest.path, manifests_dir)
    emit(render(manifest, fmt), output)


@click.command("diff")
@click.argument("left", metavar="DATACENTER", shell_complete=complete_datacenter)
@click.argument("right", metavar="OTHER", shell_complete=complete_datacenter)
@manifests_option
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
    from mdd.manifest.diff import as_json, compare, datacenter_vars, text

    one = load_or_exit(left, manifests_dir)
    other = load_or_exit(right, manifests_dir)
    if ignore_vars:
        result = compare(one, other, datacenter_vars(one.path), datacenter_vars(other.path))
    else:
        result = compare(one, other)
    click.echo(as_json(result) if fmt == "json" else text(result), nl=False)
    sys.exit(Exit.OK if result.equal else Exit.NOT_GREEN)


@click.command("init")
@click.argument("datacenter", shell_complete=complete_datacenter)
@click.option(
    "--from",
    "source",
    required=True,
    metavar="DATACENTER",
    help="Derive from this one.",
    shell_complete=complete_datacenter,
)
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Set a var (repeatable).")
@click.option("--description", help="The new datacenter's description.")
@manifests_option
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
    from mdd.manifest import ManifestError
    from mdd.manifest.create import InitError, check_name, derive, parse_sets, write
    from mdd.manifest.locate import LocateError, is_bundled

    try:
        check_name(datacenter)
        values = parse_sets(sets)
        path = locate(source, manifests_dir)
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
        fail(f"{exc}; nothing written")
    except ManifestError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        fail(f"{count(len(exc.problems), 'problem')}; nothing written")
    click.echo(f"{target}: datacenter {datacenter}, derived from {source}")
    for name, value in derived.kept_vars.items():
        click.echo(f"  var {name} keeps the value of {source}: {value} (change it if it differs)")
    for line, value in derived.copied:
        where = f"line {line} of {source}" if line else "copied"
        click.echo(f"  copied from {source}, still names it ({where}): {value}")


@click.command("docs")
@click.argument("datacenter", shell_complete=complete_datacenter)
@manifests_option
@format_option(
    ("md", "html"), "md: Markdown for a wiki or a repository; html: one self-contained page."
)
@click.option(
    "--state",
    "state_file",
    metavar="FILE",
    help="The state file of `mdd verify` (default: .mdd/DATACENTER.json next to the "
    "manifests folder, as verify and report use, when it exists).",
)
@click.option("--no-state", is_flag=True, help="Leave the points' states out.")
@click.option("-o", "--output", metavar="FILE", help=OUTPUT_HELP)
def docs_command(
    datacenter: str,
    manifests_dir: str | None,
    fmt: str,
    state_file: str | None,
    no_state: bool,
    output: str | None,
) -> None:
    """Write DATACENTER's living document: every point, who owes it, what is checked.

    Grouped by owner, with each point's description, docs link, the check in words and
    the dependencies as a graph; with the state file `mdd verify` keeps (read by default),
    each point's state and when it turned green.
    """
    from mdd.living import StateError, document, read_state
    from mdd.manifest.locate import is_bundled
    from mdd.runner.states import default_path

    if no_state and state_file:
        fail("--state and --no-state exclude each other")
    manifest = load_or_exit(datacenter, manifests_dir)
    guard_output(output, manifest.path, manifests_dir, Path(state_file) if state_file else None)
    path = Path(state_file) if state_file else None
    if path is None and not no_state:
        default = default_path(manifest, is_bundled(manifest.path))
        path = default if default.is_file() else None
    try:
        state = read_state(path, manifest.datacenter) if path is not None else None
    except StateError as exc:
        fail(str(exc))
    emit(document(manifest, fmt, state), output)


@click.command("schema")
@click.option("-o", "--output", metavar="FILE", help=OUTPUT_HELP)
def schema_command(output: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) of a manifest, for editors.

    The same file ships as mdd/manifest.schema.json; point an editor at it with a first
    line `# yaml-language-server: $schema=PATH`.
    """
    from mdd.manifest.schema import schema_text

    guard_output(output)
    emit(schema_text(), output)
