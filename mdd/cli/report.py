"""``mdd report``: a datacenter's progress as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from mdd.cli._common import (
    MANIFESTS_HELP,
    complete_datacenter,
    load_manifest,
    state_for,
    stop,
)


@click.command()
@click.argument("datacenter", shell_complete=complete_datacenter)
@click.option("--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP)
@click.option(
    "--state",
    "state_file",
    metavar="FILE",
    help="State file (default: .mdd/DATACENTER.json next to the manifests folder).",
)
@click.option("-o", "--output", metavar="FILE", required=True, help="The HTML file to write.")
def report(datacenter: str, manifests_dir: str | None, state_file: str | None, output: str) -> None:
    """Write DATACENTER's progress as one self-contained HTML page.

    From the state file that `mdd verify` (or `mdd status --state`) keeps: the board grouped
    by owner, each point's reason, docs link and dependencies, and a burn-up chart of points
    green over time. No external assets: it works offline and as a CI artifact.

    \b
    mdd verify ams1; mdd report ams1 -o ams1.html
    """
    from mdd.core.output import write_atomically
    from mdd.runner.report import render_report

    manifest, bundled = load_manifest(datacenter, manifests_dir)
    state = state_for(manifest, bundled, state_file, False)
    if state.path is not None and not state.path.exists():
        click.echo(
            f"mdd: no state file {state.path} yet: every point is shown as not checked "
            f"(run `mdd verify {datacenter}` first)",
            err=True,
        )
    text = render_report(manifest, state)
    try:
        write_atomically(Path(output), text)
    except OSError as exc:
        stop(f"cannot write {output}: {exc.strerror or exc}; nothing written")
    click.echo(f"{output}: report of {manifest.datacenter} written", err=True)
