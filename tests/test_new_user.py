"""What a new user tripped on (issue 17), each fixed: the commands, run as a user runs them."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from mdd.sensu import go_rules

BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).resolve().parent.parent / "mdd" / "examples"


def mdd(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if k != "MDD_MANIFESTS"}
    proc = subprocess.run(
        [str(BIN / "mdd"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env={**base, "COLUMNS": "100", **(env or {})},
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "manifests")
    return tmp_path / "manifests"


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(text)
    return folder / f"{name}.yaml"


# --------------------------------------------------------------------------- mdd --help


def test_help_shows_the_heart_of_the_tool_and_whole_summaries(tmp_path: Path) -> None:
    code, out, _ = mdd("--help", cwd=tmp_path)
    assert code == 0
    examples = out.split("\n\n")[3]
    for command in ("verify", "status", "report", "generate", "asset build"):
        assert f"  mdd {command} " in examples, examples
    listed = out.split("Commands:\n", 1)[1]
    names = re.findall(r"^  (\w+) ", listed, re.M)
    assert "types" in names and "checks" not in names  # one name per command
    summaries = " ".join(listed.split())
    assert "..." not in summaries.replace("DATACENTER...", "")  # never cut mid-sentence
    assert "The agent artifact of the bundled checks (Sensu Go asset; Sensu Classic too)." in (
        summaries
    )
    code, out, _ = mdd("checks", cwd=tmp_path)  # the old name still works
    assert code == 0 and "postgres" in out


# --------------------------------------------------------------------------- did you mean


def test_a_wrong_datacenter_name_gets_did_you_mean_and_the_list(manifests: Path) -> None:
    code, _, err = mdd("validate", "Ams1", cwd=manifests.parent)
    assert code != 0
    assert "did you mean 'ams1'? (datacenters there: ams1, fra1, nyc1)" in err, err


def test_a_wrong_type_name_gets_did_you_mean_and_the_list(tmp_path: Path) -> None:
    code, _, err = mdd("types", "show", "htp", cwd=tmp_path)
    assert code != 0
    assert "unknown check type 'htp' (did you mean 'http'?); known types: amqp, command" in err


# --------------------------------------------------------------------------- init --from


def test_init_keeps_comments_and_marks_what_still_names_the_source(manifests: Path) -> None:
    code, out, err = mdd(
        "init", "lon1", "--from", "ams1", "--set", "domain=lon1.example.net",
        cwd=manifests.parent,
    )  # fmt: skip
    assert code == 0, err
    text = (manifests / "lon1.yaml").read_text()
    # The source's own comments are kept.
    assert "# inherited: ams1 builds a lot, so look more often" in text
    # Each copied value that still names ams1 is marked in the file, and listed.
    marked = re.findall(r"# mdd init: copied from ams1, still names ams1: (\S+)", text)
    assert marked == [
        "https://wiki.example.net/ams1/artifacts",
        "https://wiki.example.net/ams1/payments",
        "https://wiki.example.net/ams1/payments",
    ]
    assert "3 copied value(s) still name ams1" in text
    assert out.count("copied from ams1, still names it") == 3, out
    data = yaml.safe_load(text)
    assert data["datacenter"] == "lon1" and data["vars"] == {"domain": "lon1.example.net"}
    code, out, _ = mdd("validate", "lon1", cwd=manifests.parent)
    assert code == 0, out


def test_init_refuses_a_mistyped_set(manifests: Path) -> None:
    code, _, err = mdd("init", "lon1", "--from", "ams1", "--set", "domian=x", cwd=manifests.parent)
    assert code != 0
    assert "ams1 has no var 'domian' (did you mean 'domain'? its vars: domain, region)" in err
    assert not (manifests / "lon1.yaml").exists()


# --------------------------------------------------------------------------- rules


def test_a_sensu_timeout_longer_than_the_interval_is_flagged(tmp_path: Path) -> None:
    write(
        tmp_path / "manifests",
        "lab1",
        "datacenter: lab1\nintegration_points:\n  - name: web\n    type: tcp\n"
        "    check: {host: 127.0.0.1, port: 80}\n    sensu: {interval: 20s, timeout: 45s}\n",
    )
    code, _, err = mdd("validate", "lab1", cwd=tmp_path)
    assert code == 2
    assert (
        "manifests/lab1.yaml:6:37: the Sensu timeout (45s) is longer than the interval (20s)"
    ) in err, err


def test_interval_without_watch_is_an_error_like_timeout(manifests: Path) -> None:
    code, _, err = mdd("verify", "ams1", "--interval", "5s", cwd=manifests.parent)
    assert code == 2 and "--interval is for --watch" in err, err


def test_generate_all_counts_problems_per_file(tmp_path: Path) -> None:
    bad = "datacenter: {dc}\nintegration_points:\n  - name: a\n    type: tcp\n    check: {{}}\n"
    for dc, extra in (("bad1", ""), ("bad2", "  - name: b\n    type: tcp\n    check: {}\n")):
        write(tmp_path / "manifests", dc, bad.format(dc=dc) + extra)
    code, _, err = mdd("generate", "--all", "-o", "out", cwd=tmp_path)
    assert code == 2
    assert "mdd: manifests/bad1.yaml: 2 problems" in err, err
    assert "mdd: manifests/bad2.yaml: 4 problems" in err
    assert "mdd: 6 problems in 2 files; nothing generated" in err


# --------------------------------------------------------------------------- TERM=dumb


def test_term_dumb_gets_no_colours_or_cursor_movement(tmp_path: Path) -> None:
    """On a real terminal (a pty): colours and redraws, except with TERM=dumb."""
    write(
        tmp_path / "manifests",
        "lab1",
        "datacenter: lab1\nintegration_points:\n  - name: web\n    type: tcp\n"
        "    check: {host: 127.0.0.1, port: 1, timeout: 1s}\n",
    )

    def on_a_terminal(term: str) -> bytes:
        leader, follower = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "MDD_MANIFESTS")}
        proc = subprocess.Popen(
            [str(BIN / "mdd"), "verify", "lab1", "--no-state"],
            cwd=tmp_path,
            stdin=follower,
            stdout=follower,
            stderr=follower,
            env={**env, "TERM": term},
        )
        os.close(follower)
        output = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            elif proc.poll() is not None:
                break
        proc.wait(timeout=30)
        os.close(leader)
        return output

    assert b"\x1b[" in on_a_terminal("xterm")  # the test can see colours when they are there
    dumb = on_a_terminal("dumb")
    assert b"PENDING" in dumb and b"\x1b" not in dumb, dumb


# --------------------------------------------------------------------------- completion


def complete(words: str, cwd: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "MDD_MANIFESTS"} | {
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - 1),
    }
    env["_MDD_COMPLETE"] = "bash_complete"
    out = subprocess.run(
        [str(BIN / "mdd")], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    ).stdout
    return [line.split(",", 1)[1] for line in out.splitlines()]


def test_completion_of_datacenters_and_types(manifests: Path) -> None:
    assert complete("mdd validate f", manifests.parent) == ["fra1"]
    assert complete("mdd generate n", manifests.parent) == ["nyc1"]
    assert complete("mdd types show po", manifests.parent) == ["postgres"]
    assert complete("mdd verify ams1 --type h", manifests.parent) == ["http"]


def test_completion_is_documented() -> None:
    text = (EXAMPLES.parent.parent / "README.md").read_text()
    assert 'eval "$(_MDD_COMPLETE=bash_source mdd)"' in text


# --------------------------------------------------------------------------- docs wording


def test_docs_say_the_data_store_checks_in_words(tmp_path: Path) -> None:
    code, out, _ = mdd("docs", "ams1", "--no-state", cwd=tmp_path)
    assert code == 0
    checked = [line for line in out.splitlines() if line.startswith("- **Checked:**")]
    postgres = next(line for line in checked if "PostgreSQL" in line)
    assert postgres.startswith(
        "- **Checked:** logs in to the PostgreSQL server on pg.ams1.example.net port 5432,"
    )
    assert "answering exactly “t”" in postgres and "answering to match" not in postgres
    for opening in ("gets PONG for PING from the Redis server on", "logs in to the AMQP broker"):
        assert any(line.startswith(f"- **Checked:** {opening}") for line in checked), opening
    for line in checked:  # no type summary pasted into the sentence
        assert not re.match(r"- \*\*Checked:\*\* (postgres|mysql|redis|amqp):", line), line
    code, out, _ = mdd("docs", "--help", cwd=tmp_path)
    assert "md: Markdown for a wiki or a repository; html: one self-contained page." in " ".join(
        out.split()
    )


# --------------------------------------------------------------------------- check help


def test_http_secret_headers_flag_help_shows_flag_syntax() -> None:
    out = subprocess.run(
        [str(BIN / "check-mdd-http"), "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    flag = " ".join(out.split("--secret-headers NAME=/PATH\n", 1)[1].split("\n  --")[0].split())
    assert "NAME=/PATH reads header NAME's value from the file PATH" in flag, flag
    assert "{file:" not in flag and "{env:" not in flag


def test_mysql_tls_help_does_not_mention_libpq() -> None:
    out = subprocess.run(
        [str(BIN / "check-mdd-mysql"), "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "libpq" not in out
    postgres = subprocess.run(
        [str(BIN / "check-mdd-postgres"), "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "libpq" in postgres  # where it is true, it stays


# --------------------------------------------------------------------------- Sensu Go


def test_secret_headers_from_env_become_sensu_go_secrets(tmp_path: Path) -> None:
    write(
        tmp_path / "manifests",
        "lab1",
        "datacenter: lab1\nintegration_points:\n  - name: api\n    type: http\n"
        "    check:\n      url: https://api.example.net/health\n"
        "      secret_headers: {Authorization: {env: WEB_TOKEN}}\n"
        "  - name: db\n    type: postgres\n"
        "    check: {host: db.example.net, user: app, password: {env: DB_PW}}\n",
    )
    for provider in ("env", "vault"):
        code, out, err = mdd(
            "generate", "lab1", "--format", "sensu-go", "--secrets-provider", provider, cwd=tmp_path
        )
        assert code == 0, err
        resources = go_rules.parse_stream(out)
        checks = {r["metadata"]["name"]: r for r in resources if r["type"] == "CheckConfig"}
        assert checks["mdd_lab1_api"]["spec"]["secrets"] == [
            {"name": "WEB_TOKEN", "secret": "WEB_TOKEN"}
        ]
        assert checks["mdd_lab1_db"]["spec"]["secrets"] == [{"name": "DB_PW", "secret": "DB_PW"}]
        secrets = sorted(r["metadata"]["name"] for r in resources if r["type"] == "Secret")
        assert secrets == (["DB_PW", "WEB_TOKEN"] if provider == "env" else [])
        if provider == "vault":
            assert "WEB_TOKEN" in err and "DB_PW" in err


def test_a_line_sensuctl_cannot_read_is_refused(tmp_path: Path) -> None:
    long = "x" * 70_000
    write(
        tmp_path / "manifests",
        "lab1",
        "datacenter: lab1\nintegration_points:\n  - name: web\n    type: http\n"
        f"    description: {long}\n"
        "    check: {url: https://web.example.net/}\n",
    )
    for fmt in ("sensu-go", "sensu-go-json"):
        code, out, err = mdd("generate", "lab1", "--format", fmt, cwd=tmp_path)
        assert code == 2 and out == "", (fmt, err[:300])
        assert "manifests/lab1.yaml:3:1: mdd_lab1_web: its " in err, err[:300]
        assert "sensuctl reads lines of at most 65536 bytes" in err
    code, out, _ = mdd("generate", "lab1", cwd=tmp_path)  # Sensu Classic reads it whole
    assert code == 0 and json.loads(out)["checks"]
