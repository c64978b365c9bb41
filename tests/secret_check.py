"""A check type made for the tests: it logs in to a line-based server with a ``SECRET`` option.

No bundled check type has a ``SECRET`` option yet (password options are being added), so the
tests register this one where the generator looks (``CHECK_TYPES``) and run it as a process,
the way Sensu runs a bundled check: ``python tests/secret_check.py --host ... --password-client
mdd.ldap_password`` with Sensu Classic's stdin document. The server says ``+OK`` to the right
password, ``-ERR`` otherwise.
"""

from __future__ import annotations

import argparse
import socket
from typing import Any

from mdd.checks.api import (
    DURATION,
    HOST,
    PORT,
    SECRET,
    MddCheck,
    Option,
    Result,
    State,
    read_secret,
    redact,
)

TYPE = "secretprobe"
SUMMARY = "logs in to a line-based test server with a password"
OPTIONS: tuple[Option, ...] = (
    Option("host", HOST, "Server.", required=True),
    Option("port", PORT, "Port.", required=True),
    Option("password", SECRET, "The password.", required=True),
    Option("timeout", DURATION, "Give up after this long.", default=2.0),
)
EXAMPLE: dict[str, Any] = {"host": "127.0.0.1", "port": 1, "password": {"env": "PW"}}


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    return []


def probe(opts: argparse.Namespace) -> Result:
    password = read_secret(opts.password, "the password")
    with socket.create_connection((opts.host, opts.port), timeout=opts.timeout) as conn:
        conn.sendall(f"PASS {password}\n".encode())
        answer = conn.recv(200).decode(errors="replace").strip()
    where = f"{opts.host}:{opts.port}"
    if answer.startswith("+OK"):
        return Result(State.OK, f"{where} accepted the password")
    return Result(State.CRITICAL, f"{where} refused the password: {redact(answer, [password])}")


class SecretProbeCheck(MddCheck):
    DOC = __doc__ or ""
    OPTIONS = OPTIONS

    def probe(self, opts: argparse.Namespace) -> Result:
        return probe(opts)


def main() -> None:
    SecretProbeCheck()


if __name__ == "__main__":
    main()
