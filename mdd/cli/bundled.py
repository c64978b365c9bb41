"""``mdd types`` (alias ``mdd checks``): the bundled check types; ``mdd asset build``: the
Sensu Go asset of their commands."""

from __future__ import annotations

from pathlib import Path

import click

from mdd.cli._common import complete_type, fail


@click.group("types", invoke_without_command=True)
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
@click.argument("check_type", shell_complete=complete_type)
def types_show(check_type: str) -> None:
    """Show a check type's options: what its `check:` block takes."""
    from mdd.checks.registry import CHECK_TYPES
    from mdd.reference import check_type_text

    if check_type not in CHECK_TYPES:
        import difflib

        known = ", ".join(sorted(CHECK_TYPES))
        close = difflib.get_close_matches(check_type.lower(), sorted(CHECK_TYPES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        fail(f"unknown check type {check_type!r}{hint}; known types: {known}")
    click.echo(check_type_text(check_type), nl=False)


@click.group("asset")
def asset() -> None:
    """The agent artifact of the bundled checks (Sensu Go asset; Sensu Classic too)."""


@asset.command("build")
@click.option(
    "-o",
    "--output",
    "folder",
    required=True,
    metavar="DIR",
    help="The folder to write the archive, its .sha512 and the Asset resource into.",
)
@click.option(
    "--url",
    metavar="URL",
    help="Where the agents download the archive from (http:// or https://; ending in / "
    "adds the archive's name). Without it, no Asset resource is written.",
)
@click.option("--name", default="mdd-checks", show_default=True, help="The asset's name.")
@click.option("--namespace", default="default", show_default=True, help="Its namespace.")
def asset_build(folder: str, url: str | None, name: str, namespace: str) -> None:
    """Build the agent artifact of the check-mdd-* commands: needs only python3 and tar.

    \b
    mdd asset build -o dist/ --url https://assets.example.net/mdd/
    sensuctl create -f dist/mdd-checks-asset.yaml
    mdd generate ams1 --format sensu-go --runtime-assets mdd-checks | sensuctl create

    The archive holds bin/check-mdd-* (launchers run by the agent's python3, 3.10 or later)
    and lib/ (mdd's checks and the pure-Python libraries they import, from this environment,
    resolved for every Python 3.10+ on Linux). The same sources always give the same bytes,
    so the sha512 is stable. A Sensu Classic agent unpacks it under /opt
    (`generate --command-prefix`; see docs/sensu.md).
    """
    import re

    from mdd.sensu.asset import AssetError, build

    if url is not None and not re.match(r"https?://[^/\s]+", url):
        fail(f"--url {url!r}: the agents download assets over http:// or https://")

    def progress(message: str) -> None:
        click.echo(f"mdd asset build: {message}...", err=True)

    try:
        built = build(Path(folder), url, name, namespace, progress)
    except AssetError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write into {folder}: {exc.strerror or exc}")
    size = built.archive.stat().st_size
    click.echo(f"{built.archive}: {size // 1024} KiB, {len(built.plan.commands)} checks")
    click.echo(f"{built.sha512_file}: sha512 {built.sha512}")
    libraries = ", ".join(
        f"{d.metadata['Name']} {d.version}"
        + (f" (for {built.plan.only_for[key]})" if key in built.plan.only_for else "")
        for key, d in built.plan.distributions.items()
    )
    click.echo(f"libraries: {libraries or 'none'}")
    for what, why in built.plan.left_out.items():
        click.echo(f"left out: {what}: {why}")
    if built.resource_file is not None:
        click.echo(f"{built.resource_file}: sensuctl create -f {built.resource_file}")
    else:
        click.echo("no Asset resource written: give --url, where the agents download it from")
