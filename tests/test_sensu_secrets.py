"""Secret references in both Sensu formats: references on argv, never values.

``{file: PATH}`` and ``{env: NAME}`` stay references in both formats (with
``--secrets-provider``, Sensu Go ``secrets`` entries and, for ``env``, ``Secret`` resources);
``{client: dotted.path}`` is Sensu Classic's: the value is read from the client definition
that sensu-client writes to the check's stdin, proven with a real check process
(tests/secret_check.py) against a login server on loopback.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from mdd.checks.registry import CHECK_TYPES
from mdd.core.model import IntegrationPoint, Manifest
from mdd.manifest import load
from mdd.sensu import go_rules
from mdd.sensu.classic import render as render_classic
from mdd.sensu.facts import GenerateError
from mdd.sensu.go import GoOptions, render

from .test_generate import REPO
from .test_generate_go import go_checks, read_back, write

# --------------------------------------------------------------------------- secrets


@pytest.fixture
def secret_type(monkeypatch: pytest.MonkeyPatch) -> str:
    """tests/secret_check.py registered as a check type, as a bundled one would be."""
    sys.path.insert(0, str(REPO / "tests"))
    try:
        import secret_check
    finally:
        sys.path.remove(str(REPO / "tests"))
    monkeypatch.setitem(CHECK_TYPES, secret_check.TYPE, secret_check)  # type: ignore[arg-type]
    return secret_check.TYPE


SECRET_MANIFEST = """\
datacenter: lab1
integration_points:
  - name: ldap
    type: secretprobe
    check: {host: 127.0.0.1, port: 1, password: REF}
  - name: plain
    type: tcp
    check: {host: 127.0.0.1, port: 2}
"""


def secret_manifest(tmp_path: Path, ref: str) -> Manifest:
    return load(write(tmp_path, SECRET_MANIFEST.replace("REF", ref)))


def test_env_secret_is_a_reference_on_argv_only(tmp_path: Path, secret_type: str) -> None:
    m = secret_manifest(tmp_path, "{env: MDD_LDAP_PW}")
    classic = json.loads(render_classic(m))["checks"]["mdd_lab1_ldap"]
    argv = shlex.split(classic["command"])
    assert argv[argv.index("--password-env") + 1] == "MDD_LDAP_PW"
    assert "stdin" not in classic
    spec = go_checks(m)["mdd_lab1_ldap"]["spec"]
    argv = shlex.split(spec["command"])
    assert argv[argv.index("--password-env") + 1] == "MDD_LDAP_PW"
    # Without a secrets provider the agent's own environment supplies it: nothing to add.
    assert "env_vars" not in spec and "secrets" not in spec


@pytest.mark.parametrize("provider", ["env", "vault"])
def test_secrets_provider_adds_secrets_entries(
    tmp_path: Path, secret_type: str, provider: str
) -> None:
    m = secret_manifest(tmp_path, "{env: MDD_LDAP_PW}")
    items = read_back(render(m, "yaml", GoOptions(secrets_provider=provider)))
    checks = {i["metadata"]["name"]: i for i in items if i["type"] == "CheckConfig"}
    assert checks["mdd_lab1_ldap"]["spec"]["secrets"] == [
        {"name": "MDD_LDAP_PW", "secret": "MDD_LDAP_PW"}
    ]
    assert "secrets" not in checks["mdd_lab1_plain"]["spec"]
    secrets = [i for i in items if i["type"] == "Secret"]
    if provider == "env":
        (secret,) = secrets
        assert secret["api_version"] == "secrets/v1"
        assert secret["metadata"] == {"name": "MDD_LDAP_PW", "namespace": "default"}
        assert secret["spec"] == {
            "metadata": secret["metadata"],
            "id": "MDD_LDAP_PW",
            "provider": "env",
        }
        assert go_rules.secret_failures(secret) == []
    else:
        assert secrets == []  # the Vault path is the operator's to give


def test_file_secret_stays_a_path(tmp_path: Path, secret_type: str) -> None:
    m = secret_manifest(tmp_path, "{file: /etc/sensu/mdd/ldap.pw}")
    for command in (
        json.loads(render_classic(m))["checks"]["mdd_lab1_ldap"]["command"],
        go_checks(m, secrets_provider="env")["mdd_lab1_ldap"]["spec"]["command"],
    ):
        argv = shlex.split(command)
        assert argv[argv.index("--password-file") + 1] == "/etc/sensu/mdd/ldap.pw"
    assert "secrets" not in go_checks(m, secrets_provider="env")["mdd_lab1_ldap"]["spec"]


def test_client_secret_is_read_from_stdin_in_classic(tmp_path: Path, secret_type: str) -> None:
    m = secret_manifest(tmp_path, "{client: mdd.ldap_password}")
    checks = json.loads(render_classic(m))["checks"]
    ldap = checks["mdd_lab1_ldap"]
    argv = shlex.split(ldap["command"])
    assert argv[argv.index("--password-client") + 1] == "mdd.ldap_password"
    assert ldap["stdin"] is True and "stdin" not in checks["mdd_lab1_plain"]
    assert ":::" not in ldap["command"]  # never a token: Sensu would put the value on argv
    with pytest.raises(GenerateError) as caught:
        render(m)
    (problem,) = caught.value.problems
    assert problem.line == 3 and "Sensu Go has none" in problem.message


def test_secret_kind_refuses_values_and_bad_references(tmp_path: Path, secret_type: str) -> None:
    from mdd.manifest import ManifestError

    for ref, message in (
        ("hunter2", "secrets never go into a manifest"),
        ("{client: 'mdd..pw'}", "is not a client attribute path"),
        ("{vault: x}", "a secret reference is"),
    ):
        with pytest.raises(ManifestError) as caught:
            secret_manifest(tmp_path, ref)
        assert any(message in p.message for p in caught.value.problems), caught.value.problems


SECRET = "s3cret-Value!'$(x)"


def _login_server(received: list[str]) -> Any:
    def handle(conn: Any) -> None:
        line = conn.makefile("rb").readline().decode().rstrip("\n")
        received.append(line)
        answer = "+OK\n" if line == f"PASS {SECRET}" else f"-ERR no such password: {line}\n"
        conn.sendall(answer.encode())

    return handle


def run_as_sensu_classic(command: str, stdin: bytes | None) -> tuple[int, str]:
    """The generated command under /bin/sh -c, with the client's stdin document (stdin: true)."""
    import subprocess

    argv = shlex.split(command)
    script = shlex.join([sys.executable, str(REPO / "tests" / "secret_check.py"), *argv[1:]])
    proc = subprocess.run(
        ["/bin/sh", "-c", script],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=30,
    )
    return proc.returncode, proc.stdout.decode()


@pytest.mark.parametrize(
    ("client", "code", "words"),
    [
        ({"name": "agent1", "mdd": {"ldap_password": SECRET}}, 0, "accepted the password"),
        ({"name": "agent1", "mdd": {"ldap_password": "wrong-password"}}, 2, "refused"),
        ({"name": "agent1", "mdd": {}}, 3, "has no attribute mdd.ldap_password"),
        ({"name": "agent1", "mdd": {"ldap_password": 42}}, 3, "is not a string"),
        (None, 3, "there is none (the check needs stdin: true"),
    ],
)
def test_client_secret_reaches_a_real_check_through_stdin_only(
    tmp_path: Path, secret_type: str, client: Any, code: int, words: str
) -> None:
    from .conftest import accepting

    received: list[str] = []
    with accepting(_login_server(received)) as port:
        m = secret_manifest(tmp_path, "{client: mdd.ldap_password}")
        m = Manifest(
            m.path,
            m.datacenter,
            m.description,
            tuple(
                IntegrationPoint(**{**p.__dict__, "options": {**p.options, "port": port}})
                for p in m.points
            ),
        )
        check = json.loads(render_classic(m))["checks"]["mdd_lab1_ldap"]
        assert check["stdin"] is True and SECRET not in check["command"]
        # What sensu-client 1.9 writes to the check's stdin: {client: its definition, check}.
        document = {"client": client, "check": {**check, "name": "mdd_lab1_ldap"}}
        stdin = None if client is None else json.dumps(document).encode()
        exit_code, output = run_as_sensu_classic(check["command"], stdin)
    assert exit_code == code, output
    assert words in output and len(output.splitlines()) == 1, output
    assert SECRET not in output and "wrong-password" not in output, output
    if code in (0, 2):
        assert received and received[0].startswith("PASS ")
        assert (received[0] == f"PASS {SECRET}") is (code == 0)


def test_cli_secrets_provider_and_client_refusal(tmp_path: Path, secret_type: str) -> None:
    from click.testing import CliRunner

    from mdd.cli import main

    path = write(tmp_path, SECRET_MANIFEST.replace("REF", "{env: MDD_LDAP_PW}"))
    vault = CliRunner().invoke(
        main, ["generate", str(path), "--format", "sensu-go", "--secrets-provider", "vault"]
    )
    assert vault.exit_code == 0, vault.output
    assert "the checks read the Sensu Go Secrets MDD_LDAP_PW (provider vault)" in vault.stderr
    assert [i["type"] for i in read_back(vault.stdout)] == [
        "CheckConfig",
        "CheckConfig",
        "EventFilter",
    ]
    env = CliRunner().invoke(
        main, ["generate", str(path), "--format", "sensu-go-json", "--secrets-provider", "env"]
    )
    assert env.exit_code == 0 and env.stderr == "", env.output
    assert [i["type"] for i in read_back(env.stdout)] == [
        "CheckConfig",
        "CheckConfig",
        "EventFilter",
        "Secret",
    ]

    client = write(tmp_path, SECRET_MANIFEST.replace("REF", "{client: mdd.pw}"), "lab2")
    client.write_text(client.read_text().replace("lab1", "lab2"))
    refused = CliRunner().invoke(main, ["generate", str(client), "--format", "sensu-go"])
    assert refused.exit_code == 2 and refused.stdout == ""
    assert f"{client}:3:1: ldap: password: {{client: mdd.pw}} is a Sensu Classic" in refused.stderr
    assert "1 problem; nothing generated" in refused.stderr
    classic = CliRunner().invoke(main, ["generate", str(client)])
    assert classic.exit_code == 0 and '"stdin": true' in classic.stdout
