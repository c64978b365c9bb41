"""The tls check, run as Sensu runs it, against real TLS and SMTP servers on loopback."""

from __future__ import annotations

import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from mdd.checks import _certificates, check_tls
from tests.checks.addresses import resolve_localhost
from tests.checks.tls_servers import (
    Issued,
    TlsServer,
    days_from_now,
    issue,
    plain_server,
    server_context,
    smtp_server,
)
from tests.conftest import CheckRun, hanging, load_values, run_argv, run_check

# A name that is only written into certificates and sent as SNI, never resolved.
VAULT = "vault.ams1.example.net"
Serve = Callable[..., TlsServer]


def tls(**manifest: Any) -> CheckRun:
    """Run the check (2s timeout unless given); every answer is one line, never a traceback."""
    manifest.setdefault("timeout", "2s")
    run = run_check("tls", **manifest)
    assert len(run.out.strip().splitlines()) == 1, run.out
    assert "Traceback" not in run.out
    return run


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A root CA of our own (as a ca_file) with intermediates of chosen lifetimes."""
    root = issue("Test Root CA", days=3650, is_ca=True)
    directory = tmp_path_factory.mktemp("pki")
    return {
        "root": root,
        "ca_file": root.write_ca(directory / "root.pem"),
        "intermediate": {
            days: issue("Test Issuing CA", days=days, issuer=root, is_ca=True)
            for days in (100, 10, 3, -2)
        },
    }


@pytest.fixture
def serve(ca: trustme.CA, tmp_path: Path) -> Iterator[Serve]:
    """Start TLS servers: ``serve(cert, max_version=None)`` where cert is an ``Issued``
    (a chain of our own) or a trustme ``LeafCert``."""
    servers: list[TlsServer] = []

    def start(
        cert: Issued | trustme.LeafCert, max_version: ssl.TLSVersion | None = None
    ) -> TlsServer:
        if isinstance(cert, Issued):
            context = server_context(*cert.write(tmp_path, f"server{len(servers)}"), max_version)
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            cert.configure_cert(context)
            if max_version is not None:
                context.maximum_version = max_version
        server = TlsServer(context)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def leaf(ca: trustme.CA, days: float, *names: str) -> trustme.LeafCert:
    """A trustme certificate for ``names`` (default localhost) expiring ``days`` from now."""
    names = names or ("localhost", "127.0.0.1")
    return ca.issue_cert(
        *names, common_name=names[0], not_before=days_from_now(-30), not_after=days_from_now(days)
    )


def server_side_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    return context


# --------------------------------------------------------------------------- leaf expiry


@pytest.mark.parametrize(
    ("days", "code", "text"),
    [
        (100, 0, "certificate CN=localhost expires in 100 days ("),
        (15, 1, "certificate CN=localhost expires in 15 days (warning below 21)"),
        (3, 2, "certificate CN=localhost expires in 3 days (critical below 7)"),
    ],
)
def test_leaf_expiry_bands(
    ca: trustme.CA, ca_file: str, serve: Serve, days: int, code: int, text: str
) -> None:
    server = serve(leaf(ca, days))
    run = tls(host="localhost", port=server.port, ca_file=ca_file)
    assert run.code == code, run.out
    assert text in run.out
    assert f"| days={days};21;7;0" in run.out
    assert "verified for localhost" in run.out


def test_expired_leaf_is_critical_and_named(ca: trustme.CA, ca_file: str, serve: Serve) -> None:
    server = serve(leaf(ca, -2))
    run = tls(host="localhost", port=server.port, ca_file=ca_file)
    assert run.code == 2, run.out
    assert "certificate CN=localhost expired 2 days ago" in run.out
    assert "days=-2;21;7;0" in run.out


def test_expired_leaf_without_verification_is_still_critical(ca: trustme.CA, serve: Serve) -> None:
    server = serve(leaf(ca, -2))
    run = tls(host="localhost", port=server.port, verify=False)
    assert run.code == 2, run.out
    assert "certificate CN=localhost expired 2 days ago" in run.out
    assert "not verified (verify: false)" in run.out


@pytest.mark.parametrize(
    ("warn", "crit", "code", "text"),
    [
        (200, 150, 2, "expires in 100 days (critical below 150)"),
        (120, 50, 1, "expires in 100 days (warning below 120)"),
        (99, 50, 0, "expires in 100 days ("),
    ],
)
def test_thresholds_are_the_options(
    ca: trustme.CA, ca_file: str, serve: Serve, warn: int, crit: int, code: int, text: str
) -> None:
    server = serve(leaf(ca, 100))
    run = tls(host="localhost", port=server.port, ca_file=ca_file, warn_days=warn, crit_days=crit)
    assert run.code == code, run.out
    assert text in run.out
    assert f"days=100;{warn};{crit};0" in run.out


def test_point_name_leads_the_line(ca: trustme.CA, ca_file: str, serve: Serve) -> None:
    server = serve(leaf(ca, 100))
    command_run = run_check(
        "tls", "vault-tls", host="localhost", port=server.port, ca_file=ca_file, timeout="2s"
    )
    assert command_run.code == 0
    assert f"vault-tls: localhost:{server.port}: certificate CN=localhost" in command_run.out


# --------------------------------------------------------------------------- chain expiry


def test_intermediate_in_warning_band_is_named(pki: dict[str, Any], serve: Serve) -> None:
    server = serve(
        issue("localhost", days=100, issuer=pki["intermediate"][10], names=["localhost"])
    )
    run = tls(host="localhost", port=server.port, ca_file=pki["ca_file"])
    assert run.code == 1, run.out
    assert "intermediate CN=Test Issuing CA expires in 10 days (warning below 21)" in run.out
    assert "certificate CN=localhost" not in run.out  # the leaf is fine
    assert "days=10;21;7;0" in run.out


def test_intermediate_is_checked_without_verification_too(
    pki: dict[str, Any], serve: Serve
) -> None:
    server = serve(
        issue("localhost", days=100, issuer=pki["intermediate"][10], names=["localhost"])
    )
    run = tls(host="localhost", port=server.port, verify=False)
    assert run.code == 1, run.out
    assert "intermediate CN=Test Issuing CA expires in 10 days (warning below 21)" in run.out
    assert "not verified (verify: false), 2 certificates checked" in run.out


def test_intermediate_in_critical_band_is_named(pki: dict[str, Any], serve: Serve) -> None:
    server = serve(issue("localhost", days=100, issuer=pki["intermediate"][3], names=["localhost"]))
    run = tls(host="localhost", port=server.port, ca_file=pki["ca_file"])
    assert run.code == 2, run.out
    assert "intermediate CN=Test Issuing CA expires in 3 days (critical below 7)" in run.out
    assert "days=3;21;7;0" in run.out


def test_expired_intermediate_is_critical_and_named(pki: dict[str, Any], serve: Serve) -> None:
    server = serve(
        issue("localhost", days=100, issuer=pki["intermediate"][-2], names=["localhost"])
    )
    run = tls(host="localhost", port=server.port, ca_file=pki["ca_file"])
    assert run.code == 2, run.out
    assert "intermediate CN=Test Issuing CA expired 2 days ago" in run.out


def test_healthy_chain_is_ok_and_verified(pki: dict[str, Any], serve: Serve) -> None:
    server = serve(
        issue("localhost", days=50, issuer=pki["intermediate"][100], names=["localhost"])
    )
    run = tls(host="localhost", port=server.port, ca_file=pki["ca_file"])
    assert run.code == 0, run.out
    assert "certificate CN=localhost expires in 50 days" in run.out
    assert "chain verified for localhost, 2 certificates checked" in run.out
    assert "days=50;21;7;0" in run.out


def test_ok_names_an_intermediate_that_expires_before_the_leaf(
    pki: dict[str, Any], serve: Serve
) -> None:
    server = serve(
        issue("localhost", days=300, issuer=pki["intermediate"][100], names=["localhost"])
    )
    run = tls(host="localhost", port=server.port, ca_file=pki["ca_file"])
    assert run.code == 0, run.out
    assert "earliest in the chain: intermediate CN=Test Issuing CA in 100 days" in run.out
    assert "days=100;21;7;0" in run.out


def test_every_certificate_in_a_band_is_reported_soonest_first(
    pki: dict[str, Any], serve: Serve
) -> None:
    server = serve(issue("localhost", days=15, issuer=pki["intermediate"][3], names=["localhost"]))
    run = tls(host="localhost", port=server.port, ca_file=pki["ca_file"])
    assert run.code == 2, run.out
    intermediate = run.out.index(
        "intermediate CN=Test Issuing CA expires in 3 days (critical below 7)"
    )
    leaf_at = run.out.index("certificate CN=localhost expires in 15 days (warning below 21)")
    assert intermediate < leaf_at


# --------------------------------------------------------------------------- verification


def test_untrusted_issuer_is_critical(ca: trustme.CA, serve: Serve) -> None:
    server = serve(leaf(ca, 100))
    run = tls(host="localhost", port=server.port)
    assert run.code == 2, run.out
    assert "is issued by O=trustme" in run.out
    assert "which is not trusted by the system's CA store" in run.out


def test_ca_file_of_another_ca_is_not_trusted(
    ca: trustme.CA, pki: dict[str, Any], serve: Serve
) -> None:
    server = serve(leaf(ca, 100))
    run = tls(host="localhost", port=server.port, ca_file=pki["ca_file"])
    assert run.code == 2, run.out
    assert f"not trusted by ca_file {pki['ca_file']}" in run.out


def test_untrusted_but_unverified_is_ok(ca: trustme.CA, serve: Serve) -> None:
    server = serve(leaf(ca, 100))
    run = tls(host="localhost", port=server.port, verify=False)
    assert run.code == 0, run.out
    assert "certificate CN=localhost expires in 100 days" in run.out
    assert "not verified (verify: false)" in run.out
    assert run.command.endswith("--no-verify --timeout 2s")


def test_self_signed_certificate(serve: Serve) -> None:
    server = serve(issue("localhost", days=100, names=["localhost"]))
    verified = tls(host="localhost", port=server.port)
    assert verified.code == 2, verified.out
    assert "certificate CN=localhost is self-signed and not trusted" in verified.out
    unverified = tls(host="localhost", port=server.port, verify=False)
    assert unverified.code == 0, unverified.out


def test_hostname_mismatch_names_what_the_certificate_is_for(
    ca: trustme.CA, ca_file: str, serve: Serve
) -> None:
    server = serve(leaf(ca, 100, "other.example.org", "www.other.example.org"))
    run = tls(host="localhost", port=server.port, ca_file=ca_file)
    assert run.code == 2, run.out
    assert (
        "certificate CN=other.example.org is not valid for localhost: it is for "
        "DNS:other.example.org, DNS:www.other.example.org"
    ) in run.out


def test_hostname_mismatch_is_ignored_without_verification(ca: trustme.CA, serve: Serve) -> None:
    server = serve(leaf(ca, 100, "other.example.org"))
    run = tls(host="localhost", port=server.port, verify=False)
    assert run.code == 0, run.out


# --------------------------------------------------------------------------- servername / SNI


def test_servername_is_sent_as_sni_and_verified(ca: trustme.CA, ca_file: str, serve: Serve) -> None:
    server = serve(leaf(ca, 100, VAULT))
    run = tls(host="127.0.0.1", port=server.port, servername=VAULT, ca_file=ca_file)
    assert run.code == 0, run.out
    assert server.sni == [VAULT]
    assert f"127.0.0.1:{server.port} as {VAULT}: certificate CN={VAULT}" in run.out
    assert f"verified for {VAULT}" in run.out


def test_sni_defaults_to_host(ca: trustme.CA, ca_file: str, serve: Serve) -> None:
    server = serve(leaf(ca, 100))
    run = tls(host="localhost", port=server.port, ca_file=ca_file)
    assert run.code == 0, run.out
    assert server.sni == ["localhost"]


def test_servername_the_certificate_is_not_for(ca: trustme.CA, ca_file: str, serve: Serve) -> None:
    server = serve(leaf(ca, 100))
    run = tls(host="127.0.0.1", port=server.port, servername=VAULT, ca_file=ca_file)
    assert run.code == 2, run.out
    assert f"is not valid for {VAULT}: it is for DNS:localhost, IP:127.0.0.1" in run.out
    assert VAULT in server.sni


# --------------------------------------------------------------------------- min_version


def test_server_below_min_version_is_critical(ca: trustme.CA, ca_file: str, serve: Serve) -> None:
    server = serve(leaf(ca, 100), max_version=ssl.TLSVersion.TLSv1_2)
    run = tls(host="localhost", port=server.port, ca_file=ca_file, min_version="1.3")
    assert run.code == 2, run.out
    assert "the server negotiated TLSv1.2, below min_version 1.3" in run.out
    assert server.versions == ["TLSv1.2"]


def test_server_at_min_version_is_ok(ca: trustme.CA, ca_file: str, serve: Serve) -> None:
    server = serve(leaf(ca, 100), max_version=ssl.TLSVersion.TLSv1_2)
    run = tls(host="localhost", port=server.port, ca_file=ca_file, min_version="1.2")
    assert run.code == 0, run.out
    assert "TLSv1.2" in run.out


def test_server_above_min_version_is_ok(ca: trustme.CA, ca_file: str, serve: Serve) -> None:
    server = serve(leaf(ca, 100))
    run = tls(host="localhost", port=server.port, ca_file=ca_file, min_version="1.2")
    assert run.code == 0, run.out
    assert "TLSv1.3" in run.out


# --------------------------------------------------------------------------- STARTTLS


def test_smtp_starttls_reads_the_certificate(ca: trustme.CA, ca_file: str) -> None:
    with smtp_server(server_side_context(leaf(ca, 100))) as port:
        run = tls(host="localhost", port=port, starttls="smtp", ca_file=ca_file)
    assert run.code == 0, run.out
    assert f"localhost:{port} (smtp STARTTLS): certificate CN=localhost expires in 100" in run.out


def test_smtp_starttls_certificate_expiry(ca: trustme.CA, ca_file: str) -> None:
    with smtp_server(server_side_context(leaf(ca, 15))) as port:
        run = tls(host="localhost", port=port, starttls="smtp", ca_file=ca_file)
    assert run.code == 1, run.out
    assert "certificate CN=localhost expires in 15 days (warning below 21)" in run.out


def test_smtp_starttls_untrusted_certificate(ca: trustme.CA) -> None:
    with smtp_server(server_side_context(leaf(ca, 100))) as port:
        run = tls(host="localhost", port=port, starttls="smtp")
    assert run.code == 2, run.out
    assert "certificate CN=localhost is issued by O=trustme" in run.out
    assert "not trusted by the system's CA store" in run.out


def test_smtp_without_starttls_is_critical() -> None:
    with smtp_server(None) as port:
        run = tls(host="localhost", port=port, starttls="smtp")
    assert run.code == 2, run.out
    assert f"localhost:{port} (smtp STARTTLS) does not offer STARTTLS" in run.out
    assert "EHLO reply lists" in run.out


def test_smtp_that_never_greets(silent_port: int) -> None:
    run = tls(host="127.0.0.1", port=silent_port, starttls="smtp", timeout="1s")
    assert run.code == 2, run.out
    assert "sent no SMTP greeting within 1s" in run.out


# --------------------------------------------------------------------------- the network


def test_refused_port(closed_port: int) -> None:
    run = tls(host="127.0.0.1", port=closed_port)
    assert run.code == 2, run.out
    assert f"127.0.0.1:{closed_port} refused the connection" in run.out


def test_port_that_never_answers(unanswered_port: int) -> None:
    run = tls(host="127.0.0.1", port=unanswered_port, timeout="1s")
    assert run.code == 2, run.out
    assert f"127.0.0.1:{unanswered_port} did not answer within 1s" in run.out


def test_port_that_never_handshakes(silent_port: int) -> None:
    run = tls(host="127.0.0.1", port=silent_port, timeout="1s")
    assert run.code == 2, run.out
    assert "accepted the connection but completed no TLS handshake within 1s" in run.out


def test_port_that_speaks_something_else() -> None:
    with plain_server(b"SSH-2.0-OpenSSH_9.6\r\n" * 8) as port:
        run = tls(host="127.0.0.1", port=port)
    assert run.code == 2, run.out
    assert "does not speak TLS on this port" in run.out


# --------------------------------------------------------------------------- UNKNOWN


def test_misspelt_flag_is_unknown() -> None:
    run = run_argv("check-mdd-tls", "--host", "localhost", "--warn-dayz", "3")
    assert run.code == 3, run.out
    assert len(run.line.splitlines()) == 1
    assert "Traceback" not in run.out
    assert "--warn-dayz" in run.out


def test_missing_ca_file_is_unknown(tmp_path: Path, closed_port: int) -> None:
    missing = tmp_path / "nope.pem"
    run = tls(host="127.0.0.1", port=closed_port, ca_file=str(missing))
    assert run.code == 3, run.out
    assert f"cannot use ca_file {missing}" in run.out


def test_ca_file_that_is_not_pem_is_unknown(tmp_path: Path, closed_port: int) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    run = tls(host="127.0.0.1", port=closed_port, ca_file=str(garbage))
    assert run.code == 3, run.out
    assert f"cannot use ca_file {garbage}" in run.out


def test_ca_file_with_no_verify_on_the_command_line_is_unknown(ca_file: str) -> None:
    run = run_argv("check-mdd-tls", "--host", "localhost", "--ca-file", ca_file, "--no-verify")
    assert run.code == 3, run.out
    assert "ca_file has no effect with --no-verify" in run.out


# --------------------------------------------------------------------------- validate()


def problems(**manifest: Any) -> list[tuple[str, str]]:
    return check_tls.validate(load_values("tls", **manifest))


def test_example_is_valid() -> None:
    assert problems(**check_tls.EXAMPLE) == []


@pytest.mark.parametrize(
    ("manifest", "option"),
    [
        ({"crit_days": 30}, "crit_days"),  # above the default warn_days 21
        ({"warn_days": 5}, "crit_days"),  # below the default crit_days 7
        ({"warn_days": 10, "crit_days": 10}, "crit_days"),
        ({"verify": False, "ca_file": "/etc/ssl/ca.pem"}, "ca_file"),
        ({"starttls": "smtp"}, "port"),
    ],
)
def test_contradictions_are_rejected(manifest: dict[str, Any], option: str) -> None:
    found = problems(host="localhost", **manifest)
    assert [name for name, _ in found] == [option]


def test_consistent_options_pass() -> None:
    assert problems(host="localhost", port=25, starttls="smtp", warn_days=30, crit_days=10) == []
    assert problems(host="localhost", verify=False, crit_days=0) == []


# --------------------------------------------------------------------------- internals


def test_der_reader_agrees_with_openssl(
    ca: trustme.CA, pki: dict[str, Any], tmp_path: Path
) -> None:
    """The DER reader (used where Python gives the chain as DER) reads what OpenSSL reads."""
    from cryptography.hazmat.primitives import serialization

    certs = [
        leaf(ca, 100).cert_chain_pems[0].bytes(),  # GeneralizedTime, IP and DNS names
        ca.cert_pem.bytes(),  # no CN
        pki["intermediate"][10].cert.public_bytes(serialization.Encoding.PEM),  # UTCTime
        issue("localhost", days=-2, names=["localhost", "::1"]).cert.public_bytes(
            serialization.Encoding.PEM
        ),
        # Serials that OpenSSL writes with a leading 0 digit, and over a DER sign byte.
        issue("a", days=1, serial=0x034BBAE9B43792CB).cert.public_bytes(serialization.Encoding.PEM),
        issue("b", days=1, serial=0x80F64986E6F0F004).cert.public_bytes(serialization.Encoding.PEM),
    ]
    for index, pem in enumerate(certs):
        path = tmp_path / f"{index}.pem"
        path.write_bytes(pem)
        info = ssl._ssl._test_decode_cert(str(path))  # type: ignore[attr-defined]
        from_openssl = _certificates.from_info(info)
        from_der = _certificates.from_der(ssl.PEM_cert_to_DER_cert(pem.decode()))
        assert from_der.subject == from_openssl.subject
        assert from_der.issuer == from_openssl.issuer
        assert from_der.not_after == from_openssl.not_after
        assert from_der.not_before == from_openssl.not_before
        assert from_der.serial == from_openssl.serial
        # OpenSSL writes IPv6 addresses in full (0:0:0:0:0:0:0:1); compare the others.
        assert [n for n in from_der.names if n.count(":") == 1] == [
            n for n in from_openssl.names if n.count(":") == 1
        ]
        assert len(from_der.names) == len(from_openssl.names)
    assert (
        "IP:127.0.0.1" in _certificates.from_der(ssl.PEM_cert_to_DER_cert(certs[0].decode())).names
    )


def test_importing_the_check_does_not_import_smtplib() -> None:
    code = "import sys, mdd.checks.check_tls; print('smtplib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "text",
    [
        "Jan  1 00:00:00 2000 GMT",
        "Feb 29 23:59:59 2028 GMT",
        "Dec 31 12:30:05 2049 GMT",
        "Mar  1 00:00:00 2100 GMT",
        "Jan  1 00:00:00 3000 GMT",
    ],
)
def test_certificate_times_read_as_the_ssl_module_reads_them(text: str) -> None:
    assert _certificates.info_time(text) == ssl.cert_time_to_seconds(text)


# --------------------------------------------------------------------------- review


def test_leaf_sent_without_its_intermediate(pki: dict[str, Any], serve: Serve) -> None:
    alone = issue("localhost", days=100, issuer=pki["intermediate"][100], names=["localhost"])
    alone.chain = []  # the server sends its certificate alone: the chain is incomplete
    server = serve(alone)
    run = tls(host="localhost", port=server.port, ca_file=pki["ca_file"])
    assert run.code == 2, run.out
    assert (
        "certificate CN=localhost is issued by CN=Test Issuing CA, which is not trusted by "
        f"ca_file {pki['ca_file']}; the server sent no intermediate certificate: if "
        "CN=Test Issuing CA is one, the server must send it (incomplete chain)"
    ) in run.out


def test_an_address_that_does_not_answer_leaves_time_for_the_next(
    ca: trustme.CA, ca_file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(20):
        server = TlsServer(server_side_context(leaf(ca, 100)), host="127.0.0.2")
        try:
            with hanging(server.port):
                resolve_localhost(monkeypatch, tmp_path, "127.0.0.1", "127.0.0.2")
                run = tls(host="localhost", port=server.port, ca_file=ca_file, timeout="2s")
            break
        except OSError:
            continue
        finally:
            server.stop()
    else:
        pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")
    assert run.code == 0, run.out
    assert f"localhost:{server.port}: certificate CN=localhost expires in 100 days" in run.out


def test_smtp_greeting_that_trickles_past_the_timeout() -> None:
    with plain_server(b"220 mail.ams1.example.net ESMTP ready\r\n", pause=0.25) as port:
        run = tls(host="127.0.0.1", port=port, starttls="smtp", timeout="1s")
    assert run.code == 2, run.out
    assert f"127.0.0.1:{port} (smtp STARTTLS) sent no SMTP greeting within 1s" in run.out


def test_ipv6_address_is_bracketed_in_the_message() -> None:
    import socket

    probe = socket.socket(socket.AF_INET6)
    probe.bind(("::1", 0))
    port = probe.getsockname()[1]
    probe.close()
    run = tls(host="::1", port=port, timeout="1s")
    assert run.code == 2, run.out
    assert f"[::1]:{port} refused the connection" in run.out


def test_the_system_ca_store_is_read_only_when_it_is_used(ca_file: str) -> None:
    # Reading it costs every run about 20 ms of CPU; unverified, or with a ca_file, it is unused.
    from mdd.checks._tls import client_context

    assert client_context(verify=False).cert_store_stats()["x509_ca"] == 0
    assert client_context(ca_file=ca_file).cert_store_stats()["x509_ca"] == 1
    assert client_context().cert_store_stats()["x509_ca"] > 1


@pytest.mark.parametrize(
    ("manifest", "rejected"),
    [
        ({"host": "h", "crit_days": 25}, []),  # below the declared warn_days default (30)
        ({"host": "h", "warn_days": 6}, []),  # above the declared crit_days default (5)
        ({"host": "h", "warn_days": 4}, ["crit_days"]),
    ],
)
def test_validate_uses_the_declared_defaults(
    manifest: dict[str, Any], rejected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = {opt.name: opt for opt in check_tls.OPTIONS}
    monkeypatch.setattr(declared["warn_days"], "default", 30)
    monkeypatch.setattr(declared["crit_days"], "default", 5)
    assert [name for name, _ in problems(**manifest)] == rejected


def test_server_that_requires_a_client_certificate(ca: trustme.CA, ca_file: str) -> None:
    context = server_side_context(leaf(ca, 100))
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # TLS 1.3 asks only after the handshake
    server = TlsServer(context)
    try:
        run = tls(host="localhost", port=server.port, ca_file=ca_file)
    finally:
        server.stop()
    assert run.code == 2, run.out
    assert "or requires a client certificate, which this check does not send" in run.out
