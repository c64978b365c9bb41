"""A check's two ways of reading its command line agree (``checks/_argv.py``).

A check run reads a plain command line directly (``parse_known``) and hands anything else to
the argparse parser built from the same declarations. Over command lines made of each check
type's own flags, misspellings, ``--help``, ``--``, values that start with ``-``, bad values
and missing ones, in every order: whenever the direct path gives options, argparse gives
exactly the same and no unexpected words; whenever argparse refuses or prints help, the direct
path has stepped aside. A check run as Sensu runs it takes the same path (the last tests).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdd.checks._argv import parse_known
from mdd.checks._help import CheckParser
from mdd.checks._options import BOOLEAN, COMMON_OPTIONS, SECRET, Option, add_arguments
from mdd.checks.registry import CHECK_TYPES, command_name
from mdd.core.command import check_argv

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

TYPES = sorted(CHECK_TYPES)
BIN = Path(sys.executable).parent


class Refused(Exception):
    pass


def _refuse(message: str) -> Any:
    raise Refused(message)


def by_argparse(options: Sequence[Option], argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    parser = CheckParser(_refuse, prog="check")
    parser.add_argument("--version", action="version", version="check 0")
    add_arguments(parser, options)
    opts, remain = parser.parse_known_args(argv)
    return vars(opts), remain


def flags_of(options: Sequence[Option]) -> list[str]:
    flags: list[str] = []
    for opt in options:
        if opt.kind is SECRET:
            flags += [f"{opt.flag}-file", f"{opt.flag}-env", f"{opt.flag}-client"]
        elif opt.kind is BOOLEAN:
            flags += [opt.flag, "--no-" + opt.flag[2:]]
        else:
            flags.append(opt.flag)
    return flags


# Values of every shape argparse treats differently: empty, "-x" (a flag to argparse), "-5"
# (a negative number), "--", words with spaces or "=", and values valid for common kinds.
VALUES = [
    "",
    "x",
    "-x",
    "-5",
    "--",
    "--help",
    "a b",
    "a=b",
    "5",
    "0",
    "70000",
    "1.5s",
    "2m",
    "-1s",
    "127.0.0.1",
    "localhost",
    "[::1]:53",
    "/etc/mdd/pw",
    "relative/pw",
    "MDD_PW",
    "mdd.pw",
    "200-299",
    "http://127.0.0.1:8080/health",
    "X-Test: 1",
    'status="UP"',
    "^OK",
    "(",
    "open",
    "closed",
    "smtp",
    "1.2",
    "A",
    "PING\\r\\n",
]
EXTRA_WORDS = ["--help", "-h", "--version", "--", "-", "--bogus", "--bogus=1", "positional"]


def words_for(check_type: str) -> st.SearchStrategy[list[str]]:
    options = COMMON_OPTIONS + CHECK_TYPES[check_type].OPTIONS
    flags = flags_of(options)
    shortened = [flag[:-1] for flag in flags if len(flag) > 4]  # abbreviations are refused
    flag = st.sampled_from(flags)
    value = st.sampled_from(VALUES)
    word = st.one_of(
        st.tuples(flag, value).map(lambda pair: [pair[0], pair[1]]),
        # (not "--flag=--": argparse reads that as [], see test_a_value_of_two_dashes)
        st.tuples(flag, value.filter(lambda v: v != "--")).map(lambda p: [f"{p[0]}={p[1]}"]),
        flag.map(lambda f: [f]),
        st.sampled_from(EXTRA_WORDS + shortened).map(lambda w: [w]),
    )
    example = example_argv(check_type)

    def after_example(parts: list[list[str]], from_example: bool) -> list[str]:
        words = [w for part in parts for w in part]
        # Most command lines start from the type's generated EXAMPLE (so the required options
        # are there and the direct path can be taken); the others from nothing.
        return example + words if from_example else words

    return st.builds(after_example, st.lists(word, max_size=6), st.booleans() | st.just(True))


def example_argv(check_type: str) -> list[str]:
    """The argv ``mdd generate`` writes for the check type's EXAMPLE."""
    module = CHECK_TYPES[check_type]
    by_name = {opt.name: opt for opt in module.OPTIONS}
    values = {name: by_name[name].load(value) for name, value in module.EXAMPLE.items()}
    return check_argv(check_type, values, "example-point")[1:]


def agree(check_type: str, argv: list[str]) -> bool:
    """Assert the two paths agree on ``argv``; True when the direct path took it."""
    options = COMMON_OPTIONS + CHECK_TYPES[check_type].OPTIONS
    direct = parse_known(options, argv)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            expected, remain = by_argparse(options, argv)
    except (Refused, SystemExit):  # an error, or --help / --version printed and exited
        assert direct is None, f"{check_type}: the direct path took {argv!r}, argparse refused"
        return False
    if direct is None:
        return False  # argparse's path: always allowed (it is the reference)
    assert remain == [], f"{check_type}: the direct path took {argv!r}; argparse left {remain}"
    assert vars(direct) == expected, f"{check_type}: {argv!r} read differently"
    return True


@pytest.mark.parametrize("check_type", TYPES)
def test_direct_path_agrees_with_argparse(check_type: str) -> None:
    taken = []

    @settings(
        max_examples=int(os.environ.get("MDD_ARGV_EXAMPLES", "150")),
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(words_for(check_type))
    def check(argv: list[str]) -> None:
        taken.append(agree(check_type, argv))

    check()
    # The comparison is worth something only if both paths were exercised.
    assert any(taken), f"{check_type}: no command line took the direct path"
    assert not all(taken), f"{check_type}: no command line went to argparse"


@pytest.mark.parametrize(
    "argv",
    [
        ["--host", "127.0.0.1", "--port", "22", "--host", "localhost"],  # the last one wins
        ["--host=127.0.0.1", "--port=22", "--send="],  # an empty value
        ["--host", "127.0.0.1", "--port", "22", "--send=-x"],  # "-x" joined to its flag
        ["--host", "127.0.0.1", "--port", "22", "--send", "-x"],  # argparse: expects a value
        ["--host", "127.0.0.1", "--port", "22", "--send", "--", "x"],
        ["--host", "127.0.0.1"],  # --port is required
        ["--host", "127.0.0.1", "--port", "none"],  # a bad value
        ["--host", "127.0.0.1", "--port", "22", "--hos", "x"],  # shortened flag
        ["--host", "127.0.0.1", "--port", "22", "extra"],
        ["--host", "127.0.0.1", "--port", "22", "--timeout"],  # the value is missing
    ],
)
def test_tcp_edge_cases(argv: list[str]) -> None:
    agree("tcp", argv)


def test_a_value_of_two_dashes_is_two_dashes() -> None:
    """``--flag=--`` is how the generator writes the value "--" (a value that starts with
    "-" is joined to its flag). argparse 3.10-3.11 drops a "--" even there and hands the check
    an empty list; the direct path, which every generated command takes, reads "--"."""
    options = COMMON_OPTIONS + CHECK_TYPES["tcp"].OPTIONS
    argv = ["--host", "127.0.0.1", "--port", "22", "--send=--", "--point=--"]
    direct = parse_known(options, argv)
    assert direct is not None
    assert (direct.send, direct.point) == ("--", "--")
    assert check_argv("tcp", {"host": "h", "port": 1, "send": "--"})[-1] == "--send=--"


def test_two_forms_of_one_secret_go_to_argparse() -> None:
    argv = ["--host", "127.0.0.1", "--password-file", "/a", "--password-env", "B"]
    assert parse_known(COMMON_OPTIONS + CHECK_TYPES["redis"].OPTIONS, argv) is None
    assert not agree("redis", argv)


def test_a_repeated_flag_collects_every_value() -> None:
    options = COMMON_OPTIONS + CHECK_TYPES["http"].OPTIONS
    argv = ["--url", "http://127.0.0.1/", "--headers", "A: 1", "--headers=B: 2"]
    direct = parse_known(options, argv)
    assert direct is not None and direct.headers == [("A", "1"), ("B", "2")]
    assert agree("http", argv)


_SYS_MODULES = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: print('MODULES', *sorted(sys.modules), file=sys.stderr))\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def run_check(check_type: str, *args: str) -> tuple[int, str, set[str]]:
    """A check run through its console script, with the modules it imported."""
    script = BIN / command_name(check_type)
    proc = subprocess.run(
        [sys.executable, "-c", _SYS_MODULES, str(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd="/",
    )
    modules = set()
    for line in proc.stderr.splitlines():
        if line.startswith("MODULES "):
            modules = set(line.split()[1:])
    return proc.returncode, proc.stdout, modules


def test_a_plain_run_imports_neither_argparse_nor_traceback(tcp_listener: int) -> None:
    """The point of the direct path: what a working check imports (see checks/_sensu.py)."""
    code, out, modules = run_check("tcp", "--host", "127.0.0.1", "--port", str(tcp_listener))
    assert code == 0, out
    assert "OK" in out
    assert modules, "the module list was not printed"
    assert "mdd.checks.check_tcp" in modules
    for name in ("argparse", "traceback", "gettext", "locale", "textwrap", "shutil"):
        assert name not in modules, f"a plain run imported {name}"


def test_an_error_takes_argparse_and_says_so() -> None:
    code, out, modules = run_check("tcp", "--host", "127.0.0.1", "--port")
    assert code == 3
    assert out.startswith("TcpCheck UNKNOWN: bad arguments: argument --port: expected one argument")
    assert "argparse" in modules


def test_help_is_argparse_help() -> None:
    code, out, _ = run_check("tcp", "--help")
    assert code == 0
    assert out.startswith("usage: check-mdd-tcp")
    assert "--timeout DURATION" in out


@pytest.fixture
def tcp_listener() -> Any:
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


# --------------------------------------------------------------------------- the url option


def _outcome(read: Any, text: str) -> tuple[str, str]:
    try:
        return ("ok", read(text))
    except ValueError:
        return ("refused", "")


URL_PIECES = st.sampled_from(
    [
        "http",
        "https",
        "HTTP",
        "ftp",
        "://",
        ":/",
        "/",
        "?",
        "#",
        "@",
        ":",
        "[",
        "]",
        "::1",
        "127.0.0.1",
        "localhost",
        "a",
        "-",
        ".",
        "_",
        "%20",
        " ",
        "\t",
        "0",
        "80",
        "65535",
        "65536",
        "00080",
        "x" * 60,
        "é",
        "key=1",
        "token=x",
        "&",
        "=",
        "\\",
    ]
)


@settings(max_examples=2000, deadline=None, derandomize=True)
@given(st.lists(URL_PIECES, max_size=8).map("".join))
def test_url_read_from_the_command_line_as_from_a_manifest(text: str) -> None:
    """The url kind's light command-line reader accepts and refuses exactly what the full
    one (``_url``, urllib.parse) does, and returns the same text."""
    from mdd.checks._kinds import URL, _url

    assert URL.parse is not _url
    assert _outcome(URL.parse, text) == _outcome(_url, text)


@pytest.mark.parametrize(
    "text",
    [
        "http://127.0.0.1:8080/health",
        "https://artifacts.ams1.example.net/health#top",
        "http://h:/",
        "http://h:0/",
        "http://h:99999/",
        "http://user:pw@h/",
        "http://h/?api_key=1",
        "http://[::1]:80/",
        "http:///x",
        "HTTP://h/",
        "http://" + "a" * 254 + "/",
    ],
)
def test_url_edge_cases_agree(text: str) -> None:
    from mdd.checks._kinds import URL, _url

    assert _outcome(URL.parse, text) == _outcome(_url, text)


def test_sensu_plugins_stand_ins_reach_the_real_modules() -> None:
    """plugin.py's ``traceback`` (its crash report) is the real module's at first use."""
    code = (
        "import sys, mdd.checks._sensu, sensu_plugin.plugin as p\n"
        "assert 'traceback' not in sys.modules\n"
        "format_tb = p.traceback.format_tb\n"
        "import traceback\n"
        "assert format_tb is traceback.format_tb and sys.modules['traceback'] is traceback\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd="/"
    )
    assert proc.stdout == "ok\n", proc.stderr
