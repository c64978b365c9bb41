"""The argparse parser of a check: built only for ``--help``, ``--version`` and errors.

A working check's command line is read by ``_argv.parse_known`` without argparse; anything
else comes here, so help texts and error messages are argparse's, from the same option
declarations (``_argv.add_arguments``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn


class LightParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that measures the terminal only to print help: argparse's help
    formatter otherwise imports ``shutil`` (and with it zlib, bz2, lzma), about 2 ms, to lay
    out a help text that an error message never shows."""

    _help_width = 100

    def _get_formatter(self) -> argparse.HelpFormatter:
        return self.formatter_class(prog=self.prog, width=self._help_width)  # type: ignore[call-arg]

    def format_help(self) -> str:
        import shutil

        self._help_width = max(shutil.get_terminal_size().columns - 2, 40)
        return super().format_help()


class CheckParser(LightParser):
    """A check's parser: a shortened flag is refused, and an error goes to ``on_error``
    (``MddCheck`` reports it as UNKNOWN with one line) instead of argparse's exit 2."""

    def __init__(self, on_error: Callable[[str], NoReturn], **kwargs: Any) -> None:
        # A shortened flag (--contain for --contains) is a mistake, never a guess to act on.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(**kwargs)
        self._on_error = on_error

    def error(self, message: str) -> NoReturn:
        self._on_error(f"bad arguments: {message} (see --help)")
