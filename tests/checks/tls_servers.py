"""Real TLS and SMTP servers on loopback, and certificates with chosen lifetimes.

Certificate names such as ``vault.ams1.example.net`` are only written into certificates
and sent as SNI: nothing here ever resolves a name other than ``localhost``.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import accepting

# --------------------------------------------------------------------------- certificates


def days_from_now(days: float) -> datetime.datetime:
    """A moment ``days`` from now; one hour of slack keeps whole-day counts exact."""
    now = datetime.datetime.now(datetime.timezone.utc)
    slack = datetime.timedelta(hours=1 if days >= 0 else -1)
    return now + datetime.timedelta(days=days) + slack


@dataclass
class Issued:
    """A certificate, its key, and the certificates a server sends after it."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    chain: list[x509.Certificate] = field(default_factory=list)

    def write(self, directory: Path, stem: str) -> tuple[str, str]:
        """(cert chain PEM file, key PEM file) for ``SSLContext.load_cert_chain``."""
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
        cert_path.write_bytes(
            b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [self.cert, *self.chain])
        )
        key_path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return str(cert_path), str(key_path)

    def write_ca(self, path: Path) -> str:
        """This certificate alone, as a ca_file."""
        path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        return str(path)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mdd tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    general: list[x509.GeneralName] = []
    for name in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            general.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(general)


def issue(
    common_name: str,
    *,
    days: float,
    issuer: Issued | None = None,
    names: Sequence[str] = (),
    is_ca: bool = False,
    serial: int | None = None,
) -> Issued:
    """A certificate valid from 30 days ago until ``days`` from now (negative: expired).

    Without ``issuer`` it is self-signed. A CA certificate issued by another CA carries
    that CA's chain on, so a server can send the whole path below the root.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(days_from_now(-30))
        .not_valid_after(days_from_now(days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if names:
        builder = builder.add_extension(_san(names), critical=False)
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    chain: list[x509.Certificate] = []
    if issuer is not None and issuer.cert.issuer != issuer.cert.subject:
        chain = [issuer.cert, *issuer.chain]
    return Issued(cert, key, chain)


# --------------------------------------------------------------------------- TLS server


def server_context(
    cert_file: str, key_file: str, max_version: ssl.TLSVersion | None = None
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    if max_version is not None:
        context.maximum_version = max_version
    return context


class TlsServer:
    """A TLS server (on 127.0.0.1 unless told) in a thread: one handshake per connection, then waits
    for the client to close. Records the SNI name and the TLS version of each handshake."""

    def __init__(self, context: ssl.SSLContext, host: str = "127.0.0.1") -> None:
        self.context = context
        self.sni: list[str | None] = []
        self.versions: list[str | None] = []
        context.sni_callback = self._record_sni
        self._listener = socket.socket()
        self._listener.bind((host, 0))
        self._listener.listen(8)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _record_sni(self, sock: Any, name: str | None, context: ssl.SSLContext) -> None:
        self.sni.append(name)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    with self.context.wrap_socket(conn, server_side=True) as tls:
                        self.versions.append(tls.version())
                        tls.recv(1)  # until the client closes
                except OSError:  # includes ssl.SSLError: the client gave up on us
                    pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._listener.close()


@contextmanager
def plain_server(reply: bytes, pause: float = 0.0) -> Iterator[int]:
    """A server that answers every connection with ``reply`` (not TLS) and closes; with
    ``pause``, it sends the reply one byte at a time, ``pause`` seconds apart."""

    def answer(conn: socket.socket) -> None:
        if pause:
            for byte in reply:
                time.sleep(pause)
                conn.sendall(bytes([byte]))
        conn.sendall(b"" if pause else reply)
        conn.settimeout(2)
        conn.recv(4096)

    with accepting(answer) as port:
        yield port


# --------------------------------------------------------------------------- SMTP server


@contextmanager
def smtp_server(tls_context: ssl.SSLContext | None) -> Iterator[int]:
    """An aiosmtpd server on 127.0.0.1; it offers STARTTLS only with a ``tls_context``."""
    from aiosmtpd.controller import Controller

    class _Controller(Controller):  # type: ignore[misc]
        def _trigger_server(self) -> None:
            # Listen on port 0 and learn the port the system chose.
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    class _Handler:
        pass

    kwargs: dict[str, Any] = {}
    if tls_context is not None:
        kwargs = {"tls_context": tls_context, "require_starttls": True}
    # server_hostname: aiosmtpd would otherwise ask the DNS for this machine's FQDN.
    controller = _Controller(
        _Handler(), hostname="127.0.0.1", port=0, server_hostname="localhost", **kwargs
    )
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()
