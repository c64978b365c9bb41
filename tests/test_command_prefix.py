"""Absolute check commands: `sensu: command_prefix` in a manifest, `mdd generate --command-prefix`.

The Sensu client runs commands with its own PATH (often /usr/bin:/bin); a virtualenv's
bin/ is not on it. With a prefix, every generated command names its check by absolute path.
Running those commands for real, as a non-root user with an empty environment, is in
tests/test_packaging.py.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from mdd import manifest
from mdd.checks.registry import command_name
from mdd.core.command import check_argv, check_command

MDD = Path(sys.executable).parent / "mdd"

MANIFEST = """\
datacenter: pfx1
sensu:
  timeout: 30s
{sensu}integration_points:
  - name: web
    type: http
    check: {{url: "https://web.pfx1.example.net/health"}}
  - name: ldap
    type: tcp
    check: {{host: ldap.pfx1.example.net, port: 636}}
{point_sensu}"""


def write(tmp_path: Path, sensu: str = "", point_sensu: str = "") -> Path:
    (tmp_path / "manifests").mkdir(exist_ok=True)
    path = tmp_path / "manifests" / "pfx1.yaml"
    path.write_text(MANIFEST.format(sensu=sensu, point_sensu=point_sensu), encoding="utf-8")
    return path


def generate(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MDD_MANIFESTS"}
    return subprocess.run(
        [str(MDD), "generate", "pfx1", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def programs(stdout: str) -> dict[str, str]:
    checks = json.loads(stdout)["checks"]
    return {name: shlex.split(check["command"])[0] for name, check in checks.items()}


def test_without_a_prefix_commands_are_bare_names(tmp_path: Path) -> None:
    write(tmp_path)
    proc = generate(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert programs(proc.stdout) == {
        "mdd_pfx1_web": "check-mdd-http",
        "mdd_pfx1_ldap": "check-mdd-tcp",
    }


def test_manifest_prefix_makes_every_command_absolute(tmp_path: Path) -> None:
    write(tmp_path, sensu="  command_prefix: /opt/mdd/bin/\n")
    proc = generate(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert programs(proc.stdout) == {
        "mdd_pfx1_web": "/opt/mdd/bin/check-mdd-http",
        "mdd_pfx1_ldap": "/opt/mdd/bin/check-mdd-tcp",
    }


def test_command_line_prefix_overrides_the_manifest(tmp_path: Path) -> None:
    write(tmp_path, sensu="  command_prefix: /opt/old/bin\n")
    proc = generate(tmp_path, "--command-prefix", "/srv/mdd/venv/bin")
    assert proc.returncode == 0, proc.stderr
    assert set(programs(proc.stdout).values()) == {
        "/srv/mdd/venv/bin/check-mdd-http",
        "/srv/mdd/venv/bin/check-mdd-tcp",
    }


def test_a_point_can_override_the_prefix(tmp_path: Path) -> None:
    write(
        tmp_path,
        sensu="  command_prefix: /opt/mdd/bin\n",
        point_sensu="    sensu: {command_prefix: /usr/local/bin}\n",
    )
    proc = generate(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert programs(proc.stdout) == {
        "mdd_pfx1_web": "/opt/mdd/bin/check-mdd-http",
        "mdd_pfx1_ldap": "/usr/local/bin/check-mdd-tcp",
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("opt/mdd/bin", "'opt/mdd/bin' is a relative path: write the absolute folder"),
        ("'/opt/my mdd/bin'", "holds white space or a control character"),
        ('"/opt/mdd\\tbin"', "holds white space or a control character"),
        ("'/opt/:::name:::/bin'", "':::' is not allowed"),
        ("''", "must not be empty"),
    ],
)
def test_bad_manifest_prefix_is_a_manifest_problem(
    tmp_path: Path, value: str, message: str
) -> None:
    path = write(tmp_path, sensu=f"  command_prefix: {value}\n")
    with pytest.raises(manifest.ManifestError) as caught:
        manifest.load(path)
    [problem] = caught.value.problems
    assert (problem.line, problem.column) == (4, 19)
    assert problem.message.startswith("command_prefix: ")
    assert message in problem.message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("bin", "'bin' is a relative path"),
        ("/opt/mdd bin", "holds white space or a control character"),
        ("/opt/mdd\nbin", "holds white space or a control character"),
        ("", "must not be empty"),
    ],
)
def test_bad_command_line_prefix_generates_nothing(
    tmp_path: Path, value: str, message: str
) -> None:
    write(tmp_path)
    output = tmp_path / "checks.json"
    proc = generate(tmp_path, "--command-prefix", value, "-o", str(output))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("mdd: --command-prefix: ")
    assert message in proc.stderr
    assert proc.stderr.endswith("; nothing generated\n")
    assert not output.exists()


def test_prefix_is_shell_quoted_like_any_value() -> None:
    prefix = "/opt/$(touch x)/b`id`in;"
    command = check_command("tcp", {"host": "h", "port": 1}, "p", prefix)
    assert shlex.split(command)[0] == f"{prefix}/{command_name('tcp')}"
    assert check_argv("tcp", {"host": "h", "port": 1}, None, "/")[0] == "/check-mdd-tcp"
