"""Read a manifest file's text, refusing anything that is not a reasonable text file.

A manifest is a regular file of UTF-8 text of at most ``MAX_BYTES``. A folder, a FIFO, a
device (``/dev/zero``), a file over the limit, bytes that are not UTF-8, a UTF-16 or UTF-32
file and NUL bytes are refused with a message saying where and why, without reading more
than the limit (a FIFO is opened without blocking, so no writer is waited for). A UTF-8
byte-order mark is skipped; CRLF and CR line ends are read as line ends by YAML.
"""

from __future__ import annotations

import codecs
import errno
import os
import stat
from pathlib import Path

MAX_BYTES = 8 << 20  # 8 MiB: a datacenter of 10,000 points needs about 2 MiB


class SourceError(Exception):
    """The file cannot be read as a manifest; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _where(data: bytes, index: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte ``index``."""
    start = data.rfind(b"\n", 0, index) + 1
    line = data.count(b"\n", 0, index) + 1
    column = len(data[start:index].decode("utf-8", "replace")) + 1
    return line, column


def read_text(path: Path) -> str:
    """The text of the manifest file ``path``; ``SourceError`` says why it cannot be."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise SourceError("cannot read the manifest: its file name is too long") from None
        raise SourceError(f"cannot read the manifest: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL in the path
        raise SourceError(f"cannot read the manifest: {exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SourceError(f"the manifest is {_kind(info.st_mode)}, not a file: nothing read")
        if info.st_size > MAX_BYTES:
            raise SourceError(
                f"the manifest is {info.st_size:,} bytes, over the limit of {MAX_BYTES:,} "
                f"({MAX_BYTES >> 20} MiB): split the datacenter, or check that this is the "
                f"right file"
            )
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_BYTES:  # the file may grow while it is read
            chunk = os.read(fd, MAX_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise SourceError(f"cannot read the manifest: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_BYTES:
        raise SourceError(
            f"the manifest is over the limit of {MAX_BYTES:,} bytes ({MAX_BYTES >> 20} MiB)"
        )
    return decode(data)


def decode(data: bytes) -> str:
    """``data`` as manifest text: UTF-8, without NUL bytes; a UTF-8 BOM is skipped."""
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if data.startswith(bom):
            raise SourceError(
                f"the manifest is {name} text (it starts with a {name} byte-order mark): "
                f"save it as UTF-8"
            )
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    nul = data.find(b"\0")
    if nul >= 0:
        line, column = _where(data, nul)
        raise SourceError(
            "the manifest holds a NUL byte: it is not a text file (or it is UTF-16 text "
            "without a byte-order mark: save it as UTF-8)",
            line,
            column,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _where(data, exc.start)
        raise SourceError(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot start or continue a UTF-8 "
            f"character here; save the file as UTF-8",
            line,
            column,
        ) from None
