"""The reference docs are generated from the declarations, and the committed copies are current."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from mdd.checks.api import COMMON_OPTIONS
from mdd.checks.registry import CHECK_TYPES, command_name
from mdd.cli import main
from mdd.reference import (
    CHECK_TYPES_DOC,
    check_type_text,
    example_yaml,
    generated_files,
    reference_markdown,
)

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("relative", sorted(generated_files()), ids=str)
def test_committed_docs_are_current(relative: Path) -> None:
    path = REPO / relative
    assert path.is_file(), f"{relative} is missing: run `.venv/bin/python -m mdd.reference`"
    assert path.read_text(encoding="utf-8") == generated_files()[relative], (
        f"{relative} is stale (a docstring or an option declaration changed): "
        f"run `.venv/bin/python -m mdd.reference` and commit the result"
    )


def test_check_types_reference_is_always_generated() -> None:
    assert CHECK_TYPES_DOC in generated_files()


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_reference_has_every_type_option_and_command(check_type: str) -> None:
    text = reference_markdown()
    assert f"\n## {check_type}\n" in text
    section = text.split(f"\n## {check_type}\n", 1)[1].split("\n## ", 1)[0]
    assert f"`{command_name(check_type)}`" in section
    for opt in CHECK_TYPES[check_type].OPTIONS:
        assert f"| `{opt.name}` |" in section, (
            f"option {opt.name} missing from the {check_type} table"
        )


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_show_text_has_summary_options_and_example(check_type: str) -> None:
    module = CHECK_TYPES[check_type]
    text = check_type_text(check_type)
    assert text.endswith("\n")
    assert command_name(check_type) in text
    assert " ".join(module.SUMMARY.split()) in " ".join(text.split())
    # A table row starts with its name at column 2; wrapped lines start further in.
    rows = {
        line.split()[0]
        for line in text.splitlines()
        if line.startswith("  ") and not line.startswith("   ")
    }
    for opt in module.OPTIONS:
        assert opt.name in rows, f"option {opt.name} has no row in `mdd checks show {check_type}`"
    for opt in COMMON_OPTIONS:
        assert opt.flag in text


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_example_is_the_declared_example(check_type: str) -> None:
    entry = yaml.safe_load(example_yaml(check_type))["integration_points"][0]
    assert entry["type"] == check_type
    assert entry["check"] == dict(CHECK_TYPES[check_type].EXAMPLE)


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_example_is_a_valid_manifest_entry(check_type: str, tmp_path: Path) -> None:
    from mdd import manifest

    path = tmp_path / "docs.yaml"
    path.write_text("datacenter: docs\n" + example_yaml(check_type), encoding="utf-8")
    try:
        loaded = manifest.load(path)
    except manifest.ManifestError as exc:
        problems = "\n".join(str(p) for p in exc.problems)
        pytest.fail(f"the documented example of {check_type} does not validate:\n{problems}")
    assert [p.type for p in loaded.points] == [check_type]


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_mdd_checks_show_prints_the_generated_text(check_type: str) -> None:
    proc = subprocess.run(
        [str(BIN / "mdd"), "checks", "show", check_type],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == check_type_text(check_type)


def test_unknown_type_is_refused() -> None:
    with pytest.raises(KeyError, match="known types"):
        check_type_text("no-such-type")


# --------------------------------------------------------------------------- hand-written docs

GUIDE = REPO / "docs" / "guide.md"


def _blocks(path: Path, language: str) -> list[str]:
    """The fenced blocks of a document in ``language`` ("" for plain fences)."""
    found: list[str] = []
    current: list[str] | None = None
    fence = ""
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if current is None and line.startswith("```"):
            current, fence = [], line[3:].strip()
        elif current is not None and line.rstrip("\n") == "```":
            if fence == language:
                found.append("".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return found


def _manifest_of(path: Path) -> str:
    [manifest] = [block for block in _blocks(path, "yaml") if block.startswith("datacenter:")]
    return manifest


def _printed(command: str, path: Path) -> str:
    """What a console block shows ``$ command`` printing."""
    [block] = [b for b in _blocks(path, "console") if b.startswith(f"$ {command}\n")]
    return block.removeprefix(f"$ {command}\n")


@pytest.fixture
def guide_dc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with the guide's manifest as manifests/ams1.yaml."""
    (tmp_path / "manifests").mkdir()
    path = tmp_path / "manifests" / "ams1.yaml"
    path.write_text(_manifest_of(GUIDE), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MDD_MANIFESTS", raising=False)
    return path


def test_guide_shows_what_mdd_validate_really_prints(guide_dc: Path) -> None:
    [ok, problems] = [
        b.removeprefix("$ mdd validate ams1\n")
        for b in _blocks(GUIDE, "console")
        if b.startswith("$ mdd validate ams1\n")
    ]
    result = CliRunner().invoke(main, ["validate", "ams1"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, ok, "")

    # The guide's two typos, written into the ldap-port line of its manifest.
    [typos] = [b for b in _blocks(GUIDE, "yaml") if b.startswith("    check: ")]
    lines = guide_dc.read_text(encoding="utf-8").splitlines(keepends=True)
    [index] = [i for i, line in enumerate(lines) if line.startswith('    check: {host: "ldap.')]
    lines[index] = typos
    guide_dc.write_text("".join(lines), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "ams1"])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", problems)


def test_sensu_page_shows_a_check_exactly_as_generated(guide_dc: Path) -> None:
    [shown] = [
        b for b in _blocks(REPO / "docs" / "sensu.md", "json") if b.startswith('{\n  "checks"')
    ]
    result = CliRunner().invoke(main, ["generate", "ams1"])
    assert result.exit_code == 0, result.output
    generated = json.loads(result.stdout)["checks"]
    [(name, check)] = json.loads(shown)["checks"].items()
    assert check == generated[name]
    assert list(check) == list(generated[name])  # the same keys in the same order


def test_sensu_page_shows_a_sensu_go_check_exactly_as_generated(guide_dc: Path) -> None:
    from mdd.sensu import go_rules

    [shown] = [
        b
        for b in _blocks(REPO / "docs" / "sensu.md", "yaml")
        if b.startswith("---\ntype: CheckConfig")
    ]
    result = CliRunner().invoke(main, ["generate", "ams1", "--format", "sensu-go"])
    assert result.exit_code == 0, result.output
    [resource] = go_rules.parse_stream(shown)
    generated = {r["metadata"]["name"]: r for r in go_rules.parse_stream(result.stdout)}
    assert resource == generated[resource["metadata"]["name"]]
    assert shown in result.stdout  # the same text, in the same order


@pytest.mark.parametrize("path", [REPO / "README.md", GUIDE], ids=lambda p: p.name)
def test_commands_in_the_docs_exist(path: Path) -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("$ mdd "):
            continue
        words = line.removeprefix("$ ").split("#")[0].split()
        result = CliRunner().invoke(main, [*words[1:], "--help"])
        assert result.exit_code == 0, f"{line}: {result.output}"


# --------------------------------------------------------------------------- README samples

README = REPO / "README.md"
BUNDLED = REPO / "mdd" / "examples" / "ams1.yaml"


def test_readme_manifest_is_the_bundled_example() -> None:
    """ "Try it" prints the checks of the bundled example: the README shows that manifest."""
    example = "".join(
        line
        for line in BUNDLED.read_text(encoding="utf-8").splitlines(keepends=True)
        if not line.startswith("#")
    )
    assert _manifest_of(README) == example


def test_readme_base_excerpt_is_the_bundled_base() -> None:
    """The README's excerpt of base/global.yaml: its points, written as in the file."""
    [excerpt] = [
        b for b in _blocks(README, "yaml") if b.startswith("# mdd/examples/base/global.yaml")
    ]
    points = excerpt.split("integration_points:\n", 1)[1]
    base = (BUNDLED.parent / "base" / "global.yaml").read_text(encoding="utf-8")
    assert points.count("  - name: ") == 3 and points in base


def test_readme_diff_line_is_what_mdd_diff_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./manifests: the bundled examples
    monkeypatch.delenv("MDD_MANIFESTS", raising=False)
    [shown] = [b for b in _blocks(README, "") if b.startswith("ams1 vs fra1: ")]
    result = CliRunner().invoke(main, ["diff", "ams1", "fra1", "--ignore-vars"])
    assert result.exit_code == 1  # they differ
    assert result.stdout.startswith(shown)


def test_readme_counts_the_bundled_points() -> None:
    from mdd import manifest

    points = manifest.load(BUNDLED).points
    text = README.read_text(encoding="utf-8")
    assert f"Most of ams1's {len(points)} integration points come from its bases" in text
    assert f"/{len(points)} integration points green" in text


def _readme_output_lines() -> dict[str, str]:
    """The sample output lines of the README, by check class."""
    [block] = [b for b in _blocks(README, "") if b.startswith(("LdapCheck", "TcpCheck"))]
    return {line.split(" ", 1)[0]: line for line in block.splitlines()}


def test_readme_ldap_line_is_what_the_check_prints(ca: Any, tmp_path: Path) -> None:
    from tests.checks.ldap_server import SERVICE_DN, SLAPD, SUFFIX, slapd
    from tests.conftest import server_missing

    if not SLAPD.is_file():
        server_missing("slapd (apt-get install slapd)")
    wrong = tmp_path / "ldap.pw"
    wrong.write_text("not-the-password\n")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with slapd(tmp_path / "slapd", ca) as server:
        # The bundled example's ldap point, pointed at slapd with the wrong password.
        real = _run_check(
            "check-mdd-ldap",
            "--point",
            "ldap",
            "--url",
            server.tls_url,
            "--bind-dn",
            SERVICE_DN,
            "--password-file",
            str(wrong),
            "--base",
            f"ou=people,{SUFFIX}",
            "--filter",
            "(objectClass=inetOrgPerson)",
            "--min-entries",
            "1",
            "--ca-file",
            str(ca_file),
        )
        url = server.tls_url
    real = real.replace(url, "ldaps://ldap.ams1.example.net:636")
    real = real.replace(SUFFIX, "dc=example,dc=net")
    assert _readme_output_lines()["LdapCheck"] == real


def _timing_free(line: str) -> str:
    """A check's line with its measured times replaced: they differ on every run."""
    line = re.sub(r"in \d+\.\d ms", "in N ms", line)
    return re.sub(r"time=\d+(\.\d+)?s", "time=Ns", line)


def _run_check(*argv: str) -> str:
    proc = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    return (proc.stdout + proc.stderr).strip()


def test_readme_tcp_line_is_what_the_check_prints(closed_port: int) -> None:
    real = _run_check(
        "check-mdd-tcp",
        "--point",
        "mgmt-blocked",
        "--host",
        "127.0.0.1",
        "--port",
        str(closed_port),
        "--state",
        "closed",
        "--timeout",
        "3s",
    )
    # The same run against mgmt.ams1.example.net:22 (no test reaches the example's hosts).
    real = real.replace(f"127.0.0.1:{closed_port}", "mgmt.ams1.example.net:22")
    assert _readme_output_lines()["TcpCheck"] == real


def test_readme_tls_line_is_what_the_check_prints(tmp_path: Path) -> None:
    from tests.checks.tls_servers import TlsServer, issue, server_context

    ca = issue("mdd docs CA", days=3650, is_ca=True)
    name = "vault.ams1.example.net"
    cert_file, key_file = issue(name, days=15, issuer=ca, names=[name]).write(tmp_path, "vault")
    server = TlsServer(server_context(cert_file, key_file))
    try:
        real = _run_check(
            "check-mdd-tls",
            "--point",
            "vault-cert",
            "--host",
            "127.0.0.1",
            "--port",
            str(server.port),
            "--servername",
            name,
            "--ca-file",
            ca.write_ca(tmp_path / "ca.pem"),
            "--warn-days",
            "21",
            "--crit-days",
            "7",
        )
    finally:
        server.stop()
    real = real.replace(f"127.0.0.1:{server.port} as {name}", f"{name}:8200")
    assert _readme_output_lines()["TlsCheck"] == real


def test_readme_http_line_is_what_the_check_prints(ca: Any, tmp_path: Path) -> None:
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            body = b"OK" if self.path == "/health" else b"no such page"
            self.send_response(200 if self.path == "/health" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("artifacts.ams1.example.net").configure_cert(context)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    try:
        # The bundled example's artifact-repo check, pointed at the loopback server.
        real = _run_check(
            "check-mdd-http",
            "--point",
            "artifact-repo",
            "--url",
            "https://artifacts.ams1.example.net/health",
            "--status",
            "200",
            "--contains",
            "OK",
            "--connect-to",
            f"127.0.0.1:{port}",
            "--ca-file",
            str(ca_file),
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
    real = real.replace(f" via connect_to 127.0.0.1:{port}", "")
    assert _timing_free(_readme_output_lines()["HttpCheck"]) == _timing_free(real)


def test_sensu_page_shows_a_handler_with_the_alerting_chain() -> None:
    from tests.test_alerting import CLASSIC_CHAIN

    [shown] = [
        b for b in _blocks(REPO / "docs" / "sensu.md", "json") if b.startswith('{\n  "handlers"')
    ]
    handlers = json.loads(shown)["handlers"]
    from mdd import manifest

    # The handler the bundled example sends its events to (resolved through its bases), using
    # mdd-alerting and the filters that make occurrences, refresh and dependencies mean
    # something: the chain tests/test_alerting.py runs events through.
    example = manifest.load(BUNDLED)
    assert {h for p in example.points for h in p.sensu.handlers or ()} == set(handlers)
    for handler in handlers.values():
        assert handler["type"] == "pipe"
        assert handler["filters"] == CLASSIC_CHAIN


def test_sensu_page_shows_the_classic_filter_exactly_as_generated(guide_dc: Path) -> None:
    [shown] = [
        b for b in _blocks(REPO / "docs" / "sensu.md", "json") if b.startswith('{\n  "filters"')
    ]
    result = CliRunner().invoke(main, ["generate", "ams1"])
    assert result.exit_code == 0, result.output
    assert json.loads(shown)["filters"] == json.loads(result.stdout)["filters"]
    assert shown.split("\n", 1)[1].rstrip("}\n") in result.stdout  # the same text


def test_sensu_page_shows_the_go_filter_and_a_handler_that_lists_it(guide_dc: Path) -> None:
    from mdd.sensu import alerting, go_rules

    blocks = _blocks(REPO / "docs" / "sensu.md", "yaml")
    [shown] = [b for b in blocks if b.startswith("---\ntype: EventFilter")]
    result = CliRunner().invoke(main, ["generate", "ams1", "--format", "sensu-go"])
    assert result.exit_code == 0, result.output
    assert shown in result.stdout
    [handler] = [go_rules.parse_stream(b)[0] for b in blocks if b.startswith("---\ntype: Handler")]
    assert handler["spec"]["filters"] == ["is_incident", "not_silenced", alerting.NAME]


def test_documented_prefix_gives_absolute_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./manifests: the bundled example
    monkeypatch.delenv("MDD_MANIFESTS", raising=False)
    result = CliRunner().invoke(main, ["generate", "ams1", "--command-prefix", "/opt/mdd/bin"])
    assert result.exit_code == 0, result.output
    for check in json.loads(result.stdout)["checks"].values():
        assert check["command"].startswith("/opt/mdd/bin/check-mdd-")


DOCUMENTS = [README, GUIDE, REPO / "docs" / "sensu.md", REPO / "CONTRIBUTING.md"]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_docs_install_the_distribution_mdd_sensu(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    # `pip install mdd` installs an unrelated project from PyPI.
    assert not re.search(r"pip install mdd(?![-\w])", text), path


def test_readme_table_has_one_row_per_check_type() -> None:
    """The README's table of check types: every registered type once, with its command."""
    text = README.read_text(encoding="utf-8")
    table = text.split("| type | command | checks that |\n|---|---|---|\n", 1)[1].split("\n\n")[0]
    rows = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in table.splitlines()]
    assert sorted(row[0] for row in rows) == sorted(f"`{t}`" for t in CHECK_TYPES)
    for name, command, checks_that in rows:
        assert command == f"`{command_name(name.strip('`'))}`", name
        # One wording: "checks that" a ..., an ..., each ..., any ...
        assert checks_that.split()[0] in ("a", "an", "each", "any"), name
