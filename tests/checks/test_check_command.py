"""check-mdd-command, run as Sensu runs it, with real monitoring-plugins and small scripts."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mdd.checks import check_command
from tests.conftest import load_values, run_argv, run_check, server_missing
from tests.test_contract import assert_round_trip

PLUGINS = Path("/usr/lib/nagios/plugins")


def plugin(name: str) -> str:
    path = PLUGINS / name
    if not os.access(path, os.X_OK):
        server_missing(f"{path} (Debian package monitoring-plugins-basic)")
    return str(path)


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "plugin.sh"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    ("code", "state"), [(0, "OK"), (1, "WARNING"), (2, "CRITICAL"), (3, "UNKNOWN")]
)
def test_exit_status_and_first_line_pass_through(code: int, state: str) -> None:
    run = run_check("command", point="dummy", command=[plugin("check_dummy"), str(code), "hello"])
    assert run.code == code, run.out
    assert run.line == f"CommandCheck {state}: dummy: {state}: hello"


def test_real_check_tcp_with_perfdata(silent_port: int, closed_port: int) -> None:
    run = run_check(
        "command", command=[plugin("check_tcp"), "-H", "127.0.0.1", "-p", str(silent_port)]
    )
    assert run.code == 0, run.out
    assert run.line.startswith("CommandCheck OK: TCP OK - ")
    assert run.line.count("|") == 1 and " | time=" in run.line  # its perfdata, untouched
    run = run_check(
        "command", command=[plugin("check_tcp"), "-H", "127.0.0.1", "-p", str(closed_port)]
    )
    assert run.code == 2, run.out
    assert "Connection refused" in run.line


def test_words_are_passed_literally_never_through_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    words = ["$(touch " + str(marker) + ")", "; touch " + str(marker), "*", "$HOME", "a b"]
    path = script(tmp_path, 'printf "%s|" "$@"; echo')
    run = run_check("command", command=[path, *words])
    assert run.code == 0, run.out
    assert not marker.exists()
    assert "$(touch" in run.line and "$HOME" in run.line and "a b" in run.line


def test_only_the_first_line_passes_and_it_is_bounded(tmp_path: Path) -> None:
    path = script(tmp_path, "printf 'first %05000d\\nsecond\\n' 0; exit 1")
    run = run_check("command", command=[path])
    assert run.code == 1, run.out
    assert run.out.count("\n") == 1 and "second" not in run.out
    assert run.line.endswith("...") and len(run.line) < 1100


def test_other_exit_status_is_unknown(tmp_path: Path) -> None:
    run = run_check("command", command=[script(tmp_path, "echo broke; exit 7")])
    assert run.code == 3, run.out
    assert (
        run.line == "CommandCheck UNKNOWN: plugin plugin.sh exited with status 7 (not 0-3): broke"
    )


def test_killed_by_a_signal_is_unknown(tmp_path: Path) -> None:
    run = run_check("command", command=[script(tmp_path, "kill -9 $$")])
    assert run.code == 3, run.out
    assert "plugin plugin.sh was killed by signal 9" in run.line


def test_missing_program_is_unknown() -> None:
    run = run_check("command", command=["no-such-plugin-here", "-x"])
    assert run.code == 3, run.out
    assert (
        run.line == "CommandCheck UNKNOWN: plugin no-such-plugin-here not found on the agent's PATH"
    )
    run = run_check("command", command=["/nonexistent/check_x"])
    assert run.line == "CommandCheck UNKNOWN: plugin /nonexistent/check_x not found"


def test_not_executable_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("not a program\n")
    run = run_check("command", command=[str(path)])
    assert run.code == 3, run.out
    assert "cannot be run: permission denied" in run.line


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    path = script(tmp_path, f"sleep 60 & echo $! > {pids}; sleep 60")
    run = run_check("command", command=[path], timeout="1s")
    assert run.code == 3, run.out
    assert run.line == "CommandCheck UNKNOWN: plugin plugin.sh did not finish within 1s (killed)"
    child = int(pids.read_text())
    time.sleep(0.2)
    state = Path(f"/proc/{child}/stat")
    assert not state.exists() or state.read_text().split()[2] == "Z"  # gone, or a zombie


def test_endless_output_is_bounded(tmp_path: Path) -> None:
    run = run_check(
        "command", command=[script(tmp_path, "yes OK | head -c 50000000; exit 0")], timeout="5s"
    )
    assert run.code == 0, run.out
    assert run.line == "CommandCheck OK: OK"


def test_background_child_holding_the_output_does_not_hang(tmp_path: Path) -> None:
    run = run_check("command", command=[script(tmp_path, "echo fine; sleep 60 &")], timeout="5s")
    assert run.code == 0, run.out
    assert run.line == "CommandCheck OK: fine"


def test_stderr_stands_in_when_stdout_is_empty(tmp_path: Path) -> None:
    run = run_check("command", command=[script(tmp_path, "echo oops >&2; exit 2")])
    assert run.code == 2, run.out
    assert run.line == "CommandCheck CRITICAL: oops"


def test_bad_invocation_is_unknown_in_one_line() -> None:
    run = run_argv("check-mdd-command", "--timeout", "1s")
    assert run.code == 3, run.out
    assert run.out.count("\n") == 1
    assert "the following arguments are required: --command" in run.line


def test_manifest_values_parse_back_from_the_command() -> None:
    values = load_values(
        "command",
        command=["/usr/lib/nagios/plugins/check_tcp", "-H", "10.0.0.1", "-p", "389", "-", "$(x)"],
        timeout="5s",
    )
    assert values["command"][1] == "-H"
    assert check_command.validate(values) == []
    assert_round_trip("command", values)


def test_validate_rejects_a_relative_path() -> None:
    values = load_values("command", command=["plugins/check_x"])
    assert check_command.validate(values)[0][0] == "command"


def test_a_double_dash_word_reaches_the_plugin(tmp_path: Path) -> None:
    # argparse drops a value "--": the generated argv writes it as \-- (and \-- as \\--),
    # and the check's parser gives the plugin exactly the words of the manifest.
    words = ["--", "-x", "\\--", "\\\\--", "a--", "---"]
    path = script(tmp_path, 'printf "[%s]" "$@"; echo')
    values = load_values("command", command=[path, *words])
    assert check_command.validate(values) == []
    assert_round_trip("command", values)
    run = run_check("command", command=[path, *words])
    assert run.code == 0, run.out
    assert run.line.endswith("[--][-x][\\--][\\\\--][a--][---]"), run.line


def test_a_plugin_closing_its_output_before_it_exits_keeps_its_status(tmp_path: Path) -> None:
    # Output closed, then the plugin still works a moment and exits 1: its status is the
    # verdict, not "killed by signal 9" (the check once killed it as soon as its output ended).
    plugin = tmp_path / "plugin"
    plugin.write_text("#!/bin/sh\necho 'disk 81% full'\nexec >&- 2>&-\nsleep 0.3\nexit 1\n")
    plugin.chmod(0o755)
    run = run_check("command", command=[str(plugin)], timeout="10s")
    assert (run.code, run.line) == (1, "CommandCheck WARNING: disk 81% full"), run.out
