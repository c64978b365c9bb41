"""check-mdd-redis, run as Sensu runs it, against real redis-server processes on loopback.

The shared server (6379) gets an ACL user of this module's own. Roles, a server that wants a
password, slow answers (CLIENT PAUSE) and TLS use redis-servers of this module's own on
ephemeral ports: a master with a replica of it, a plain server to pause, a TLS-only server
with a trustme certificate for ``localhost`` only.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mdd.checks import check_redis
from tests.checks.conftest import waited_until_timeout
from tests.checks.data_servers import (
    HOST,
    REDIS_PORT,
    planted_password,
    redis_command,
    redis_server,
    require,
    unique,
    write_password_file,
)
from tests.conftest import load_values, run_argv, run_check
from tests.test_contract import generated_command, parse_back


@dataclass
class AclUser:
    name: str
    password: str
    password_file: str


@dataclass
class Pair:
    master: int
    replica: int
    password: str
    password_file: str


@pytest.fixture(scope="module")
def shared() -> int:
    require(REDIS_PORT, "Redis")
    return REDIS_PORT


@pytest.fixture(scope="module")
def acl_user(shared: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AclUser]:
    name, password = unique("mdd_app"), planted_password()
    reply = redis_command(shared, "ACL", "SETUSER", name, "on", f">{password}", "+ping", "+role")
    assert reply == b"+OK\r\n", reply
    path = write_password_file(tmp_path_factory.mktemp("redis"), password)
    yield AclUser(name, password, path)
    redis_command(shared, "ACL", "DELUSER", name)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    password = planted_password()
    path = write_password_file(tmp_path_factory.mktemp("redis-pair"), password)
    with (
        redis_server("--requirepass", password) as master,
        redis_server(
            "--replicaof", HOST, str(master), "--masterauth", password, "--requirepass", password
        ) as replica,
    ):
        wait_until_replica_linked_with(replica, password)
        yield Pair(master, replica, password, path)


def wait_until_replica_linked_with(port: int, password: str) -> None:
    # The replica wants the password too: ask through a plain server-less AUTH pipeline.
    import socket
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.create_connection((HOST, port), timeout=5) as sock:
            sock.sendall(f"AUTH {password}\r\nINFO replication\r\n".encode())
            time.sleep(0.1)
            if b"master_link_status:up" in sock.recv(65536):
                return
        time.sleep(0.1)
    raise RuntimeError("the replica did not link to its master")


@pytest.fixture(scope="module")
def plain() -> Iterator[int]:
    with redis_server() as port:
        yield port


@pytest.fixture(scope="module")
def tls_port(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    directory = tmp_path_factory.mktemp("redis-tls")
    cert = ca.issue_cert("localhost")  # not 127.0.0.1: that is a host name mismatch
    cert.cert_chain_pems[0].write_to_path(str(directory / "server.crt"))
    cert.private_key_pem.write_to_path(str(directory / "server.key"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    with redis_server(
        "--tls-cert-file",
        str(directory / "server.crt"),
        "--tls-key-file",
        str(directory / "server.key"),
        "--tls-ca-cert-file",
        str(directory / "ca.pem"),
        "--tls-auth-clients",
        "no",
    ) as port:
        yield port


def assert_no_secret(run: Any, password: str) -> None:
    assert password not in run.command
    assert password not in run.out


def test_ping_is_ok(shared: int) -> None:
    run = run_check("redis", point="cache", host=HOST, port=shared)
    assert run.code == 0, run.out
    assert run.line.startswith(f"RedisCheck OK: cache: {HOST}:{shared} answers PING with PONG in ")
    assert " | time=" in run.line and run.line.count("|") == 1


def test_acl_user_logs_in(shared: int, acl_user: AclUser) -> None:
    run = run_check(
        "redis",
        host=HOST,
        port=shared,
        username=acl_user.name,
        password={"file": acl_user.password_file},
        role="master",
    )
    assert run.code == 0, run.out
    assert f"answers PING with PONG as {acl_user.name}, role master" in run.line
    assert_no_secret(run, acl_user.password)


def test_wrong_password_is_critical_and_never_shown(
    shared: int, acl_user: AclUser, tmp_path: Path
) -> None:
    wrong = acl_user.password + "-wrong"
    run = run_check(
        "redis",
        host=HOST,
        port=shared,
        username=acl_user.name,
        password={"file": write_password_file(tmp_path, wrong)},
    )
    assert run.code == 2, run.out
    assert f"login as {acl_user.name} rejected: invalid username-password pair" in run.line
    assert_no_secret(run, wrong)
    assert_no_secret(run, acl_user.password)


def test_command_the_user_may_not_run_is_critical(shared: int, acl_user: AclUser) -> None:
    redis_command(shared, "ACL", "SETUSER", acl_user.name, "-role")
    try:
        run = run_check(
            "redis",
            host=HOST,
            port=shared,
            username=acl_user.name,
            password={"file": acl_user.password_file},
            role="master",
        )
    finally:
        redis_command(shared, "ACL", "SETUSER", acl_user.name, "+role")
    assert run.code == 2, run.out
    assert "ROLE refused: " in run.line and "permission" in run.line


def test_server_that_wants_a_password_is_critical_without_one(pair: Pair) -> None:
    run = run_check("redis", host=HOST, port=pair.master)
    assert run.code == 2, run.out
    assert "the server requires a password (PING refused: Authentication required" in run.line


def test_requirepass_password_logs_in(pair: Pair) -> None:
    run = run_check("redis", host=HOST, port=pair.master, password={"file": pair.password_file})
    assert run.code == 0, run.out
    assert_no_secret(run, pair.password)


def test_wrong_requirepass_password_is_critical(pair: Pair, tmp_path: Path) -> None:
    wrong = "Pw-" + secrets.token_hex(8)
    run = run_check(
        "redis",
        host=HOST,
        port=pair.master,
        password={"file": write_password_file(tmp_path, wrong)},
    )
    assert run.code == 2, run.out
    assert "login as the default user rejected" in run.line
    assert_no_secret(run, wrong)


@pytest.mark.parametrize(
    ("which", "role", "code", "text"),
    [
        ("master", "master", 0, "role master"),
        ("replica", "replica", 0, "role slave"),
        ("master", "replica", 2, "but its role is 'master', expected replica"),
        ("replica", "master", 2, "but its role is 'slave', expected master"),
    ],
)
def test_role(pair: Pair, which: str, role: str, code: int, text: str) -> None:
    port = pair.master if which == "master" else pair.replica
    run = run_check("redis", host=HOST, port=port, password={"file": pair.password_file}, role=role)
    assert run.code == code, run.out
    assert text in run.line


@pytest.mark.parametrize(("crit", "code", "text"), [("5s", 1, "warning"), ("200ms", 2, "critical")])
def test_slow_answer_crosses_thresholds(plain: int, crit: str, code: int, text: str) -> None:
    # CLIENT PAUSE holds every command, the check's PING too, for 3 s: longer than warn.
    assert redis_command(plain, "CLIENT", "PAUSE", "3000", "ALL") == b"+OK\r\n"
    run = run_check("redis", host=HOST, port=plain, warn="100ms", crit=crit, timeout="8s")
    assert run.code == code, run.out
    assert f"({text} above" in run.line


def test_paused_past_the_timeout_is_critical(plain: int) -> None:
    assert redis_command(plain, "CLIENT", "PAUSE", "3000", "ALL") == b"+OK\r\n"
    run = run_check("redis", host=HOST, port=plain, timeout="1s")
    assert run.code == 2, run.out
    assert "did not complete the PING step within" in run.line
    assert waited_until_timeout(run.line, "1s"), run.line


def test_tls_with_ca_file_is_ok(tls_port: int, ca_file: str) -> None:
    run = run_check("redis", host="localhost", port=tls_port, tls=True, ca_file=ca_file)
    assert run.code == 0, run.out
    assert f"localhost:{tls_port} answers PING with PONG over TLS" in run.line


def test_tls_untrusted_certificate_is_critical(tls_port: int) -> None:
    run = run_check("redis", host="localhost", port=tls_port, tls=True)
    assert run.code == 2, run.out
    assert "TLS certificate not trusted" in run.line


def test_tls_certificate_for_another_name_is_critical(tls_port: int, ca_file: str) -> None:
    run = run_check("redis", host=HOST, port=tls_port, tls=True, ca_file=ca_file)
    assert run.code == 2, run.out
    assert "TLS certificate not trusted: IP address mismatch" in run.line


def test_plain_to_a_tls_port_is_critical(tls_port: int) -> None:
    run = run_check("redis", host=HOST, port=tls_port, timeout="2s")
    assert run.code == 2, run.out
    assert "PING failed" in run.line or "PING step" in run.line


def test_refused_port_is_critical(closed_port: int) -> None:
    run = run_check("redis", host=HOST, port=closed_port)
    assert run.code == 2, run.out
    assert f"{HOST}:{closed_port} refused the connection" in run.line


def test_unusable_ca_file_is_unknown(tmp_path: Path) -> None:
    run = run_check("redis", host=HOST, port=REDIS_PORT, tls=True, ca_file=str(tmp_path / "x"))
    assert run.code == 3, run.out
    assert "cannot use ca_file" in run.line


def test_bad_option_is_unknown() -> None:
    run = run_argv("check-mdd-redis", "--host", HOST, "--role", "slave")
    assert run.code == 3, run.out
    assert "bad arguments" in run.line and "slave" in run.line


def test_command_from_a_manifest_parses_back() -> None:
    manifest = {
        "host": "cache.ams1.example.net",
        "port": 6380,
        "username": "platform",
        "password": {"file": "/etc/sensu/mdd/redis.pw"},
        "tls": True,
        "ca_file": "/etc/ssl/redis-ca.pem",
        "role": "replica",
        "timeout": "2s",
        "warn": "500ms",
    }
    values = load_values("redis", **manifest)
    assert check_redis.validate(values) == []
    parsed = parse_back("redis", generated_command("redis", values))
    for name, value in values.items():
        assert getattr(parsed, name) == value, name


def test_validate_rules() -> None:
    values = load_values("redis", host="h", username="u", ca_file="/ca.pem")
    problems = dict(check_redis.validate(values))
    assert problems["username"] == "a username needs a password to log in with"
    assert problems["ca_file"] == "ca_file is used only with tls: true"
