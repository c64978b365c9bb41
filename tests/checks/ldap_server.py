"""A real OpenLDAP slapd on loopback with a small test directory, for the ldap check's tests.

slapd runs from a throwaway slapd.conf (mdb backend) on two ephemeral ports of 127.0.0.1:
one ``ldap://`` (StartTLS offered) and one ``ldaps://``, with a certificate for localhost and
127.0.0.1 issued by the tests' trustme CA. Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = shutil.which("slapadd", path="/usr/sbin:/usr/bin") or "/usr/sbin/slapadd"
SUFFIX = "dc=mdd,dc=test"
SERVICE_DN = f"cn=svc-platform,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "Pl4nted-Secret-7x"  # the tests assert it never shows
PEOPLE = f"ou=people,{SUFFIX}"
PEOPLE_COUNT = 3  # inetOrgPerson entries below PEOPLE

_LDIF = f"""\
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: mdd tests
dc: mdd

dn: ou=services,{SUFFIX}
objectClass: organizationalUnit
ou: services

dn: {SERVICE_DN}
objectClass: person
objectClass: simpleSecurityObject
cn: svc-platform
sn: platform
userPassword: {SERVICE_PASSWORD}

dn: {PEOPLE}
objectClass: organizationalUnit
ou: people
""" + "".join(
    f"""
dn: uid=user{n},{PEOPLE}
objectClass: inetOrgPerson
uid: user{n}
cn: User {n}
sn: {n}
"""
    for n in range(1, PEOPLE_COUNT + 1)
)

_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
{tls}database mdb
suffix "{suffix}"
rootdn "cn=admin,{suffix}"
directory {dir}/db
maxsize 10485760
access to attrs=userPassword by anonymous auth by * none
access to * by * read
"""


@dataclass
class Slapd:
    port: int  # ldap:// (StartTLS offered)
    tls_port: int  # ldaps://

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _wait_for(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"slapd exited: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("slapd did not start listening within 15s")


@contextlib.contextmanager
def slapd(directory: Path, ca: Any, tls: bool = True) -> Iterator[Slapd]:
    """slapd serving the test directory until the block ends; without ``tls`` it has no
    certificate (StartTLS is refused) and serves ldap:// alone (``tls_port`` is 0)."""
    (directory / "db").mkdir(parents=True)
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_pem.write_to_path(str(directory / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    conf = directory / "slapd.conf"
    tls_lines = (
        f"TLSCertificateFile {directory}/cert.pem\nTLSCertificateKeyFile {directory}/key.pem\n"
    )
    conf.write_text(_CONF.format(dir=directory, suffix=SUFFIX, tls=tls_lines if tls else ""))
    ldif = directory / "data.ldif"
    ldif.write_text(_LDIF)
    subprocess.run(
        [SLAPADD, "-f", str(conf), "-l", str(ldif)], check=True, capture_output=True, timeout=60
    )
    port, tls_port = free_port(), free_port() if tls else 0
    urls = f"ldap://127.0.0.1:{port}/" + (f" ldaps://127.0.0.1:{tls_port}/" if tls else "")
    log = directory / "slapd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(SLAPD),
                "-f",
                str(conf),
                "-h",
                urls,
                "-d",
                "0",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        _wait_for(port, proc, log)
        if tls:
            _wait_for(tls_port, proc, log)
        yield Slapd(port, tls_port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
