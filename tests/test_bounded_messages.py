"""Every value a manifest message quotes is bounded: `mdd validate /etc/passwd` must not
print the whole file back, nor a 5000-character value in full."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mdd.cli import main
from mdd.core.problems import EXCERPT, LONGEST, Problem, bounded

PASSWD = "".join(
    f"user{n}:x:{1000 + n}:{1000 + n}:User {n},,,:/home/user{n}:/bin/bash\n" for n in range(300)
)


def validate(path: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["validate", str(path)])
    return result.exit_code, result.stderr.splitlines()


def test_a_file_that_is_not_a_manifest_is_not_quoted_whole(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_text(PASSWD, encoding="utf-8")
    code, [problem, summary] = validate(path)
    assert code == 2
    prefix = f"{path}:1:1: a manifest is a mapping with datacenter and integration_points, got "
    assert problem.startswith(prefix + f"string '{PASSWD[:20]}"), problem
    assert len(problem) < len(prefix) + 200, problem  # an excerpt, never the whole file
    assert PASSWD.splitlines()[-1] not in problem
    assert summary == f"mdd: {path}: 1 problem"


def test_long_values_are_cut_to_an_excerpt_everywhere(tmp_path: Path) -> None:
    long = "a" * 5000
    path = tmp_path / "long.yaml"
    path.write_text(
        f"""\
datacenter: dc1
{"k" * 900}: 1
integration_points:
  - name: one
    type: {long}
    check: {{host: h}}
  - name: two
    type: http
    check: {{url: "https://x/{long} y", status: ["{long}"], headers: {{"{"k" * 900} ": 1}}}}
  - name: three
    type: tcp
    check: {{host: "{long} x", port: 1, expect: "({long}"}}
""",
        encoding="utf-8",
    )
    code, lines = validate(path)
    assert code == 2
    assert len(lines) == 8, lines
    for line in lines:
        assert len(line) < len(str(path)) + 250, line
    assert any("' (5000 characters); known types: " in line for line in lines)
    assert any("is not a valid regular expression: missing )" in line for line in lines)


@pytest.mark.parametrize(
    "message",
    [
        "the check's timeout (40s) must be at least 1s shorter than the Sensu timeout (30s): "
        "Sensu would kill the check before it can report why it failed, and Sensu's rules say so",
        "unknown option 'colour' for check type 'tcp'; known: host, port, state, send, expect",
        "'{{' without a closing '}}': write {{ name }} to use a var",
    ],
)
def test_mdds_own_words_are_never_cut(message: str) -> None:
    assert bounded(message) == message
    assert Problem("f", 1, 1, message).message == message


def test_both_kinds_of_quotes_and_escapes_are_cut() -> None:
    value = "it's " + "x" * 100
    assert bounded(f"got {value!r} here") == f'got "{value[:EXCERPT]}..." (105 characters) here'
    value = "'\"" + "y" * 100
    cut = bounded(f"got {value!r}")
    assert cut.startswith("got '\\'\"yyy") and cut.endswith("...' (103 characters)")


def test_a_message_is_bounded_even_without_quotes() -> None:
    assert len(bounded("word " * 1000)) == LONGEST
