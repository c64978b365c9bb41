"""``mdd todo``: what each team still owes, across datacenters, for people or a ticketing
system."""

from __future__ import annotations

import click

from mdd.cli._common import (
    emit,
    fleet_manifests,
    format_option,
    manifests_option,
    state_for,
    stop,
    time_zone,
    tz_option,
)


@click.command()
@click.argument("datacenters", nargs=-1, metavar="[DATACENTER]...")
@manifests_option
@click.option(
    "--owner",
    "owners",
    multiple=True,
    metavar="TEAM",
    help="Only this team's points (repeatable). Default: every team's, grouped.",
)
@format_option(
    ("markdown", "csv", "json"),
    "markdown: a checklist per team; csv: one row per point, for a ticketing import.",
)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (atomically).")
@tz_option
def todo(
    datacenters: tuple[str, ...],
    manifests_dir: str | None,
    owners: tuple[str, ...],
    fmt: str,
    output: str | None,
    tz: str | None,
) -> None:
    """List every point a team still owes, across datacenters (all of the manifests folder,
    or the DATACENTERs named).

    Each point that is not green, from the state files `mdd verify` keeps: its state and
    reason, how long it has been waiting, what it blocks (the points that depend on it) and
    its docs link. The CSV has one row per point with a stable key (mdd-DC-POINT): import it
    into a ticketing system matching on that key, and a re-import updates the tickets
    instead of duplicating them.

    \b
    mdd todo --owner dba                      the dba team's list, as Markdown
    mdd todo --format csv -o owed.csv         every team's, for a ticketing import
    mdd todo ams1 fra1 --owner netops --format json
    """
    import difflib

    from mdd.runner.clock import now
    from mdd.runner.fleet import DatacenterRow
    from mdd.runner.todo import items, render_csv, render_json, render_markdown

    zone = time_zone(tz)
    rows = []
    for manifest, bundled in fleet_manifests(datacenters, manifests_dir, output):
        state = state_for(manifest, bundled, None, False)
        rows.append(DatacenterRow(manifest, state, [state.view(p) for p in manifest.points], now()))
    known = sorted({p.owner for row in rows for p in row.manifest.points if p.owner})
    for owner in owners:
        if owner not in known:
            close = difflib.get_close_matches(owner, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            stop(f"no datacenter has an owner {owner!r}{hint}; known: {', '.join(known)}")
    found = items(rows, owners)
    if fmt == "csv":
        text = render_csv(found, zone)
    elif fmt == "json":
        text = render_json(found, zone, now())
    else:
        text = render_markdown(found, zone)
    emit(text, output)
