"""``mdd generate``: a datacenter's Sensu check definitions (or its batch runner check and
plan), or every datacenter's with ``--all``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import click

from mdd.cli._common import (
    NO_FILE_NAME,
    complete_datacenter,
    count,
    emit,
    fail,
    format_option,
    guard_output,
    load,
    locate,
    manifests_option,
    protected,
    report_problems,
    same_file,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mdd.core.model import Manifest
    from mdd.core.problems import Problem


FORMATS = ("sensu-classic", "sensu-go", "sensu-go-json")
COMMAND_BATCH = "check-mdd-batch"
_SUFFIX = {"sensu-classic": ".json", "sensu-go": ".yaml", "sensu-go-json": ".json"}


def _render(manifest: Manifest, fmt: str, go_options: Any) -> str:
    if fmt == "sensu-classic":
        from mdd.sensu.classic import render

        return render(manifest)
    from mdd.sensu.go import render as render_go

    return render_go(manifest, "yaml" if fmt == "sensu-go" else "json", go_options)


def _secrets_note(manifests: list[Manifest], go_options: Any) -> None:
    """Say which Sensu Go Secrets the checks expect when mdd does not write them itself."""
    if go_options is None or go_options.secrets_provider != "vault":
        return
    from mdd.sensu.go import required_secrets

    names = list(dict.fromkeys(n for m in manifests for n in required_secrets(m, go_options)))
    if names:
        click.echo(
            f"mdd: the checks read the Sensu Go Secrets {', '.join(names)} (provider vault): "
            f"create each one with its Vault path before the checks run (docs/sensu.md)",
            err=True,
        )


def _name_clashes(manifests: list[Manifest]) -> list[Problem]:
    """Checks of two datacenters with the same name (mdd_a_b + c, mdd_a + b_c): Sensu Classic
    merges the conf.d files, and Sensu Go keeps one check per name in a namespace."""
    from mdd.core.problems import Problem

    seen: dict[str, tuple[Manifest, int, str]] = {}
    problems: list[Problem] = []
    for manifest in manifests:
        for point in manifest.points:
            name = manifest.check_name(point)
            if name in seen:
                other, line, other_point = seen[name]
                problems.append(
                    Problem(
                        str(manifest.path),
                        point.line,
                        1,
                        f"{point.name}: its check name {name} is also the name of point "
                        f"{other_point!r} of datacenter {other.datacenter} ({other.path}:{line}): "
                        f"Sensu would keep one check for both (Classic merges the two into one); "
                        f"rename one of the points",
                    )
                )
            else:
                seen[name] = (manifest, point.line, point.name)
    return problems


@click.command()
@click.argument("datacenter", required=False, shell_complete=complete_datacenter)
@manifests_option
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write to FILE (atomically: all or nothing) instead of standard output ('-'); "
    "with --all, the folder to write one file per datacenter into.",
)
@format_option(
    FORMATS,
    "sensu-classic: a Sensu 1.x conf.d JSON file; sensu-go: a YAML stream for "
    "`sensuctl create -f`; sensu-go-json: the same as a stream of JSON objects.",
)
@click.option(
    "--all",
    "all_datacenters",
    is_flag=True,
    help="Every manifest of the manifests folder, one file per datacenter into -o DIR "
    "(mdd-<datacenter>.json, or .yaml for sensu-go); with --batch, each datacenter's runner "
    "check, with its plan beside it (mdd-<datacenter>.plan).",
)
@click.option(
    "--namespace",
    metavar="NAME",
    help="Sensu Go: the namespace of the resources (default: default).",
)
@click.option(
    "--secrets-provider",
    type=click.Choice(["env", "vault"]),
    help="Sensu Go: each {env: NAME} secret of a check also becomes a `secrets` entry, so "
    "the backend sets NAME from the Sensu Secret NAME (env: mdd writes those Secrets, "
    "read from the backend's environment; vault: create them yourself).",
)
@click.option(
    "--runtime-assets",
    metavar="NAMES",
    help="Sensu Go: comma-separated assets every check runs from, such as mdd-checks "
    "(`mdd asset build`).",
)
@click.option(
    "--command-prefix",
    metavar="DIR",
    help="The folder of the check commands on the agents, such as /opt/mdd/bin: commands are "
    "written as absolute paths, so they run whatever the Sensu client's PATH. Default: the "
    "manifest's sensu: command_prefix, else bare command names.",
)
@click.option(
    "--batch",
    is_flag=True,
    help="One runner check for the datacenter (check-mdd-batch) instead of one check per "
    "point: it runs every point in one process and submits each point's result to the local "
    "agent as that point's own check. Also writes the plan it runs (beside -o FILE, as "
    "FILE with .plan for its suffix, or --plan FILE; with --all, one per datacenter in DIR).",
)
@click.option(
    "--plan",
    "plan_file",
    metavar="FILE",
    help="With --batch: where to write the plan; the runner check's command names it by "
    "its absolute path, so put it where the agents will find it. Not with --all.",
)
@click.option(
    "--allow-command",
    is_flag=True,
    help="With --batch: allow command points in the plan (the runner runs the commands it "
    "names, so the plan must be writable by root or the Sensu user only); recorded in the "
    "plan, and the runner refuses command points in a plan without it.",
)
def generate(
    datacenter: str | None,
    manifests_dir: str | None,
    output: str | None,
    fmt: str,
    all_datacenters: bool,
    namespace: str | None,
    secrets_provider: str | None,
    runtime_assets: str | None,
    command_prefix: str | None,
    batch: bool,
    plan_file: str | None,
    allow_command: bool,
) -> None:
    """Print the Sensu check definitions for DATACENTER (Sensu Classic unless --format).

    Sensu Classic: the JSON goes into /etc/sensu/conf.d/ on the datacenter's Sensu agents
    (or servers). Sensu Go: `sensuctl create -f` the file. Every check starts red and turns
    green when its integration point is delivered. The manifest is validated first (as
    `mdd validate` does): on any problem nothing is written and the exit status is 2. The
    same manifest always gives the same bytes.

    \b
    mdd generate ams1 -o /etc/sensu/conf.d/mdd-ams1.json
    mdd generate ams1 --format sensu-go | sensuctl create
    mdd generate --all --format sensu-go -o resources/
    mdd generate ams1 --command-prefix /opt/mdd/bin -o checks.json
    mdd generate ams1 --batch -o /etc/sensu/conf.d/mdd-ams1.json
    mdd generate --all --batch -o /etc/sensu/conf.d/
    """
    go_options = _go_options(fmt, namespace, secrets_provider, runtime_assets)
    if output == "":
        fail(NO_FILE_NAME)
    if command_prefix is not None:
        command_prefix = _command_prefix(command_prefix)
    plan_path = _plan_path(batch, allow_command, all_datacenters, plan_file, output)
    if all_datacenters:
        if datacenter is not None:
            fail(f"--all generates every datacenter: leave out {datacenter!r}")
        if output in (None, "-"):
            fail("--all writes one file per datacenter: give the folder with -o DIR")
        assert output is not None
        _generate_all(
            manifests_dir, Path(output), fmt, go_options, command_prefix, batch, allow_command
        )
        return
    if datacenter is None:
        fail("give a DATACENTER (or --all -o DIR)")
    _generate_one(
        _One(
            datacenter,
            manifests_dir,
            output,
            fmt,
            go_options,
            command_prefix,
            plan_path,
            allow_command,
        )
    )


def _go_options(
    fmt: str, namespace: str | None, secrets_provider: str | None, runtime_assets: str | None
) -> Any:
    """The Sensu Go options asked for (``GoOptions``), None for Sensu Classic; exit 2 on a
    Sensu Go option with Classic, or a name Sensu Go would refuse."""
    if fmt == "sensu-classic":
        given = [
            flag
            for flag, value in (
                ("--namespace", namespace),
                ("--secrets-provider", secrets_provider),
                ("--runtime-assets", runtime_assets),
            )
            if value is not None
        ]
        if given:
            fail(f"{', '.join(given)}: Sensu Go only; add --format sensu-go or sensu-go-json")
        return None
    from mdd.sensu import go_rules
    from mdd.sensu.go import DEFAULT_NAMESPACE, GoOptions

    namespace = DEFAULT_NAMESPACE if namespace is None else namespace
    if not go_rules.NAME.search(namespace):
        fail(f"--namespace {namespace!r}: a Sensu Go name is letters, digits, _ . : and -")
    assets = tuple(a.strip() for a in (runtime_assets or "").split(",") if a.strip())
    bad = [a for a in assets if not go_rules.ASSET_NAME.search(a)]
    if bad or (runtime_assets is not None and not assets):
        fail(
            f"--runtime-assets {runtime_assets!r}: asset names are letters, digits, "
            f"_ / . : and -, separated by commas"
        )
    return GoOptions(namespace, secrets_provider, assets)


def _command_prefix(command_prefix: str) -> str:
    """--command-prefix, read as the manifest's ``command_prefix`` is; exit 2 if wrong."""
    from mdd.manifest.keys import COMMAND_PREFIX

    try:
        loaded: str = COMMAND_PREFIX.load(command_prefix)
    except ValueError as exc:
        fail(f"--command-prefix: {exc}; nothing generated")
    return loaded


def _plan_path(
    batch: bool,
    allow_command: bool,
    all_datacenters: bool,
    plan_file: str | None,
    output: str | None,
) -> Path | None:
    """Where the plan of one datacenter's --batch goes (None: no --batch, or --all)."""
    if plan_file is not None and not batch:
        fail("--plan is the plan of --batch: add --batch")
    if allow_command and not batch:
        fail("--allow-command allows command points in a batch plan: add --batch")
    if plan_file is not None and all_datacenters:
        fail(
            "--plan names one plan: with --all, each datacenter's plan goes beside its file "
            "in -o DIR (mdd-<datacenter>.plan); leave out --plan"
        )
    if not batch or all_datacenters:
        return None
    if plan_file is not None:
        return Path(os.path.abspath(plan_file))
    if output not in (None, "-"):
        from mdd.batch.plan import plan_path_for

        return plan_path_for(Path(os.path.abspath(str(output))))
    fail("--batch also writes a plan: give -o FILE (the plan goes beside it) or --plan FILE")


@dataclass(frozen=True)
class _One:
    """What ``generate DATACENTER`` was asked for."""

    datacenter: str
    manifests_dir: str | None
    output: str | None
    fmt: str
    go_options: Any
    command_prefix: str | None
    plan_path: Path | None  # with --batch: where its plan goes
    allow_command: bool  # with --batch: command points allowed in the plan


def _generate_one(wanted: _One) -> None:
    """One datacenter's definitions (and plan, with --batch): all rendered, then written."""
    from mdd.core.output import write_atomically

    manifest, text, plan_text = _render_one(wanted)
    output, plan_path = wanted.output, wanted.plan_path
    _secrets_note([manifest], wanted.go_options)
    if plan_path is not None:
        _rate_note([manifest], wanted.fmt)
    if plan_path is not None and plan_text is not None:
        try:
            write_atomically(plan_path, plan_text)
        except OSError as exc:
            fail(f"cannot write the plan {plan_path}: {exc.strerror or exc}; nothing written")
        click.echo(
            f"mdd: {plan_path}: the plan of {count(len(manifest.points), 'point')}; "
            f"the agents running {COMMAND_BATCH} need it at that path",
            err=True,
        )
    emit(text, output)


class _Rendered(NamedTuple):
    manifest: Manifest
    text: str
    plan_text: str | None  # with --batch


def _render_one(wanted: _One) -> _Rendered:
    """The datacenter's manifest and its definitions (and plan); exit 2 on any problem."""
    from mdd.manifest import ManifestError
    from mdd.manifest.locate import LocateError
    from mdd.sensu.facts import GenerateError

    output, plan_path, fmt = wanted.output, wanted.plan_path, wanted.fmt
    try:
        path = locate(wanted.datacenter, wanted.manifests_dir)
        guard_output(output, path, wanted.manifests_dir)
        manifest = load(wanted.datacenter, path)
        if wanted.command_prefix is not None:
            from mdd.core.command import with_command_prefix

            manifest = with_command_prefix(manifest, wanted.command_prefix)
        if plan_path is None:
            return _Rendered(manifest, _render(manifest, fmt, wanted.go_options), None)
        from mdd.batch.definitions import render as render_batch

        if output not in (None, "-") and same_file(plan_path, Path(str(output))):
            fail(f"--plan {plan_path}: the -o file itself; nothing written")
        reason = protected(plan_path, path, wanted.manifests_dir)
        if reason is not None:
            fail(f"--plan {reason.removeprefix(f'-o {plan_path} ')}; nothing written")
        written = render_batch(manifest, fmt, wanted.go_options, plan_path, wanted.allow_command)
        return _Rendered(manifest, written.definitions, written.plan)
    except LocateError as exc:
        fail(str(exc))
    except (ManifestError, GenerateError) as exc:
        report_problems(exc.problems, wanted.datacenter)


def _rate_note(manifests: list[Manifest], fmt: str) -> None:
    """Batch mode for Sensu Go: warn where the agent's events API rate limit is too low."""
    from mdd.batch.definitions import rate_warning

    for manifest in manifests:
        warning = rate_warning(manifest, fmt)
        if warning:
            click.echo(f"mdd: warning: {warning}", err=True)


class _File(NamedTuple):
    path: Path
    text: str


def _generate_all(
    manifests_dir: str | None,
    folder: Path,
    fmt: str,
    go_options: Any,
    command_prefix: str | None = None,
    batch: bool = False,
    allow_command: bool = False,
) -> None:
    """Every datacenter's file into ``folder``: all rendered first, then all written.

    With ``batch``, each file is the datacenter's runner check and its plan goes beside it
    (``mdd-<dc>.plan``, named by its absolute path); the plans are written before the files
    whose commands name them."""
    from mdd.manifest.locate import LocateError, all_manifests, is_bundled

    try:
        source, paths = all_manifests(manifests_dir)
    except LocateError as exc:
        fail(str(exc))
    if is_bundled(paths[0]):
        click.echo(f"mdd: using the bundled example manifests in {source}", err=True)
    manifests, problems = _load_all(paths, command_prefix)
    problems += _name_clashes(manifests)
    texts: list[_File] = []
    plans: list[_File] = []
    if not problems:
        problems += _render_all(
            manifests, folder, fmt, go_options, batch, allow_command, texts, plans
        )
    if problems:
        report_problems(problems, str(source))
    _write_all(folder, paths, source, texts, plans)
    _secrets_note(manifests, go_options)
    if batch:
        _rate_note(manifests, fmt)
    for index, (text, manifest) in enumerate(zip(texts, manifests, strict=True)):
        if batch:
            click.echo(
                f"mdd: {text.path}: the runner check of {count(len(manifest.points), 'point')}; "
                f"the agents running {COMMAND_BATCH} need its plan at {plans[index].path}",
                err=True,
            )
        else:
            click.echo(f"mdd: {text.path}: {count(len(manifest.points), 'check')}", err=True)


def _load_all(
    paths: list[Path], command_prefix: str | None
) -> tuple[list[Manifest], list[Problem]]:
    """The manifests that read without a problem, and the problems of the others."""
    from mdd.manifest import ManifestError, load

    problems: list[Problem] = []
    manifests: list[Manifest] = []
    for path in paths:
        try:
            manifest = load(path, path.stem)
        except ManifestError as exc:
            problems += exc.problems
            continue
        if command_prefix is not None:
            from mdd.core.command import with_command_prefix

            manifest = with_command_prefix(manifest, command_prefix)
        manifests.append(manifest)
    return manifests, problems


def _render_all(
    manifests: list[Manifest],
    folder: Path,
    fmt: str,
    go_options: Any,
    batch: bool,
    allow_command: bool,
    texts: list[_File],
    plans: list[_File],
) -> list[Problem]:
    """Each datacenter's file into ``texts`` (with --batch, its plan into ``plans``); the
    problems of those that cannot be generated."""
    from mdd.sensu.facts import GenerateError

    problems: list[Problem] = []
    absolute = Path(os.path.abspath(folder))
    for manifest in manifests:
        target = folder / f"mdd-{manifest.datacenter}{_SUFFIX[fmt]}"
        try:
            if batch:
                from mdd.batch.definitions import render as render_batch
                from mdd.batch.plan import plan_path_for

                plan_path = plan_path_for(absolute / target.name)
                written = render_batch(manifest, fmt, go_options, plan_path, allow_command)
                text = written.definitions
                plans.append(_File(plan_path, written.plan))
            else:
                text = _render(manifest, fmt, go_options)
        except GenerateError as exc:
            problems += exc.problems
            continue
        texts.append(_File(target, text))
    return problems


def _write_all(
    folder: Path, paths: list[Path], source: Path, texts: list[_File], plans: list[_File]
) -> None:
    """The plans, then the files, into ``folder``, each atomically; none when one of them
    would overwrite a manifest or what the guard protects."""
    from mdd.core.output import write_atomically

    if any(same_file(file.path, path) for file in texts + plans for path in paths):
        fail(f"-o {folder} is the manifests folder itself: write elsewhere; nothing written")
    for file in texts + plans:
        guard_output(file.path, None, str(source))
    if folder.exists() and not folder.is_dir():
        fail(f"-o {folder}: not a folder; nothing written")
    try:
        folder.mkdir(exist_ok=True)
        for file in plans + texts:  # a runner check never names a plan not yet there
            write_atomically(file.path, file.text)
    except OSError as exc:
        fail(f"cannot write into {folder}: {exc.strerror or exc}")
