"""``mdd verify``: run a datacenter's checks from this machine and show the board."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from mdd.cli._common import (
    DEFAULT_JOBS,
    Common,
    asked_datacenter,
    cannot_write,
    common_options,
    datacenter_selection,
    dumb_terminal,
    duration_option,
    fleet_selection,
    stop,
    time_zone,
    use_color,
)


@click.command()
@common_options
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 1024),
    default=DEFAULT_JOBS,
    show_default=True,
    help="Probes running at the same time.",
)
@click.option("--watch", is_flag=True, help="Re-run until every point is green (or --timeout).")
@duration_option("--interval", "With --watch: time between rounds.", default="30s")
@duration_option("--timeout", "With --watch: give up after this long (e.g. 2h). Default: no limit.")
@click.option(
    "--probe-blocked",
    is_flag=True,
    help="Also probe points whose dependencies are not green (they stay blocked unless OK).",
)
@duration_option(
    "--stable",
    "Done done: exit 0 only when every point has stayed green this long (e.g. 10m); "
    "with --watch, a countdown, restarted by a flap.",
)
def verify(
    common: Common,
    jobs: int,
    watch: bool,
    interval: float,
    timeout: float | None,
    probe_blocked: bool,
    stable: float | None,
) -> None:
    """Run DATACENTER's checks from this machine and show how far it is from done.

    Every integration point's check runs here, in one process, concurrently (the same probe
    code the Sensu checks run). The board lists each point's state (regressed, unknown: the
    check could not decide, pending, blocked, green), owner and reason, then a summary. A
    point whose depends_on is not green is blocked and not probed. The state file remembers
    what was green before.

    \b
    mdd verify ams1                      once; exit 0 only when all green
    mdd verify ams1 --watch --timeout 2h re-run every 30s until all green
    mdd verify ams1 --owner identity --format junit -o verify.xml
    mdd verify ams1 --watch --stable 10m done done: green for 10 minutes on end
    mdd verify --all                     the fleet board: every datacenter, then by owner

    Exit status: 0 all green (and stable, with --stable), 1 some point is not, 2 a usage,
    manifest or state-file problem.
    """
    from mdd.runner.verify import Settings

    if timeout is not None and not watch:
        stop("--timeout is for --watch (each check has its own timeout in the manifest)")
    source = click.get_current_context().get_parameter_source("interval")
    if not watch and source is not click.core.ParameterSource.DEFAULT:
        stop(
            "--interval is for --watch (the time between rounds; each check's own interval "
            "is in the manifest)"
        )
    datacenter = asked_datacenter(common)
    settings = Settings(
        jobs=jobs,
        watch=watch,
        interval=interval,
        timeout=timeout,
        probe_blocked=probe_blocked,
        fmt=common.fmt,
        output=common.output,
        color=use_color(common.no_color),
        live=False if common.no_color or dumb_terminal() else None,
        stable=stable,
        tz=time_zone(common.tz),
    )
    if datacenter is None:
        _verify_fleet(common, settings)
    _verify_one(datacenter, common, settings)


def _verify_one(datacenter: str, common: Common, settings: Any) -> NoReturn:
    """``verify DATACENTER``: run its checks, exit with the result."""
    from mdd.runner.states import StateFileError
    from mdd.runner.verify import verify as run_verify

    output = common.output
    manifest, points, state = datacenter_selection(datacenter, common)
    try:
        code = run_verify(manifest, points, state, settings)
    except StateFileError as exc:
        stop(str(exc))
    except OSError as exc:
        if output is None or output == "-":
            raise  # standard output: mdd's command group says so in one line
        cannot_write(output, exc)
    sys.exit(code)


def _verify_fleet(common: Common, settings: Any) -> NoReturn:
    from mdd.runner.fleet_verify import Member, verify_fleet
    from mdd.runner.states import StateFileError

    members = [
        Member(chosen.manifest, chosen.points, chosen.state(common.no_state))
        for chosen in fleet_selection(common)
    ]
    try:
        code = verify_fleet(members, settings, settings.tz)
    except StateFileError as exc:
        stop(str(exc))
    except OSError as exc:
        if settings.output is None or settings.output == "-":
            raise
        cannot_write(settings.output, exc)
    sys.exit(code)
