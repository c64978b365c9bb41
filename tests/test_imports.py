"""Import guard: a check imports only what it uses.

Every bundled check runs as a fresh process on every agent at every interval, so its import
cost is paid over and over. The generator's libraries (click, Jinja2, PyYAML), the HTTP stack
of sensu-plugin's handler (requests, urllib3) and mdd's own generator modules must never be
imported by a check. Each import is tried in a fresh interpreter, as the agent runs it.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mdd.checks.api import COMMON_OPTIONS, SECRET
from mdd.checks.registry import CHECK_TYPES, command_name, libraries

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Never imported by a check: each name also stands for its submodules.
FORBIDDEN = (
    "click",
    "jinja2",
    "yaml",
    "requests",
    "urllib3",
    "sensu_plugin.handler",
    "mdd.cli",
    "mdd.manifest",
    "mdd.sensu.classic",
    "mdd.sensu.go",
    "mdd.sensu.go_rules",
    "mdd.sensu.facts",
    "mdd.sensu.asset",
    "mdd.reference",
    "mdd.checks.registry",  # imports every check type
    # Protocol libraries the checks once imported (now each speaks its protocol itself) and any
    # a type declares in LIBRARIES: imported by the probe that uses them, never on import.
    "pg8000",
    "pymysql",
    "redis",
    "amqp",
    "dns",  # dnspython: the dns check reads its messages itself (mdd.checks._dns_wire)
    "ldap3",  # the ldap check writes and reads its BER itself (mdd.checks._ldap_wire)
    "pyasn1",
    *sorted({library.split(".")[0] for t in CHECK_TYPES for library in libraries(t)}),
)

_NEW_MODULES = """
import sys
before = set(sys.modules)
import {module}
print("\\n".join(sorted(set(sys.modules) - before)))
"""


def _modules_imported_by(module: str) -> set[str]:
    """The modules that ``import module`` adds, in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", _NEW_MODULES.format(module=module)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
    )
    assert proc.returncode == 0, f"import {module} failed:\n{proc.stderr}"
    return set(proc.stdout.split())


def _forbidden(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_check_imports_nothing_it_does_not_use(check_type: str) -> None:
    module = f"mdd.checks.check_{check_type}"
    imported = _modules_imported_by(module)
    assert module in imported  # the probe itself works: it sees the module being imported
    bad = _forbidden(imported)
    assert not bad, f"importing {module} also imports {', '.join(bad)}"


def test_the_guard_sees_a_forbidden_import() -> None:
    # mdd.cli imports click: if this passes unnoticed, the guard above proves nothing.
    imported = _modules_imported_by("mdd.cli")
    assert "click" in _forbidden(imported)
    # mdd.cli is a package: a check importing any one command module of it is caught too.
    commands = {m for m in imported if m.startswith("mdd.cli.")}
    assert {"mdd.cli._common", "mdd.cli.generate"} <= commands
    assert commands <= set(_forbidden(imported))


def test_the_command_line_imports_what_its_commands_use_only_when_they_run() -> None:
    # `mdd --help` imports mdd.cli and each command family's module: the libraries and mdd
    # modules a command needs are imported inside the command.
    heavy = [f for f in FORBIDDEN if f not in ("click", "mdd.cli")]
    heavy += [
        "mdd.batch",
        "mdd.runner.runner",
        "mdd.manifest.locate",
        "mdd.core.model",
        "mdd.core.output",
    ]
    imported = _modules_imported_by("mdd.cli")
    loaded = sorted(m for m in imported if any(m == h or m.startswith(h + ".") for h in heavy))
    assert not loaded, f"import mdd.cli also imports {', '.join(loaded)}"


def test_mdd_package_imports_nothing() -> None:
    assert _modules_imported_by("mdd") == {"mdd"}
    tree = ast.parse((REPO / "mdd" / "__init__.py").read_text())
    imports = [
        node.lineno for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert not imports, f"mdd/__init__.py has imports on lines {imports}"


def test_checks_package_imports_nothing() -> None:
    assert _modules_imported_by("mdd.checks") <= {"mdd", "mdd.checks"}


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_check_help_lists_every_option(check_type: str) -> None:
    proc = subprocess.run(
        [str(BIN / command_name(check_type)), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stdout}{proc.stderr}"
    options = COMMON_OPTIONS + CHECK_TYPES[check_type].OPTIONS
    # A secret option is two flags, --NAME-file and --NAME-env.
    flags = [
        flag
        for opt in options
        for flag in ([f"{opt.flag}-file", f"{opt.flag}-env"] if opt.kind is SECRET else [opt.flag])
    ]
    missing = [
        flag
        for flag in flags
        if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", proc.stdout)
    ]
    assert not missing, f"{command_name(check_type)} --help does not list {missing}:\n{proc.stdout}"


def _flags(flag: str, secret: bool) -> list[str]:
    """A secret option is two flags: ``--password-file PATH`` and ``--password-env NAME``."""
    return [f"{flag}-file", f"{flag}-env"] if secret else [flag]


# A real run of a command, with the modules it loaded written out as the process ends
# (atexit runs after the command's own sys.exit): what a run pays for, not what an import
# pays for. ``run`` is the command's entry point, its argv after the listing's path.
_MODULES_AT_EXIT = """
import atexit, sys

def _write(path=sys.argv[1]):
    with open(path, "w") as out:
        out.write("\\n".join(sorted(sys.modules)))

atexit.register(_write)
# The development venv's editable-install hook imports some of the guarded modules (pathlib
# brings urllib.parse) before anything runs: forgotten here, so that only what the command
# itself imports is listed.
for _name in [m for m in sys.modules if m.split(".")[0] in {forget!r}]:
    del sys.modules[_name]
{run}
"""

_CHECK_MAIN = """
from mdd.checks.check_{check_type} import main
sys.argv = ["check-mdd-{check_type}", *sys.argv[2:]]
main()
"""


def _listed_run(script: str, tmp_path: Path, argv: tuple[str, ...]) -> tuple[str, set[str]]:
    """(output, modules loaded) of one run of ``script`` in a fresh interpreter."""
    listing = tmp_path / "modules.txt"
    listing.unlink(missing_ok=True)
    proc = subprocess.run(
        [sys.executable, "-c", script, str(listing), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    assert listing.exists(), f"no module list:\n{proc.stdout}{proc.stderr}"
    return proc.stdout + proc.stderr, set(listing.read_text().split())


def _modules_of_a_run(check_type: str, tmp_path: Path, *argv: str) -> tuple[str, set[str]]:
    """(output, modules loaded) of one run of a check, in a fresh interpreter."""
    run = _CHECK_MAIN.format(check_type=check_type)
    return _listed_run(_MODULES_AT_EXIT.format(forget=_FORGET, run=run), tmp_path, argv)


# What a plain http:// run must never load: http.client pulls in the email package for its
# header parser (~20 ms a run), ssl ~14 ms; the idna codec comes with a str host name for TLS;
# urllib.parse (with ipaddress) with reading --url; argparse and traceback are for --help and
# errors only (checks/_argv.py, checks/_sensu.py).
HTTP_RUN_FORBIDDEN = (
    "http.client",
    "email",
    "ssl",
    "_ssl",
    "encodings.idna",
    "urllib.parse",
    "ipaddress",
    "argparse",
    "traceback",
)


# Top-level packages of the guarded modules (never ones a check run needs before it starts).
_FORGET = sorted({"urllib", "ipaddress", "email", "http"})


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_a_plain_http_run_loads_neither_http_client_nor_email_nor_ssl(tmp_path: Path) -> None:
    from tests.checks.http_servers import raw_http

    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Transfer-Encoding: chunked\r\n\r\ne\r\nall systems OK\r\n0\r\n\r\n"
    )
    with raw_http(answer) as base:
        out, modules = _modules_of_a_run(
            "http", tmp_path, "--url", f"{base}/health", "--contains", "OK", "--timeout", "5s"
        )
    assert "OK:" in out and "returned 200 OK" in out, out  # a real run, answered
    assert "mdd.checks._http_wire" in modules  # the list is the run's
    loaded = _loaded(modules, HTTP_RUN_FORBIDDEN)
    assert not loaded, f"an http:// run of check-mdd-http loads {', '.join(loaded)}"


def test_the_run_guard_sees_ssl_on_an_https_run(tmp_path: Path) -> None:
    # If this passed unnoticed, the guard above would prove nothing: https needs ssl.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out, modules = _modules_of_a_run(
        "http", tmp_path, "--url", f"https://127.0.0.1:{port}/", "--timeout", "2s"
    )
    assert "refused the connection" in out, out
    assert "ssl" in _loaded(modules, HTTP_RUN_FORBIDDEN)


# What a run of each library-free protocol check must never load: the protocol library it
# once used, and the heavy parts of the standard library those libraries dragged in
# (asyncio, importlib.metadata with zipfile/email, inspect/ast, uuid).
HEAVY_RUN_FORBIDDEN = (
    "asyncio",
    "importlib.metadata",
    "zipfile",
    "email",
    "inspect",
    "ast",
    "uuid",
    "dataclasses",
    "logging",
)


def _data_store_runs() -> dict[str, tuple[list[str], str, str, tuple[str, ...]]]:
    """type -> (arguments against the machine's shared server, text of its OK line, the
    module of mdd's own client, the libraries it once imported)."""
    from tests.checks.data_servers import AMQP_PORT, HOST, MYSQL_PORT, PG_PORT, REDIS_PORT

    return {
        "redis": (
            ["--host", HOST, "--port", str(REDIS_PORT)],
            "answers PING with PONG",
            "mdd.checks._resp",
            ("redis",),
        ),
        "postgres": (
            ["--host", HOST, "--port", str(PG_PORT), "--user", "postgres", "--query", "SELECT 1"],
            "logged in to database postgres as postgres",
            "mdd.checks._pg_wire",
            ("pg8000", "scramp", "asn1crypto", "dateutil", "ssl"),
        ),
        "mysql": (
            ["--host", HOST, "--port", str(MYSQL_PORT), "--user", "root", "--query", "SELECT 1"],
            "logged in as root without TLS",
            "mdd.checks._mysql_wire",
            ("pymysql", "ssl", "traceback", "decimal"),
        ),
        "amqp": (
            ["--host", HOST, "--port", str(AMQP_PORT)],
            "logged in to vhost / as guest",
            "mdd.checks._amqp_wire",
            ("amqp", "vine"),
        ),
    }


@pytest.mark.parametrize("check_type", ["redis", "postgres", "mysql", "amqp"])
def test_a_data_store_run_speaks_its_protocol_without_the_library(
    check_type: str, tmp_path: Path
) -> None:
    argv, ok, client, libraries = _data_store_runs()[check_type]
    out, modules = _modules_of_a_run(check_type, tmp_path, *argv, "--timeout", "5s")
    assert ok in out, out  # a real run, answered
    assert client in modules  # the list is the run's
    loaded = _loaded(modules, (*libraries, *HEAVY_RUN_FORBIDDEN))
    assert not loaded, f"a run of check-mdd-{check_type} loads {', '.join(loaded)}"


def test_a_dns_run_reads_its_messages_without_dnspython(tmp_path: Path) -> None:
    from tests.checks.net_servers import dnsmasq

    with dnsmasq("--host-record=www.test.example,10.1.1.1") as port:
        out, modules = _modules_of_a_run(
            "dns",
            tmp_path,
            "--query",
            "www.test.example",
            "--servers",
            f"127.0.0.1:{port}",
            "--answers",
            "10.1.1.1",
            "--timeout",
            "5s",
        )
    assert "answered www.test.example A: 10.1.1.1" in out, out  # a real run, answered
    assert "mdd.checks._dns_wire" in modules  # the list is the run's
    loaded = _loaded(modules, ("dns", *HEAVY_RUN_FORBIDDEN))
    assert not loaded, f"a run of check-mdd-dns loads {', '.join(loaded)}"


def test_an_ldap_run_speaks_ber_without_ldap3(tmp_path: Path, ca: Any) -> None:
    from tests.checks.ldap_server import PEOPLE, SERVICE_DN, SERVICE_PASSWORD, slapd

    secret = tmp_path / "pw"
    secret.write_text(SERVICE_PASSWORD + "\n")
    with slapd(tmp_path / "slapd", ca, tls=False) as directory:
        out, modules = _modules_of_a_run(
            "ldap",
            tmp_path,
            "--url",
            directory.url,
            "--bind-dn",
            SERVICE_DN,
            "--password-file",
            str(secret),
            "--base",
            PEOPLE,
            "--timeout",
            "5s",
        )
    assert f"bound as {SERVICE_DN}, search of {PEOPLE}" in out, out  # a real run, answered
    assert "mdd.checks._ldap_wire" in modules  # the list is the run's
    loaded = _loaded(modules, ("ldap3", "pyasn1", "ssl", *HEAVY_RUN_FORBIDDEN))
    assert not loaded, f"an ldap:// run of check-mdd-ldap loads {', '.join(loaded)}"


# What check-mdd-batch must never load before (or while) it probes a datacenter: the runner
# starts on every agent at every interval, so its start-up is paid as a check's is (issue 19).
# argparse is for --help and a command line the runner's light reader does not take; the
# plan is read into plain objects, not mdd.core.model's dataclasses.
BATCH_RUN_FORBIDDEN = (
    "argparse",
    "dataclasses",
    "inspect",
    "typing",
    "pathlib",
    "secrets",
    "mdd.core.model",
    "mdd.batch.plan",
    "encodings.idna",  # a str host name to socket: the agent's address goes as bytes
    "signal",  # write_atomically holds signals with the _signal C module (3.5 M instructions)
)

# Given its argv, main() ends with SystemExit, so the list is written at exit (as the console
# script, it ends the process with os._exit, past atexit); it reads and imports the same.
_BATCH_MAIN = """
from mdd.batch.main import main
sys.argv = ["check-mdd-batch", *sys.argv[2:]]
main(sys.argv[1:])
"""


def _batch_run(tmp_path: Path, *argv: str) -> tuple[str, set[str]]:
    """(output, modules loaded) of one run of check-mdd-batch, in a fresh interpreter."""
    forget = sorted({name.split(".")[0] for name in BATCH_RUN_FORBIDDEN if "." not in name})
    script = _MODULES_AT_EXIT.format(forget=forget, run=_BATCH_MAIN)
    return _listed_run(script, tmp_path, argv)


def _batch_plan(tmp_path: Path, open_port: int, closed_port: int) -> Path:
    from tests.runner.helpers import mdd, tcp, write_manifest

    points = [tcp("gateway", open_port), tcp("db", closed_port, depends_on=["gateway"])]
    manifests = write_manifest(tmp_path, points, "lab1")
    out = tmp_path / "checks.json"
    run = mdd(
        "generate", "lab1", "--manifests", str(manifests), "--batch", "-o", str(out), cwd=tmp_path
    )
    assert run.code == 0, run.err
    return tmp_path / "checks.plan"


def test_a_batch_run_loads_no_argparse_dataclasses_typing_or_pathlib(tmp_path: Path) -> None:
    from tests.batch.sensu_agents import client_socket
    from tests.runner.helpers import free_port, listener

    with listener(free_port()) as open_socket, client_socket() as (port, received):
        plan = _batch_plan(tmp_path, open_socket.getsockname()[1], free_port())
        args = ["--plan", str(plan), "--datacenter", "lab1", "--socket", f"127.0.0.1:{port}"]
        out, modules = _batch_run(tmp_path, *args, "--state", str(tmp_path / "state"))
    # a real run: both points probed and submitted, the state file written
    assert "MddBatch OK: lab1: 1/2 green; not green: db; 2 probed and submitted" in out, out
    assert sorted(r["name"] for r in received) == ["mdd_lab1_db", "mdd_lab1_gateway"]
    assert (tmp_path / "state").exists()
    assert "mdd.checks.check_tcp" in modules  # the list is the run's
    loaded = _loaded(modules, BATCH_RUN_FORBIDDEN)
    assert not loaded, f"a run of check-mdd-batch loads {', '.join(loaded)}"


def test_the_batch_run_guard_sees_argparse_on_a_shortened_flag(tmp_path: Path) -> None:
    from tests.runner.helpers import free_port

    # If this passed unnoticed, the guard above would prove nothing: a command line the light
    # reader does not take (--data for --datacenter) goes to argparse, with argparse's message.
    plan = _batch_plan(tmp_path, free_port(), free_port())
    out, modules = _batch_run(tmp_path, "--plan", str(plan), "--data", "lab1")
    assert "argparse" in _loaded(modules, BATCH_RUN_FORBIDDEN)


def test_a_check_run_does_not_import_signal_py(tmp_path: Path) -> None:
    """The backstop alarm uses the ``_signal`` C module (built in, always loaded):
    ``signal.py`` would turn every signal number into an enum on each run (3.5 million
    instructions, checks/_sensu.py). A real run, with its alarm set (--timeout), to a port
    nothing listens on."""
    from tests.runner.helpers import free_port

    out, modules = _modules_of_a_run(
        "tcp", tmp_path, "--host", "127.0.0.1", "--port", str(free_port()), "--timeout", "5s"
    )
    assert "refused the connection" in out, out
    assert not _loaded(modules, ("signal",))
