"""``mdd status``: a datacenter's progress as a live Sensu sees it."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from mdd.cli._common import (
    API_FAILED,
    NOT_GREEN,
    Common,
    asked_datacenter,
    choice_option,
    common_options,
    datacenter_selection,
    duration_option,
    emit,
    fleet_selection,
    stop,
    time_zone,
    use_color,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mdd.core.model import IntegrationPoint, Manifest
    from mdd.runner.states import PointView


@click.command()
@common_options
@click.option("--sensu-api", "api_url", required=True, metavar="URL", help="The Sensu API.")
@choice_option(
    "--api",
    "flavor",
    choices=("classic", "go"),
    help="Sensu Classic (1.x) API, or Sensu Go backend API.",
)
@click.option("--user", metavar="USER", help="Classic: basic-auth user.")
@click.option("--password-file", metavar="PATH", help="Classic: read the password from PATH.")
@click.option("--password-env", metavar="NAME", help="Classic: the password is in $NAME.")
@click.option("--api-key-file", metavar="PATH", help="Go: read the API key from PATH.")
@click.option("--api-key-env", metavar="NAME", help="Go: the API key is in $NAME.")
@click.option("--namespace", default="default", show_default=True, help="Go: the namespace.")
@duration_option("--request-timeout", "Give up on an API request after this long.", default="10s")
@click.option("--ca-file", metavar="PATH", help="CA certificates to trust for an https API.")
@duration_option(
    "--stable",
    "Done done: exit 0 only when Sensu's history shows every point green this long.",
)
def status(
    common: Common,
    api_url: str,
    flavor: str,
    namespace: str,
    request_timeout: float,
    ca_file: str | None,
    stable: float | None,
    user: str | None,
    password_file: str | None,
    password_env: str | None,
    api_key_file: str | None,
    api_key_env: str | None,
) -> None:
    """Show DATACENTER's progress as a live Sensu sees it, without running checks.

    Reads the results of the generated checks (mdd_DATACENTER_POINT) from Sensu Classic's
    API (/results, /aggregates/mdd_DATACENTER) or Sensu Go's (/api/core/v2/namespaces/NS/
    events) and shows the same board and formats as `mdd verify`. Pending and regressed
    come from the state file when one is named with --state (it is then updated), else from
    the check history Sensu keeps. Secrets never go on the command line: the password or
    API key is read from a file or an environment variable.

    \b
    mdd status ams1 --sensu-api http://sensu:4567 --user admin --password-file ~/.sensu-pw
    mdd status ams1 --api go --sensu-api https://sensu:8080 --api-key-env SENSU_API_KEY
    mdd status --all --sensu-api http://sensu:4567     the fleet board from one Classic API
    mdd status --all --api go --namespace 'mdd-{datacenter}' --sensu-api https://sensu:8080
    mdd status ams1 --stable 10m --sensu-api ...       done done, from Sensu's history

    With --all, --namespace may hold {datacenter}: each datacenter's own Sensu Go namespace.

    Exit status: 0 all green, 1 some point is not, 2 a usage, manifest or state-file
    problem, 3 the Sensu API could not be read.
    """
    from mdd.runner import status as sensu_status

    datacenter = asked_datacenter(common)
    zone = time_zone(common.tz)
    try:
        auth = sensu_status.credentials(
            flavor, user, password_file, password_env, api_key_file, api_key_env
        )
        api = sensu_status.SensuApi(api_url, flavor, auth, namespace, request_timeout, ca_file)
    except sensu_status.StatusUsageError as exc:
        stop(str(exc))
    if datacenter is None:
        _status_fleet(api, common, zone, stable)
    _status_one(api, datacenter, common, zone, stable)


def _status_one(
    api: Any, datacenter: str, common: Common, zone: Any, stable: float | None
) -> NoReturn:
    """``status DATACENTER``: one datacenter's board, its document, and the exit status."""
    from mdd.runner import status as sensu_status
    from mdd.runner.board import LiveBoard
    from mdd.runner.formats import RENDERERS
    from mdd.runner.states import GREEN

    output = common.output
    manifest, points, state = datacenter_selection(datacenter, common, default=False)
    if "{datacenter}" in api.namespace:
        api.namespace = api.namespace.replace("{datacenter}", manifest.datacenter)
    views, found = _read(api, manifest, points, state)
    board = LiveBoard(
        manifest.datacenter,
        sys.stderr if common.document_on_stdout else sys.stdout,
        live=False,
        color=use_color(common.no_color) and not common.document_on_stdout,
    )
    board.final(views)
    for line in sensu_status.summary_lines(manifest, found, api):
        click.echo(line, err=True)
    if common.writes_document:
        emit(RENDERERS[common.fmt](manifest.datacenter, views, "status"), output)
    soak_ok = True
    if stable is not None:
        from mdd.runner.clock import now
        from mdd.runner.stable import from_sensu

        soak = from_sensu(views, found, stable, now())
        click.echo(soak.line(zone), err=common.document_on_stdout)
        soak_ok = soak.ok
    sys.exit(0 if all(v.state == GREEN for v in views) and soak_ok else NOT_GREEN)


def _read(
    api: Any, manifest: Manifest, points: list[IntegrationPoint], state: Any, where: str = ""
) -> tuple[list[PointView], Any]:
    """The points' views from what the API holds (and the results), the state file saved;
    exit 3 (its message after ``where``) when the API cannot be read."""
    from mdd.runner import status as sensu_status
    from mdd.runner.states import StateFileError

    try:
        found = api.results(manifest)
    except sensu_status.ApiError as exc:
        stop(f"{where}{exc}", API_FAILED)
    views = sensu_status.views(manifest, points, found, state, api.now)
    try:
        state.save()
    except StateFileError as exc:
        stop(str(exc))
    return views, found


def _status_fleet(api: Any, common: Common, zone: Any, stable: float | None) -> NoReturn:
    """``status --all``: every datacenter from the same API (Classic: one API holds them all;
    Go: the namespace, or each datacenter's when --namespace holds {datacenter})."""
    from mdd.runner.clock import now
    from mdd.runner.fleet import RENDERERS, DatacenterRow, Fleet
    from mdd.runner.fleet_verify import ascii_only
    from mdd.runner.stable import from_sensu
    from mdd.runner.states import GREEN

    selected = fleet_selection(common)
    template = api.namespace
    rows = []
    soaks = []
    for chosen in selected:
        manifest, points = chosen.manifest, chosen.points
        api.namespace = template.replace("{datacenter}", manifest.datacenter)
        state = chosen.state(common.no_state, default=False)
        views, found = _read(api, manifest, points, state, f"{manifest.datacenter}: ")
        rows.append(DatacenterRow(manifest, state, views, now()))
        if stable is not None:
            soaks.append((manifest.datacenter, from_sensu(views, found, stable, now())))
    fleet = Fleet(rows, "status", now())
    output = common.output
    stream = sys.stderr if common.document_on_stdout else sys.stdout
    ascii = ascii_only(stream)
    stream.write(RENDERERS["text"](fleet, zone, ascii))
    for name, soak in soaks:
        stream.write(f"{name}: {soak.line(zone)}\n")
    stream.flush()
    if common.writes_document:
        emit(RENDERERS[common.fmt](fleet, zone, ascii), output)
    green = all(v.state == GREEN for row in rows for v in row.views)
    sys.exit(0 if green and all(soak.ok for _, soak in soaks) else NOT_GREEN)
