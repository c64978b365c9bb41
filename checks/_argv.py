"""A check's command line, parsed back into the canonical values its options declare.

``parse_argv`` is the one parser of a check's argv: the Sensu plugin (``MddCheck``) and the
in-process runner of ``mdd verify`` both use it, so both read a command alike.

It has two paths. A generated command is plain: every word is ``--flag VALUE``,
``--flag=VALUE`` or a boolean ``--flag`` / ``--no-flag`` of the check's own options, each
value converted by its kind. That path is read here directly, without argparse, because
argparse and the gettext look-ups it does for its messages (it imports ``gettext``,
``locale`` and ``textwrap``, and reads the locale's catalogues) cost a check-mdd-tcp run 17
million instructions, 17% of it (4.6 ms of 26 ms CPU; measured for issue 15 from a wheel,
see docs/performance.md), for help texts and errors a working check never prints. Anything
else (``--help``, ``--version``, a misspelt or unknown flag, a missing value, a bad value, a
missing required option, two forms of one secret, ``--``, a value that starts with ``-``
written as a separate word) goes to the argparse parser that ``add_arguments`` builds from
the same declarations, so every message and exit stays argparse's. tests/checks/test_argv.py
holds the two paths to the same namespace over generated and hand-written command lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from mdd.checks._kinds import BOOLEAN, Kind
from mdd.checks._secret_kinds import (
    SECRET,
    parse_client_secret,
    parse_env_secret,
    parse_file_secret,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from argparse import Namespace as Options
    from typing import Any

    from mdd.checks._options import Option
else:

    class Options:
        """The parsed options: ``argparse.Namespace``'s behaviour without importing argparse
        (type checkers see ``argparse.Namespace``)."""

        def __init__(self, **values: Any) -> None:
            self.__dict__.update(values)

        def __eq__(self, other: object) -> bool:
            return vars(self) == vars(other) if hasattr(other, "__dict__") else NotImplemented

        def __contains__(self, name: str) -> bool:
            return name in self.__dict__

        def __repr__(self) -> str:
            return "Options(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")"


__all__ = ["Options", "add_arguments", "parse_known"]

# How each form of a secret is read back from its flag (--password-file PATH, ...).
_SECRET_FORMS = (
    ("file", parse_file_secret, "PATH", "a file on the agent (trailing newline cut)"),
    ("env", parse_env_secret, "NAME", "an environment variable of the agent"),
    (
        "client",
        parse_client_secret,
        "ATTRIBUTE",
        "an attribute (dotted path) of the Sensu Classic client definition that "
        "sensu-client writes to the check's stdin (stdin: true)",
    ),
)


class _Plain(Exception):
    """The command line is not of the plain shape the direct path reads: ask argparse."""


def parse_known(options: Sequence[Option], argv: Sequence[str]) -> Options | None:
    """The options of a plain command line (see the module's text), or ``None`` for any
    other: the caller then parses it with argparse, which also gives the message."""
    try:
        return _parse_plain(options, argv)
    except (_Plain, ValueError):
        return None


def _flags(
    options: Sequence[Option],
) -> dict[str, tuple[Option, Callable[[str], Any] | None, bool]]:
    """flag -> (option, parse of one value or None for a boolean, a boolean's value)."""
    flags: dict[str, tuple[Option, Callable[[str], Any] | None, bool]] = {}
    for opt in options:
        if opt.kind is SECRET:
            for source, read, _, _ in _SECRET_FORMS:
                flags[f"{opt.flag}-{source}"] = (opt, read, False)
        elif opt.kind is BOOLEAN:
            flags[opt.flag] = (opt, None, True)
            flags["--no-" + opt.flag[2:]] = (opt, None, False)
        else:
            flags[opt.flag] = (opt, opt.kind.parse, False)
    return flags


def _defaults(options: Sequence[Option], values: dict[str, Any]) -> None:
    """The options not given: their defaults, as argparse gives them."""
    for opt in options:
        if opt.name in values:
            continue
        if opt.required:
            raise _Plain  # argparse names what is missing
        default = None if opt.multiple or opt.pairs or opt.kind is SECRET else opt.default
        if isinstance(default, str) and opt.kind is not BOOLEAN:
            default = opt.kind.parse(default)  # as argparse converts a string default
        values[opt.name] = default


def _parse_plain(options: Sequence[Option], argv: Sequence[str]) -> Options:
    flags = _flags(options)
    values: dict[str, Any] = {}
    secret_flag: dict[str, str] = {}  # option name -> the one form of it given
    words = iter(argv)
    for word in words:
        if not word.startswith("--"):
            raise _Plain  # a positional word, a short flag (-h), a single "-"
        flag, equals, given = word.partition("=")
        entry = flags.get(flag)
        if entry is None:
            raise _Plain  # unknown, misspelt, --help, --version, "--"
        opt, parse, flag_value = entry
        if parse is None:  # a boolean: --name or --no-name, never with a value
            if equals:
                raise _Plain
            values[opt.name] = flag_value
            continue
        value: str | None = given
        if not equals:
            value = next(words, None)
            if value is None or value.startswith("-"):
                raise _Plain  # no value, or one argparse would read as a flag
        if opt.kind is SECRET and secret_flag.setdefault(opt.name, flag) != flag:
            raise _Plain  # two forms of one secret: argparse says they exclude each other
        item = parse(value or "")  # ValueError: argparse gives the message
        if opt.multiple or opt.pairs:
            values.setdefault(opt.name, []).append(item)
        else:
            values[opt.name] = item
    _defaults(options, values)
    return Options(**values)


def _argparse_type(kind: Kind) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        import argparse

        try:
            return kind.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = kind.name  # argparse names the kind in its message
    return convert


def add_arguments(parser: argparse.ArgumentParser, options: Sequence[Option]) -> None:
    """Add one flag per option, each converting to the option's canonical value."""
    import argparse

    for opt in options:
        if opt.kind is SECRET:
            group = parser.add_mutually_exclusive_group(required=opt.required)
            for source, parse, metavar, where in _SECRET_FORMS:
                group.add_argument(
                    f"{opt.flag}-{source}",
                    dest=opt.name,
                    type=_argparse_type(Kind(opt.kind.name, parse, parse)),
                    default=None,
                    metavar=metavar,
                    help=f"{plain_help(opt.help)} Read from {where}.",
                )
            continue
        if opt.kind is BOOLEAN:
            parser.add_argument(
                opt.flag,
                dest=opt.name,
                action=argparse.BooleanOptionalAction,
                default=opt.default,
                help=plain_help(opt.help),
            )
            continue
        if opt.default is None:
            default_text = ""
        elif opt.multiple:  # a list of items
            default_text = ", ".join(opt.kind.text(item) for item in opt.default)
        else:
            default_text = opt.kind.text(opt.default)
        repeat = " Repeat the flag for each one." if opt.multiple or opt.pairs else ""
        kwargs: dict[str, Any] = {
            "dest": opt.name,
            "type": _argparse_type(opt.kind),
            # A kind whose flag is written unlike its manifest value has its own flag help.
            "help": plain_help(opt.kind.flag_doc or opt.help)
            + repeat
            + (f" (default: {default_text})" if default_text else ""),
            "metavar": opt.kind.metavar,
        }
        if opt.multiple or opt.pairs:
            kwargs["action"] = "append"
            kwargs["default"] = None
        else:
            kwargs["default"] = opt.default
        if opt.required:
            kwargs["required"] = True
        parser.add_argument(opt.flag, **kwargs)


def plain_help(text: str, options: Sequence[Option] = ()) -> str:
    """Help text without the reStructuredText markup of docstrings: ````name```` becomes the
    flag ``--name`` when it names one of ``options``, else plain ``name``."""
    if "``" not in text:
        return text
    flags = {opt.name: opt.flag for opt in options}
    return re.sub(r"``(.+?)``", lambda m: flags.get(m.group(1), m.group(1)), text, flags=re.S)
