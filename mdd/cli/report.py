"""``mdd report``: a datacenter's progress as one self-contained HTML page."""

from __future__ import annotations

from typing import Any

import click

from mdd.cli._common import (
    NO_FILE_NAME,
    STATE_WITH_ALL,
    all_option,
    datacenters_argument,
    emit,
    fleet_manifests,
    format_option,
    guard_output,
    load_manifest,
    manifests_option,
    one_datacenter,
    state_for,
    state_option,
    stop,
    time_zone,
    tz_option,
)


@click.command()
@datacenters_argument
@manifests_option
@all_option
@tz_option
@state_option
@format_option(
    ("html", "json"), "html: the page; json: the fleet document with lead times and critical path."
)
@click.option(
    "-o", "--output", metavar="FILE", required=True, help="The file to write (- for stdout)."
)
def report(
    datacenters: tuple[str, ...],
    manifests_dir: str | None,
    all_: bool,
    tz: str | None,
    state_file: str | None,
    fmt: str,
    output: str,
) -> None:
    """Write DATACENTER's progress as one self-contained HTML page.

    From the state file that `mdd verify` (or `mdd status --state`) keeps: the board grouped
    by owner, each point's reason, docs link and dependencies, and a burn-up chart of points
    green over time. No external assets: it works offline and as a CI artifact.

    It also shows the lead times (from each point's first run to its first green; per team
    the median and the longest) and the critical path: the chain of depends_on that gated
    the bring-up, and whose links it was. With --all: one card per datacenter, the owners
    across datacenters, then each datacenter's lead times.

    \b
    mdd verify ams1; mdd report ams1 -o ams1.html
    mdd report --all -o fleet.html        every datacenter of the manifests folder
    mdd report ams1 --format json -o -    lead times and critical path as JSON
    """
    from mdd.runner.report import render_report

    datacenter = one_datacenter(datacenters, all_)
    zone = time_zone(tz)
    if output == "":
        stop(NO_FILE_NAME)
    if datacenter is None or fmt == "json":
        if datacenter is None and state_file:
            stop(STATE_WITH_ALL)
        _fleet_report(
            datacenters if datacenter is None else (datacenter,),
            manifests_dir,
            state_file,
            fmt,
            output,
            zone,
        )
        return
    manifest, bundled = load_manifest(datacenter, manifests_dir)
    state = state_for(manifest, bundled, state_file, False)
    guard_output(output, manifest.path, manifests_dir, state.path)
    if state.path is not None and not state.path.exists():
        click.echo(
            f"mdd: no state file {state.path} yet: every point is shown as not checked "
            f"(run `mdd verify {datacenter}` first)",
            err=True,
        )
    emit(render_report(manifest, state, zone), output)
    if output != "-":
        click.echo(f"{output}: report of {manifest.datacenter} written", err=True)


def _fleet_report(
    names: tuple[str, ...],
    manifests_dir: str | None,
    state_file: str | None,
    fmt: str,
    output: str,
    zone: Any,
) -> None:
    from mdd.runner.clock import now
    from mdd.runner.fleet import DatacenterRow, Fleet, render_json
    from mdd.runner.fleet_report import render_fleet

    rows = []
    for manifest, bundled in fleet_manifests(names, manifests_dir, output):
        state = state_for(manifest, bundled, state_file, False)
        guard_output(output, manifest.path, manifests_dir, state.path)  # --state FILE too
        if state.path is not None and not state.path.exists():
            click.echo(
                f"mdd: no state file {state.path} yet: {manifest.datacenter}'s points are "
                f"shown as not checked",
                err=True,
            )
        rows.append(DatacenterRow(manifest, state, [state.view(p) for p in manifest.points], now()))
    fleet = Fleet(rows, "report", now())
    text = render_fleet(fleet, zone) if fmt == "html" else render_json(fleet, zone)
    emit(text, output)
    if output == "-":
        return
    what = ", ".join(row.name for row in rows)
    click.echo(f"{output}: report of {what} written", err=True)
