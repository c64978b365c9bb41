"""Read a file mdd was pointed at, bounded: only a regular file, never more than a cap.

Every file mdd reads (a manifest and its bases, the state file, a batch plan, the source of
``mdd init --from``) comes through ``read_capped``: a folder, a FIFO, a device such as
``/dev/zero`` or a socket is refused before one byte is read (a FIFO is opened without
blocking, so no writer is waited for), and a file over its cap is refused with a message
naming the cap, without reading more than the cap plus one byte (a file that grows while it
is read included). ``load_json`` parses JSON with a depth cap, so a hostile document nested
100,000 levels deep is a clear error, never a ``RecursionError``.

The checks (``mdd.checks._secrets.read_secret``) read their secret files by the same rules
with their own few lines: a check must not pay for importing mdd's generator side.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable

# check-mdd-batch reads its plan through this module on every run: no pathlib or typing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

JSON_DEPTH = 64  # nested lists and objects in any JSON file mdd reads; mdd's own need 5


class FileReadError(Exception):
    """The file cannot be read within the rules; the message says why (no file name when
    the caller names the file itself)."""


def kind(mode: int) -> str:
    """What a file that is not a regular file is, in words: ``a FIFO (named pipe)``."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def size_text(limit: int) -> str:
    """``8,388,608 bytes (8 MiB)``."""
    for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if limit >= 1 << shift and limit % (1 << shift) == 0:
            return f"{limit:,} bytes ({limit >> shift} {unit})"
    return f"{limit:,} bytes"


def read_capped(
    path: str | os.PathLike[str],
    limit: int,
    what: str = "the file",
    check: Callable[[os.stat_result], None] | None = None,
) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    ``what`` names the file in messages (``the state file``). ``check`` is called with the
    opened file's status before a byte is read (the batch plan's owner and mode: the very
    file that is read, not one swapped in after a look), and may raise. Raises
    ``FileReadError`` (not a regular file, over the cap, cannot be opened) and
    ``FileNotFoundError`` (so a caller may treat a missing file as empty)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise FileReadError(f"cannot read {what}: its file name is too long") from None
        raise FileReadError(f"cannot read {what}: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL in the path
        raise FileReadError(f"cannot read {what}: {exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileReadError(f"{what} is {kind(info.st_mode)}, not a file: nothing read")
        if check is not None:
            check(info)
        if info.st_size > limit:
            raise FileReadError(
                f"{what} is {info.st_size:,} bytes, over the limit of {size_text(limit)}: "
                f"nothing read"
            )
        chunks: list[bytes] = []
        size = 0
        while size <= limit:  # the file may grow while it is read
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise FileReadError(f"cannot read {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise FileReadError(f"{what} grew over the limit of {size_text(limit)} while read")
    return b"".join(chunks)


_CONTAINERS = (dict, list)  # what nests in a JSON or YAML document


def depth(value: Any) -> int:
    """How deeply lists and mappings nest in ``value`` (a scalar: 0), without recursion.
    Only lists and mappings go on the stack (check-mdd-batch checks its plan, mostly
    strings, on every run)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, _CONTAINERS) else []
    while stack:
        item, level = stack.pop()
        if level > deepest:
            deepest = level
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, _CONTAINERS):
                stack.append((child, level + 1))
    return deepest


def load_json(data: str | bytes, what: str = "the document", max_depth: int = JSON_DEPTH) -> Any:
    """``json.loads(data)``, refusing a document nested deeper than ``max_depth``.

    Raises ``json.JSONDecodeError`` for text that is not JSON (its position is useful) and
    ``FileReadError`` for a document nested too deeply or a number too long to convert."""
    try:
        document = json.loads(data)
    except RecursionError:
        raise FileReadError(
            f"{what} is nested too deeply (over {max_depth} levels of lists and objects)"
        ) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # a number of more than 4,300 digits; bytes that are not UTF-8
        raise FileReadError(f"{what} cannot be read as JSON: {exc}") from None
    if depth(document) > max_depth:
        raise FileReadError(
            f"{what} is nested too deeply (over {max_depth} levels of lists and objects)"
        )
    return document


def is_inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """Whether ``path``, symlinks resolved, is ``folder`` or under it (symlinks resolved)."""
    from pathlib import Path

    real, root = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    return real == root or root in real.parents
