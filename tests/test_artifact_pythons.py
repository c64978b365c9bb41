"""The agent artifact (`mdd asset build`) runs every bundled check type on the oldest and the
newest Python 3 of the machine, with nothing but that interpreter and the unpacked archive.

Each check runs under ``env -i`` and ``/bin/sh -c``, as an agent runs it: ``PATH`` holds a
folder whose only entry is ``python3`` (the interpreter under test), then the artifact's
``bin/``, then ``/usr/bin:/bin``. The interpreters have neither mdd nor any of its libraries
installed. Debian 12's own ``/usr/bin/python3.11`` (3.11.2) is one of them.
Every check talks to a real server on loopback and must say OK.
"""

from __future__ import annotations

import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import ExitStack
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from mdd import __version__
from mdd.checks.registry import CHECK_TYPES
from mdd.core.command import check_command
from mdd.sensu import asset

from .checks.data_servers import AMQP_PORT, HOST, MYSQL_PORT, PG_PORT, REDIS_PORT, require
from .checks.http_servers import forward_proxy
from .checks.http_servers import server_context as tls_context_for
from .checks.ldap_server import slapd
from .checks.net_servers import chronyd, dnsmasq, sshd, udp_server
from .checks.smtp_servers import smtp_server
from .checks.tls_servers import TlsServer
from .conftest import accepting, load_values, server_missing
from .test_generate import run_mdd

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

CANDIDATES = ("/usr/bin/python3.1[0-9]", "/root/.pyenv/versions/3.1[0-9]*/bin/python3.1[0-9]")


def _version(python: Path) -> tuple[int, ...]:
    out = subprocess.run(
        [str(python), "-c", "import sys; print(*sys.version_info[:3])"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    return tuple(int(p) for p in out.split())


def interpreters() -> list[Path]:
    """The oldest and the newest Python 3.10+ on the machine, and Debian's own python3.11."""
    found: dict[tuple[int, ...], Path] = {}
    for pattern in CANDIDATES:
        for path in sorted(Path("/").glob(pattern.lstrip("/"))):
            if path.is_file() and not path.name.endswith("-config"):
                version = _version(path)
                if version >= asset.OLDEST_PYTHON:
                    found.setdefault(version, path)
    if not found:
        return []
    chosen = {found[min(found)], found[max(found)]}
    chosen |= {p for v, p in found.items() if v[:2] == (3, 11) and v < (3, 11, 3)}
    return sorted(chosen, key=lambda p: _version(p))


PYTHONS = interpreters()


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("artifact")
    proc = run_mdd("asset", "build", "-o", str(out), cwd=out)
    assert proc.returncode == 0, proc.stderr.decode()
    (archive,) = out.glob("*.tar.gz")
    target = tmp_path_factory.mktemp("opt")
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, ca: Any) -> Iterator[dict[str, Any]]:
    """One real server per check type, on loopback, for the whole module."""
    for port, what in (
        (PG_PORT, "PostgreSQL"),
        (MYSQL_PORT, "MariaDB"),
        (REDIS_PORT, "Redis"),
        (AMQP_PORT, "RabbitMQ"),
    ):
        require(port, what)

    def web(conn: Any) -> None:
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")

    with ExitStack() as stack:
        tcp = stack.enter_context(accepting(lambda conn: conn.sendall(b"220 ready\r\n")))
        http = stack.enter_context(accepting(web))
        tls = TlsServer(tls_context_for(ca, "localhost"))
        stack.callback(tls.stop)
        udp, _ = stack.enter_context(udp_server(lambda data: b"PONG " + data))
        dns = stack.enter_context(dnsmasq("--host-record=www.test.example,10.1.1.1"))
        ntp = stack.enter_context(chronyd(tmp_path_factory.mktemp("chrony"), local_stratum=8))
        ssh = stack.enter_context(sshd(tmp_path_factory.mktemp("sshd")))
        ldap = stack.enter_context(slapd(tmp_path_factory.mktemp("slapd"), ca, tls=False))
        smtp = stack.enter_context(smtp_server())
        proxy = stack.enter_context(forward_proxy())
        ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        yield {
            "tcp": {"host": HOST, "port": tcp, "expect": "^220"},
            "http": {"url": f"http://{HOST}:{http}/health", "contains": "OK"},
            "tls": {"host": "localhost", "port": tls.port, "ca_file": str(ca_file)},
            "udp": {"host": HOST, "port": udp, "send": "PING", "expect": "^PONG"},
            "icmp": {"host": HOST, "count": 1, "timeout": "5s"},
            "command": {"command": ["/bin/echo", "plugin OK"]},
            "dns": {"servers": [f"{HOST}:{dns}"], "query": "www.test.example"},
            "ntp": {"servers": [f"{HOST}:{ntp}"], "timeout": "3s"},
            "ssh": {"host": HOST, "port": ssh, "expect": "OpenSSH_"},
            "ldap": {"url": ldap.url, "timeout": "5s"},
            "smtp": {"host": HOST, "port": smtp.port},
            "proxy": {"proxy": proxy.url, "url": f"http://{HOST}:{http}/", "timeout": "5s"},
            "postgres": {"host": HOST, "port": PG_PORT, "user": "postgres"},
            "mysql": {"host": HOST, "port": MYSQL_PORT, "user": "root"},
            "redis": {"host": HOST, "port": REDIS_PORT},
            "amqp": {"host": HOST, "port": AMQP_PORT},
        }


def run_with(python: Path, unpacked: Path, shim: Path, command: str) -> tuple[int, str]:
    shim.mkdir(exist_ok=True)
    link = shim / "python3"
    if not link.is_symlink():
        link.symlink_to(python)
    proc = subprocess.run(
        ["/usr/bin/env", "-i", f"PATH={shim}:{unpacked / 'bin'}:/usr/bin:/bin", "/bin/sh", "-c",
         command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        timeout=90,
    )  # fmt: skip
    return proc.returncode, proc.stdout


@pytest.fixture(params=PYTHONS or [None], ids=lambda p: p.name if p else "none")
def python(request: pytest.FixtureRequest) -> Path:
    if request.param is None:  # (this machine: 3.10.13, Debian's 3.11.2 and 3.13.0)
        server_missing("a Python 3.10 or later in /usr/bin or pyenv")
    path: Path = request.param
    found = subprocess.run(
        [str(path), "-I", "-c", "import sensu_plugin"], capture_output=True, timeout=30
    )
    if found.returncode == 0:
        pytest.fail(f"{path} has sensu_plugin installed: it cannot prove the artifact complete")
    return path


def test_every_check_type_is_ok_from_the_artifact(
    python: Path, unpacked: Path, servers: dict[str, Any], tmp_path: Path
) -> None:
    assert set(servers) == set(CHECK_TYPES)
    failures = []
    for check_type, manifest in sorted(servers.items()):
        command = check_command(check_type, load_values(check_type, **manifest), "p")
        code, output = run_with(python, unpacked, tmp_path / "shim", command)
        if code != 0 or "Traceback" in output:
            failures.append(f"{check_type}: exit {code}: {output.strip()}")
    assert not failures, f"{python} ({_version(python)}):\n" + "\n".join(failures)


def test_the_interpreter_is_the_one_under_test(
    python: Path, unpacked: Path, tmp_path: Path
) -> None:
    code, output = run_with(
        python, unpacked, tmp_path / "shim",
        "python3 -c 'import sys; print(*sys.version_info[:3])'; command -v check-mdd-tcp",
    )  # fmt: skip
    lines = output.split("\n")
    assert tuple(int(p) for p in lines[0].split()) == _version(python), output
    assert lines[1] == str(unpacked / "bin" / "check-mdd-tcp")


def test_a_missing_library_says_to_rebuild_the_artifact(
    python: Path, unpacked: Path, tmp_path: Path
) -> None:
    # A copy of the artifact without the redis check's protocol module: the check cannot
    # start, and says what to do (no pip on an agent).
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(unpacked), str(copy)], check=True)
    (copy / "lib" / "mdd" / "checks" / "_resp.py").unlink()
    code, output = run_with(
        python, copy, tmp_path / "shim", f"check-mdd-redis --host {HOST} --port {REDIS_PORT}"
    )
    assert (code, output) == (
        3,
        "check-mdd-redis UNKNOWN: the artifact lacks mdd.checks._resp (rebuild it with "
        "`mdd asset build`)\n",
    )
    assert "pip" not in output
    # A library imported at start-up (sensu-plugin): the same.
    subprocess.run(["rm", "-rf", str(copy / "lib" / "sensu_plugin")], check=True)
    code, output = run_with(python, copy, tmp_path / "shim", "check-mdd-tcp --port 1")
    assert (code, output) == (
        3,
        "check-mdd-tcp UNKNOWN: the artifact lacks sensu_plugin (rebuild it with "
        "`mdd asset build`)\n",
    )


def _distribution(folder: Path, name: str, requires: list[str]) -> metadata.Distribution:
    """A real installed-distribution record (a .dist-info folder) with these requirements."""
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", "Version: 1.0"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    return metadata.PathDistribution(info)


def test_requirement_markers_are_evaluated_for_every_target_python(tmp_path: Path) -> None:
    """Not for the interpreter that builds: redis-py's own marker, for instance."""
    dist = _distribution(
        tmp_path,
        "needs-timeout",
        [
            'async-timeout>=4.0.3; python_full_version < "3.11.3"',
            "tomli; python_version < '3.11'",
            "pywin32; sys_platform == 'win32'",
            "pybreaker; extra == 'circuit-breaker'",
            "plain>=1",
        ],
    )
    environments = asset.targets()
    versions = {e["python_full_version"] for e in environments}
    assert {"3.10.0", "3.11.2", "3.11.3", "3.13.0"} <= versions
    assert all(e["sys_platform"] == "linux" for e in environments)
    found = {name: marker for name, _, marker in asset.requirements(dist, environments)}
    assert set(found) == {"async-timeout", "tomli", "plain"}  # never Windows, never extras
    assert "3.11.3" in found["async-timeout"] and found["plain"] == ""
    debian = [e for e in environments if e["python_full_version"] == "3.11.2"]
    assert {n for n, _, _ in asset.requirements(dist, debian)} == {"async-timeout", "plain"}
    newer = [e for e in environments if e["python_version"] == "3.12"]
    assert {n for n, _, _ in asset.requirements(dist, newer)} == {"plain"}


def test_a_library_that_excludes_a_target_python_is_refused() -> None:
    # A target older than what an installed library declares (Requires-Python) stops the
    # build with the library's name, instead of shipping something that cannot run.
    old = [dict(e, python_version="3.0", python_full_version="3.0.0") for e in asset.targets()[:1]]
    with pytest.raises(asset.AssetError, match=r"does not run on Python 3\.0\.0"):
        asset.plan(environments=old)


def test_an_asset_name_with_a_slash_builds(tmp_path: Path) -> None:
    proc = run_mdd(
        "asset", "build", "-o", str(tmp_path), "--name", "acme/mdd-checks",
        "--url", "https://assets.example.net/mdd/", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"acme-mdd-checks-{__version__}.tar.gz",
        f"acme-mdd-checks-{__version__}.tar.gz.sha512",
        "acme-mdd-checks-asset.yaml",
    ]
    assert "name: acme/mdd-checks" in (tmp_path / "acme-mdd-checks-asset.yaml").read_text()
    # Progress on standard error while it works; the result on standard output.
    progress = proc.stderr.decode().splitlines()
    assert len(progress) >= 3 and all(p.startswith("mdd asset build: ") for p in progress)
