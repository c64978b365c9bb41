"""tls: a TLS endpoint serves a trusted certificate chain that is not about to expire.

Connects to ``host:port`` (for ``starttls: smtp``, first speaks SMTP: EHLO, which must
offer STARTTLS, then STARTTLS) and does a TLS handshake with ``servername`` as SNI.

With ``verify`` (the default) the chain must lead to a trusted CA (the system's, or the
ones in ``ca_file``) and the certificate must be valid for ``servername``; a failure is
CRITICAL with the reason: untrusted issuer, self-signed, the names the certificate is for.

Whether verified or not, the leaf **and every chain certificate the server sends** are
checked for expiry: WARNING when one expires in less than ``warn_days``, CRITICAL in less
than ``crit_days`` or when it has expired. The message names the certificate
(``intermediate CN=Example Issuing CA expires in 10 days (warning below 21)``) and the
performance data ``days`` is the lowest number of days left in the chain.

``min_version`` is the lowest TLS version the server may negotiate: the check offers every
version it can and reports the one the server picks. ``timeout`` bounds the whole check.
"""

from __future__ import annotations

import argparse
import socket
import ssl
import time
from collections.abc import Mapping, Sequence

from mdd.checks._base import Deadline, MddCheck
from mdd.checks._net import connect, deadline_reader, host_port
from mdd.checks._options import (
    BOOLEAN,
    COUNT,
    DURATION,
    HOST,
    PORT,
    Option,
    choice,
    duration_text,
)
from mdd.checks._result import CheckError, Perf, Result, State, worst
from mdd.checks._tls import CA_FILE, MIN_VERSION, client_context

TYPE_CHECKING = False  # typing costs every run ~3 ms; annotations alone need it
if TYPE_CHECKING:
    from typing import Any

TYPE = "tls"
SUMMARY = (
    "A TLS endpoint (optionally via SMTP STARTTLS) serves a verified certificate chain "
    "whose certificates all stay valid for more than warn_days."
)
OPTIONS: tuple[Option, ...] = (
    Option("host", HOST, "Host name or address to connect to.", required=True),
    Option("port", PORT, "TCP port.", default=443),
    Option(
        "servername",
        HOST,
        "Name sent as SNI and verified against the certificate (default: host). Set it to "
        "test a VIP or a backend by address.",
    ),
    Option(
        "warn_days",
        COUNT,
        "WARNING when a certificate of the chain expires in fewer days than this.",
        default=21,
    ),
    Option(
        "crit_days",
        COUNT,
        "CRITICAL when a certificate of the chain expires in fewer days than this.",
        default=7,
    ),
    Option(
        "verify",
        BOOLEAN,
        "Verify the chain up to a trusted CA and the certificate's names against servername.",
        default=True,
    ),
    CA_FILE,
    MIN_VERSION,
    Option(
        "starttls",
        choice("smtp"),
        "Speak this protocol first and upgrade the connection with STARTTLS.",
    ),
    Option("timeout", DURATION, "Give up after this long (the whole check).", default=10.0),
)
EXAMPLE: Mapping[str, Any] = {"host": "vault.ams1.example.net", "port": 8200}

_DAY = 86400.0
_VERSIONS = {"TLSv1": "1.0", "TLSv1.1": "1.1", "TLSv1.2": "1.2", "TLSv1.3": "1.3"}


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    problems: list[tuple[str, str]] = []
    default = {opt.name: opt.default for opt in OPTIONS}
    warn = values.get("warn_days", default["warn_days"])
    crit = values.get("crit_days", default["crit_days"])
    if isinstance(warn, int) and isinstance(crit, int) and crit >= warn:
        problems.append(
            (
                "crit_days",
                f"crit_days ({crit}) must be less than warn_days ({warn}): a certificate turns "
                f"WARNING below warn_days, then CRITICAL below crit_days",
            )
        )
    if values.get("verify") is False and "ca_file" in values:
        problems.append(
            (
                "ca_file",
                "ca_file has no effect with verify: false (nothing is checked against a CA); "
                "remove one of them",
            )
        )
    if "starttls" in values and "port" not in values:
        problems.append(
            (
                "port",
                f"starttls: {values['starttls']} needs the port of that service (e.g. 25 or "
                f"587 for smtp); the default {default['port']} speaks TLS from the first byte",
            )
        )
    return problems


# --------------------------------------------------------------------------- certificates


class Cert:
    """What the check needs from one certificate.

    A plain class rather than a NamedTuple: ``typing`` would cost every run about 3 ms.
    """

    __slots__ = ("subject", "issuer", "not_before", "not_after", "names", "serial")

    def __init__(
        self,
        subject: tuple[tuple[str, str], ...],  # (short attribute name, value), e.g. ("CN", "x")
        issuer: tuple[tuple[str, str], ...],
        not_before: float,  # seconds since the epoch
        not_after: float,
        names: tuple[str, ...],  # subjectAltName entries: "DNS:x", "IP:127.0.0.1"
        serial: str,
    ) -> None:
        self.subject = subject
        self.issuer = issuer
        self.not_before = not_before
        self.not_after = not_after
        self.names = names
        self.serial = serial

    def _key(self) -> tuple[object, ...]:
        return (self.subject, self.issuer, self.not_before, self.not_after, self.names, self.serial)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cert) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Cert(subject={self.subject!r}, serial={self.serial!r})"

    @property
    def label(self) -> str:
        return _name_text(self.subject) or f"serial {self.serial}"

    @property
    def issuer_label(self) -> str:
        return _name_text(self.issuer) or "an unnamed issuer"

    @property
    def self_issued(self) -> bool:
        return self.subject == self.issuer


def _name_text(name: tuple[tuple[str, str], ...]) -> str:
    common = [value for key, value in name if key == "CN"]
    if common:
        return f"CN={common[-1]}"
    return ", ".join(f"{key}={value}" for key, value in name)


_ATTRIBUTES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
}


def _epoch(y: int, mo: int, d: int, h: int, mi: int, s: int) -> float:
    """Seconds since the epoch of a UTC time, without importing calendar or datetime."""
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 61):
        raise ValueError("not a date")
    yy = y - (mo <= 2)  # days since 1970-01-01, proleptic Gregorian calendar
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return float(days * 86400 + h * 3600 + mi * 60 + s)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _info_time(text: str) -> float:
    """``Jun  1 12:00:00 2026 GMT`` (as in getpeercert()) -> seconds since the epoch.

    ``ssl.cert_time_to_seconds`` does the same through ``time.strptime``, whose first call
    costs tens of milliseconds (locale, calendar, datetime).
    """
    parts = text.split()
    if len(parts) != 5 or parts[4] != "GMT" or parts[0] not in _MONTHS:
        raise ValueError(f"unsupported certificate time {text!r}")
    h, mi, s = (int(x) for x in parts[2].split(":"))
    return _epoch(int(parts[3]), _MONTHS.index(parts[0]) + 1, int(parts[1]), h, mi, s)


def _from_info(info: dict[str, Any]) -> Cert:
    """A certificate from the dict ``getpeercert()`` and ``Certificate.get_info()`` give."""

    def name(rdns: Any) -> tuple[tuple[str, str], ...]:
        return tuple((_ATTRIBUTES.get(k, k), str(v)) for rdn in rdns or () for k, v in rdn)

    names = []
    for kind, value in info.get("subjectAltName", ()):
        kind = {"IP Address": "IP"}.get(kind, kind)
        names.append(f"{kind}:{str(value).strip()}")
    return Cert(
        subject=name(info.get("subject")),
        issuer=name(info.get("issuer")),
        not_before=_info_time(info["notBefore"]),
        not_after=_info_time(info["notAfter"]),
        names=tuple(names),
        serial=str(info.get("serialNumber", "?")),
    )


# A minimal DER reader for the fields above. Python 3.13 made the peer chain public
# (``SSLSocket.get_unverified_chain``), but as DER bytes, and the standard library has no
# public decoder for those.

_OIDS = {"2.5.4.3": "CN", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C", "2.5.4.7": "L"}
_OIDS["2.5.4.8"] = "ST"
_SAN_OID = "2.5.29.17"


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the element at ``pos``."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4 or pos + count > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items = []
    while start < end:
        item = _tlv(data, start)
        items.append(item)
        start = item[2]
    return items


def _oid(raw: bytes) -> str:
    if not raw:
        raise ValueError("empty OID")
    parts = [min(raw[0] // 40, 2), raw[0] - 40 * min(raw[0] // 40, 2)]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


_STRINGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x14: "latin-1", 0x1E: "utf-16-be"}
_STRINGS[0x1C] = "utf-32-be"


def _der_name(data: bytes, start: int, end: int) -> tuple[tuple[str, str], ...]:
    name = []
    for _, set_start, set_end in _children(data, start, end):
        for _, seq_start, seq_end in _children(data, set_start, set_end):
            (_, o_start, o_end), (tag, v_start, v_end) = _children(data, seq_start, seq_end)[:2]
            oid = _oid(data[o_start:o_end])
            value = data[v_start:v_end].decode(_STRINGS.get(tag, "latin-1"), "replace")
            name.append((_OIDS.get(oid, oid), value))
    return tuple(name)


def _der_time(data: bytes, tag: int, start: int, end: int) -> float:
    text = data[start:end].decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        year = int(text[:2])
        text = str(year + (2000 if year < 50 else 1900)) + text[2:]
    elif tag != 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        raise ValueError("not a time")
    if len(text) != 15 or not text.endswith("Z"):
        raise ValueError(f"unsupported time {text!r}")
    y, mo, d, h, mi, s = (
        int(text[i:j]) for i, j in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14))
    )
    return _epoch(y, mo, d, h, mi, s)


def _from_der(der: bytes) -> Cert:
    """A certificate from its DER bytes; ``ValueError`` if they cannot be read."""
    try:
        _, c_start, c_end = _tlv(der, 0)
        _, t_start, t_end = _children(der, c_start, c_end)[0]
        fields = _children(der, t_start, t_end)
        if fields[0][0] == 0xA0:  # explicit version
            fields = fields[1:]
        serial, _, issuer, validity, subject = fields[:5]
        (b_tag, b_start, b_end), (a_tag, a_start, a_end) = _children(der, validity[1], validity[2])
        names: list[str] = []
        for tag, start, _ in fields[5:]:
            if tag != 0xA3:
                continue
            (_, seq_start, seq_end) = _tlv(der, start)
            for _, e_start, e_end in _children(der, seq_start, seq_end):
                parts = _children(der, e_start, e_end)
                if _oid(der[parts[0][1] : parts[0][2]]) != _SAN_OID:
                    continue
                _, seq2_start, seq2_end = _tlv(der, parts[-1][1])
                for g_tag, g_start, g_end in _children(der, seq2_start, seq2_end):
                    raw = der[g_start:g_end]
                    if g_tag == 0x82:
                        names.append("DNS:" + raw.decode("ascii", "replace"))
                    elif g_tag == 0x87 and len(raw) in (4, 16):
                        family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
                        names.append("IP:" + socket.inet_ntop(family, raw))
        return Cert(
            subject=_der_name(der, subject[1], subject[2]),
            issuer=_der_name(der, issuer[1], issuer[2]),
            not_before=_der_time(der, b_tag, b_start, b_end),
            not_after=_der_time(der, a_tag, a_start, a_end),
            names=tuple(names),
            # As OpenSSL writes it: whole bytes, without the sign byte of a DER INTEGER.
            serial=(der[serial[1] : serial[2]].lstrip(b"\0") or b"\0").hex().upper(),
        )
    except (IndexError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"cannot read the certificate: {exc}") from None


def peer_chain(sock: ssl.SSLSocket) -> tuple[list[Cert], bool]:
    """The certificates the server sent, leaf first, and whether that is the whole chain.

    Python 3.13+ has ``get_unverified_chain()`` (DER bytes); 3.10-3.12 only the private
    ``_sslobj.get_unverified_chain()`` (objects whose ``get_info()`` is a getpeercert()
    dict). Without either, only the leaf is read.
    """
    public = getattr(sock, "get_unverified_chain", None)
    if public is not None:
        try:
            return [_from_der(bytes(der)) for der in public() or ()], True
        except ValueError:
            pass  # try the interpreter's own decoder below
    private = getattr(getattr(sock, "_sslobj", None), "get_unverified_chain", None)
    if private is not None:
        try:
            return [_from_info(cert.get_info()) for cert in private() or ()], True
        except (AttributeError, KeyError, TypeError, ValueError):
            pass
    info = sock.getpeercert()
    if info:
        return [_from_info(info)], False
    der = sock.getpeercert(binary_form=True)
    if der:
        try:
            return [_from_der(der)], False
        except ValueError as exc:
            raise CheckError(str(exc)) from None
    return [], False


def _dedupe(chain: Sequence[Cert]) -> list[Cert]:
    seen: set[tuple[object, ...]] = set()
    unique = []
    for cert in chain:
        key = (cert.subject, cert.issuer, cert.serial)
        if key not in seen:
            seen.add(key)
            unique.append(cert)
    return unique


def _role(index: int, cert: Cert) -> str:
    if index == 0:
        return "certificate"
    return "root" if cert.self_issued else "intermediate"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _span(seconds: float) -> str:
    """``3 days``, or hours below one day."""
    if seconds >= _DAY:
        return _plural(int(seconds // _DAY), "day")
    hours = int(seconds // 3600)
    return _plural(hours, "hour") if hours else "less than an hour"


def _date(epoch: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


class _Problem:
    __slots__ = ("state", "text", "order")

    def __init__(self, state: State, text: str, order: float = 0.0) -> None:
        self.state = state
        self.text = text
        self.order = order


def _expiry_problems(
    chain: Sequence[Cert], now: float, warn_days: int, crit_days: int
) -> list[_Problem]:
    problems = []
    for index, cert in enumerate(chain):
        what = f"{_role(index, cert)} {cert.label}"
        left = cert.not_after - now
        if left <= 0:
            problems.append(_Problem(State.CRITICAL, f"{what} expired {_span(-left)} ago", left))
        elif cert.not_before > now:
            problems.append(
                _Problem(
                    State.CRITICAL,
                    f"{what} is not valid before {_date(cert.not_before)} "
                    f"(in {_span(cert.not_before - now)})",
                    left,
                )
            )
        elif left < crit_days * _DAY:
            text = f"{what} expires in {_span(left)} (critical below {crit_days})"
            problems.append(_Problem(State.CRITICAL, text, left))
        elif left < warn_days * _DAY:
            text = f"{what} expires in {_span(left)} (warning below {warn_days})"
            problems.append(_Problem(State.WARNING, text, left))
    return sorted(problems, key=lambda p: p.order)


# --------------------------------------------------------------------------- connection


class _Failed(Exception):
    """The probe ends here with this result."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.message)
        self.result = result


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


def _connect(opts: argparse.Namespace, where: str, deadline: float) -> socket.socket:
    try:
        return connect(opts.host, opts.port, deadline)[0]
    except socket.gaierror as exc:
        raise _Failed(
            Result(State.CRITICAL, f"cannot resolve {opts.host}: {exc.strerror}")
        ) from None
    except ConnectionRefusedError:
        raise _Failed(Result(State.CRITICAL, f"{where} refused the connection")) from None
    except TimeoutError:
        raise _Failed(
            Result(
                State.CRITICAL,
                f"{where} did not answer within {duration_text(opts.timeout)} "
                f"(host down or filtered)",
            )
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise _Failed(Result(State.CRITICAL, f"{where} cannot be reached: {reason}")) from None


def _smtp_starttls(
    sock: socket.socket, where: str, opts: argparse.Namespace, deadline: float
) -> None:
    """Greeting, EHLO (must offer STARTTLS), STARTTLS; the socket is then ready for TLS."""
    import smtplib  # only checks that use starttls pay for it

    def fail(text: str) -> _Failed:
        return _Failed(Result(State.CRITICAL, f"{where} {text}"))

    # local_hostname given: smtplib would otherwise look up this host's FQDN in the DNS.
    smtp = smtplib.SMTP(local_hostname=socket.gethostname() or "localhost")
    smtp.sock = sock
    smtp.file = deadline_reader(sock, deadline)  # every line read within the deadline
    step = "sent no SMTP greeting"
    try:
        sock.settimeout(_remaining(deadline))
        code, reply = smtp.getreply()
        if code != 220:
            raise fail(f"greeted with {code} {_text(reply)} (expected 220)")
        step = "did not answer EHLO"
        sock.settimeout(_remaining(deadline))
        code, reply = smtp.ehlo()
        if code != 250:
            raise fail(f"answered EHLO with {code} {_text(reply)} (expected 250)")
        if not smtp.has_extn("starttls"):
            offered = ", ".join(sorted(k.upper() for k in smtp.esmtp_features)) or "no extensions"
            raise fail(f"does not offer STARTTLS (its EHLO reply lists {offered})")
        step = "did not answer STARTTLS"
        sock.settimeout(_remaining(deadline))
        code, reply = smtp.docmd("STARTTLS")
        if code != 220:
            raise fail(f"refused STARTTLS: {code} {_text(reply)}")
    except (TimeoutError, Deadline, smtplib.SMTPServerDisconnected) as exc:
        # Deadline: the backstop alarm, when the reply trickles in past the timeout.
        if time.monotonic() >= deadline or "timed out" in str(exc):
            raise fail(f"{step} within {duration_text(opts.timeout)}") from None
        raise fail(f"{step}: the connection closed ({exc})") from None
    except OSError as exc:
        raise fail(f"{step}: {exc}") from None
    finally:
        if smtp.file is not None:
            smtp.file.close()  # the socket itself stays open for the handshake


def _text(reply: bytes) -> str:
    return " ".join(reply.decode("utf-8", "replace").split())


def _handshake(
    opts: argparse.Namespace, context: ssl.SSLContext, where: str, deadline: float
) -> ssl.SSLSocket:
    """Connect, speak the STARTTLS protocol if any, and complete the TLS handshake.

    Raises ``ssl.SSLCertVerificationError`` for a certificate that fails verification.
    """
    sock = _connect(opts, where, deadline)
    try:
        if opts.starttls == "smtp":
            _smtp_starttls(sock, where, opts, deadline)
        sock.settimeout(_remaining(deadline))
        return context.wrap_socket(sock, server_hostname=opts.servername or opts.host)
    except ssl.SSLCertVerificationError:
        sock.close()
        raise
    except (TimeoutError, Deadline):
        sock.close()
        raise _Failed(
            Result(
                State.CRITICAL,
                f"{where} accepted the connection but completed no TLS handshake within "
                f"{duration_text(opts.timeout)}",
            )
        ) from None
    except ssl.SSLError as exc:
        sock.close()
        raise _Failed(Result(State.CRITICAL, f"{where} {_handshake_error(exc, opts)}")) from None
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise _Failed(
            Result(State.CRITICAL, f"{where} broke off the TLS handshake: {reason}")
        ) from None
    except BaseException:
        sock.close()
        raise


def _handshake_error(exc: ssl.SSLError, opts: argparse.Namespace) -> str:
    reason = exc.reason or ""
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return "closed the connection during the TLS handshake"
    if reason in ("WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE"):
        return "does not speak TLS on this port (its reply is not a TLS handshake)"
    if reason in (
        "UNSUPPORTED_PROTOCOL",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "NO_PROTOCOLS_AVAILABLE",
        "WRONG_SSL_VERSION",
    ):
        want = f" (min_version {opts.min_version})" if opts.min_version else ""
        return (
            f"shares no TLS version with this check{want}: the server offers only versions "
            f"this OpenSSL refuses ({reason})"
        )
    if reason == "SSLV3_ALERT_HANDSHAKE_FAILURE":  # the server's alert says no more than that
        return (
            f"TLS handshake failed: {reason} (the server shares no cipher with this check, or "
            f"requires a client certificate, which this check does not send)"
        )
    return f"TLS handshake failed: {reason or exc}"


def _verify_reason(
    error: ssl.SSLCertVerificationError,
    chain: Sequence[Cert],
    servername: str,
    ca_file: str | None,
) -> str | None:
    """Why verification failed, naming certificates; None when expiry problems say it."""
    code = error.verify_code
    message = error.verify_message or str(error)
    trust = f"ca_file {ca_file}" if ca_file else "the system's CA store"
    if not chain:
        return f"certificate verification failed: {message}"
    leaf = chain[0]
    if code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
        names = ", ".join(leaf.names) or f"no subjectAltName, subject {leaf.label}"
        return f"certificate {leaf.label} is not valid for {servername}: it is for {names}"
    if code == 18:  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
        return f"certificate {leaf.label} is self-signed and not trusted by {trust}"
    if code == 19:  # X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
        roots = [c for c in chain if c.self_issued] or [chain[-1]]
        return f"the chain ends in the self-signed {roots[-1].label}, not trusted by {trust}"
    if code in (2, 20, 21):  # cannot find the issuer among the trusted CAs
        last = chain[-1]
        role = _role(len(chain) - 1, last)
        reason = (
            f"{role} {last.label} is issued by {last.issuer_label}, which is not trusted by {trust}"
        )
        if len(chain) == 1:  # public CAs issue from intermediates, which servers must send
            reason += (
                f"; the server sent no intermediate certificate: if {last.issuer_label} is one, "
                f"the server must send it (incomplete chain)"
            )
        return reason
    if code in (9, 10):  # not yet valid, expired: the expiry problems name the certificate
        return None
    return f"certificate verification failed: {message}"


# --------------------------------------------------------------------------- probe


def probe(opts: argparse.Namespace) -> Result:
    deadline = time.monotonic() + opts.timeout
    servername = opts.servername or opts.host
    where = host_port(opts.host, opts.port)
    if servername != opts.host:
        where += f" as {servername}"
    if opts.starttls:
        where += f" ({opts.starttls} STARTTLS)"
    if opts.ca_file and not opts.verify:
        (no_verify,) = [opt.argv(False)[0] for opt in OPTIONS if opt.name == "verify"]
        raise CheckError(f"ca_file has no effect with {no_verify}; remove one of them")
    # No minimum here: the check sees what the server negotiates; min_version is the policy.
    context = client_context(verify=opts.verify, ca_file=opts.ca_file)

    failure: ssl.SSLCertVerificationError | None = None
    try:
        try:
            sock = _handshake(opts, context, where, deadline)
        except ssl.SSLCertVerificationError as error:
            failure = error
            # Connect again without verification, to name the certificates in the message.
            try:
                sock = _handshake(opts, client_context(verify=False), where, deadline)
            except _Failed:
                why = error.verify_message or str(error)
                return Result(State.CRITICAL, f"{where}: certificate verification failed: {why}")
        with sock:
            chain, whole = peer_chain(sock)
            version = sock.version() or "?"
    except _Failed as failed:
        return failed.result

    chain = _dedupe(chain)
    if not chain:
        return Result(State.UNKNOWN, f"{where}: the server sent no certificate the check can read")
    now = time.time()
    problems = _expiry_problems(chain, now, opts.warn_days, opts.crit_days)
    if failure is not None:
        reason = _verify_reason(failure, chain, servername, opts.ca_file)
        if reason is None and not any(p.state is State.CRITICAL for p in problems):
            reason = f"certificate verification failed: {failure.verify_message or failure}"
        if reason is not None:
            problems.insert(0, _Problem(State.CRITICAL, reason))
    if opts.min_version and _VERSIONS.get(version, "0") < opts.min_version:
        problems.insert(
            0,
            _Problem(
                State.CRITICAL,
                f"the server negotiated {version}, below min_version {opts.min_version}",
            ),
        )
    # Whole days, cut toward zero as in the message: -2 is 'expired 2 days ago'.
    days = min(int((cert.not_after - now) / _DAY) for cert in chain)
    perf = (Perf("days", days, "", opts.warn_days, opts.crit_days, 0),)

    notes = [version]
    if not opts.verify:
        notes.append("not verified (verify: false)")
    elif failure is None:
        notes.append(f"chain verified for {servername}")
    notes.append(_plural(len(chain), "certificate") + " checked")
    if not whole:
        notes.append("leaf only: this Python cannot read the chain the server sent")
    tail = f"; {', '.join(notes)}"

    if problems:
        state = worst(*(p.state for p in problems))
        return Result(state, f"{where}: {'; '.join(p.text for p in problems)}{tail}", perf)

    leaf = chain[0]
    text = (
        f"certificate {leaf.label} expires in {_span(leaf.not_after - now)} "
        f"({_date(leaf.not_after)})"
    )
    earliest = min(range(len(chain)), key=lambda i: chain[i].not_after)
    if earliest != 0:
        first = chain[earliest]
        text += (
            f", earliest in the chain: {_role(earliest, first)} {first.label} in "
            f"{_span(first.not_after - now)}"
        )
    return Result(State.OK, f"{where}: {text}{tail}", perf)


class TlsCheck(MddCheck):
    DOC = __doc__ or ""
    OPTIONS = OPTIONS

    def probe(self, opts: argparse.Namespace) -> Result:
        return probe(opts)


def main() -> None:
    TlsCheck()


if __name__ == "__main__":
    main()
