"""Hostile and broken manifests: each is refused with file:line:col and a clear message,
never a traceback, without reading forever and in bounded memory.

Every case runs ``mdd validate`` (and, where it matters, ``mdd generate``) as a user would,
in a subprocess; the memory cases measure the peak RSS of that subprocess.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mdd.core.problems import ManifestError
from mdd.manifest import load
from mdd.manifest.source import MAX_BYTES
from mdd.manifest.yamlload import MAX_DEPTH, MAX_NODES

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

MDD = [str(Path(sys.executable).parent / "mdd")]
HEAD = "datacenter: x\nintegration_points:\n  - {name: a, type: tcp, check: {host: h, port: 1}}\n"
LOCATION = re.compile(r"^\S+:\d+:\d+: \S")


def mdd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MDD, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def peak_rss_kib(*args: str) -> tuple[int, subprocess.CompletedProcess[str]]:
    """Run ``mdd ARGS`` in a fresh interpreter that reports its child's peak RSS (KiB)."""
    code = (
        "import resource, subprocess, sys, json\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=60)\n"
        "print(json.dumps([resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
        "p.returncode, p.stdout, p.stderr]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *MDD, *args], capture_output=True, text=True, timeout=90
    )
    import json

    rss, rc, stdout, stderr = json.loads(out.stdout)
    return rss, subprocess.CompletedProcess(args, rc, stdout, stderr)


def assert_refused(run: subprocess.CompletedProcess[str], *needles: str) -> list[str]:
    """Exit 1, no traceback, every problem line located; returns the stderr lines."""
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.strip().splitlines()
    problems = [line for line in lines if not line.startswith("mdd: ")]
    assert all(LOCATION.match(line) for line in problems), lines
    for needle in needles:
        assert needle in run.stderr, run.stderr
    return lines


def write(tmp_path: Path, text: str | bytes, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- size and shape


def billion_laughs(levels: int = 9) -> str:
    lines = ["datacenter: x", "integration_points: []", 'a0: &a0 ["lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("where", ["description", "check.json"])
def test_alias_bomb_is_refused_at_its_line_in_bounded_memory(tmp_path: Path, where: str) -> None:
    laughs = billion_laughs()
    if where == "description":
        text = laughs.replace("integration_points: []\n", "") + "description: *a8\n"
        text += "integration_points: []\n"
    else:
        anchors = "\n".join(f"    {line}" for line in laughs.splitlines()[2:])
        text = (
            "datacenter: x\nintegration_points:\n  - name: a\n    type: http\n"
            f"    anchors:\n{anchors}\n    check:\n      url: http://127.0.0.1:1/\n"
            "      json: {a: *a8}\n"
        )
    rss, run = peak_rss_kib("validate", str(write(tmp_path, text)))
    lines = assert_refused(run, f"more than {MAX_NODES:,} values once its aliases")
    assert len(lines) == 2  # the one problem, and the summary
    assert rss < 150_000, f"peak RSS {rss} KiB"


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    run = mdd("validate", str(write(tmp_path, HEAD + "description: &d [*d]\n")))
    assert_refused(run, "x.yaml:4:18: the alias *d is used inside its own anchor &d")


@pytest.mark.parametrize(
    "nested",
    [
        "x: " + "[" * 400 + "]" * 400,
        "x: " + "{a: " * 400 + "1" + "}" * 400,
        "x:\n" + "".join(" " * i + "-\n" for i in range(400)),
        "x:\n" + "".join(" " * i + "k:\n" for i in range(400)) + " " * 400 + "v",
    ],
    ids=["flow-list", "flow-map", "block-list", "block-map"],
)
def test_deep_nesting_is_refused_without_recursion_error(tmp_path: Path, nested: str) -> None:
    run = mdd("validate", str(write(tmp_path, HEAD + nested + "\n")))
    assert_refused(run, f"nested more than {MAX_DEPTH} levels deep")
    assert "RecursionError" not in run.stderr


def test_many_values_are_refused(tmp_path: Path) -> None:
    text = HEAD + "x: [" + ",".join(["1"] * (MAX_NODES + 10)) + "]\n"
    run = mdd("validate", str(write(tmp_path, text)))
    assert_refused(run, f"more than {MAX_NODES:,} values")


def test_file_over_the_size_limit_is_refused_before_reading_it(tmp_path: Path) -> None:
    sparse = tmp_path / "huge.yaml"
    with sparse.open("wb") as handle:
        handle.truncate(1 << 30)  # a sparse 1 GiB file: reading it would take 1 GiB
    rss, run = peak_rss_kib("validate", str(sparse))
    assert_refused(run, "huge.yaml:1:1: the manifest is 1,073,741,824 bytes, over the limit")
    assert rss < 150_000, f"peak RSS {rss} KiB"
    at_limit = write(tmp_path, HEAD + "#" * (MAX_BYTES + 1 - len(HEAD)) + "\n", "big.yaml")
    assert_refused(mdd("validate", str(at_limit)), f"over the limit of {MAX_BYTES:,}")


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_a_path_that_is_no_file_is_refused_without_reading(tmp_path: Path, kind: str) -> None:
    if kind == "folder":
        path = tmp_path / "dir.yaml"
        path.mkdir()
        expected = "is a folder"
    elif kind == "fifo":
        path = tmp_path / "pipe.yaml"
        os.mkfifo(path)  # nobody ever writes: a blocking open would wait forever
        expected = "is a FIFO (named pipe)"
    else:
        path = Path("/dev/zero")  # reading it never ends
        expected = "is a device"
    run = mdd("validate", str(path))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert expected in run.stderr
    # The reader itself (as mdd.manifest.load is called by other commands) refuses it too.
    with pytest.raises(ManifestError) as info:
        load(path)
    assert info.value.problems[0].line == 1


def test_a_300_character_name_is_a_clear_error(tmp_path: Path) -> None:
    run = mdd("validate", "a" * 300, cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "is too long for a file name (300 bytes)" in run.stderr
    run = mdd("generate", "a" * 300, cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    long_path = str(tmp_path / ("b" * 300 + ".yaml"))
    run = mdd("validate", long_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "too long" in run.stderr


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"datacenter: x\ndescription: caf\xe9\n", "x.yaml:2:17: not UTF-8 text: byte 0xe9"),
        ("datacenter: x\n".encode("utf-16"), "x.yaml:1:1: the manifest is UTF-16 text"),
        ("datacenter: x\n".encode("utf-32"), "x.yaml:1:1: the manifest is UTF-32 text"),
        (b"datacenter: x\ndescr\x00iption: a\n", "x.yaml:2:6: the manifest holds a NUL byte"),
        (b"", "x.yaml:1:1: the manifest is empty"),
        (b"# only a comment\n\n", "x.yaml:1:1: the manifest is empty"),
        (b"datacenter: x\n\tintegration_points: []\n", "x.yaml:2:1: "),
        (b"datacenter: x\ndescription: a\x1bb\n", "x.yaml:2:15: not YAML text: character #x001b"),
    ],
    ids=["latin-1", "utf-16", "utf-32", "nul", "empty", "comment-only", "tab", "control"],
)
def test_bad_bytes_are_located(tmp_path: Path, data: bytes, expected: str) -> None:
    run = mdd("validate", str(write(tmp_path, data)))
    assert_refused(run, expected)


def test_tab_indentation_says_to_use_spaces(tmp_path: Path) -> None:
    run = mdd("validate", str(write(tmp_path, b"datacenter: x\nsensu:\n\tinterval: 1m\n")))
    assert_refused(run, "tab")


def test_a_utf8_bom_and_crlf_line_ends_read_like_plain_utf8(tmp_path: Path) -> None:
    good = Path(__file__).parent / "manifests" / "good" / "full.yaml"
    text = good.read_text(encoding="utf-8")
    plain = load(write(tmp_path, text, "plain.yaml"))
    crlf = write(tmp_path, b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(), "crlf.yaml")
    assert load(crlf).points == plain.points
    # And a mistake in a CRLF file is reported on its line.
    bad = write(tmp_path, b"datacenter: x\r\nintegration_points: []\r\nbogus: 1\r\n", "bad.yaml")
    assert_refused(mdd("validate", str(bad)), "bad.yaml:3:1: unknown key 'bogus'")


# --------------------------------------------------------------------------- numbers and tags


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1" + "0" * 400, "a number of more than 100 digits"),
        ("9" * 5000, "a number of more than 100 digits"),
        ('"1' + "0" * 400 + 's"', "is too long: at most 1 day"),
        ("1.0e+999", "at most 1 day"),
        ("1.0e999", "is not a duration"),
        (".nan", "YAML 1.1 reads .nan"),
        ("100000d", "is too long: at most 1 day"),
    ],
)
def test_absurd_timeouts_are_manifest_errors(tmp_path: Path, value: str, expected: str) -> None:
    text = (
        "datacenter: x\nintegration_points:\n"
        f"  - {{name: a, type: tcp, check: {{host: h, port: 1, timeout: {value}}}}}\n"
    )
    assert_refused(mdd("validate", str(write(tmp_path, text))), expected)


@pytest.mark.parametrize(
    "value",
    ["2026-13-45", "!!float abc", "!!int abc", "!!timestamp 1", "!!bool maybe", "!!binary AAA"],
)
def test_values_yaml_cannot_construct_are_located(tmp_path: Path, value: str) -> None:
    run = mdd("validate", str(write(tmp_path, HEAD + f"description: {value}\n")))
    assert_refused(run, "x.yaml:4:14: ")


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['touch PWNED']",
        "!!python/name:os.system",
        "!!python/object:os.system {}",
    ],
)
def test_python_tags_are_never_executed(tmp_path: Path, tag: str) -> None:
    run = mdd("validate", str(write(tmp_path, HEAD + f"description: {tag}\n")), cwd=tmp_path)
    assert_refused(run, "a manifest is plain YAML, without tags")
    assert not (tmp_path / "PWNED").exists()


# --------------------------------------------------------------------------- vars and names


def test_many_vars_on_one_line_and_unclosed_braces_are_bounded(tmp_path: Path) -> None:
    many = "{{ d }}" * 20000
    unclosed = "{{" * 20000
    undefined = "{{ nope }}" * 5000
    text = (
        "datacenter: x\nvars: {d: ok}\n"
        f"description: '{many}'\n"
        "integration_points:\n"
        f"  - {{name: a, type: tcp, owner: '{unclosed}', check: {{host: h, port: 1}}}}\n"
        f"  - {{name: b, type: tcp, owner: '{undefined}', check: {{host: h, port: 1}}}}\n"
    )
    run = mdd("validate", str(write(tmp_path, text)))
    lines = assert_refused(run)
    unclosed_lines = [line for line in lines if "without a closing" in line]
    assert unclosed_lines == [
        "%s:5:34: '{{' without a closing '}}': write {{ name }} to use a var "
        "(and 19999 more in this value)" % (tmp_path / "x.yaml")
    ]
    undefined_lines = [line for line in lines if "undefined var" in line]
    assert len(undefined_lines) == 5
    assert any("and 4995 more problems with {{ }} in this value" in line for line in lines)
    # The 20,000 vars were substituted: the description is the var's value, 20,000 times.
    fixed = text.replace(f"'{unclosed}'", "t").replace(f"'{undefined}'", "t")
    manifest = load(write(tmp_path, fixed, "fixed.yaml"))
    assert manifest.description == "ok" * 20000


def test_hundreds_of_misspelt_dependencies_are_all_reported(tmp_path: Path) -> None:
    names = [f"service-{i:04d}-{'x' * 20}" for i in range(400)]
    points = "".join(
        f"  - {{name: {n}, type: tcp, check: {{host: h, port: 1}}, "
        f"depends_on: [{n[::-1]}, {n}-typo]}}\n"
        for n in names
    )
    run = mdd("validate", str(write(tmp_path, "datacenter: x\nintegration_points:\n" + points)))
    lines = assert_refused(run)
    # 800 misspelt targets: the first 500 problems are listed, then how many more.
    assert len([line for line in lines if "no integration point is named" in line]) == 500
    assert "and 300 more problems: only the first 500 are listed" in run.stderr
    assert "(did you mean 'service-0000-xxxxxxxxxxxxxxxxxxxx'?)" in run.stderr


@pytest.mark.parametrize(
    "value",
    [
        "{{ x.__class__ }}",
        "{{ x.__class__.__mro__[1].__subclasses__() }}",
        "{{ x() }}",
        "{{ x | upper }}",
        "{{ x|e }}",
        "{{ 7*7 }}",
        "{{ config }}",
        "{{ self }}",
        "{{ lipsum.__globals__ }}",
        "{% for a in x %}{% endfor %}",
        "{{ ''.join('a') }}",
        "{{ x['y'] }}",
        "{{ x\n}}",
    ],
)
def test_templating_is_a_var_substitution_only(tmp_path: Path, value: str) -> None:
    text = (
        "datacenter: x\nvars: {x: safe}\nintegration_points:\n"
        f"  - {{name: a, type: tcp, owner: {value!r}, check: {{host: h, port: 1}}}}\n"
    )
    path = write(tmp_path, text)
    if value.startswith("{%"):
        # Not template syntax for mdd at all: the text stays as written.
        assert load(path).points[0].owner == value
        return
    run = mdd("validate", str(path))
    assert_refused(run)
    assert "only a var name can go between {{ and }}" in run.stderr or (
        "undefined var" in run.stderr
    )
    assert "safe" not in run.stderr.replace("{x: safe}", "")  # nothing was evaluated


def test_an_undefined_var_is_an_error(tmp_path: Path) -> None:
    text = (
        "datacenter: x\nvars: {domain: example.net}\nintegration_points:\n"
        "  - {name: a, type: tcp, check: {host: 'ldap.{{ domian }}', port: 1}}\n"
    )
    assert_refused(
        mdd("validate", str(write(tmp_path, text))),
        "undefined var 'domian' (did you mean 'domain'?)",
    )


def test_a_base_path_with_line_breaks_stays_on_its_problem_line(tmp_path: Path) -> None:
    """Found by fuzzing ``mdd init``: a missing base named ``a<newline>b`` split its problem
    in two lines, and a base file so named with a syntax error put a newline in the file
    part. Both now show the escapes (``\\n``, ``\\x1b``), one problem a line."""
    (tmp_path / "bad\nbase\x1b.yaml").write_text("vars: [\n", encoding="utf-8")
    text = (
        'datacenter: x\nextends: ["no\\nsuch\\u2028base.yaml", "bad\\nbase\\e.yaml"]\n'
        "integration_points:\n  - {name: a, type: tcp, check: {host: h, port: 1}}\n"
    )
    lines = assert_refused(
        mdd("validate", str(write(tmp_path, text))),
        "extends: there is no file",
        "no\\nsuch\\u2028base.yaml: a base is found relative to",
        "bad\\nbase\\x1b.yaml:",
    )
    assert len(lines) == 3, lines  # two problems and the summary


@pytest.mark.parametrize(
    ("written", "said"),
    [("a\\0b.yaml", "a NUL character (\\0)"), ("x\\ud800.yaml", "the surrogate \\ud800")],
)
def test_a_base_path_no_file_can_have_is_a_problem(tmp_path: Path, written: str, said: str) -> None:
    """Found by fuzzing ``mdd init``: such a path in ``extends`` crashed every command that
    loads the manifest (ValueError, UnicodeEncodeError from ``os.path.realpath``)."""
    text = f'datacenter: x\nextends: "{written}"\n' + HEAD.split("\n", 1)[1]
    assert_refused(
        mdd("validate", str(write(tmp_path, text))),
        f"x.yaml:2:10: extends: the path holds {said}",
        "which no file name can hold",
    )
