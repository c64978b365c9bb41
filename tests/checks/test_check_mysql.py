"""check-mdd-mysql, run as Sensu runs it, against real MariaDB servers on loopback.

Password logins use a user of this module's own on the shared server (made by root, which
logs in there without a password). The shared server has no TLS (have_ssl DISABLED), so TLS
is tested against a MariaDB of this module's own (mariadb-install-db, a trustme certificate
for ``localhost`` only, an ephemeral port).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest

from mdd.checks import check_mysql
from tests.checks.conftest import waited_until_timeout
from tests.checks.data_servers import (
    HOST,
    MYSQL_PORT,
    MariaDb,
    mariadb_tls,
    planted_password,
    require,
    unique,
    write_password_file,
)
from tests.conftest import load_values, run_argv, run_check
from tests.test_contract import generated_command, parse_back


@dataclass
class Account:
    port: int
    user: str
    password: str
    database: str
    password_file: str


def as_root(port: int, *statements: str) -> None:
    conn = pymysql.connect(host=HOST, port=port, user="root", password="")
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    require(MYSQL_PORT, "MariaDB")
    user, database, password = unique("mdd_app"), unique("mdd_db"), planted_password()
    as_root(
        MYSQL_PORT,
        f"CREATE DATABASE {database}",
        f"CREATE TABLE {database}.items (id INT PRIMARY KEY, name VARCHAR(20))",
        f"INSERT INTO {database}.items VALUES (1, 'first')",
        f"CREATE USER '{user}'@'{HOST}' IDENTIFIED BY '{password}'",
        f"GRANT SELECT, INSERT, CREATE ON {database}.* TO '{user}'@'{HOST}'",
    )
    path = write_password_file(tmp_path_factory.mktemp("mysql"), password)
    yield Account(MYSQL_PORT, user, password, database, path)
    as_root(MYSQL_PORT, f"DROP USER '{user}'@'{HOST}'", f"DROP DATABASE {database}")


@pytest.fixture(scope="module")
def tls_server(ca: Any) -> Iterator[MariaDb]:
    with mariadb_tls(ca) as server:
        yield server


def login(account: Account, **more: Any) -> dict[str, Any]:
    return {
        "host": HOST,
        "port": account.port,
        "user": account.user,
        "database": account.database,
        "password": {"file": account.password_file},
        "timeout": "5s",
        **more,
    }


def assert_no_secret(run: Any, password: str) -> None:
    assert password not in run.command
    assert password not in run.out


def test_password_login_and_query_are_ok(account: Account) -> None:
    run = run_check(
        "mysql",
        point="billing-db",
        **login(account, query="SELECT name FROM items WHERE id = 1", expect="first"),
    )
    assert run.code == 0, run.out
    assert run.line.startswith(
        f"MysqlCheck OK: billing-db: {HOST}:{account.port}: logged in to database "
        f"{account.database} as {account.user} without TLS, query returned 'first' in "
    )
    assert " | time=" in run.line and run.line.count("|") == 1
    assert_no_secret(run, account.password)


def test_wrong_password_is_critical_and_never_shown(account: Account, tmp_path: Path) -> None:
    wrong = account.password + "-wrong"
    run = run_check(
        "mysql", **login(account, password={"file": write_password_file(tmp_path, wrong)})
    )
    assert run.code == 2, run.out
    assert f"login as {account.user} rejected: Access denied for user '{account.user}'" in run.line
    assert "(1045)" in run.line
    assert_no_secret(run, wrong)
    assert_no_secret(run, account.password)


def test_missing_password_is_critical(account: Account) -> None:
    values = login(account)
    del values["password"]
    run = run_check("mysql", **values)
    assert run.code == 2, run.out
    assert "(using password: NO)" in run.line and "rejected" in run.line


def test_unknown_database_is_critical(account: Account) -> None:
    run = run_check("mysql", host=HOST, port=account.port, user="root", database="mdd_no_such_db")
    assert run.code == 2, run.out
    assert run.line.split(" | ")[0].endswith(
        ": database mdd_no_such_db does not exist (error 1049)"
    )
    assert "Unknown database" not in run.line  # the server's words for the same: said once


def test_database_not_granted_is_critical(account: Account) -> None:
    run = run_check("mysql", **login(account, database="mysql"))
    assert run.code == 2, run.out
    assert f"login as {account.user} rejected: Access denied for user" in run.line


def test_query_error_is_critical(account: Account) -> None:
    run = run_check("mysql", **login(account, query="SELECT * FROM mdd_no_such_table"))
    assert run.code == 2, run.out
    assert "query failed: Table" in run.line and "(1146)" in run.line


def test_query_cannot_write(account: Account) -> None:
    run = run_check("mysql", **login(account, query="INSERT INTO items VALUES (2, 'second')"))
    assert run.code == 2, run.out
    assert "query failed: Cannot execute statement in a READ ONLY transaction (1792)" in run.line


def test_ddl_cannot_escape_the_read_only_transaction(account: Account) -> None:
    # CREATE TABLE commits the transaction it is in: the session is read-only too.
    run = run_check("mysql", **login(account, query="CREATE TABLE mdd_escaped (a INT)"))
    assert run.code == 2, run.out
    assert "READ ONLY transaction" in run.line


def test_query_cannot_smuggle_a_second_statement(account: Account) -> None:
    run = run_check("mysql", **login(account, query="SELECT 1; DELETE FROM items"))
    assert run.code == 2, run.out
    assert "query failed: You have an error in your SQL syntax" in run.line


def test_expect_mismatch_is_critical(account: Account) -> None:
    run = run_check("mysql", **login(account, query="SELECT COUNT(*) FROM items", expect="2"))
    assert run.code == 2, run.out
    assert "but the query returned '1', expected '2'" in run.line


def test_no_rows_is_critical(account: Account) -> None:
    run = run_check(
        "mysql", **login(account, query="SELECT id FROM items WHERE id = 99", expect="99")
    )
    assert run.code == 2, run.out
    assert "the query returned no rows" in run.line


def test_slow_query_over_warn_is_warning(account: Account) -> None:
    run = run_check("mysql", **login(account, query="SELECT SLEEP(0.3)", warn="100ms", crit="4s"))
    assert run.code == 1, run.out
    assert "(warning above 100 ms)" in run.line


def test_slow_query_over_crit_is_critical(account: Account) -> None:
    run = run_check("mysql", **login(account, query="SELECT SLEEP(0.3)", warn="50ms", crit="100ms"))
    assert run.code == 2, run.out
    assert "(critical above 100 ms)" in run.line


def test_query_past_the_timeout_is_critical(account: Account) -> None:
    run = run_check("mysql", **login(account, query="SELECT SLEEP(5)", timeout="1s"))
    assert run.code == 2, run.out
    assert "did not complete the query step within" in run.line
    assert waited_until_timeout(run.line, "1s"), run.line


def test_require_without_server_tls_is_critical(account: Account) -> None:
    run = run_check("mysql", **login(account, tls="require"))
    assert run.code == 2, run.out
    assert "the server does not offer TLS (tls: require)" in run.line
    assert_no_secret(run, account.password)


def test_verified_tls_is_ok(tls_server: MariaDb) -> None:
    run = run_check(
        "mysql",
        host="localhost",
        port=tls_server.port,
        user="root",
        tls="verify",
        ca_file=tls_server.ca_file,
        query="SELECT @@have_ssl",
        expect="YES",
    )
    assert run.code == 0, run.out
    assert f"localhost:{tls_server.port}: logged in as root over TLS" in run.line


@pytest.mark.parametrize("mode", ["prefer", "require"])
def test_prefer_and_require_use_tls_when_offered(tls_server: MariaDb, mode: str) -> None:
    run = run_check("mysql", host=HOST, port=tls_server.port, user="root", tls=mode)
    assert run.code == 0, run.out
    assert "over TLS" in run.line


def test_tls_disable_logs_in_without_tls(tls_server: MariaDb) -> None:
    run = run_check("mysql", host=HOST, port=tls_server.port, user="root", tls="disable")
    assert run.code == 0, run.out
    assert "without TLS" in run.line


def test_untrusted_certificate_is_critical(tls_server: MariaDb) -> None:
    run = run_check("mysql", host="localhost", port=tls_server.port, user="root", tls="verify")
    assert run.code == 2, run.out
    assert "TLS certificate not trusted" in run.line


def test_certificate_for_another_name_is_critical(tls_server: MariaDb) -> None:
    run = run_check(
        "mysql",
        host=HOST,
        port=tls_server.port,
        user="root",
        tls="verify",
        ca_file=tls_server.ca_file,
    )
    assert run.code == 2, run.out
    assert "TLS certificate not trusted: IP address mismatch" in run.line


def test_refused_port_is_critical(closed_port: int) -> None:
    run = run_check("mysql", host=HOST, port=closed_port, user="root")
    assert run.code == 2, run.out
    assert f"{HOST}:{closed_port} refused the connection" in run.line


def test_password_from_an_unset_variable_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MDD_TEST_UNSET_PW", raising=False)
    run = run_check("mysql", host=HOST, user="root", password={"env": "MDD_TEST_UNSET_PW"})
    assert run.code == 3, run.out
    assert "the environment variable MDD_TEST_UNSET_PW is not set" in run.line


def test_bad_option_is_unknown() -> None:
    run = run_argv("check-mdd-mysql", "--host", HOST, "--user", "root", "--password", "s3cr3t-x")
    assert run.code == 3, run.out
    assert "use --password-file PATH or --password-env NAME" in run.line
    assert "s3cr3t-x" not in run.out  # a secret typed on argv is not echoed
    run = run_argv("check-mdd-mysql", "--host", HOST, "--user", "root", "--password=s3cr3t-x")
    assert run.code == 3 and "s3cr3t-x" not in run.out, run.out


def test_command_from_a_manifest_parses_back() -> None:
    manifest = {
        "host": "db1.ams1.example.net",
        "port": 3307,
        "database": "billing",
        "user": "platform",
        "password": {"env": "MDD_MYSQL_PW"},
        "tls": "require",
        "query": "SELECT 1 FROM dual",
        "expect": "1",
        "timeout": "3s",
        "crit": "2s",
    }
    values = load_values("mysql", **manifest)
    assert check_mysql.validate(values) == []
    parsed = parse_back("mysql", generated_command("mysql", values))
    for name, value in values.items():
        assert getattr(parsed, name) == value, name
    assert parsed.password == ("env", "MDD_MYSQL_PW")
