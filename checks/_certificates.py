"""The certificates a TLS server sent, read for the tls check: subject, issuer, validity and
subjectAltNames of each, leaf first, from the peer chain the interpreter exposes (DER bytes on
Python 3.13+, ``get_info()`` dicts on 3.10-3.12, else the leaf alone). Standard library only,
without ``typing``, ``calendar`` or ``datetime``: the check runs as a fresh process each time.
"""

from __future__ import annotations

import socket

from mdd.checks._result import CheckError, Record

TYPE_CHECKING = False  # typing costs every run ~3 ms; annotations alone need it
if TYPE_CHECKING:
    import ssl
    from collections.abc import Sequence
    from typing import Any


class Cert(Record, eq=True):
    """What the check needs from one certificate.

    A record rather than a NamedTuple: ``typing`` would cost every run about 3 ms.
    """

    subject: tuple[tuple[str, str], ...]  # (short attribute name, value), e.g. ("CN", "x")
    issuer: tuple[tuple[str, str], ...]
    not_before: float  # seconds since the epoch
    not_after: float
    names: tuple[str, ...]  # subjectAltName entries: "DNS:x", "IP:127.0.0.1"
    serial: str

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
        return f"CN={clip(common[-1])}"
    return some([f"{key}={clip(value)}" for key, value in name], 6)


def clip(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def some(items: Sequence[str], count: int) -> str:
    """The first ``count`` items, comma-separated, and how many more there are."""
    text = ", ".join(clip(item) for item in items[:count])
    return f"{text} and {len(items) - count} more" if len(items) > count else text


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


def info_time(text: str) -> float:
    """``Jun  1 12:00:00 2026 GMT`` (as in getpeercert()) -> seconds since the epoch.

    ``ssl.cert_time_to_seconds`` does the same through ``time.strptime``, whose first call
    costs tens of milliseconds (locale, calendar, datetime).
    """
    parts = text.split()
    if len(parts) != 5 or parts[4] != "GMT" or parts[0] not in _MONTHS:
        raise ValueError(f"unsupported certificate time {text!r}")
    h, mi, s = (int(x) for x in parts[2].split(":"))
    return _epoch(int(parts[3]), _MONTHS.index(parts[0]) + 1, int(parts[1]), h, mi, s)


def from_info(info: dict[str, Any]) -> Cert:
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
        not_before=info_time(info["notBefore"]),
        not_after=info_time(info["notAfter"]),
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


def from_der(der: bytes) -> Cert:
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
            return [from_der(bytes(der)) for der in public() or ()], True
        except ValueError:
            pass  # try the interpreter's own decoder below
    private = getattr(getattr(sock, "_sslobj", None), "get_unverified_chain", None)
    if private is not None:
        try:
            return [from_info(cert.get_info()) for cert in private() or ()], True
        except (AttributeError, KeyError, TypeError, ValueError):
            pass
    info = sock.getpeercert()
    if info:
        return [from_info(info)], False
    der = sock.getpeercert(binary_form=True)
    if der:
        try:
            return [from_der(der)], False
        except ValueError as exc:
            raise CheckError(str(exc)) from None
    return [], False


def dedupe(chain: Sequence[Cert]) -> list[Cert]:
    seen: set[tuple[object, ...]] = set()
    unique = []
    for cert in chain:
        key = (cert.subject, cert.issuer, cert.serial)
        if key not in seen:
            seen.add(key)
            unique.append(cert)
    return unique
