"""`mdd init NEW --from OLD`: a new datacenter's manifest, derived from an existing one.

The new manifest extends the same bases as OLD (their paths rewritten relative to the new
file's folder), takes OLD's own vars with `--set name=value` applied, and copies OLD's own
`sensu` block and integration points as written (vars unreplaced, so `{{ domain }}` becomes
the new datacenter's domain). It is validated before anything is written, written
atomically, and never over an existing file.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mdd.core.files import is_inside
from mdd.core.output import write_atomically
from mdd.core.problems import Problem
from mdd.manifest import ManifestError, load, yamlload
from mdd.manifest import source as manifest_source
from mdd.manifest.keys import VAR_NAME
from mdd.manifest.render import dump_yaml


class InitError(Exception):
    """The new manifest cannot be made; the message says why. Nothing was written."""


@dataclass
class Derived:
    path: Path
    text: str
    kept_vars: dict[str, str] = field(default_factory=dict)  # vars still OLD's values


def parse_sets(pairs: tuple[str, ...]) -> dict[str, str]:
    """``name=value`` pairs of ``--set``."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not VAR_NAME.fullmatch(name):
            raise InitError(
                f"--set {pair!r}: write --set NAME=VALUE, NAME being a var name (letters, "
                f"digits and '_')"
            )
        values[name] = value
    return values


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _read_own(path: Path) -> dict[str, Any]:
    try:
        tree, _ = yamlload.load(manifest_source.read_text(path))
    except manifest_source.SourceError as exc:
        raise InitError(f"cannot read {path}: {exc.message}") from None
    except yamlload.YamlSyntaxError as exc:
        raise InitError(f"cannot read {path}: {exc}") from None
    if not isinstance(tree, dict):
        raise InitError(f"{path} is not a manifest (a mapping)")
    own: dict[str, Any] = _plain(tree)
    return own


def derive(
    source: Path,
    name: str,
    target: Path,
    sets: Mapping[str, str],
    description: str | None = None,
) -> Derived:
    """The text of datacenter ``name``'s manifest, to be written at ``target``."""
    if source.suffix not in (".yaml", ".yml"):
        # Never read (and quote in errors) a file that is not a manifest: /etc/passwd
        raise InitError(
            f"--from {source} is not a manifest: a manifest's file name ends in .yaml or "
            f".yml (nothing read)"
        )
    if not is_inside(source, target.parent):
        raise InitError(
            f"--from {source} is outside the folder of the new manifest "
            f"({os.path.abspath(target.parent)}): a manifest is derived from one in its own "
            f"folder or below it, as its bases are (nothing read)"
        )
    old = load(source)  # the source must be valid itself: ManifestError otherwise
    own = _read_own(source)
    data: dict[str, Any] = {}
    extends = own.get("extends")
    if extends is not None:
        bases = extends if isinstance(extends, list) else [extends]
        folder = os.path.abspath(target.parent)
        data["extends"] = [
            os.path.relpath(os.path.abspath(os.path.join(source.parent, base)), folder)
            for base in bases
        ]
        for base in data["extends"]:
            if os.path.isabs(base) or base == ".." or base.startswith(".." + os.sep):
                raise InitError(
                    f"{target} would extend {os.path.normpath(os.path.join(folder, base))}, "
                    f"outside its own folder {folder}: a manifest extends only bases in its "
                    f"folder or below it; write the new manifest in {source.parent}, or copy "
                    f"the bases"
                )
        if len(data["extends"]) == 1:
            data["extends"] = data["extends"][0]
    data["datacenter"] = name
    data["description"] = description or f"{name}: derived from {old.datacenter}; describe it"
    own_vars = own.get("vars") or {}
    new_vars = {key: str(value) for key, value in own_vars.items()}
    new_vars.update(sets)
    kept = {key: value for key, value in new_vars.items() if key not in sets}
    if new_vars:
        data["vars"] = new_vars
    for key in ("remove", "sensu", "integration_points"):
        if key in own:
            data[key] = own[key]
    header = (
        f"# The integration points the platform needs in {name}: derived from "
        f"{old.datacenter}\n# ({source.name}) by `mdd init`. Review every value copied from "
        f"{old.datacenter}.\n"
    )
    if extends is None and not own.get("integration_points"):
        raise InitError(f"{source} has no integration points of its own and no bases")
    return Derived(target, header + dump_yaml(data), kept)


def _validate(derived: Derived, name: str) -> None:
    """Load the new text from a temporary file beside the target (so bases resolve)."""
    folder = derived.path.parent
    temporary = folder / f".{derived.path.stem}.{secrets.token_hex(4)}.init.yaml"
    try:
        temporary.write_text(derived.text, encoding="utf-8")
        load(temporary, name)
    except ManifestError as exc:
        raise ManifestError(
            Problem(
                str(derived.path) if problem.file == str(temporary) else problem.file,
                problem.line,
                problem.column,
                problem.message.replace(str(temporary), str(derived.path)),
            )
            for problem in exc.problems
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def write(derived: Derived, name: str) -> None:
    """Validate and write ``derived``; ``InitError`` if its file already exists."""
    if derived.path.exists() or derived.path.is_symlink():
        raise InitError(f"{derived.path} already exists: mdd init never overwrites a manifest")
    if not derived.path.parent.is_dir():
        raise InitError(f"there is no folder {derived.path.parent}")
    _validate(derived, name)
    try:
        # exclusive: a file that appeared since the check above is never replaced
        write_atomically(derived.path, derived.text, exclusive=True)
    except FileExistsError:
        raise InitError(
            f"{derived.path} already exists: mdd init never overwrites a manifest"
        ) from None


_NAME = re.compile(r"[a-z0-9_-]+")


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise InitError(
            f"{name!r} cannot name a datacenter: use only lower-case letters, digits, '_' and '-'"
        )
