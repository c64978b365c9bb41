"""Find a datacenter's manifest from what the user typed: a name or a file path.

A name ``NAME`` means ``NAME.yaml`` or ``NAME.yml`` in, in this order:

1. the folder given with ``--manifests`` (and only there, when it is given);
2. else ``$MDD_MANIFESTS`` (and only there, when it is set: a folder named on purpose that
   lacks the manifest is an error, never a reason to read a stale copy elsewhere);
3. else ``./manifests``;
4. the example datacenters bundled with mdd (``mdd/examples/``), but only when neither
   ``$MDD_MANIFESTS`` is set nor ``./manifests`` exists: an example is for trying mdd out,
   and must never stand in for a real datacenter of the same name.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

SUFFIXES = (".yaml", ".yml")
ENV_VAR = "MDD_MANIFESTS"


class LocateError(Exception):
    """No manifest (or more than one) for a name; the message says where mdd looked."""


def bundled_dir() -> Path | None:
    """The folder of the bundled example manifests, when installed as real files."""
    folder = resources.files("mdd").joinpath("examples")
    return folder if isinstance(folder, Path) and folder.is_dir() else None


def is_bundled(path: Path) -> bool:
    """Whether ``path`` is one of the example manifests bundled with mdd."""
    folder = bundled_dir()
    return folder is not None and path.resolve().parent == folder.resolve()


def bundled_names() -> list[str]:
    folder = bundled_dir()
    if folder is None:
        return []
    return sorted(p.stem for p in folder.iterdir() if p.suffix in SUFFIXES)


def _in_folder(name: str, folder: Path) -> Path | None:
    found = [path for path in (folder / (name + s) for s in SUFFIXES) if path.is_file()]
    if len(found) > 1:
        raise LocateError(
            f"both {found[0]} and {found[1]} exist: keep one, so it is clear which one is "
            f"the manifest of {name!r}"
        )
    return found[0] if found else None


def _unusable_name(name: str) -> str | None:
    """Why ``name`` can name no file (too long, a NUL), or None; stat() would raise."""
    if "\0" in name:
        return f"{name!r} holds a NUL character: no manifest is named so"
    try:
        encoded = os.fsencode(name)
    except UnicodeError:
        return f"{name!r} cannot be a file name on this system"
    if len(encoded) > 4000 or any(len(part) > 255 for part in encoded.split(b"/")):
        shown = name if len(name) <= 60 else name[:60] + "..."
        return (
            f"{shown!r} is too long for a file name ({len(encoded)} bytes): give a "
            f"datacenter's name or the path of its manifest"
        )
    return None


def _not_a_file(path: Path) -> str:
    """Why an existing-or-not ``path`` is no manifest file: ``is a folder, ...``."""
    from mdd.core.files import kind

    try:
        what = kind(path.stat().st_mode)
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if what == "a folder":
        return f"is {what}, not a manifest file"
    if what in ("a FIFO (named pipe)", "a device"):  # reading would wait, or never end
        return f"is {what}, not a manifest file: nothing read"
    return "is not a regular file"


def _names_in(folder: Path) -> list[str]:
    """The datacenters a folder holds (files starting with ``_`` or ``.`` are not)."""
    try:
        return sorted(
            p.stem
            for p in folder.iterdir()
            if p.suffix in SUFFIXES and not p.name.startswith(("_", ".")) and p.is_file()
        )
    except OSError:
        return []


def _suggestion(name: str, existing: list[str]) -> str:
    """``; did you mean 'lab1'? (datacenters there: lab1, lab2)`` (or "")."""
    import difflib

    names = sorted(set(existing))
    if not names:
        return ""
    same = [n for n in names if n.lower() == name.lower()]
    close = same or difflib.get_close_matches(name, names, n=1)
    text = f"; did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    return text + f" (datacenters there: {shown})"


def looks_like_path(name: str) -> bool:
    return os.sep in name or "/" in name or name.endswith(SUFFIXES)


def find_manifest(name: str, manifests_dir: str | Path | None = None) -> Path:
    """The manifest file for ``name`` (a datacenter name or a path to a file)."""
    problem = _unusable_name(name)
    if problem:
        raise LocateError(problem)
    if looks_like_path(name) or Path(name).is_file():
        path = Path(name)
        if not path.is_file():
            raise LocateError(f"{name} {_not_a_file(path)}")
        return path

    looked: list[str] = []
    env = None
    if manifests_dir is not None:
        folders = [(Path(manifests_dir), "--manifests")]
        use_bundled = False
    else:
        env = os.environ.get(ENV_VAR)
        if env:
            folders = [(Path(env), f"${ENV_VAR}")]
        else:
            looked.append(f"${ENV_VAR} (not set)")
            folders = [(Path("manifests"), "the default")]
        use_bundled = not env and not Path("manifests").exists()

    existing: list[str] = []
    for folder, why in folders:
        if folder.is_dir():
            found = _in_folder(name, folder)
            if found is not None:
                return found
            looked.append(f"{folder}/ ({why})")
            existing += _names_in(folder)
        else:
            looked.append(f"{folder}/ ({why}; no such folder)")

    bundled = bundled_dir() if use_bundled else None
    if bundled is not None:
        found = _in_folder(name, bundled)
        if found is not None:
            return found
        looked.append(f"the bundled examples ({', '.join(bundled_names()) or 'none'})")
        existing += bundled_names()

    files = " or ".join(name + suffix for suffix in SUFFIXES)
    message = f"no manifest for {name!r}: looked for {files} in {'; '.join(looked)}"
    message += _suggestion(name, existing)
    if manifests_dir is None and env:
        message += f" (${ENV_VAR} is set: no other folder is searched)"
    elif manifests_dir is None and not use_bundled and name in bundled_names():
        message += f" (the bundled examples are used only without ${ENV_VAR} and ./manifests)"
    raise LocateError(message)


def all_manifests(manifests_dir: str | Path | None = None) -> tuple[Path, list[Path]]:
    """The manifests folder (the one ``find_manifest`` would search first, by the same rules)
    and every manifest in it, sorted by name; files starting with ``_`` or ``.`` are left out
    (they are not datacenters)."""
    if manifests_dir is not None:
        folder, why = Path(manifests_dir), "--manifests"
    elif os.environ.get(ENV_VAR):
        folder, why = Path(os.environ[ENV_VAR]), f"${ENV_VAR}"
    elif Path("manifests").exists():
        folder, why = Path("manifests"), "the default"
    else:
        bundled = bundled_dir()
        if bundled is None:
            raise LocateError("no manifests folder: give --manifests DIR or set $MDD_MANIFESTS")
        folder, why = bundled, "the bundled examples"
    if not folder.is_dir():
        raise LocateError(f"{folder}/ ({why}) is not a folder")
    found = sorted(
        path
        for path in folder.iterdir()
        if path.suffix in SUFFIXES and path.is_file() and not path.name.startswith(("_", "."))
    )
    stems = [path.stem for path in found]
    for stem in stems:
        if stems.count(stem) > 1:
            raise LocateError(
                f"both {folder / (stem + '.yaml')} and {folder / (stem + '.yml')} exist: keep "
                f"one, so it is clear which one is the manifest of {stem!r}"
            )
    if not found:
        raise LocateError(f"{folder}/ ({why}) holds no manifest (NAME.yaml)")
    return folder, found
