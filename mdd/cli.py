"""The ``mdd`` command line."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from mdd import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mdd.model import Manifest
    from mdd.problems import Problem

MANIFESTS_HELP = (
    "Folder of manifests (NAME.yaml). Default: $MDD_MANIFESTS (only there, when set), else "
    "./manifests; "
    "with neither, the bundled example datacenters (ams1)."
)


# errno values of a write to standard output that cannot succeed: a full disk (> /dev/full),
# a closed pipe (| head), a quota, a revoked terminal.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EPIPE, errno.EDQUOT, errno.EFBIG, errno.EIO})


class _Main(click.Group):
    """The command group: a failed write to standard output, SIGTERM or SIGHUP end any
    command with one line on standard error and exit status 1, never a traceback (files
    are written by ``write_atomically``, which leaves the previous file as it was)."""

    def invoke(self, ctx: click.Context) -> Any:
        previous = {}
        for signum in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError):  # not the main thread: leave them be
                previous[signum] = signal.signal(signum, _interrupted)
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()
            return result
        except OSError as exc:
            if exc.errno not in _OUTPUT_ERRNOS or exc.filename is not None:
                raise
            _output_failed(exc)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _interrupted(signum: int, frame: object) -> NoReturn:
    # SystemExit unwinds like an exception: a file being written is removed, the old one kept.
    click.echo(f"mdd: interrupted by {signal.Signals(signum).name}", err=True)
    sys.exit(1)


def _output_failed(exc: OSError) -> NoReturn:
    with contextlib.suppress(OSError):  # the interpreter's last flush would fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    _fail(f"cannot write to standard output: {exc.strerror or exc}")


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mdd")
def main() -> None:
    """Monitoring Driven Deployment: a datacenter's integration points, as Sensu checks.

    Write one manifest per datacenter listing every integration point the platform needs
    (DNS, LDAP, NTP, VIPs, repositories, databases, TLS endpoints...) and who delivers it.
    `mdd generate` turns it into Sensu check definitions that stay red until each point is
    really there.

    \b
    mdd validate ams1                 check manifests/ams1.yaml; every problem at once
    mdd generate ams1 -o checks.json  its Sensu Classic check definitions
    mdd generate ams1 --format sensu-go | sensuctl create   ... or Sensu Go resources
    mdd render ams1                   the resolved manifest (bases, vars, for_each)
    mdd diff ams1 fra1                how two datacenters differ
    mdd init fra1 --from ams1 --set domain=fra1.example.net
    mdd docs ams1 -o ams1.md          the living document, grouped by owner
    mdd types show http               the options of a check type

    DATACENTER is a name, for NAME.yaml in --manifests DIR, else $MDD_MANIFESTS, else
    ./manifests; or the path of a manifest file.
    """


def _locate(name: str, manifests_dir: str | None) -> Path:
    """``find_manifest``, saying on stderr when the bundled example is used."""
    from mdd.locate import find_manifest, is_bundled

    path = find_manifest(name, manifests_dir)
    if is_bundled(path):
        click.echo(
            f"mdd: using the bundled example manifest {path} ($MDD_MANIFESTS is not set and "
            f"there is no ./manifests folder)",
            err=True,
        )
    return path


def _load(name: str, path: Path) -> Manifest:
    """The manifest in ``path``, asked for as ``name``: a datacenter's name, or the path."""
    from mdd.locate import looks_like_path
    from mdd.manifest import load

    return load(path, None if looks_like_path(name) or Path(name).is_file() else name)


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.resolve().samefile(other)
    except (OSError, RuntimeError):  # ``one`` does not exist yet; RuntimeError: a symlink loop
        return False


def _fail(message: str) -> NoReturn:
    click.echo(f"mdd: {message}", err=True)
    sys.exit(1)


def _count(number: int, what: str) -> str:
    return f"{number} {what}" if number == 1 else f"{number} {what}s"


@main.command()
@click.argument("datacenters", nargs=-1, required=True, metavar="DATACENTER...")
@click.option("--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP)
def validate(datacenters: tuple[str, ...], manifests_dir: str | None) -> None:
    """Report every problem in the manifests of DATACENTER... (names or file paths).

    Problems are printed on standard error as file:line:col: message, all of them, and
    the exit status is 1. With no problem, prints one summary line per manifest and exits 0.
    """
    from mdd.locate import LocateError
    from mdd.manifest import ManifestError

    failed = False
    for name in datacenters:
        try:
            manifest = _load(name, _locate(name, manifests_dir))
        except LocateError as exc:
            click.echo(f"mdd: {exc}", err=True)
            failed = True
            continue
        except ManifestError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            where = exc.problems[0].file if exc.problems else name
            click.echo(f"mdd: {where}: {_count(len(exc.problems), 'problem')}", err=True)
            failed = True
            continue
        owners = {p.owner for p in manifest.points if p.owner}
        click.echo(
            f"{manifest.path}: datacenter {manifest.datacenter}: "
            f"{_count(len(manifest.points), 'integration point')}, "
            f"{_count(len(owners), 'owning team')}, ok"
        )
    sys.exit(1 if failed else 0)


FORMATS = ("sensu-classic", "sensu-go", "sensu-go-json")
COMMAND_BATCH = "check-mdd-batch"
_SUFFIX = {"sensu-classic": ".json", "sensu-go": ".yaml", "sensu-go-json": ".json"}


def _render(manifest: Manifest, fmt: str, go_options: Any) -> str:
    if fmt == "sensu-classic":
        from mdd.sensu.classic import render

        return render(manifest)
    from mdd.sensu.go import render as render_go

    return render_go(manifest, "yaml" if fmt == "sensu-go" else "json", go_options)


def _report_problems(problems: list[Problem], where: str) -> NoReturn:
    for problem in problems:
        click.echo(str(problem), err=True)
    first = problems[0].file if problems else where
    click.echo(f"mdd: {first}: {_count(len(problems), 'problem')}; nothing generated", err=True)
    sys.exit(1)


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
    from mdd.problems import Problem

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


@main.command()
@click.argument("datacenter", required=False)
@click.option("--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write to FILE (atomically: all or nothing) instead of standard output ('-'); "
    "with --all, the folder to write one file per datacenter into.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="sensu-classic",
    show_default=True,
    help="sensu-classic: a Sensu 1.x conf.d JSON file; sensu-go: a YAML stream for "
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
) -> None:
    """Print the Sensu check definitions for DATACENTER (Sensu Classic unless --format).

    Sensu Classic: the JSON goes into /etc/sensu/conf.d/ on the datacenter's Sensu agents
    (or servers). Sensu Go: `sensuctl create -f` the file. Every check starts red and turns
    green when its integration point is delivered. The manifest is validated first (as
    `mdd validate` does): on any problem nothing is written and the exit status is 1. The
    same manifest always gives the same bytes.

    \b
    mdd generate ams1 -o /etc/sensu/conf.d/mdd-ams1.json
    mdd generate ams1 --format sensu-go | sensuctl create
    mdd generate --all --format sensu-go -o resources/
    mdd generate ams1 --command-prefix /opt/mdd/bin -o checks.json
    mdd generate ams1 --batch -o /etc/sensu/conf.d/mdd-ams1.json
    mdd generate --all --batch -o /etc/sensu/conf.d/
    """
    from mdd.locate import LocateError
    from mdd.manifest import ManifestError
    from mdd.output import write_atomically
    from mdd.sensu.facts import GenerateError

    go_options = None
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
            _fail(f"{', '.join(given)}: Sensu Go only; add --format sensu-go or sensu-go-json")
    else:
        from mdd.sensu import go_rules
        from mdd.sensu.go import DEFAULT_NAMESPACE, GoOptions

        namespace = DEFAULT_NAMESPACE if namespace is None else namespace
        if not go_rules.NAME.search(namespace):
            _fail(f"--namespace {namespace!r}: a Sensu Go name is letters, digits, _ . : and -")
        assets = tuple(a.strip() for a in (runtime_assets or "").split(",") if a.strip())
        bad = [a for a in assets if not go_rules.ASSET_NAME.search(a)]
        if bad or (runtime_assets is not None and not assets):
            _fail(
                f"--runtime-assets {runtime_assets!r}: asset names are letters, digits, "
                f"_ / . : and -, separated by commas"
            )
        go_options = GoOptions(namespace, secrets_provider, assets)

    if output == "":
        _fail("-o needs a file name (or - for standard output)")
    if command_prefix is not None:
        from mdd.manifest.keys import COMMAND_PREFIX

        try:
            command_prefix = COMMAND_PREFIX.load(command_prefix)
        except ValueError as exc:
            _fail(f"--command-prefix: {exc}; nothing generated")
    if plan_file is not None and not batch:
        _fail("--plan is the plan of --batch: add --batch")
    if plan_file is not None and all_datacenters:
        _fail(
            "--plan names one plan: with --all, each datacenter's plan goes beside its file "
            "in -o DIR (mdd-<datacenter>.plan); leave out --plan"
        )
    plan_path: Path | None = None
    if batch and not all_datacenters:
        if plan_file is not None:
            plan_path = Path(os.path.abspath(plan_file))
        elif output not in (None, "-"):
            from mdd.batch.plan import plan_path_for

            plan_path = plan_path_for(Path(os.path.abspath(str(output))))
        else:
            _fail(
                "--batch also writes a plan: give -o FILE (the plan goes beside it) or --plan FILE"
            )
    if all_datacenters:
        if datacenter is not None:
            _fail(f"--all generates every datacenter: leave out {datacenter!r}")
        if output in (None, "-"):
            _fail("--all writes one file per datacenter: give the folder with -o DIR")
        assert output is not None
        _generate_all(manifests_dir, Path(output), fmt, go_options, command_prefix, batch)
        return
    if datacenter is None:
        _fail("give a DATACENTER (or --all -o DIR)")
    try:
        path = _locate(datacenter, manifests_dir)
        if output not in (None, "-") and _same_file(Path(output), path):
            _fail(
                f"-o {output} is the manifest {path} itself: write the checks to another "
                f"file; nothing written"
            )
        manifest = _load(datacenter, path)
        if command_prefix is not None:
            from mdd.command import with_command_prefix

            manifest = with_command_prefix(manifest, command_prefix)
        plan_text = None
        if plan_path is not None:
            from mdd.batch.definitions import render as render_batch

            if _same_file(plan_path, path) or (
                output not in (None, "-") and _same_file(plan_path, Path(str(output)))
            ):
                _fail(f"--plan {plan_path}: the manifest or -o file itself; nothing written")
            text, plan_text = render_batch(manifest, fmt, go_options, plan_path)
        else:
            text = _render(manifest, fmt, go_options)
    except LocateError as exc:
        _fail(str(exc))
    except (ManifestError, GenerateError) as exc:
        _report_problems(exc.problems, datacenter)
    _secrets_note([manifest], go_options)
    if plan_path is not None and plan_text is not None:
        try:
            write_atomically(plan_path, plan_text)
        except OSError as exc:
            _fail(f"cannot write the plan {plan_path}: {exc.strerror or exc}; nothing written")
        click.echo(
            f"mdd: {plan_path}: the plan of {_count(len(manifest.points), 'point')}; the agents "
            f"running {COMMAND_BATCH} need it at that path",
            err=True,
        )
    if output is not None and output != "-":
        try:
            write_atomically(Path(output), text)
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror or exc}; nothing written")
    else:
        click.echo(text, nl=False)


def _generate_all(
    manifests_dir: str | None,
    folder: Path,
    fmt: str,
    go_options: Any,
    command_prefix: str | None = None,
    batch: bool = False,
) -> None:
    """Every datacenter's file into ``folder``: all rendered first, then all written.

    With ``batch``, each file is the datacenter's runner check and its plan goes beside it
    (``mdd-<dc>.plan``, named by its absolute path); the plans are written before the files
    whose commands name them."""
    from mdd.locate import LocateError, all_manifests, is_bundled
    from mdd.manifest import ManifestError, load
    from mdd.output import write_atomically
    from mdd.sensu.facts import GenerateError

    try:
        source, paths = all_manifests(manifests_dir)
    except LocateError as exc:
        _fail(str(exc))
    if is_bundled(paths[0]):
        click.echo(f"mdd: using the bundled example manifests in {source}", err=True)
    problems: list[Problem] = []
    manifests: list[Manifest] = []
    for path in paths:
        try:
            manifest = load(path, path.stem)
        except ManifestError as exc:
            problems += exc.problems
            continue
        if command_prefix is not None:
            from mdd.command import with_command_prefix

            manifest = with_command_prefix(manifest, command_prefix)
        manifests.append(manifest)
    problems += _name_clashes(manifests)
    texts: list[tuple[Path, str]] = []
    plans: list[tuple[Path, str]] = []
    if not problems:
        absolute = Path(os.path.abspath(folder))
        for manifest in manifests:
            target = folder / f"mdd-{manifest.datacenter}{_SUFFIX[fmt]}"
            try:
                if batch:
                    from mdd.batch.definitions import render as render_batch
                    from mdd.batch.plan import plan_path_for

                    plan_path = plan_path_for(absolute / target.name)
                    text, plan_text = render_batch(manifest, fmt, go_options, plan_path)
                    plans.append((plan_path, plan_text))
                else:
                    text = _render(manifest, fmt, go_options)
            except GenerateError as exc:
                problems += exc.problems
                continue
            texts.append((target, text))
    if problems:
        _report_problems(problems, str(source))
    if any(_same_file(target, path) for target, _ in texts + plans for path in paths):
        _fail(f"-o {folder} is the manifests folder itself: write elsewhere; nothing written")
    if folder.exists() and not folder.is_dir():
        _fail(f"-o {folder}: not a folder; nothing written")
    try:
        folder.mkdir(exist_ok=True)
        for target, text in plans + texts:  # a runner check never names a plan not yet there
            write_atomically(target, text)
    except OSError as exc:
        _fail(f"cannot write into {folder}: {exc.strerror or exc}")
    _secrets_note(manifests, go_options)
    for index, ((target, _), manifest) in enumerate(zip(texts, manifests, strict=True)):
        if batch:
            click.echo(
                f"mdd: {target}: the runner check of {_count(len(manifest.points), 'point')}; "
                f"the agents running {COMMAND_BATCH} need its plan at {plans[index][0]}",
                err=True,
            )
        else:
            click.echo(f"mdd: {target}: {_count(len(manifest.points), 'check')}", err=True)


@main.group(invoke_without_command=True)
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
@click.argument("check_type")
def types_show(check_type: str) -> None:
    """Show a check type's options: what its `check:` block takes."""
    from mdd.checks.registry import CHECK_TYPES
    from mdd.docgen import check_type_text

    if check_type not in CHECK_TYPES:
        known = ", ".join(sorted(CHECK_TYPES))
        raise click.ClickException(f"unknown check type {check_type!r}; known types: {known}")
    click.echo(check_type_text(check_type), nl=False)


@main.group()
def asset() -> None:
    """The Sensu Go asset of the bundled checks (see `mdd asset build`)."""


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
    """Build a Sensu Go asset of the check-mdd-* commands, for agents with only python3.

    \b
    mdd asset build -o dist/ --url https://assets.example.net/mdd/
    sensuctl create -f dist/mdd-checks-asset.yaml
    mdd generate ams1 --format sensu-go --runtime-assets mdd-checks | sensuctl create

    The archive holds bin/check-mdd-* (launchers run by the agent's python3) and lib/ (mdd's
    checks and the pure-Python libraries they import, from this environment). The same
    sources always give the same bytes, so the sha512 is stable.
    """
    import re

    from mdd.sensu.asset import AssetError, build

    if url is not None and not re.match(r"https?://[^/\s]+", url):
        _fail(f"--url {url!r}: the agents download assets over http:// or https://")
    try:
        built = build(Path(folder), url, name, namespace)
    except AssetError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write into {folder}: {exc.strerror or exc}")
    size = built.archive.stat().st_size
    click.echo(f"{built.archive}: {size // 1024} KiB, {len(built.plan.commands)} checks")
    click.echo(f"{built.sha512_file}: sha512 {built.sha512}")
    libraries = ", ".join(
        f"{d.metadata['Name']} {d.version}" for d in built.plan.distributions.values()
    )
    click.echo(f"libraries: {libraries or 'none'}")
    for what, why in built.plan.left_out.items():
        click.echo(f"left out: {what}: {why}")
    if built.resource_file is not None:
        click.echo(f"{built.resource_file}: sensuctl create -f {built.resource_file}")
    else:
        click.echo("no Asset resource written: give --url, where the agents download it from")


main.add_command(types, "checks")  # the old name


# --------------------------------------------------------------------------- many datacenters


def _load_or_exit(name: str, manifests_dir: str | None, status: int = 1) -> Manifest:
    """The validated manifest of ``name``; on any problem, print them all and exit."""
    from mdd.locate import LocateError
    from mdd.manifest import ManifestError

    try:
        return _load(name, _locate(name, manifests_dir))
    except LocateError as exc:
        click.echo(f"mdd: {exc}", err=True)
    except ManifestError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        where = exc.problems[0].file if exc.problems else name
        click.echo(f"mdd: {where}: {_count(len(exc.problems), 'problem')}", err=True)
    sys.exit(status)


def _emit(text: str, output: str | None) -> None:
    from mdd.output import write_atomically

    if output == "":
        _fail("-o needs a file name (or - for standard output)")
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    try:
        write_atomically(Path(output), text)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}; nothing written")


OUTPUT_HELP = "Write to FILE (atomically) instead of standard output ('-')."


@main.command("render")
@click.argument("datacenter")
@click.option("--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP)
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml")
@click.option("-o", "--output", metavar="FILE", help=OUTPUT_HELP)
def render_command(
    datacenter: str, manifests_dir: str | None, fmt: str, output: str | None
) -> None:
    """Print DATACENTER's fully resolved manifest: bases merged, vars and for_each applied.

    Exactly what `mdd generate` turns into checks; the YAML is itself a valid manifest.
    """
    from mdd.render import render

    _emit(render(_load_or_exit(datacenter, manifests_dir), fmt), output)


@main.command("diff")
@click.argument("left", metavar="DATACENTER")
@click.argument("right", metavar="OTHER")
@click.option("--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP)
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
    from mdd.diff import as_json, compare, datacenter_vars, text

    one = _load_or_exit(left, manifests_dir, 2)
    other = _load_or_exit(right, manifests_dir, 2)
    if ignore_vars:
        result = compare(one, other, datacenter_vars(one.path), datacenter_vars(other.path))
    else:
        result = compare(one, other)
    click.echo(as_json(result) if fmt == "json" else text(result), nl=False)
    sys.exit(0 if result.equal else 1)


@main.command("init")
@click.argument("datacenter")
@click.option("--from", "source", required=True, metavar="DATACENTER", help="Derive from this one.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Set a var (repeatable).")
@click.option("--description", help="The new datacenter's description.")
@click.option("--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP)
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
    from mdd.init import InitError, check_name, derive, parse_sets, write
    from mdd.locate import LocateError, is_bundled
    from mdd.manifest import ManifestError

    try:
        check_name(datacenter)
        values = parse_sets(sets)
        path = _locate(source, manifests_dir)
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
        _fail(f"{exc}; nothing written")
    except ManifestError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        _fail(f"{_count(len(exc.problems), 'problem')}; nothing written")
    click.echo(f"{target}: datacenter {datacenter}, derived from {source}")
    for name, value in derived.kept_vars.items():
        click.echo(f"  var {name} keeps the value of {source}: {value} (change it if it differs)")


@main.command("docs")
@click.argument("datacenter")
@click.option("--manifests", "manifests_dir", type=click.Path(file_okay=False), help=MANIFESTS_HELP)
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md")
@click.option("--state", "state_file", metavar="FILE", help="A state file of `mdd verify`.")
@click.option("-o", "--output", metavar="FILE", help=OUTPUT_HELP)
def docs_command(
    datacenter: str,
    manifests_dir: str | None,
    fmt: str,
    state_file: str | None,
    output: str | None,
) -> None:
    """Write DATACENTER's living document: every point, who owes it, what is checked.

    Grouped by owner, with each point's description, docs link, the check in words and
    the dependencies as a graph; with --state, each point's state and when it turned green.
    """
    from mdd.docs import StateError, document, read_state

    manifest = _load_or_exit(datacenter, manifests_dir)
    try:
        state = read_state(Path(state_file), manifest.datacenter) if state_file else None
    except StateError as exc:
        _fail(str(exc))
    _emit(document(manifest, fmt, state), output)


@main.command("schema")
@click.option("-o", "--output", metavar="FILE", help=OUTPUT_HELP)
def schema_command(output: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) of a manifest, for editors.

    The same file ships as mdd/manifest.schema.json; point an editor at it with a first
    line `# yaml-language-server: $schema=PATH`.
    """
    from mdd.schema import schema_text

    _emit(schema_text(), output)


def _add_runner_commands() -> None:
    """``verify``, ``report`` and ``status`` live in mdd/runner/commands.py."""
    from mdd.runner.commands import report, status, verify

    main.add_command(verify)
    main.add_command(report)
    main.add_command(status)


_add_runner_commands()
