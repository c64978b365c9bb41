"""TLS settings shared by the checks that speak TLS (http, tls). Standard library only."""

from __future__ import annotations

import ssl

from mdd.checks._options import BOOLEAN, Option, choice
from mdd.checks._result import CheckError
from mdd.checks._tls_options import CA_FILE, CLIENT_CERT, CLIENT_KEY

TLS_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}

# The name ``SSLSocket.version()`` gives a negotiated version (TLSv1.2), in this table's words.
NEGOTIATED = {version.name.replace("_", "."): name for name, version in TLS_VERSIONS.items()}

MIN_VERSION = Option(
    "min_version", choice(*TLS_VERSIONS), "Lowest TLS version the server may negotiate."
)


def client_context(
    *,
    verify: bool = True,
    ca_file: str | None = None,
    min_version: str | None = None,
    client_cert: str | None = None,
    client_key: str | None = None,
) -> ssl.SSLContext:
    """An SSL client context; a local file that cannot be used raises ``CheckError``.

    The system's CA store is read only when it is used: reading it costs about 20 ms of CPU.
    """
    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif ca_file:
        try:
            context = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise CheckError(f"cannot use ca_file {ca_file}: {exc}") from None
    else:
        context = ssl.create_default_context()
    if min_version:
        context.minimum_version = TLS_VERSIONS[min_version]
    else:
        # Let the check see what the server really offers; min_version is the policy.
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    if client_cert:
        try:
            context.load_cert_chain(client_cert, client_key or None)
        except (OSError, ssl.SSLError) as exc:
            raise CheckError(f"cannot use client_cert {client_cert}: {exc}") from None
    return context


def sni(host: str) -> bytes:
    """``host`` as ``SSLContext.wrap_socket`` is to be given it (``server_hostname``): bytes.

    Given a str, ssl encodes it with the ``idna`` codec, which imports encodings.idna,
    stringprep and unicodedata (about 1.5 ms of every run), ASCII or not. An ASCII name is
    passed as its bytes once it passes the codec's own rules (no empty label, none longer
    than 63 characters); a non-ASCII one (the manifest accepts those that encode as IDNA) is
    encoded to its A-label by that same codec, as ssl would. ``CheckError`` (UNKNOWN) for a
    name that cannot be sent.
    """
    if not host.isascii():
        try:
            return host.encode("idna")
        except UnicodeError as exc:
            raise CheckError(
                f"{host!r} cannot be sent as the TLS server name: it is not a valid "
                f"internationalized host name (IDNA: {exc})"
            ) from None
    labels = host.split(".")
    if not host or any(not 0 < len(label) < 64 for label in labels[:-1]) or len(labels[-1]) > 63:
        raise CheckError(
            f"{host!r} cannot be sent as the TLS server name: a name's labels (between dots) "
            f"are 1 to 63 characters"
        )
    return host.encode("ascii")


__all__ = [
    "BOOLEAN",
    "CA_FILE",
    "CLIENT_CERT",
    "CLIENT_KEY",
    "MIN_VERSION",
    "client_context",
    "sni",
]
