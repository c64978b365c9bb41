"""verify's verdict equals the Sensu check's, for the 13 types test_differential.py leaves.

tests/runner/test_differential.py covers tcp, http and tls. Here each other bundled type gets
a good and a bad case against the same real loopback servers its own tests use (dnsmasq,
chronyd, sshd, slapd, an SMTP server, a forward proxy, PostgreSQL, MariaDB, Redis, RabbitMQ,
a UDP echo, ping of 127.0.0.1, a monitoring-plugins C plugin). Per type, ``mdd verify
--format json`` runs the cases in one process, and each point's generated command runs
under ``/bin/sh -c`` as the Sensu agent runs it: the exit statuses must be equal point by
point, the good case OK and the bad case not, and the reasons equal once timings are masked.
A server that is absent is ``server_missing`` (a failure in CI), never a silent skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mdd.core.command import check_command
from mdd.manifest import load
from tests.checks.data_servers import (
    AMQP_PORT,
    HOST,
    PG_PORT,
    REDIS_PORT,
    require,
    write_password_file,
)
from tests.checks.http_servers import Proxy, Server, forward_proxy, serve
from tests.checks.ldap_server import PEOPLE, SERVICE_DN, SERVICE_PASSWORD, SLAPD, Slapd, slapd
from tests.checks.net_servers import chronyd, closed_udp_port, dnsmasq, sshd, udp_server
from tests.checks.smtp_servers import REFUSED, Smtp, smtp_server
from tests.checks.test_check_mysql import Account, account  # noqa: F401 - the fixture
from tests.conftest import run_command, server_missing
from tests.runner.helpers import free_port, mdd, write_manifest

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

PLUGINS = Path("/usr/lib/nagios/plugins")
Cases = list[dict[str, Any]]  # two points: "<type>-good" (OK) and "<type>-bad" (not OK)


def _pair(kind: str, good: dict[str, Any], bad: dict[str, Any]) -> Cases:
    return [
        {"name": f"{kind}-good", "type": kind, "check": good},
        {"name": f"{kind}-bad", "type": kind, "check": bad},
    ]


# --------------------------------------------------------------------------- servers


@pytest.fixture(scope="module")
def dns_port() -> Iterator[int]:
    with dnsmasq("--local=/test.example/", "--host-record=www.test.example,10.1.1.1") as port:
        yield port


@pytest.fixture(scope="module")
def ntp_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with chronyd(tmp_path_factory.mktemp("chrony"), local_stratum=8) as port:
        yield port


@pytest.fixture(scope="module")
def sshd_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with sshd(tmp_path_factory.mktemp("sshd")) as port:
        yield port


@pytest.fixture(scope="module")
def udp_echo() -> Iterator[int]:
    with udp_server(lambda data: b"PONG\r\n" if data == b"PING\r\n" else b"what?") as (port, _):
        yield port


@pytest.fixture(scope="module")
def directory(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    if not SLAPD.exists():
        server_missing("OpenLDAP slapd (/usr/sbin/slapd)")
    with slapd(tmp_path_factory.mktemp("slapd"), ca) as running:
        yield running


@pytest.fixture(scope="module")
def relay() -> Iterator[Smtp]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def web_and_proxy() -> Iterator[tuple[Server, Server, Proxy]]:
    with serve() as web, serve() as denied, forward_proxy() as proxy:
        proxy.deny_plain.add(denied.port)
        yield web, denied, proxy


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("secrets")


# --------------------------------------------------------------------------- cases per type


def dns_cases(r: pytest.FixtureRequest) -> Cases:
    servers = [f"127.0.0.1:{r.getfixturevalue('dns_port')}"]
    q = {"servers": servers, "query": "www.test.example", "timeout": "2s"}
    return _pair("dns", dict(q, answers=["10.1.1.1"]), dict(q, answers=["10.1.1.9"]))


def icmp_cases(r: pytest.FixtureRequest) -> Cases:
    if shutil.which("ping") is None:
        server_missing("ping (Debian package iputils-ping)")
    ping = {"host": "127.0.0.1", "count": 1, "timeout": "2s"}
    # Loopback always answers; a round trip can never beat a microsecond.
    return _pair("icmp", ping, dict(ping, warn_rtt="0.000001s", crit_rtt="0.000002s"))


def ntp_cases(r: pytest.FixtureRequest) -> Cases:
    port = r.getfixturevalue("ntp_port")
    return _pair(
        "ntp",
        {"servers": [f"127.0.0.1:{port}"], "timeout": "2s", "max_stratum": 10},
        {"servers": [f"127.0.0.1:{closed_udp_port()}"], "timeout": "1s"},
    )


def udp_cases(r: pytest.FixtureRequest) -> Cases:
    port = r.getfixturevalue("udp_echo")
    probe = {"host": "127.0.0.1", "port": port, "send": "PING\\r\\n", "timeout": "1s"}
    return _pair("udp", dict(probe, expect="^PONG"), dict(probe, expect="^HELLO"))


def ssh_cases(r: pytest.FixtureRequest) -> Cases:
    port = r.getfixturevalue("sshd_port")
    probe = {"host": "127.0.0.1", "port": port, "timeout": "2s"}
    return _pair("ssh", dict(probe, expect="OpenSSH_"), dict(probe, expect="^dropbear"))


def ldap_cases(r: pytest.FixtureRequest) -> Cases:
    directory: Slapd = r.getfixturevalue("directory")
    folder: Path = r.getfixturevalue("secrets")
    right = write_password_file(folder, SERVICE_PASSWORD, "ldap.pw")
    wrong = write_password_file(folder, "Wrong-Planted-Pw-9q", "ldap-wrong.pw")
    bind = {"url": directory.url, "bind_dn": SERVICE_DN, "base": PEOPLE, "timeout": "3s"}
    return _pair("ldap", dict(bind, password={"file": right}), dict(bind, password={"file": wrong}))


def smtp_cases(r: pytest.FixtureRequest) -> Cases:
    port = r.getfixturevalue("relay").port
    probe = {"host": "127.0.0.1", "port": port, "timeout": "2s"}
    return _pair(
        "smtp",
        dict(probe, mail_from="sre@mdd.test", rcpt_to="ops@mdd.test"),
        dict(probe, mail_from="sre@mdd.test", rcpt_to=REFUSED),
    )


def proxy_cases(r: pytest.FixtureRequest) -> Cases:
    web, denied, proxy = r.getfixturevalue("web_and_proxy")
    return _pair(
        "proxy",
        {"proxy": proxy.url, "url": web.url("/ok"), "timeout": "2s"},
        {"proxy": proxy.url, "url": denied.url("/ok"), "timeout": "2s"},
    )


def postgres_cases(r: pytest.FixtureRequest) -> Cases:
    require(PG_PORT, "PostgreSQL")
    login = {"host": HOST, "port": PG_PORT, "user": "postgres", "timeout": "3s"}
    return _pair(
        "postgres",
        dict(login, query="SELECT 40 + 2", expect="42"),
        dict(login, database="mdd_no_such_database"),
    )


def mysql_cases(r: pytest.FixtureRequest) -> Cases:
    acct: Account = r.getfixturevalue("account")
    wrong = write_password_file(r.getfixturevalue("secrets"), "Wrong-" + acct.password, "my.pw")
    login = {"host": HOST, "port": acct.port, "user": acct.user, "database": acct.database}
    return _pair(
        "mysql",
        dict(login, password={"file": acct.password_file}, timeout="3s"),
        dict(login, password={"file": wrong}, timeout="3s"),
    )


def redis_cases(r: pytest.FixtureRequest) -> Cases:
    require(REDIS_PORT, "Redis")
    return _pair(
        "redis",
        {"host": HOST, "port": REDIS_PORT, "timeout": "2s"},
        {"host": HOST, "port": free_port(), "timeout": "1s"},
    )


def amqp_cases(r: pytest.FixtureRequest) -> Cases:
    require(AMQP_PORT, "RabbitMQ")
    login = {"host": HOST, "port": AMQP_PORT, "timeout": "3s"}
    return _pair("amqp", login, dict(login, vhost="mdd-no-such-vhost"))


def command_cases(r: pytest.FixtureRequest) -> Cases:
    dummy = PLUGINS / "check_dummy"
    if not os.access(dummy, os.X_OK):
        server_missing(f"{dummy} (Debian package monitoring-plugins-basic)")
    return _pair(
        "command",
        {"command": [str(dummy), "0", "delivered"], "timeout": "2s"},
        {"command": [str(dummy), "2", "not delivered"], "timeout": "2s"},
    )


CASES: dict[str, Callable[[pytest.FixtureRequest], Cases]] = {
    "dns": dns_cases,
    "icmp": icmp_cases,
    "ntp": ntp_cases,
    "udp": udp_cases,
    "ssh": ssh_cases,
    "ldap": ldap_cases,
    "smtp": smtp_cases,
    "proxy": proxy_cases,
    "postgres": postgres_cases,
    "mysql": mysql_cases,
    "redis": redis_cases,
    "amqp": amqp_cases,
    "command": command_cases,
}


def test_every_bundled_type_has_a_differential_row() -> None:
    from mdd.checks.registry import CHECK_TYPES

    covered_elsewhere = {"tcp", "http", "tls"}  # tests/runner/test_differential.py
    assert set(CHECK_TYPES) == set(CASES) | covered_elsewhere


def _masked(text: str) -> str:
    """A reason without the figures that differ from run to run (times, offsets)."""
    return re.sub(r"[-+]?\d+(\.\d+)?(e-?\d+)?", "N", text)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_verify_equals_the_sensu_command(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    manifests = write_manifest(tmp_path, CASES[kind](request))
    run = mdd(
        "verify", "lab1", "--manifests", str(manifests), "--format", "json", "--no-state",
        cwd=tmp_path,
    )  # fmt: skip
    assert run.code == 1, (run.code, run.out, run.err)  # the bad case is never green
    in_process = {p["name"]: p for p in json.loads(run.out)["points"]}
    for point in load(manifests / "lab1.yaml").points:
        sensu = run_command(check_command(point.type, point.options, point.name))
        mine = in_process[point.name]
        assert mine["status"] == sensu.code, (point.name, mine, sensu.line)
        assert sensu.line.split(" | ")[0].endswith(f"{point.name}: {mine['reason']}") or (
            _masked(sensu.line.split(" | ")[0]).endswith(_masked(mine["reason"]))
        ), (point.name, mine["reason"], sensu.line)
    assert in_process[f"{kind}-good"]["status"] == 0, in_process[f"{kind}-good"]
    assert in_process[f"{kind}-bad"]["status"] != 0, in_process[f"{kind}-bad"]
