"""What the ``mdd`` commands share: finding and loading a manifest, failing with one line,
writing a command's output to standard output or a file."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from enum import IntEnum
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import click

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mdd.core.model import IntegrationPoint, Manifest
    from mdd.core.problems import Problem
    from mdd.manifest import ManifestError
    from mdd.runner.states import StateFile


class Exit(IntEnum):
    """mdd's exit statuses: the one declaration, the same for every command (docs/exit-status.md,
    `mdd --help`)."""

    OK = 0
    """Done; for verify, status and diff: every point green, the manifests equal."""
    NOT_GREEN = 1
    """verify, status: some selected point is not green; diff: the datacenters differ."""
    USAGE = 2
    """A usage, manifest, state-file or file problem: said in one line, nothing was written."""
    SENSU_API = 3
    """status: the Sensu API could not be read."""
    INTERRUPTED = 130
    """Ended by SIGINT, SIGTERM or SIGHUP: files being written keep their previous bytes."""
    BUG = 70
    """An unexpected error, a bug in mdd: one line asking for a report (the traceback with
    --debug or MDD_DEBUG=1)."""


USAGE, NOT_GREEN, API_FAILED = Exit.USAGE, Exit.NOT_GREEN, Exit.SENSU_API
DEFAULT_JOBS = 256  # mdd.runner.runner.DEFAULT_JOBS, without importing the runner for --help

MANIFESTS_HELP = (
    "Folder of manifests (NAME.yaml). Default: $MDD_MANIFESTS (only there, when set), else "
    "./manifests; "
    "with neither, the bundled example datacenters (ams1)."
)

manifests_option = click.option(
    "--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP
)
OUTPUT_HELP = "Write to FILE (atomically) instead of standard output ('-')."


def locate(name: str, manifests_dir: str | None) -> Path:
    """``find_manifest``, saying on stderr when the bundled example is used."""
    from mdd.manifest.locate import find_manifest, is_bundled

    path = find_manifest(name, manifests_dir)
    if is_bundled(path):
        click.echo(
            f"mdd: using the bundled example manifest {path} ($MDD_MANIFESTS is not set and "
            f"there is no ./manifests folder)",
            err=True,
        )
    return path


def load(name: str, path: Path) -> Manifest:
    """The manifest in ``path``, asked for as ``name``: a datacenter's name, or the path."""
    from mdd.manifest import load
    from mdd.manifest.locate import looks_like_path

    return load(path, None if looks_like_path(name) or Path(name).is_file() else name)


def same_file(one: Path, other: Path) -> bool:
    try:
        return one.resolve().samefile(other)
    except (OSError, RuntimeError):  # ``one`` does not exist yet; RuntimeError: a symlink loop
        return False


def _manifest_folders(manifest: Path | None, manifests_dir: str | None) -> list[Path]:
    """The manifests folders an output must stay out of: the manifest's own folder, and
    the folder a datacenter's name is looked up in (``mdd.manifest.locate``'s rules)."""
    import os

    from mdd.manifest.locate import ENV_VAR

    folders = [manifest.parent] if manifest is not None else []
    if manifests_dir:
        folders.append(Path(manifests_dir))
    elif os.environ.get(ENV_VAR):
        folders.append(Path(os.environ[ENV_VAR]))
    elif Path("manifests").is_dir():
        folders.append(Path("manifests"))
    return folders


def protected(
    output: str | Path | None,
    manifest: Path | None = None,
    manifests_dir: str | None = None,
    state: Path | None = None,
) -> str | None:
    """Why ``output`` must not be written, or None: it is a manifest (of the folder, or
    ``manifest`` itself), a file of the manifests folder named ``*.yaml``/``*.yml``, the
    state file ``state``, or a file in the state folder (``.mdd/`` beside the manifests
    folder, ``mdd.runner.states.state_folder``). Every ``-o`` asks this before writing."""
    from mdd.core.files import is_inside
    from mdd.runner.states import state_folder

    if output is None or str(output) in ("", "-"):
        return None
    target = Path(output)
    if manifest is not None and same_file(target, manifest):
        return f"-o {output} is the manifest {manifest} itself: write to another file"
    if state is not None and (same_file(target, state) or target.resolve() == state.resolve()):
        return f"-o {output} is the state file {state}: write to another file"
    for folder in _manifest_folders(manifest, manifests_dir):
        if target.suffix in (".yaml", ".yml") and not target.is_dir() and is_inside(target, folder):
            return (
                f"-o {output} is in the manifests folder {folder}, where a .yaml file is a "
                f"manifest: write it elsewhere"
            )
        states = state_folder(folder)
        if is_inside(target, states) and target.resolve() != states.resolve():
            return f"-o {output} is in mdd's state folder {states}: write it elsewhere"
    return None


def guard_output(
    output: str | Path | None,
    manifest: Path | None = None,
    manifests_dir: str | None = None,
    state: Path | None = None,
) -> None:
    """Exit 2 with one line when ``output`` is ``protected``; nothing written."""
    reason = protected(output, manifest, manifests_dir, state)
    if reason is not None:
        click.echo(f"mdd: {reason}; nothing written", err=True)
        sys.exit(Exit.USAGE)


def fail(message: str, code: int = Exit.USAGE) -> NoReturn:
    from mdd.checks.api import printable

    # what a server sent may be in it: every control character shown as its escape
    click.echo(
        "\n".join(
            f"mdd: {printable(line)}" if i == 0 else printable(line)
            for i, line in enumerate(message.split("\n"))
        ),
        err=True,
    )
    sys.exit(code)


def count(number: int, what: str) -> str:
    return f"{number} {what}" if number == 1 else f"{number} {what}s"


def complete_datacenter(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of a DATACENTER: the manifests that `--manifests`, $MDD_MANIFESTS or
    ./manifests hold (else the bundled examples), as mdd would find them."""
    from mdd.manifest.locate import LocateError, all_manifests

    root = ctx.find_root()
    manifests_dir = ctx.params.get("manifests_dir") or root.params.get("manifests_dir")
    try:
        _, paths = all_manifests(manifests_dir)
    except (LocateError, OSError):
        return []
    return [p.stem for p in paths if p.stem.startswith(incomplete)]


def complete_type(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of a check TYPE: the bundled check types."""
    from mdd.checks.registry import CHECK_TYPES

    return [name for name in sorted(CHECK_TYPES) if name.startswith(incomplete)]


def report_problems(problems: list[Problem], where: str) -> NoReturn:
    for problem in problems:
        click.echo(str(problem), err=True)
    per_file: dict[str, int] = {}
    for problem in problems:
        per_file[problem.file or where] = per_file.get(problem.file or where, 0) + 1
    if len(per_file) > 1:  # generate --all: each file's own count, then the total
        for file, number in per_file.items():
            click.echo(f"mdd: {file}: {count(number, 'problem')}", err=True)
        click.echo(
            f"mdd: {count(len(problems), 'problem')} in {len(per_file)} files; nothing generated",
            err=True,
        )
    else:
        first = problems[0].file if problems else where
        click.echo(f"mdd: {first}: {count(len(problems), 'problem')}; nothing generated", err=True)
    sys.exit(Exit.USAGE)


def load_or_say(name: str, manifests_dir: str | None) -> Manifest | None:
    """The validated manifest of ``name``; None once every problem is printed."""
    from mdd.manifest import ManifestError
    from mdd.manifest.locate import LocateError

    try:
        return load(name, locate(name, manifests_dir))
    except LocateError as exc:
        click.echo(f"mdd: {exc}", err=True)
    except ManifestError as exc:
        click.echo(f"mdd: {say_problems(exc, name)}", err=True)
    return None


def say_problems(exc: ManifestError, name: str) -> str:
    """Print every problem of ``exc`` (``file:line:col: message``), one a line; the summary
    line that follows them (``FILE: N problems``), for the caller to finish."""
    for problem in exc.problems:
        click.echo(str(problem), err=True)
    where = exc.problems[0].file if exc.problems else name
    return f"{where}: {count(len(exc.problems), 'problem')}"


def load_or_exit(name: str, manifests_dir: str | None) -> Manifest:
    """The validated manifest of ``name``; on any problem, print them all and exit 2."""
    manifest = load_or_say(name, manifests_dir)
    if manifest is None:
        sys.exit(Exit.USAGE)
    return manifest


NO_FILE_NAME = "-o needs a file name (or - for standard output)"


def cannot_write(output: str | Path | None, exc: OSError) -> NoReturn:
    """Exit 2: ``output`` could not be written (``write_atomically`` leaves nothing)."""
    fail(f"cannot write {output}: {exc.strerror or exc}; nothing written")


def write_file(text: str, output: str) -> None:
    """``text`` to the file ``output``, atomically; exit 2 when it cannot be written."""
    from mdd.core.output import write_atomically

    try:
        write_atomically(Path(output), text)
    except OSError as exc:
        cannot_write(output, exc)


def emit(text: str, output: str | None) -> None:
    if output == "":
        fail(NO_FILE_NAME)
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    write_file(text, output)


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


def stop(message: str, code: int = USAGE) -> NoReturn:
    fail(message, code)


all_option = click.option(
    "--all",
    "all_",
    is_flag=True,
    help="The fleet: every datacenter of the manifests folder (or the DATACENTERs named).",
)
tz_option = click.option(
    "--tz",
    metavar="ZONE",
    help="Show times in ZONE (Europe/Amsterdam, UTC, +02:00). Default: the machine's.",
)


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def choice_option(*names: str, choices: Sequence[str], help: str) -> Decorator:
    """An option taking one of ``choices``, the first by default (shown in --help)."""
    return click.option(
        *names, type=click.Choice(list(choices)), default=choices[0], show_default=True, help=help
    )


def format_option(choices: Sequence[str], help: str) -> Decorator:
    """``--format``: one of ``choices``, the first by default."""
    return choice_option("--format", "fmt", choices=choices, help=help)


def duration_option(name: str, help: str, default: str | None = None) -> Decorator:
    """An option taking a duration (30s, 2h, 1m30s); its default, if any, shown in --help."""
    return click.option(
        name, type=Duration(), default=default, show_default=default is not None, help=help
    )


datacenters_argument = click.argument(
    "datacenters", nargs=-1, metavar="DATACENTER...", shell_complete=complete_datacenter
)
state_option = click.option(
    "--state",
    "state_file",
    metavar="FILE",
    help="State file (default: .mdd/DATACENTER.json next to the manifests folder).",
)


def time_zone(name: str | None) -> Any:
    """The ``tzinfo`` of ``--tz``; exit 2 for a zone that does not exist."""
    from mdd.runner.clock import ClockError, zone

    try:
        return zone(name)
    except ClockError as exc:
        stop(str(exc))


def one_datacenter(datacenters: tuple[str, ...], all_: bool) -> str | None:
    """The one DATACENTER asked for, or None for ``--all``; exit 2 otherwise."""
    if all_:
        return None
    if len(datacenters) != 1:
        stop(
            "name one DATACENTER, or use --all for every datacenter of the manifests folder "
            "(or --all with the DATACENTERs to show)"
        )
    return datacenters[0]


def fleet_manifests(
    names: tuple[str, ...], manifests_dir: str | None, output: str | None = None
) -> list[tuple[Manifest, bool]]:
    """The manifests of ``names`` (none: every manifest of the manifests folder), each with
    whether it is a bundled example; every problem of every manifest, then exit 2. Exit 2
    too for an ``output`` (``-o``) mdd must not write: one of these manifests, their
    manifests folder, the default state file of one of them or the state folder."""
    from mdd.manifest import ManifestError, load
    from mdd.manifest.locate import LocateError, all_manifests, find_manifest, is_bundled
    from mdd.runner.states import default_path

    try:
        paths = [find_manifest(n, manifests_dir) for n in names] if names else None
        if paths is None:
            _, paths = all_manifests(manifests_dir)
    except LocateError as exc:
        stop(str(exc))
    result: list[tuple[Manifest, bool]] = []
    problems = 0
    for path in paths:
        try:
            result.append((load(path), is_bundled(path)))
        except ManifestError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            problems += len(exc.problems)
    if problems:
        stop(f"{count(problems, 'problem')} in the manifests; nothing run")
    seen: dict[str, Path] = {}
    for manifest, _ in result:
        if manifest.datacenter in seen:
            stop(
                f"{manifest.path} and {seen[manifest.datacenter]} are both datacenter "
                f"{manifest.datacenter!r}"
            )
        seen[manifest.datacenter] = manifest.path
    for manifest, bundled in result:
        guard_output(output, manifest.path, manifests_dir, default_path(manifest, bundled))
    if any(bundled for _, bundled in result):
        click.echo("mdd: using the bundled example manifests", err=True)
    return result


@dataclass(frozen=True)
class Common:
    """The options ``verify`` and ``status`` share: which datacenters and points, the state
    file, the output."""

    datacenters: tuple[str, ...]
    manifests_dir: str | None
    all_: bool
    tz: str | None
    only: tuple[str, ...]
    owners: tuple[str, ...]
    types: tuple[str, ...]
    state_file: str | None
    no_state: bool
    fmt: str
    output: str | None
    no_color: bool

    @property
    def document_on_stdout(self) -> bool:
        """A document (json, junit, tap) on standard output: the board goes to stderr."""
        return self.fmt != "text" and self.output in (None, "-")

    @property
    def writes_document(self) -> bool:
        """A document is written: a format other than text, or an ``-o`` file."""
        return self.fmt != "text" or self.output not in (None, "-")


_COMMON = tuple(field.name for field in fields(Common))

STATE_WITH_ALL = "--state names one datacenter's state file; with --all each has its own"


def asked_datacenter(common: Common) -> str | None:
    """The one DATACENTER of ``verify`` or ``status``, or None for ``--all``; exit 2 for an
    empty ``-o`` or anything but one DATACENTER without ``--all``."""
    if common.output == "":
        stop(NO_FILE_NAME)
    return one_datacenter(common.datacenters, common.all_)


class Chosen(NamedTuple):
    """One DATACENTER of ``verify`` or ``status``: its points the filters select and its
    state file."""

    manifest: Manifest
    points: list[IntegrationPoint]
    state: StateFile


def datacenter_selection(datacenter: str, common: Common, default: bool = True) -> Chosen:
    """``DATACENTER``'s manifest, the points the filters select and the state file
    (``default``: the default one when none is named); exit 2 on any problem, or for an
    ``-o`` mdd must not write (the state file; without ``default``, the default one too)."""
    from mdd.runner.states import default_path

    manifest, bundled = load_manifest(datacenter, common.manifests_dir)
    points = selection(manifest, common.only, common.owners, common.types)
    state = state_for(manifest, bundled, common.state_file, common.no_state, default)
    guarded = state.path if default else state.path or default_path(manifest, bundled)
    guard_output(common.output, manifest.path, common.manifests_dir, guarded)
    return Chosen(manifest, points, state)


class Selected(NamedTuple):
    """A datacenter of ``--all`` and its points the filters select."""

    manifest: Manifest
    bundled: bool
    points: list[IntegrationPoint]

    def state(self, no_state: bool, default: bool = True) -> StateFile:
        """Its state file (``--all`` names none: ``default``, the default one)."""
        return state_for(self.manifest, self.bundled, None, no_state, default)


def fleet_selection(common: Common) -> list[Selected]:
    """``--all``: each datacenter with points the filters select; exit 2 for ``--state``
    (each datacenter has its own) or when no point of any datacenter is selected."""
    from mdd.runner.runner import select

    if common.state_file:
        stop(STATE_WITH_ALL)
    selected = []
    for manifest, bundled in fleet_manifests(
        common.datacenters, common.manifests_dir, common.output
    ):
        points = select(manifest.points, common.only, common.owners, common.types)
        if points:
            selected.append(Selected(manifest, bundled, points))
    if not selected:
        stop("no integration point of any datacenter matches all the filters")
    return selected


def common_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``verify`` and ``status`` share (``Common``), given to the command as its
    first argument, ``common``."""

    @functools.wraps(function)
    def command(**options: Any) -> Any:
        common = Common(**{name: options.pop(name) for name in _COMMON})
        return function(common, **options)

    decorators: list[Decorator] = [
        datacenters_argument,
        manifests_option,
        all_option,
        tz_option,
        click.option("--only", multiple=True, metavar="NAME", help="Only this point (repeatable)."),
        click.option(
            "--owner", "owners", multiple=True, metavar="TEAM", help="Only this team's points."
        ),
        click.option(
            "--type",
            "types",
            multiple=True,
            metavar="TYPE",
            help="Only this check type.",
            shell_complete=complete_type,
        ),
        state_option,
        click.option("--no-state", is_flag=True, help="Read and write no state file."),
        format_option(("text", "json", "junit", "tap"), "Output format."),
        click.option(
            "-o", "--output", metavar="FILE", help="Write the result to FILE (atomically)."
        ),
        click.option("--no-color", is_flag=True, help="No colours, no live board: plain lines."),
    ]
    wrapped: Callable[..., Any] = command
    for decorator in reversed(decorators):
        wrapped = decorator(wrapped)
    return wrapped


def load_manifest(datacenter: str, manifests_dir: str | None) -> tuple[Manifest, bool]:
    """The manifest and whether it is the bundled example; exit 2 on any problem."""
    from mdd.manifest import ManifestError
    from mdd.manifest.locate import LocateError, find_manifest, is_bundled

    try:
        path = find_manifest(datacenter, manifests_dir)
        manifest = load(datacenter, path)
    except LocateError as exc:
        stop(str(exc))
    except ManifestError as exc:
        stop(f"{say_problems(exc, datacenter)}; nothing run")
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
                stop(
                    f"{manifest.path}: no {what} {value!r} in {manifest.datacenter}{hint}; "
                    f"known: {', '.join(known) or 'none'}"
                )
    points = select(manifest.points, only, owners, types)
    if not points:
        stop(f"no integration point of {manifest.datacenter} matches all the filters")
    return points


def state_for(
    manifest: Manifest, bundled: bool, state_file: str | None, no_state: bool, default: bool = True
) -> StateFile:
    """The state file asked for (``default``: the default one when none is named)."""
    from mdd.runner.states import StateFile, StateFileError, default_path

    if no_state and state_file:
        stop("--state and --no-state exclude each other")
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
        stop(str(exc))


def dumb_terminal() -> bool:
    """TERM=dumb (Emacs shells, some CI logs): no colours and no cursor movement."""
    import os

    return os.environ.get("TERM") == "dumb"


def use_color(no_color: bool) -> bool:
    import os

    return not no_color and not os.environ.get("NO_COLOR") and not dumb_terminal()
