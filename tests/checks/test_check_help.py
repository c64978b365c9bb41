"""The checks' own --help and --version, as an operator on an agent reads them."""

from __future__ import annotations

import pytest

from mdd import __version__
from mdd.checks.registry import CHECK_TYPES, command_name
from tests.conftest import run_argv

TYPES = sorted(CHECK_TYPES)


@pytest.fixture(scope="module", params=TYPES)
def help_text(request: pytest.FixtureRequest) -> tuple[str, str]:
    run = run_argv(command_name(request.param), "--help")
    assert run.code == 0, run.out
    return request.param, run.out


def test_help_has_no_restructuredtext_markup(help_text: tuple[str, str]) -> None:
    _, text = help_text
    assert "``" not in text


def test_help_lists_the_values_of_every_choice(help_text: tuple[str, str]) -> None:
    check_type, text = help_text
    for opt in CHECK_TYPES[check_type].OPTIONS:
        if opt.kind.name == "choice":
            values = opt.kind.doc.removeprefix("one of ").split(", ")
            assert f"{opt.flag} {{{','.join(values)}}}" in text, opt.name
    assert "CHOICE" not in text


def test_http_help_shows_the_syntax_of_pairs() -> None:
    run = run_argv("check-mdd-http", "--help")
    assert "--headers 'NAME: VALUE'" in run.out
    assert "--secret-headers NAME=/PATH" in run.out
    assert "--json PATH=JSON" in run.out
    assert "--method {GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS}" in run.out


def test_tcp_help_shows_the_escapes_of_send() -> None:
    run = run_argv("check-mdd-tcp", "--help")
    assert "'PING\\r\\n'" in run.out
    assert '"PING\\\\r\\\\n"' not in run.out  # the old, wrong example


@pytest.mark.parametrize("check_type", TYPES)
def test_version_needs_no_other_argument(check_type: str) -> None:
    run = run_argv(command_name(check_type), "--version")
    assert (run.code, run.line) == (0, f"{command_name(check_type)} (mdd-sensu) {__version__}")


def test_an_unknown_flag_suggests_only_a_close_one() -> None:
    run = run_argv("check-mdd-tcp", "--host", "127.0.0.1", "--port", "1", "--bogus")
    assert (run.code, run.line) == (
        3,
        "TcpCheck UNKNOWN: unexpected arguments: --bogus (see --help)",
    )
    run = run_argv("check-mdd-tcp", "--host", "127.0.0.1", "--port", "1", "--timout=2s")
    assert run.code == 3
    assert "(did you mean --timeout?)" in run.line
    run = run_argv("check-mdd-http", "--url", "http://127.0.0.1:1/", "--contians", "OK")
    assert "(did you mean --contains?)" in run.line


def test_a_shortened_flag_is_not_taken_for_the_whole_one() -> None:
    """argparse would read --contain as --contains (and --time as --timeout): a typo in a
    hand-run command must say so, not quietly check something else."""
    run = run_argv("check-mdd-http", "--url", "http://127.0.0.1:1/", "--contain", "OK")
    assert run.code == 3, run.out
    assert run.line.startswith("HttpCheck UNKNOWN: unexpected arguments: --contain OK"), run.line
    assert "(did you mean --contains?)" in run.line
