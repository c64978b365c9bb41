"""The click commands ``verify``, ``report`` and ``status`` (``mdd.cli`` adds them).

Exit statuses: 0 every selected point is green; 1 some point is not; 2 a usage, manifest or
state-file problem (nothing was run, nothing written); ``status`` only: 3 the Sensu API
could not be read.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

MANIFESTS_HELP = (
    "Folder of manifests (NAME.yaml). Default: $MDD_MANIFESTS, else ./manifests; "
    "with neither, the bundled example datacenters (ams1)."
)
USAGE, NOT_GREEN, API_FAILED = 2, 1, 3
DEFAULT_JOBS = 256  # mdd.runner.runner.DEFAULT_JOBS, without importing the runner for --help

F = TypeVar("F", bound=Callable[..., Any])

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mdd.model import IntegrationPoint, Manifest
    from mdd.runner.states import StateFile


class Duration(click.ParamType):  # type: ignore[type-arg]  # generic in click 8.2+ only
    """A duration as the manifest writes one: 30s, 2h, 1m30s, 500ms."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            return value
        from mdd.checks.api import duration

        try:
            return duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _stop(message: str, code: int = USAGE) -> NoReturn:
    click.echo(f"mdd: {message}", err=True)
    sys.exit(code)


def common_options(function: F) -> F:
    """The options ``verify`` and ``status`` share: selection, state file, output."""
    decorators = [
        click.argument("datacenter"),
        click.option(
            "--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP
        ),
        click.option("--only", multiple=True, metavar="NAME", help="Only this point (repeatable)."),
        click.option(
            "--owner", "owners", multiple=True, metavar="TEAM", help="Only this team's points."
        ),
        click.option(
            "--type", "types", multiple=True, metavar="TYPE", help="Only this check type."
        ),
        click.option(
            "--state",
            "state_file",
            metavar="FILE",
            help="State file (default: .mdd/DATACENTER.json next to the manifests folder).",
        ),
        click.option("--no-state", is_flag=True, help="Read and write no state file."),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["text", "json", "junit", "tap"]),
            default="text",
            show_default=True,
            help="Output format.",
        ),
        click.option(
            "-o", "--output", metavar="FILE", help="Write the result to FILE (atomically)."
        ),
        click.option("--no-color", is_flag=True, help="No colours, no live board: plain lines."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def load_manifest(datacenter: str, manifests_dir: str | None) -> tuple[Manifest, bool]:
    """The manifest and whether it is the bundled example; exit 2 on any problem."""
    from mdd.locate import LocateError, find_manifest, is_bundled, looks_like_path
    from mdd.manifest import ManifestError, load

    try:
        path = find_manifest(datacenter, manifests_dir)
        asked = None if looks_like_path(datacenter) or Path(datacenter).is_file() else datacenter
        manifest = load(path, asked)
    except LocateError as exc:
        _stop(str(exc))
    except ManifestError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        where = exc.problems[0].file if exc.problems else datacenter
        count = len(exc.problems)
        _stop(f"{where}: {count} problem{'' if count == 1 else 's'}; nothing run")
    bundled = is_bundled(path)
    if bundled:
        click.echo(f"mdd: using the bundled example manifest {path}", err=True)
    return manifest, bundled


def selection(
    manifest: Manifest, only: tuple[str, ...], owners: tuple[str, ...], types: tuple[str, ...]
) -> list[IntegrationPoint]:
    """The points the filters select; exit 2 for a name, team or type the manifest lacks."""
    import difflib

    from mdd.runner.runner import select

    for values, known, what in (
        (only, [p.name for p in manifest.points], "integration point"),
        (owners, sorted({p.owner for p in manifest.points if p.owner}), "owner"),
        (types, sorted({p.type for p in manifest.points}), "check type"),
    ):
        for value in values:
            if value not in known:
                close = difflib.get_close_matches(value, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                _stop(
                    f"{manifest.path}: no {what} {value!r} in {manifest.datacenter}{hint}; "
                    f"known: {', '.join(known) or 'none'}"
                )
    points = select(manifest.points, only, owners, types)
    if not points:
        _stop(f"no integration point of {manifest.datacenter} matches all the filters")
    return points


def state_for(
    manifest: Manifest, bundled: bool, state_file: str | None, no_state: bool, default: bool = True
) -> StateFile:
    """The state file asked for (``default``: the default one when none is named)."""
    from mdd.runner.states import StateFile, StateFileError, default_path

    if no_state and state_file:
        _stop("--state and --no-state exclude each other")
    path: Path | None
    if no_state:
        path = None
    elif state_file:
        path = Path(state_file)
    else:
        path = default_path(manifest, bundled) if default else None
    try:
        return StateFile.load(manifest.datacenter, path)
    except StateFileError as exc:
        _stop(str(exc))


def _color(no_color: bool) -> bool:
    import os

    return not no_color and not os.environ.get("NO_COLOR")


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
@click.option(
    "--interval",
    type=Duration(),
    default="30s",
    show_default=True,
    help="With --watch: time between rounds.",
)
@click.option(
    "--timeout",
    type=Duration(),
    default=None,
    help="With --watch: give up after this long (e.g. 2h). Default: no limit.",
)
@click.option(
    "--probe-blocked",
    is_flag=True,
    help="Also probe points whose dependencies are not green (they stay blocked unless OK).",
)
def verify(
    datacenter: str,
    manifests_dir: str | None,
    only: tuple[str, ...],
    owners: tuple[str, ...],
    types: tuple[str, ...],
    state_file: str | None,
    no_state: bool,
    fmt: str,
    output: str | None,
    no_color: bool,
    jobs: int,
    watch: bool,
    interval: float,
    timeout: float | None,
    probe_blocked: bool,
) -> None:
    """Run DATACENTER's checks from this machine and show how far it is from done.

    Every integration point's check runs here, in one process, concurrently (the same probe
    code the Sensu checks run). The board lists each point's state (regressed, pending,
    blocked, green), owner and reason, then a summary. A point whose depends_on is not green
    is blocked and not probed. The state file remembers what was green before.

    \b
    mdd verify ams1                      once; exit 0 only when all green
    mdd verify ams1 --watch --timeout 2h re-run every 30s until all green
    mdd verify ams1 --owner identity --format junit -o verify.xml

    Exit status: 0 all green, 1 some point is not, 2 a usage, manifest or state-file problem.
    """
    from mdd.runner.states import StateFileError
    from mdd.runner.verify import Settings
    from mdd.runner.verify import verify as run_verify

    if timeout is not None and not watch:
        _stop("--timeout is for --watch (each check has its own timeout in the manifest)")
    if output == "":
        _stop("-o needs a file name (or - for standard output)")
    manifest, bundled = load_manifest(datacenter, manifests_dir)
    points = selection(manifest, only, owners, types)
    state = state_for(manifest, bundled, state_file, no_state)
    settings = Settings(
        jobs=jobs,
        watch=watch,
        interval=interval,
        timeout=timeout,
        probe_blocked=probe_blocked,
        fmt=fmt,
        output=output,
        color=_color(no_color),
        live=False if no_color else None,
    )
    try:
        code = run_verify(manifest, points, state, settings)
    except StateFileError as exc:
        _stop(str(exc))
    except OSError as exc:
        if output is None or output == "-":
            raise  # standard output: mdd's command group says so in one line
        _stop(f"cannot write {output}: {exc.strerror or exc}; nothing written")
    sys.exit(code)


@click.command()
@click.argument("datacenter")
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
    from mdd.output import write_atomically
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
        _stop(f"cannot write {output}: {exc.strerror or exc}; nothing written")
    click.echo(f"{output}: report of {manifest.datacenter} written", err=True)


@click.command()
@common_options
@click.option("--sensu-api", "api_url", required=True, metavar="URL", help="The Sensu API.")
@click.option(
    "--api",
    "flavor",
    type=click.Choice(["classic", "go"]),
    default="classic",
    show_default=True,
    help="Sensu Classic (1.x) API, or Sensu Go backend API.",
)
@click.option("--user", metavar="USER", help="Classic: basic-auth user.")
@click.option("--password-file", metavar="PATH", help="Classic: read the password from PATH.")
@click.option("--password-env", metavar="NAME", help="Classic: the password is in $NAME.")
@click.option("--api-key-file", metavar="PATH", help="Go: read the API key from PATH.")
@click.option("--api-key-env", metavar="NAME", help="Go: the API key is in $NAME.")
@click.option("--namespace", default="default", show_default=True, help="Go: the namespace.")
@click.option(
    "--request-timeout",
    type=Duration(),
    default="10s",
    show_default=True,
    help="Give up on an API request after this long.",
)
@click.option("--ca-file", metavar="PATH", help="CA certificates to trust for an https API.")
def status(
    datacenter: str,
    manifests_dir: str | None,
    only: tuple[str, ...],
    owners: tuple[str, ...],
    types: tuple[str, ...],
    state_file: str | None,
    no_state: bool,
    fmt: str,
    output: str | None,
    no_color: bool,
    api_url: str,
    flavor: str,
    user: str | None,
    password_file: str | None,
    password_env: str | None,
    api_key_file: str | None,
    api_key_env: str | None,
    namespace: str,
    request_timeout: float,
    ca_file: str | None,
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

    Exit status: 0 all green, 1 some point is not, 2 a usage, manifest or state-file
    problem, 3 the Sensu API could not be read.
    """
    from mdd.runner import status as sensu_status
    from mdd.runner.board import LiveBoard
    from mdd.runner.formats import RENDERERS
    from mdd.runner.states import GREEN, StateFileError
    from mdd.runner.verify import write_document

    if output == "":
        _stop("-o needs a file name (or - for standard output)")
    try:
        auth = sensu_status.credentials(
            flavor, user, password_file, password_env, api_key_file, api_key_env
        )
        api = sensu_status.SensuApi(api_url, flavor, auth, namespace, request_timeout, ca_file)
    except sensu_status.StatusUsageError as exc:
        _stop(str(exc))
    manifest, bundled = load_manifest(datacenter, manifests_dir)
    points = selection(manifest, only, owners, types)
    state = state_for(manifest, bundled, state_file, no_state, default=False)
    try:
        found = api.results(manifest)
    except sensu_status.ApiError as exc:
        _stop(str(exc), API_FAILED)
    views = sensu_status.views(manifest, points, found, state)
    try:
        state.save()
    except StateFileError as exc:
        _stop(str(exc))
    document_on_stdout = fmt != "text" and output in (None, "-")
    board = LiveBoard(
        manifest.datacenter,
        sys.stderr if document_on_stdout else sys.stdout,
        live=False,
        color=_color(no_color) and not document_on_stdout,
    )
    board.final(views)
    if api.aggregate_line:
        click.echo(api.aggregate_line, err=True)
    if fmt != "text" or output not in (None, "-"):
        try:
            write_document(RENDERERS[fmt](manifest.datacenter, views, "status"), output, sys.stdout)
        except OSError as exc:
            _stop(f"cannot write {output}: {exc.strerror or exc}; nothing written")
    sys.exit(0 if all(v.state == GREEN for v in views) else NOT_GREEN)
