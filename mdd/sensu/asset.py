"""A Sensu Go asset of the bundled checks: what `mdd asset build` writes.

The archive is laid out as Sensu Go assets are (the agent puts the asset's ``bin/`` on the
check's ``PATH``):

* ``bin/check-mdd-<type>``: one small launcher per check type (the ``check-mdd-*`` console
  scripts of the ``mdd`` distribution), run by the agent's ``python3``
  (``#!/usr/bin/env python3``); it puts ``../lib`` first on ``sys.path`` and calls the
  check's ``main``;
* ``bin/check-mdd-batch``: the batch runner (docs/batch.md), so a runner check with
  ``runtime_assets`` finds it;
* ``lib/``: the ``mdd`` package with only what checks and the batch runner import
  (``mdd/__init__.py``, ``mdd/checks/`` and the modules ``BATCH_MODULES`` import), and
  every distribution the checks import at run time, found by reading the check modules'
  imports (lazy ones included) and following those distributions'
  requirements, taken from the installed distributions of this environment
  (``importlib.metadata``; nothing is downloaded).

The asset is the one agent artifact for both Sensus: Sensu Go unpacks it into its cache,
a Sensu Classic agent has it unpacked under ``/opt`` (``generate --command-prefix``). Its
library set is resolved for every Python it claims (``TARGETS``: CPython 3.10 and later on
Linux), not for the interpreter that builds it: each requirement's environment markers are
evaluated for every target, and the union goes in (redis needs ``async-timeout`` below
3.11.3, so the asset holds it even when built on 3.12). A requirement some target needs that
is not installed here, or a distribution whose ``Requires-Python`` excludes a target, stops
the build with a message saying what to install.

Only pure-Python code can go into an asset that runs on any agent's Python: a distribution
the checks import that holds compiled code is refused. A compiled distribution that is only
a requirement of another (``charset-normalizer``, pulled in by ``requests``, which
sensu-plugin declares but no check imports) is left out and reported, and so is a
distribution that would shadow the standard library (the PyPI ``argparse``).

The archive is deterministic: sorted entries, fixed times, owners and modes, gzip without a
time stamp, so the same sources always give the same sha512.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import io
import re
import sys
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

NAME = "mdd-checks"
OLDEST_PYTHON = (3, 10)  # the launchers refuse anything older (pyproject: requires-python)
NEWEST_MINOR = 14  # the newest CPython minor release the library set is resolved for
MACHINES = ("x86_64", "aarch64", "armv7l", "ppc64le", "s390x")
MTIME = 315532800  # 1980-01-01T00:00:00Z, the time every entry of the archive carries
FILTERS = ("entity.system.os == 'linux'",)  # pure Python + /bin/sh + SIGALRM: tested on Linux
_NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
_SKIPPED_FILES = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")
_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")

LAUNCHER = '''#!/usr/bin/env python3
"""{command} from the {asset} Sensu Go asset (mdd {version}): runs with the agent's python3."""
import os
import sys

if sys.version_info < (3, 10):
    print("{command} UNKNOWN: mdd needs Python 3.10 or later, this is " + sys.version.split()[0])
    sys.exit(3)
sys.path[0] = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "lib")
import mdd

mdd.ARTIFACT = "{asset}"


def lacks(exc):
    print("{command} UNKNOWN: the artifact lacks " + str(exc.name or exc)
          + " (rebuild it with `mdd asset build`)")
    sys.exit(3)


try:
    from {module} import {function}
except ImportError as exc:
    lacks(exc)
try:
    {function}()
except ImportError as exc:  # sensu-plugin is imported when the check starts, not before
    lacks(exc)
'''


class AssetError(Exception):
    """The asset cannot be built from this environment; the message says why."""


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Plan:
    """What goes into the asset, and what was left out and why."""

    commands: dict[str, str] = field(default_factory=dict)  # command -> "module:function"
    mdd_files: dict[str, Path] = field(default_factory=dict)  # archive path -> source file
    distributions: dict[str, metadata.Distribution] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)  # distribution -> why
    only_for: dict[str, str] = field(default_factory=dict)  # distribution -> marker


def check_imports(paths: Iterable[Path]) -> set[str]:
    """Top-level names of every absolute import in ``paths``, at any depth (lazy ones too),
    except those under ``if TYPE_CHECKING:``, which only a type checker reads (its ``else:``
    runs, and counts)."""
    names: set[str] = set()
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _run_time_nodes(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.partition(".")[0])
    return names


def _run_time_nodes(tree: ast.AST) -> Iterable[ast.AST]:
    """Every node of ``tree`` but the bodies of ``if TYPE_CHECKING:`` (or
    ``typing.TYPE_CHECKING``)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _is_native(dist: metadata.Distribution) -> bool:
    wheel = dist.read_text("WHEEL") or ""
    if re.search(r"^Root-Is-Purelib:\s*false", wheel, re.MULTILINE | re.IGNORECASE):
        return True
    return any(str(f).endswith(_NATIVE_SUFFIXES) for f in dist.files or ())


def _top_level(dist: metadata.Distribution) -> set[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return {line.strip() for line in text.splitlines() if line.strip()}
    names = set()
    for f in dist.files or ():
        parts = Path(str(f)).parts
        if parts and not parts[0].endswith((".dist-info", ".egg-info", "..")):
            names.add(Path(parts[0]).stem if len(parts) == 1 else parts[0])
    return names


def targets() -> list[dict[str, str]]:
    """The marker environments the asset claims: every CPython release from 3.10.0 on
    (patch levels up to 30, so a marker such as ``python_full_version < '3.11.3'`` meets
    both sides), on Linux, for every machine the agents run on."""
    found: list[dict[str, str]] = []
    for minor in range(OLDEST_PYTHON[1], NEWEST_MINOR + 1):
        for patch in range(31):
            version = f"3.{minor}.{patch}"
            for machine in MACHINES:
                found.append(
                    {
                        "python_version": f"3.{minor}",
                        "python_full_version": version,
                        "implementation_version": version,
                        "implementation_name": "cpython",
                        "platform_python_implementation": "CPython",
                        "os_name": "posix",
                        "sys_platform": "linux",
                        "platform_system": "Linux",
                        "platform_machine": machine,
                        "platform_release": "",
                        "platform_version": "",
                        "extra": "",
                    }
                )
    return found


def _span(environments: list[dict[str, str]]) -> str:
    """``3.10.0 to 3.11.2``: the Python versions of ``environments``, for a message."""
    versions = sorted(
        {e["python_full_version"] for e in environments},
        key=lambda v: tuple(int(p) for p in v.split(".")),
    )
    return versions[0] if len(versions) == 1 else f"{versions[0]} to {versions[-1]}"


def requirements(
    dist: metadata.Distribution, environments: list[dict[str, str]]
) -> list[tuple[str, str, str]]:
    """``dist``'s requirements that apply to at least one of ``environments`` (extras left
    out): (name, requirement text, the marker or "" when it applies everywhere)."""
    from packaging.requirements import InvalidRequirement, Requirement

    found: list[tuple[str, str, str]] = []
    for text in dist.requires or ():
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            match = _REQUIREMENT_NAME.match(text)
            if match:  # unparseable: include, the safe side
                found.append((match.group(1), text, ""))
            continue
        marker = requirement.marker
        if marker is None:
            found.append((requirement.name, text, ""))
        elif any(marker.evaluate(env) for env in environments):
            found.append((requirement.name, text, str(marker)))
    return found


def _python_gaps(dist: metadata.Distribution, environments: list[dict[str, str]]) -> str:
    """The target Pythons ``dist``'s ``Requires-Python`` leaves out ("" when none)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    declared = dist.metadata["Requires-Python"]
    if not declared:
        return ""
    try:
        spec = SpecifierSet(declared)
    except InvalidSpecifier:
        return ""
    missed = [e for e in environments if not spec.contains(e["python_full_version"])]
    return f"Python {_span(missed)} (it requires {declared})" if missed else ""


# The batch runner, check-mdd-batch: these modules and every mdd module they import.
BATCH_COMMAND = "check-mdd-batch"
BATCH_MODULES = (
    "mdd.batch.main",
    "mdd.batch.plan",
    "mdd.batch.submit",
    "mdd.batch.state",
    "mdd.batch.cron",
    "mdd.runner.runner",
    "mdd.runner.states",
)


def _batch_files() -> dict[str, Path]:
    """The archive paths of the mdd modules the batch runner imports (outside mdd.checks):
    every ``mdd`` module its modules name in an import, at the top or inside a function
    (read from their source, so an import made only on some path is not missed)."""
    import ast
    import importlib.util

    files: dict[str, Path] = {}
    todo, seen = list(BATCH_MODULES), set()
    while todo:
        name = todo.pop()
        if name in seen or not name.startswith("mdd.") or name.startswith("mdd.checks"):
            continue  # the checks are packed whole (``_mdd_sources``)
        seen.add(name)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise AssetError(f"cannot find {name}, which {BATCH_COMMAND} imports")
        path = Path(spec.origin)
        parts = name.split(".")
        relative = "/".join(parts) + ("/__init__.py" if path.name == "__init__.py" else ".py")
        files[f"lib/{relative}"] = path
        for parent in (".".join(parts[:i]) for i in range(2, len(parts))):
            todo.append(parent)  # a package's __init__ runs before its module
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    is_module = importlib.util.find_spec(node.module) is not None and (
                        _is_submodule(full)
                    )
                    todo.append(full if is_module else node.module)
            elif isinstance(node, ast.Import):
                todo.extend(alias.name for alias in node.names)
    return files


def _is_submodule(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # ``from mdd.x import NAME``: NAME is no module
        return False


def _mdd_sources() -> tuple[dict[str, Path], dict[str, str]]:
    """The archive paths of the mdd files checks import, and the check commands."""
    import mdd
    import mdd.checks
    from mdd.checks.registry import CHECK_TYPES, command_name

    files = {"lib/mdd/__init__.py": Path(mdd.__file__)}
    checks_dir = Path(mdd.checks.__file__).parent
    for path in sorted(checks_dir.glob("*.py")):
        files[f"lib/mdd/checks/{path.name}"] = path
    files.update(_batch_files())
    commands: dict[str, str] = {}
    try:
        points = metadata.distribution("mdd").entry_points
    except metadata.PackageNotFoundError:
        points = metadata.EntryPoints(())
    for point in points:
        if point.group == "console_scripts" and point.name.startswith("check-mdd-"):
            commands[point.name] = point.value
    for check_type, module in CHECK_TYPES.items():  # the registry is the list of check types
        module_name = getattr(module, "__name__", f"mdd.checks.check_{check_type}")
        commands.setdefault(command_name(check_type), f"{module_name}:main")
    commands.setdefault(BATCH_COMMAND, "mdd.batch.main:main")
    known = {command_name(t) for t in CHECK_TYPES} | {BATCH_COMMAND}
    return files, {name: value for name, value in sorted(commands.items()) if name in known}


def _providers() -> dict[str, list[str]]:
    """Top-level import names -> the installed distributions that provide them.

    ``packages_distributions()`` of Python 3.10 reads only ``top_level.txt``, which wheels
    such as dnspython, pg8000 and redis do not ship; the files each distribution installed
    (its RECORD) say the same for every wheel, so they fill the gaps.
    """
    providers: dict[str, list[str]] = {
        name: list(dists) for name, dists in metadata.packages_distributions().items()
    }
    for dist in metadata.distributions():
        dist_name = dist.metadata["Name"]
        for file in dist.files or ():
            parts = file.parts
            if not parts or parts[0].endswith((".dist-info", ".egg-info")) or parts[0] == "..":
                continue
            top = parts[0][:-3] if len(parts) == 1 and parts[0].endswith(".py") else parts[0]
            if len(parts) == 1 and not parts[0].endswith(".py"):
                continue
            if top.isidentifier() and dist_name not in providers.setdefault(top, []):
                providers[top].append(dist_name)
    return providers


class _Need(NamedTuple):
    """A distribution the asset needs, why, and on which Pythons (a marker; "": all)."""

    name: str
    why: str
    marker: str


def plan(
    extra_imports: Iterable[str] = (),
    environments: list[dict[str, str]] | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> Plan:
    """What the asset holds, from this environment, for every target of ``environments``
    (default ``targets()``); ``AssetError`` if it cannot be built."""
    environments = targets() if environments is None else environments
    result = Plan()
    result.mdd_files, result.commands = _mdd_sources()
    check_files = [path for name, path in result.mdd_files.items() if "/checks/" in name]
    stdlib = set(sys.stdlib_module_names)
    progress(f"reading the imports of {len(check_files)} check modules")
    imported = (check_imports(check_files) | set(extra_imports)) - stdlib - {"mdd"}
    progress("finding the installed distributions that provide them")
    providers = _providers()
    problems: list[str] = []
    queue: list[_Need] = []
    for name in sorted(imported):
        dists = providers.get(name)
        if not dists:
            problems.append(f"the checks import {name}, which no installed distribution provides")
            continue
        queue += [_Need(dist, f"imported by the checks ({name})", "") for dist in dists]
    progress(f"resolving their requirements for Python {_span(environments)} on Linux")
    _resolve(queue, environments, result, problems)
    if problems:
        raise AssetError("cannot build the asset: " + "; ".join(problems))
    return result


def _resolve(
    queue: list[_Need], environments: list[dict[str, str]], result: Plan, problems: list[str]
) -> None:
    """The distributions ``queue`` needs and their requirements, into ``result``; what
    cannot be had, into ``problems``."""
    direct = {_normalize(need.name) for need in queue}
    seen: set[str] = set()
    while queue:
        need = queue.pop(0)
        key = _normalize(need.name)
        if key == "mdd":
            continue
        if key in seen:
            if not need.marker:  # needed everywhere after all
                result.only_for.pop(key, None)
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(need.name)
        except metadata.PackageNotFoundError:
            where = f"on Python where {need.marker}" if need.marker else "on every Python"
            problems.append(
                f"agents {where} need {need.name} ({need.why}), which is not installed here: "
                f"install it into this environment (pip install '{need.name}') and build again"
            )
            continue
        if not _admitted(dist, need, key in direct, environments, result, problems):
            continue
        result.distributions[key] = dist
        if need.marker:
            result.only_for[key] = need.marker
        label = f"{dist.metadata['Name']} {dist.version}"
        for requirement, _, condition in requirements(dist, environments):
            both = [m for m in (need.marker, condition) if m]
            inherited = " and ".join(f"({m})" for m in both) if len(both) > 1 else "".join(both)
            queue.append(_Need(requirement, f"required by {label}", inherited))


def _admitted(
    dist: metadata.Distribution,
    need: _Need,
    direct: bool,
    environments: list[dict[str, str]],
    result: Plan,
    problems: list[str],
) -> bool:
    """Whether ``dist`` goes into the asset: not if it would shadow the standard library or
    holds compiled code (a problem when a check imports it, ``direct``); a problem when it
    does not run on every Python of ``environments``."""
    label = f"{dist.metadata['Name']} {dist.version}"
    if _top_level(dist) and _top_level(dist) <= set(sys.stdlib_module_names):
        result.left_out[label] = "it would shadow the standard library module of that name"
        return False
    if _is_native(dist):
        if direct:
            problems.append(
                f"{label} holds compiled code ({need.why}): an asset for any agent's Python "
                f"holds pure Python only"
            )
        else:
            result.left_out[label] = f"compiled code, and no check imports it ({need.why})"
        return False
    gaps = _python_gaps(dist, environments)
    if gaps:
        problems.append(
            f"{label} ({need.why}) does not run on {gaps}: install a release that does into "
            f"this environment (`pip install .` from mdd's clone bounds them) and build again"
        )
    return True


def _distribution_files(dist: metadata.Distribution) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for entry in dist.files or ():
        relative = Path(str(entry))
        if ".." in relative.parts or "__pycache__" in relative.parts:
            continue
        if relative.suffix == ".pyc" or relative.name in _SKIPPED_FILES:
            continue
        source = Path(str(dist.locate_file(entry)))
        if source.is_file():
            files["lib/" + relative.as_posix()] = source
    if not files:
        raise AssetError(
            f"{dist.metadata['Name']} lists no files (an editable install?): install it "
            f"normally to put it in the asset"
        )
    return files


def archive_bytes(result: Plan, asset: str = NAME) -> bytes:
    """The deterministic tar.gz of ``result``."""
    from mdd import __version__

    entries: dict[str, tuple[bytes, int]] = {}
    for name, source in result.mdd_files.items():
        entries[name] = (source.read_bytes(), 0o644)
    for dist in result.distributions.values():
        for name, source in _distribution_files(dist).items():
            entries.setdefault(name, (source.read_bytes(), 0o644))
    for command, target in result.commands.items():
        module, _, function = target.partition(":")
        text = LAUNCHER.format(
            command=command, asset=asset, version=__version__, module=module, function=function
        )
        entries[f"bin/{command}"] = (text.encode(), 0o755)
    folders = {str(Path(name).parent) for name in entries}
    while True:
        parents = {str(Path(folder).parent) for folder in folders} - {"."}
        if parents <= folders:
            break
        folders |= parents
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as zipped:  # noqa: SIM117
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for name in sorted(folders | set(entries)):
                info = tarfile.TarInfo(name)
                info.mtime = MTIME
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if name in entries:
                    data, mode = entries[name]
                    info.size = len(data)
                    info.mode = mode
                    tar.addfile(info, io.BytesIO(data))
                else:
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
    return buffer.getvalue()


def asset_resource(
    asset: str, url: str, sha512: str, namespace: str = "default"
) -> dict[str, object]:
    """The ``type: Asset`` resource for ``sensuctl create -f``, portable metadata."""
    from mdd import __version__

    def metadata_() -> dict[str, object]:
        return {"name": asset, "namespace": namespace, "annotations": {"mdd_version": __version__}}

    return {
        "type": "Asset",
        "api_version": "core/v2",
        "metadata": metadata_(),
        "spec": {
            "metadata": metadata_(),
            "builds": [{"url": url, "sha512": sha512, "filters": list(FILTERS)}],
        },
    }


@dataclass
class Built:
    archive: Path
    sha512: str
    sha512_file: Path
    resource_file: Path | None
    plan: Plan


def build(
    folder: Path,
    url: str | None = None,
    asset: str = NAME,
    namespace: str = "default",
    progress: Callable[[str], None] = lambda message: None,
) -> Built:
    """Write the archive, its ``.sha512`` and (with ``url``) the Asset resource into ``folder``."""
    from mdd import __version__
    from mdd.core.output import write_atomically
    from mdd.sensu import go, go_rules

    if not go_rules.ASSET_NAME.search(asset):
        raise AssetError(f"{asset!r} is not a Sensu Go asset name")
    result = plan(progress=progress)
    progress(f"packing {len(result.distributions)} libraries and the checks")
    data = archive_bytes(result, asset)
    sha512 = hashlib.sha512(data).hexdigest()
    # A Sensu Go asset name may hold "/" (`sensu/monitoring-plugins`); a file name may not.
    archive = folder / f"{asset.replace('/', '-')}-{__version__}.tar.gz"
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(archive, data)
    sha512_file = archive.with_name(archive.name + ".sha512")
    write_atomically(sha512_file, f"{sha512}  {archive.name}\n")
    resource_file = None
    if url is not None:
        full = url + archive.name if url.endswith("/") else url
        resource = asset_resource(asset, full, sha512, namespace)
        failures = go_rules.asset_failures(resource)
        if failures:
            raise AssetError("the Asset resource breaks Sensu Go's rules: " + "; ".join(failures))
        resource_file = folder / f"{asset.replace('/', '-')}-asset.yaml"
        write_atomically(resource_file, go.to_yaml([resource]))
    return Built(archive, sha512, sha512_file, resource_file, result)
