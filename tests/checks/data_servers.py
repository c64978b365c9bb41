"""Real data-store servers for the postgres, mysql, redis and amqp checks' tests.

The machine's shared servers (PostgreSQL 5432 trust, MariaDB 3306 root, Redis 6379, RabbitMQ
5672 guest) are found through environment variables with those defaults. What a test needs
that the shared servers cannot give (password authentication on PostgreSQL, TLS, a Redis
replica) is a server of its own, started here on an ephemeral loopback port and stopped
afterwards. Names made here are unique (other test runs share the servers).
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import server_missing

HOST = "127.0.0.1"


def env_port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


PG_PORT = env_port("MDD_TEST_PG_PORT", 5432)
MYSQL_PORT = env_port("MDD_TEST_MYSQL_PORT", 3306)
REDIS_PORT = env_port("MDD_TEST_REDIS_PORT", 6379)
AMQP_PORT = env_port("MDD_TEST_AMQP_PORT", 5672)


def unique(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


def planted_password() -> str:
    """A password no message could contain by chance."""
    return "Pw-" + secrets.token_hex(12)


def answering(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(port: int, what: str) -> None:
    """Skip (fail in CI) when the shared server ``what`` does not answer on ``port``."""
    if not answering(port):
        server_missing(f"{what} on {HOST}:{port} (bash .ci/services starts it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
    return port


def wait_for(port: int, proc: subprocess.Popen[Any] | None = None, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answering(port):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        time.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port} after {seconds}s")


def write_password_file(directory: Path, password: str, name: str = "pw") -> str:
    path = directory / name
    path.write_text(password + "\n")
    path.chmod(0o600)
    return str(path)


def as_postgres() -> list[str]:
    """The prefix that runs a PostgreSQL server binary as the postgres user."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        server_missing("runuser (to run PostgreSQL's initdb as the postgres user)")
    return [str(runuser), "-u", "postgres", "--"]


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        server_missing(f"PostgreSQL's {name} (Debian package postgresql)")
    return found[-1]


@dataclass
class PgCluster:
    port: int
    user: str
    password: str
    database: str
    password_file: str


@contextlib.contextmanager
def pg_cluster(ca: Any, hba: tuple[str, ...] = ()) -> Iterator[PgCluster]:
    """A PostgreSQL cluster of its own: scram-sha-256 over TCP, TLS with a trustme certificate
    for the name ``localhost`` only (so that 127.0.0.1 is a host name mismatch), one user with
    a password and a database it owns. ``hba``: pg_hba.conf lines read before the others
    (``host all NAME 127.0.0.1/32 md5``)."""
    prefix = as_postgres()
    initdb, pg_ctl, psql = pg_bin("initdb"), pg_bin("pg_ctl"), pg_bin("psql")
    base = Path(tempfile.mkdtemp(prefix="mdd-pg-"))
    try:
        if prefix:
            shutil.chown(base, "postgres", "postgres")
        data = base / "data"
        cert = ca.issue_cert("localhost")
        cert.cert_chain_pems[0].write_to_path(str(base / "server.crt"))
        cert.private_key_pem.write_to_path(str(base / "server.key"))
        (base / "server.key").chmod(0o600)
        if prefix:
            for name in ("server.crt", "server.key"):
                shutil.chown(base / name, "postgres", "postgres")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT, "check": True}
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth-local=trust"]
            + ["--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"],
            **quiet,  # type: ignore[arg-type]
        )
        if hba:
            rules = data / "pg_hba.conf"
            rules.write_text("\n".join(hba) + "\n" + rules.read_text())
        port = free_port()
        options = (
            f"-p {port} -k {base} -c listen_addresses={HOST} -c ssl=on -c fsync=off "
            f"-c ssl_cert_file={base}/server.crt -c ssl_key_file={base}/server.key"
        )
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-l", str(base / "log"), "-w", "-o", options]
            + ["start"],
            **quiet,  # type: ignore[arg-type]
        )
        try:
            user, database, password = unique("mdd_app"), unique("mdd_db"), planted_password()
            subprocess.run(  # one -c each: CREATE DATABASE cannot run in a transaction
                [*prefix, psql, "-h", str(base), "-p", str(port), "-U", "postgres"]
                + ["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
                + ["-c", f"CREATE ROLE {user} LOGIN PASSWORD '{password}'"]
                + ["-c", f"CREATE DATABASE {database} OWNER {user}"],
                **quiet,  # type: ignore[arg-type]
            )
            pw_dir = Path(tempfile.mkdtemp(prefix="mdd-pgpw-"))
            yield PgCluster(port, user, password, database, write_password_file(pw_dir, password))
            shutil.rmtree(pw_dir, ignore_errors=True)
        finally:
            subprocess.run(
                [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def redis_server(*args: str) -> Iterator[int]:
    """A redis-server of its own on an ephemeral loopback port (``--port`` unless ``args``
    give ``--tls-port``); yields the port."""
    binary = shutil.which("redis-server")
    if binary is None:
        server_missing("redis-server (Debian package redis-server)")
    port = free_port()
    where = ["--tls-port", str(port), "--port", "0"] if "--tls-cert-file" in args else []
    where = where or ["--port", str(port)]
    directory = tempfile.mkdtemp(prefix="mdd-redis-")
    proc = subprocess.Popen(
        [str(binary), "--bind", HOST, *where, "--save", "", "--appendonly", "no"]
        + ["--dir", directory, "--logfile", "", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


def redis_command(port: int, *words: str) -> bytes:
    """One command to a plain Redis on ``port`` (RESP written out, the reply line back)."""
    payload = f"*{len(words)}\r\n".encode()
    for word in words:
        data = word.encode()
        payload += b"$%d\r\n%s\r\n" % (len(data), data)
    with socket.create_connection((HOST, port), timeout=5) as sock:
        sock.sendall(payload)
        return sock.recv(65536)


def wait_until_replica_linked(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if b"master_link_status:up" in redis_command(port, "INFO", "replication"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the replica on {port} did not link to its master")


def rabbitmqctl(*args: str) -> None:
    binary = shutil.which("rabbitmqctl")
    if binary is None:
        server_missing("rabbitmqctl (Debian package rabbitmq-server)")
    subprocess.run(
        [str(binary), "-q", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        timeout=120,
    )


@dataclass
class MariaDb:
    port: int
    ca_file: str
    socket: str


@contextlib.contextmanager
def mariadb_tls(ca: Any) -> Iterator[MariaDb]:
    """A MariaDB server of its own with TLS (a trustme certificate) on an ephemeral port; root
    (root@127.0.0.1, as mariadb-install-db makes it) logs in without a password."""
    mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    install = shutil.which("mariadb-install-db")
    if not os.path.exists(mariadbd) or install is None:
        server_missing("mariadbd and mariadb-install-db (Debian package mariadb-server)")
    base = Path(tempfile.mkdtemp(prefix="mdd-mariadb-"))
    try:
        cert = ca.issue_cert("localhost")  # not 127.0.0.1: that is a host name mismatch
        cert.cert_chain_pems[0].write_to_path(str(base / "server.crt"))
        cert.private_key_pem.write_to_path(str(base / "server.key"))
        ca.cert_pem.write_to_path(str(base / "ca.pem"))
        user = ["--user=mysql"] if os.geteuid() == 0 else []
        if user:
            shutil.chown(base, "mysql", "mysql")
            for name in ("server.crt", "server.key", "ca.pem"):
                shutil.chown(base / name, "mysql", "mysql")
        data = base / "data"
        subprocess.run(
            [str(install), "--no-defaults", f"--datadir={data}", *user]
            + ["--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            timeout=120,
        )
        port = free_port()
        proc = subprocess.Popen(
            [mariadbd, "--no-defaults", f"--datadir={data}", *user, f"--port={port}"]
            + [f"--bind-address={HOST}", f"--socket={base}/sock", f"--pid-file={base}/pid"]
            + [f"--ssl-cert={base}/server.crt", f"--ssl-key={base}/server.key"]
            + [f"--ssl-ca={base}/ca.pem", "--skip-log-bin", "--innodb-buffer-pool-size=16M"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(port, proc, 60)
            yield MariaDb(port, str(base / "ca.pem"), str(base / "sock"))
        finally:
            proc.terminate()
            proc.wait(30)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def forwarding(target: int, delay: float = 0.0, tls: Any = None) -> Iterator[int]:
    """A TCP forwarder on loopback to the real server on ``target``: it holds the server's
    first answer back for ``delay`` seconds (a slow link), and with ``tls`` (a server
    ``ssl.SSLContext``) it terminates TLS in front of a server that has none, as a load
    balancer does. Yields its port."""
    import selectors

    from tests.conftest import accepting

    def relay(client: socket.socket, upstream: socket.socket) -> None:
        """Both directions in this one thread: an SSL object must never be read in one
        thread while another writes it (a forwarder with a thread a direction broke a TLS
        conversation now and then under load: the check saw the connection closed)."""
        peer = {client: upstream, upstream: client}
        hold = delay
        with selectors.DefaultSelector() as selector:
            for sock in peer:
                selector.register(sock, selectors.EVENT_READ)
            while peer:
                pending = client in peer and getattr(client, "pending", lambda: 0)()
                ready = [client] if pending else [key.fileobj for key, _ in selector.select(30)]
                if not ready:
                    return  # 30 s of silence both ways
                for source in ready:
                    assert isinstance(source, socket.socket)
                    sink = peer[source]
                    data = source.recv(65536)
                    if not data:  # this direction is done: pass the end on
                        selector.unregister(source)
                        del peer[source]
                        with contextlib.suppress(OSError):
                            sink.shutdown(socket.SHUT_WR)
                        continue
                    if hold and source is upstream:
                        time.sleep(hold)  # the server's first answer, held back
                        hold = 0.0
                    sink.sendall(data)

    def handle(conn: socket.socket) -> None:
        conn.settimeout(30)
        client = tls.wrap_socket(conn, server_side=True) if tls is not None else conn
        with (
            client,
            socket.create_connection((HOST, target), timeout=30) as upstream,
            contextlib.suppress(OSError),
        ):
            relay(client, upstream)

    with accepting(handle, threaded=True) as port:
        yield port
