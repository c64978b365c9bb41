"""Differential tests: mdd's postgres and mysql checks against the monitoring-plugins C plugins.

On the same loopback targets, in the good and the bad cases, check-mdd-postgres and
check_pgsql, check-mdd-mysql and check_mysql must agree on the colour: OK, or not OK. (The
C plugins take the password on their command line; these are throwaway test passwords.)
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.checks.data_servers import HOST, PG_PORT, PgCluster, pg_cluster, require
from tests.checks.test_check_mysql import Account, account  # noqa: F401 - the fixture
from tests.conftest import accepting, run_check, server_missing

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

PLUGINS = Path(os.environ.get("MDD_NAGIOS_PLUGINS", "/usr/lib/nagios/plugins"))


def plugin(name: str, *args: str) -> int:
    path = PLUGINS / name
    if not path.exists():
        server_missing(f"{path} (Debian package monitoring-plugins-standard)")
    done = subprocess.run(
        [str(path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode


def colour(code: int) -> str:
    return "OK" if code == 0 else "not OK"


@pytest.fixture(scope="module")
def cluster(ca: Any) -> Iterator[PgCluster]:
    with pg_cluster(ca) as own:
        yield own


@pytest.fixture(scope="module")
def silent() -> Iterator[int]:
    def listen(conn: Any) -> None:
        conn.settimeout(5)
        while conn.recv(4096):
            pass

    with accepting(listen, threaded=True) as port:
        yield port


def pg_cases(
    cluster: PgCluster, closed: int, silent: int
) -> dict[str, tuple[dict[str, Any], list[str]]]:
    """name: (mdd manifest values, check_pgsql arguments)."""
    own = {"host": HOST, "port": cluster.port, "user": cluster.user}
    own_argv = ["-H", HOST, "-P", str(cluster.port), "-l", cluster.user]
    return {
        "trusted login": (
            {"host": HOST, "port": PG_PORT, "user": "postgres", "database": "postgres"},
            ["-H", HOST, "-P", str(PG_PORT), "-l", "postgres", "-d", "postgres"],
        ),
        "password login": (
            {**own, "database": cluster.database, "password": {"file": cluster.password_file}},
            [*own_argv, "-d", cluster.database, "-p", cluster.password],
        ),
        "wrong password": (
            {**own, "database": cluster.database, "password": {"env": "MDD_DIFF_WRONG_PW"}},
            [*own_argv, "-d", cluster.database, "-p", "wrong-password"],
        ),
        "unknown database": (
            {**own, "database": "mdd_nowhere", "password": {"file": cluster.password_file}},
            [*own_argv, "-d", "mdd_nowhere", "-p", cluster.password],
        ),
        "unknown user": (
            {"host": HOST, "port": PG_PORT, "user": "mdd_nobody", "database": "postgres"},
            ["-H", HOST, "-P", str(PG_PORT), "-l", "mdd_nobody", "-d", "postgres"],
        ),
        "closed port": (
            {"host": HOST, "port": closed, "user": "postgres"},
            ["-H", HOST, "-P", str(closed), "-l", "postgres"],
        ),
        "silent server": (
            {"host": HOST, "port": silent, "user": "postgres", "timeout": "2s"},
            ["-H", HOST, "-P", str(silent), "-l", "postgres", "-t", "2"],
        ),
    }


CASES_PG = [
    "trusted login",
    "password login",
    "wrong password",
    "unknown database",
    "unknown user",
    "closed port",
    "silent server",
]


@pytest.mark.parametrize("case", CASES_PG)
def test_postgres_agrees_with_check_pgsql(
    case: str,
    cluster: PgCluster,
    closed_port: int,
    silent: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require(PG_PORT, "PostgreSQL")
    monkeypatch.setenv("MDD_DIFF_WRONG_PW", "wrong-password")
    values, argv = pg_cases(cluster, closed_port, silent)[case]
    mdd = run_check("postgres", **values)
    theirs = plugin("check_pgsql", *argv)
    assert colour(mdd.code) == colour(theirs), f"{case}: mdd said {mdd.out!r}, check_pgsql {theirs}"
    expected_ok = case in ("trusted login", "password login")
    assert (mdd.code == 0) is expected_ok, mdd.out


CASES_MYSQL = ["password login", "wrong password", "unknown database", "closed port", "silent"]


@pytest.mark.parametrize("case", CASES_MYSQL)
def test_mysql_agrees_with_check_mysql(
    case: str,
    account: Account,  # noqa: F811 - the fixture
    closed_port: int,
    silent: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MDD_DIFF_WRONG_PW", "wrong-password")
    mine = {"host": HOST, "port": account.port, "user": account.user}
    theirs_argv = ["-H", HOST, "-P", str(account.port), "-u", account.user]
    cases: dict[str, tuple[dict[str, Any], list[str]]] = {
        "password login": (
            {**mine, "database": account.database, "password": {"file": account.password_file}},
            [*theirs_argv, "-d", account.database, "-p", account.password],
        ),
        "wrong password": (
            {**mine, "password": {"env": "MDD_DIFF_WRONG_PW"}},
            [*theirs_argv, "-p", "wrong-password"],
        ),
        "unknown database": (
            {**mine, "database": "mdd_nowhere", "password": {"file": account.password_file}},
            [*theirs_argv, "-d", "mdd_nowhere", "-p", account.password],
        ),
        "closed port": (
            {"host": HOST, "port": closed_port, "user": "root"},
            ["-H", HOST, "-P", str(closed_port), "-u", "root"],
        ),
        "silent": (
            {"host": HOST, "port": silent, "user": "root", "timeout": "2s"},
            ["-H", HOST, "-P", str(silent), "-u", "root", "-t", "2"],
        ),
    }
    values, argv = cases[case]
    mdd = run_check("mysql", **values)
    theirs = plugin("check_mysql", *argv)
    assert colour(mdd.code) == colour(theirs), f"{case}: mdd said {mdd.out!r}, check_mysql {theirs}"
    assert (mdd.code == 0) is (case == "password login"), mdd.out
