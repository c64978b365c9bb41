"""check-mdd-postgres, run as Sensu runs it, against real PostgreSQL servers on loopback.

The shared server (5432) trusts every loopback connection, so password authentication and
TLS are tested against a cluster of this module's own: initdb with scram-sha-256 on an
ephemeral port, ssl=on with a trustme certificate.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mdd.checks import check_postgres
from tests.checks.conftest import waited_until_timeout
from tests.checks.data_servers import HOST, PG_PORT, PgCluster, pg_cluster, require
from tests.conftest import CheckRun, load_values, run_argv, run_check
from tests.test_contract import generated_command, parse_back


@pytest.fixture(scope="module")
def shared() -> int:
    require(PG_PORT, "PostgreSQL")
    return PG_PORT


@pytest.fixture(scope="module")
def cluster(ca: Any) -> Iterator[PgCluster]:
    with pg_cluster(ca) as own:
        yield own


def login(cluster: PgCluster, **more: Any) -> dict[str, Any]:
    return {
        "host": more.pop("host", HOST),
        "port": cluster.port,
        "user": cluster.user,
        "database": cluster.database,
        "password": {"file": cluster.password_file},
        "timeout": "5s",
        **more,
    }


def assert_no_secret(run: Any, password: str) -> None:
    assert password not in run.command
    assert password not in run.out


def test_trusted_login_and_query_are_ok(shared: int) -> None:
    run = run_check(
        "postgres",
        point="pg",
        host=HOST,
        port=shared,
        user="postgres",
        query="SELECT 40 + 2",
        expect="42",
    )
    assert run.code == 0, run.out
    assert run.line.startswith(
        f"PostgresCheck OK: pg: {HOST}:{shared}: logged in to database postgres as postgres"
    )
    assert "query returned '42'" in run.line
    assert " | time=" in run.line and run.line.count("|") == 1


def test_expect_compares_postgres_text(shared: int) -> None:
    run = run_check(
        "postgres", host=HOST, port=shared, user="postgres", query="SELECT 1 = 1", expect="t"
    )
    assert run.code == 0, run.out


def test_password_login_over_verified_tls_is_ok(cluster: PgCluster, ca_file: str) -> None:
    run = run_check(
        "postgres",
        **login(
            cluster,
            host="localhost",
            tls="verify",
            ca_file=ca_file,
            query="SELECT current_user",
            expect=cluster.user,
        ),
    )
    assert run.code == 0, run.out
    assert (
        f"localhost:{cluster.port}: logged in to database {cluster.database} as "
        f"{cluster.user} over TLS" in run.line
    )
    assert_no_secret(run, cluster.password)


def test_default_prefer_uses_tls_when_offered(cluster: PgCluster) -> None:
    run = run_check("postgres", **login(cluster))
    assert run.code == 0, run.out
    assert "over TLS" in run.line


def test_prefer_falls_back_when_the_server_has_no_tls(shared: int) -> None:
    run = run_check("postgres", host=HOST, port=shared, user="postgres")
    assert run.code == 0, run.out
    assert "without TLS" in run.line


def test_require_without_server_tls_is_critical(shared: int) -> None:
    run = run_check("postgres", host=HOST, port=shared, user="postgres", tls="require")
    assert run.code == 2, run.out
    assert "the server does not offer TLS (tls: require)" in run.line


def test_tls_disable_logs_in_without_tls(cluster: PgCluster) -> None:
    run = run_check("postgres", **login(cluster, tls="disable"))
    assert run.code == 0, run.out
    assert "without TLS" in run.line


def test_wrong_password_is_critical_and_never_shown(cluster: PgCluster, tmp_path: Path) -> None:
    wrong = cluster.password + "-wrong"
    path = tmp_path / "wrong.pw"
    path.write_text(wrong)
    run = run_check("postgres", **login(cluster, password={"file": str(path)}))
    assert run.code == 2, run.out
    assert f"login as {cluster.user} rejected: password authentication failed" in run.line
    assert "(28P01)" in run.line
    assert_no_secret(run, wrong)
    assert_no_secret(run, cluster.password)


def test_password_from_the_environment(cluster: PgCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MDD_TEST_PG_PW", cluster.password)
    run = run_check("postgres", **login(cluster, password={"env": "MDD_TEST_PG_PW"}))
    assert run.code == 0, run.out
    assert "--password-env MDD_TEST_PG_PW" in run.command
    assert_no_secret(run, cluster.password)


def test_missing_password_is_critical(cluster: PgCluster) -> None:
    values = login(cluster)
    del values["password"]
    run = run_check("postgres", **values)
    assert run.code == 2, run.out
    assert f"login as {cluster.user} needs a password, and the check has none" in run.line


def test_untrusted_certificate_is_critical(cluster: PgCluster) -> None:
    # The system's CAs do not include the test CA.
    run = run_check("postgres", **login(cluster, host="localhost", tls="verify"))
    assert run.code == 2, run.out
    assert "TLS certificate not trusted" in run.line
    assert_no_secret(run, cluster.password)


def test_certificate_of_another_ca_is_critical(cluster: PgCluster, tmp_path: Path) -> None:
    import trustme

    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    run = run_check(
        "postgres", **login(cluster, host="localhost", tls="verify", ca_file=str(other))
    )
    assert run.code == 2, run.out
    assert "TLS certificate not trusted: unable to get local issuer certificate" in run.line
    assert_no_secret(run, cluster.password)


def test_certificate_for_another_name_is_critical(cluster: PgCluster, ca_file: str) -> None:
    # The certificate names localhost only: 127.0.0.1 is not on it.
    run = run_check("postgres", **login(cluster, tls="verify", ca_file=ca_file))
    assert run.code == 2, run.out
    assert "TLS certificate not trusted: IP address mismatch" in run.line
    assert_no_secret(run, cluster.password)


def test_tls_require_does_not_verify(cluster: PgCluster) -> None:
    run = run_check("postgres", **login(cluster, tls="require"))
    assert run.code == 0, run.out
    assert "over TLS" in run.line


def test_unknown_database_is_critical(cluster: PgCluster) -> None:
    run = run_check("postgres", **login(cluster, database="mdd_no_such_db"))
    assert run.code == 2, run.out
    # Said once: not "...does not exist: database "mdd_no_such_db" does not exist".
    assert run.line.split(" | ")[0].endswith(": database mdd_no_such_db does not exist (3D000)")
    assert run.line.count("does not exist") == 1, run.line


def test_unknown_user_is_critical(shared: int) -> None:
    run = run_check("postgres", host=HOST, port=shared, user="mdd_nobody_here")
    assert run.code == 2, run.out
    assert 'login as mdd_nobody_here rejected: role "mdd_nobody_here" does not exist' in run.line


def test_query_error_is_critical(shared: int) -> None:
    run = run_check(
        "postgres", host=HOST, port=shared, user="postgres", query="SELECT * FROM mdd_no_such_table"
    )
    assert run.code == 2, run.out
    assert 'query failed: relation "mdd_no_such_table" does not exist (42P01)' in run.line


def test_query_cannot_write(cluster: PgCluster) -> None:
    run = run_check("postgres", **login(cluster, query="CREATE TABLE mdd_written (a int)"))
    assert run.code == 2, run.out
    assert "query failed: cannot execute CREATE TABLE in a read-only transaction" in run.line


def test_query_cannot_smuggle_a_second_statement(cluster: PgCluster) -> None:
    run = run_check("postgres", **login(cluster, query="COMMIT; CREATE TABLE mdd_smuggled (a int)"))
    assert run.code == 2, run.out
    assert "cannot insert multiple commands" in run.line


def test_expect_mismatch_is_critical(shared: int) -> None:
    run = run_check(
        "postgres", host=HOST, port=shared, user="postgres", query="SELECT 'b'", expect="a"
    )
    assert run.code == 2, run.out
    assert "but the query returned 'b', expected 'a'" in run.line


def test_no_rows_is_critical(shared: int) -> None:
    run = run_check(
        "postgres",
        host=HOST,
        port=shared,
        user="postgres",
        query="SELECT 1 WHERE false",
        expect="1",
    )
    assert run.code == 2, run.out
    assert "the query returned no rows" in run.line


def test_null_is_not_text(shared: int) -> None:
    run = run_check(
        "postgres", host=HOST, port=shared, user="postgres", query="SELECT NULL", expect="NULL"
    )
    assert run.code == 2, run.out
    assert "returned NULL" in run.line


def test_slow_query_over_warn_is_warning(shared: int) -> None:
    # The query sleeps 300 ms, so the whole check takes longer than warn: the threshold decides.
    run = run_check(
        "postgres",
        host=HOST,
        port=shared,
        user="postgres",
        query="SELECT pg_sleep(0.3)",
        warn="100ms",
        crit="5s",
    )
    assert run.code == 1, run.out
    assert "(warning above 100 ms)" in run.line


def test_slow_query_over_crit_is_critical(shared: int) -> None:
    run = run_check(
        "postgres",
        host=HOST,
        port=shared,
        user="postgres",
        query="SELECT pg_sleep(0.3)",
        warn="50ms",
        crit="100ms",
    )
    assert run.code == 2, run.out
    assert "(critical above 100 ms)" in run.line


def test_query_past_the_timeout_is_critical(shared: int) -> None:
    # The timeout covers pg8000's import, the connection and the login too: 3s leaves a
    # busy machine time for those, so that it is the query that runs out of time. The
    # server's statement_timeout (the time left) and the check's watchdog both stop it;
    # whichever comes first, the message is the same.
    run = run_check(
        "postgres",
        host=HOST,
        port=shared,
        user="postgres",
        query="SELECT pg_sleep(30)",
        timeout="3s",
    )
    assert run.code == 2, run.out
    assert "did not complete the query step within" in run.line
    assert waited_until_timeout(run.line, "3s"), run.line


def test_query_cancelled_by_an_admin_is_not_a_timeout(shared: int) -> None:
    # SQLSTATE 57014 is both statement_timeout and pg_cancel_backend: only the first one,
    # at the check's deadline, is reported as the check's timeout.
    import pg8000.native

    tag = f"mdd-cancel-{uuid.uuid4().hex}"
    runs: list[CheckRun] = []
    query = f"SELECT pg_sleep(20) /* {tag} */"
    check = threading.Thread(
        target=lambda: runs.append(
            run_check(
                "postgres", host=HOST, port=shared, user="postgres", query=query, timeout="25s"
            )
        )
    )
    check.start()
    admin = pg8000.native.Connection("postgres", host=HOST, port=shared, database="postgres")
    try:
        cancelled: list[Any] = []
        while check.is_alive() and not cancelled:  # until the check's query runs
            cancelled = admin.run(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                "WHERE query = :query AND pid <> pg_backend_pid()",
                query=query,
            )
            check.join(0.05)
    finally:
        admin.close()
        check.join(30)
    (run,) = runs
    assert cancelled == [[True]], run.out
    assert run.code == 2, run.out
    assert "query failed: canceling statement due to user request (57014)" in run.line
    assert "within" not in run.line


def test_refused_port_is_critical(closed_port: int) -> None:
    run = run_check("postgres", host=HOST, port=closed_port, user="postgres")
    assert run.code == 2, run.out
    assert f"{HOST}:{closed_port} refused the connection" in run.line


def test_unreadable_password_file_is_unknown(shared: int, tmp_path: Path) -> None:
    missing = tmp_path / "absent.pw"
    run = run_check(
        "postgres", host=HOST, port=shared, user="postgres", password={"file": str(missing)}
    )
    assert run.code == 3, run.out
    assert f"cannot read the password from {missing}" in run.line


def test_unusable_ca_file_is_unknown(shared: int, tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    run = run_check(
        "postgres", host=HOST, port=shared, user="postgres", tls="verify", ca_file=str(bad)
    )
    assert run.code == 3, run.out
    assert f"cannot use ca_file {bad}" in run.line


def test_bad_option_is_unknown() -> None:
    run = run_argv("check-mdd-postgres", "--host", HOST, "--user", "x", "--tls", "maybe")
    assert run.code == 3, run.out
    assert "bad arguments" in run.line and "maybe" in run.line


def test_command_from_a_manifest_parses_back() -> None:
    manifest = {
        "host": "pg.ams1.example.net",
        "port": 6432,
        "database": "inventory",
        "user": "platform",
        "password": {"file": "/etc/sensu/mdd/pg.pw"},
        "tls": "verify",
        "ca_file": "/etc/ssl/pg-ca.pem",
        "query": "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
        "expect": "3",
        "timeout": "5s",
        "warn": "1s",
        "crit": "2s",
    }
    values = load_values("postgres", **manifest)
    assert check_postgres.validate(values) == []
    parsed = parse_back("postgres", generated_command("postgres", values))
    for name, value in values.items():
        assert getattr(parsed, name) == value, name
    assert parsed.password == ("file", "/etc/sensu/mdd/pg.pw")


def test_validate_rules() -> None:
    values = load_values("postgres", host="h", user="u", expect="1", ca_file="/ca.pem")
    problems = dict(check_postgres.validate(values))
    assert problems["expect"].startswith("'expect' needs a query")
    assert "set tls: verify" in problems["ca_file"]


@pytest.fixture
def broken_tls_front(shared: int) -> Iterator[int]:
    """In front of the shared server: says yes to TLS, then breaks the handshake; a
    connection that asks for no TLS is passed through to the real server."""
    import socket
    import threading

    from tests.conftest import accepting

    ssl_request = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")

    def pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def handle(conn: socket.socket) -> None:
        conn.settimeout(10)
        first = conn.recv(8)
        if first == ssl_request:
            conn.sendall(b"S" + b"\x15\x03\x03\x00\x02\x02\x28")  # "S", then a TLS alert
            return
        with socket.create_connection((HOST, shared), timeout=10) as upstream:
            upstream.sendall(first)
            back = threading.Thread(target=pump, args=(upstream, conn), daemon=True)
            back.start()
            pump(conn, upstream)
            back.join(10)

    with accepting(handle, threaded=True) as port:
        yield port


def test_prefer_falls_back_when_the_tls_handshake_fails(broken_tls_front: int) -> None:
    run = run_check("postgres", host=HOST, port=broken_tls_front, user="postgres")
    assert run.code == 0, run.out
    assert "without TLS" in run.line


def test_require_with_a_failing_tls_handshake_is_critical(broken_tls_front: int) -> None:
    run = run_check("postgres", host=HOST, port=broken_tls_front, user="postgres", tls="require")
    assert run.code == 2, run.out
    assert "TLS handshake failed" in run.line
