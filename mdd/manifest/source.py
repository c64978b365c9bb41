"""Read a manifest file's text, refusing anything that is not a reasonable text file.

A manifest is a regular file of UTF-8 text of at most ``MAX_BYTES``. A folder, a FIFO, a
device (``/dev/zero``), a file over the limit, bytes that are not UTF-8, a UTF-16 or UTF-32
file and NUL bytes are refused with a message saying where and why, without reading more
than the limit (a FIFO is opened without blocking, so no writer is waited for). A UTF-8
byte-order mark is skipped; CRLF and CR line ends are read as line ends by YAML.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from mdd.core.files import FileReadError, read_capped

MAX_BYTES = 8 << 20  # 8 MiB: a datacenter of 10,000 points needs about 2 MiB


class SourceError(Exception):
    """The file cannot be read as a manifest; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _where(data: bytes, index: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte ``index``."""
    start = data.rfind(b"\n", 0, index) + 1
    line = data.count(b"\n", 0, index) + 1
    column = len(data[start:index].decode("utf-8", "replace")) + 1
    return line, column


def read_text(path: Path, what: str = "the manifest") -> str:
    """The text of the manifest file ``path``; ``SourceError`` says why it cannot be.

    ``what`` names the file in messages (``the base manifest``)."""
    try:
        data = read_capped(path, MAX_BYTES, what)
    except FileNotFoundError as exc:
        raise SourceError(f"cannot read {what}: {exc.strerror or exc}") from None
    except FileReadError as exc:
        message = str(exc)
        if "over the limit" in message:
            message += ": split the datacenter, or check that this is the right file"
        raise SourceError(message) from None
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
