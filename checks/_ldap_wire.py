"""LDAPv3 messages for the ldap check, in BER: what it sends and what it reads (RFC 4511,
RFC 4515 for filters, X.690 for BER).

The check sends an ExtendedRequest (StartTLS), a simple BindRequest, one SearchRequest that
asks for no attributes, and an UnbindRequest; it reads the LDAPResult of each, and counts
SearchResultEntry messages. That part of LDAP is small and fully specified. ldap3 did it, but
its import (every ldap3 module, pyasn1's codecs) made a run cost 435 million instructions,
eleven times a bare Python start (pyasn1's BER codecs alone are 95 million); with this
module, 103 million.

Reading is bounded and strict: only definite lengths, every length checked against what is
left of its message, single-byte tags (LDAP uses no other), and the caller's wire caps the
bytes read in all. A filter that RFC 4515 does not allow raises ``BadFilter``.
Standard library only.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    from typing import Protocol

    class Wire(Protocol):
        def recv(self, size: int) -> bytes: ...
        def sendall(self, data: bytes) -> None: ...


SCOPES = {"base": 0, "one": 1, "sub": 2}
DEREF_ALWAYS = 3  # as ldap3 searched
NO_ATTRIBUTES = "1.1"  # RFC 4511 4.5.1.8: no attributes
STARTTLS_OID = "1.3.6.1.4.1.1466.20037"
MAX_MESSAGE = 1 << 20  # bytes of one message (the wire caps the whole conversation too)

# Result codes and their names as RFC 4511 (and ldap3) writes them.
RESULT_NAMES = {
    0: "success",
    1: "operationsError",
    2: "protocolError",
    3: "timeLimitExceeded",
    4: "sizeLimitExceeded",
    5: "compareFalse",
    6: "compareTrue",
    7: "authMethodNotSupported",
    8: "strongerAuthRequired",
    10: "referral",
    11: "adminLimitExceeded",
    12: "unavailableCriticalExtension",
    13: "confidentialityRequired",
    14: "saslBindInProgress",
    16: "noSuchAttribute",
    17: "undefinedAttributeType",
    18: "inappropriateMatching",
    19: "constraintViolation",
    20: "attributeOrValueExists",
    21: "invalidAttributeSyntax",
    32: "noSuchObject",
    33: "aliasProblem",
    34: "invalidDNSyntax",
    36: "aliasDereferencingProblem",
    48: "inappropriateAuthentication",
    49: "invalidCredentials",
    50: "insufficientAccessRights",
    51: "busy",
    52: "unavailable",
    53: "unwillingToPerform",
    54: "loopDetected",
    64: "namingViolation",
    65: "objectClassViolation",
    66: "notAllowedOnNonLeaf",
    67: "notAllowedOnRDN",
    68: "entryAlreadyExists",
    69: "objectClassModsProhibited",
    71: "affectMultipleDSAs",
    80: "other",
    113: "lcupResourcesExhausted",
    114: "lcupSecurityViolation",
    115: "lcupInvalidData",
    116: "lcupUnsupportedScheme",
    117: "lcupReloadRequired",
    118: "canceled",
    119: "noSuchOperation",
    120: "tooLate",
    121: "cannotCancel",
    122: "assertionFailed",
    123: "authorizationDenied",
    4096: "e-syncRefreshRequired",
}

# Application tags of the protocol operations (constructed unless noted).
BIND_REQUEST, BIND_RESPONSE, UNBIND_REQUEST = 0x60, 0x61, 0x42  # unbind: primitive NULL
SEARCH_REQUEST, SEARCH_ENTRY, SEARCH_DONE, SEARCH_REFERENCE = 0x63, 0x64, 0x65, 0x73
EXTENDED_REQUEST, EXTENDED_RESPONSE = 0x77, 0x78


class BadFilter(ValueError):
    """A filter RFC 4515 does not allow."""


class ProtocolError(Exception):
    """The answer is not BER, or not the LDAP message that was due."""


class TooLarge(ProtocolError):
    """A message claims more bytes than this reader takes."""

    def __init__(self, size: int) -> None:
        super().__init__(f"a message claiming {size} bytes")
        self.size = size


# ----------------------------------------------------------------------------- BER out


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def integer(value: int, tag: int = 0x02) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)
    return tlv(tag, value.to_bytes(size, "big", signed=True))


def octets(data: str | bytes, tag: int = 0x04) -> bytes:
    return tlv(tag, data.encode("utf-8") if isinstance(data, str) else data)


def message(message_id: int, operation: bytes) -> bytes:
    return tlv(0x30, integer(message_id) + operation)


def bind_request(dn: str, password: str) -> bytes:
    return tlv(BIND_REQUEST, integer(3) + octets(dn) + octets(password, 0x80))


def starttls_request() -> bytes:
    return tlv(EXTENDED_REQUEST, octets(STARTTLS_OID, 0x80))


def unbind_request() -> bytes:
    return tlv(UNBIND_REQUEST, b"")


def search_request(base: str, scope: str, text: str, size_limit: int, time_limit: int) -> bytes:
    body = octets(base) + integer(SCOPES[scope], 0x0A) + integer(DEREF_ALWAYS, 0x0A)
    body += integer(size_limit) + integer(time_limit) + tlv(0x01, b"\x00")
    body += parse_filter(text) + tlv(0x30, octets(NO_ATTRIBUTES))
    return tlv(SEARCH_REQUEST, body)


# ----------------------------------------------------------------------------- filters


def parse_filter(text: str) -> bytes:
    """RFC 4515's string form of a filter, as BER."""
    encoded, end = _filter(text.strip(), 0)
    if end != len(text.strip()):
        raise BadFilter(f"unexpected text after the filter at character {end + 1}")
    return encoded


def _filter(text: str, at: int) -> tuple[bytes, int]:
    if text[at : at + 1] != "(":
        raise BadFilter(f"expected '(' at character {at + 1}")
    at += 1
    kind = text[at : at + 1]
    if kind in ("&", "|"):
        parts, at = [], at + 1
        while text[at : at + 1] == "(":
            part, at = _filter(text, at)
            parts.append(part)
        if not parts:
            raise BadFilter(f"'{kind}' without a filter in it")
        body = tlv(0xA0 if kind == "&" else 0xA1, b"".join(parts))
    elif kind == "!":
        inner, at = _filter(text, at + 1)
        body = tlv(0xA2, inner)
    else:
        end = _item_end(text, at)
        body = _item(text[at:end])
        at = end
    if text[at : at + 1] != ")":
        raise BadFilter(f"expected ')' at character {at + 1}")
    return body, at + 1


def _item_end(text: str, at: int) -> int:
    for index in range(at, len(text)):
        if text[index] == "(":
            raise BadFilter(f"unexpected '(' at character {index + 1}")
        if text[index] == ")":
            return index
    raise BadFilter("a filter without its closing ')'")


def _item(item: str) -> bytes:
    # White space around the attribute and the value is dropped, as ldap3 dropped it.
    item = item.strip()
    equals = item.find("=")
    if equals <= 0:
        raise BadFilter(f"{item!r} has no attribute and operator")
    left, value = item[:equals].strip(), item[equals + 1 :].strip()
    if left.endswith(":"):  # extensible: attr[:dn][:rule]:=value
        return _extensible(left[:-1], value)
    operator = {"~": 0xA8, ">": 0xA5, "<": 0xA6}.get(left[-1:])
    attribute = left[:-1].strip() if operator else left
    _check_attribute(attribute)
    if operator:
        return tlv(operator, octets(attribute) + octets(_unescape(value)))
    if value == "*":
        return octets(attribute, 0x87)
    if "*" not in value:
        return tlv(0xA3, octets(attribute) + octets(_unescape(value)))
    pieces = value.split("*")
    parts = b""
    for index, piece in enumerate(pieces):
        if not piece:
            continue
        tag = 0x80 if index == 0 else 0x82 if index == len(pieces) - 1 else 0x81
        parts += octets(_unescape(piece), tag)
    if not parts:
        raise BadFilter(f"{item!r}: a substring filter without a substring")
    return tlv(0xA4, octets(attribute) + tlv(0x30, parts))


def _extensible(left: str, value: str) -> bytes:
    words = left.split(":")
    attribute, rest = words[0], words[1:]
    dn = bool(rest) and rest[0].lower() == "dn"
    if dn:
        rest = rest[1:]
    if len(rest) > 1 or (rest and not rest[0]):
        raise BadFilter(f"{left!r}:= is not an extensible match")
    rule = rest[0] if rest else ""
    if not attribute and not rule:
        raise BadFilter("an extensible match needs an attribute or a matching rule")
    if attribute:
        _check_attribute(attribute)
    body = (octets(rule, 0x81) if rule else b"") + (octets(attribute, 0x82) if attribute else b"")
    body += octets(_unescape(value), 0x83)
    if dn:
        body += tlv(0x84, b"\x01")  # TRUE, as ldap3 (pyasn1) wrote it
    return tlv(0xA9, body)


def _check_attribute(name: str) -> None:
    allowed = name.replace("-", "").replace(";", "").replace(".", "").replace("_", "")
    if not name or not allowed.isalnum() or not name.isascii():
        raise BadFilter(f"{name!r} is not an attribute description")


def _unescape(value: str) -> bytes:
    """An assertion value: ``\\XX`` escapes to bytes, the rest UTF-8."""
    out = bytearray()
    at = 0
    while at < len(value):
        char = value[at]
        if char == "\\":
            pair = value[at + 1 : at + 3]
            try:
                out.append(int(pair, 16))
            except ValueError:
                raise BadFilter(f"'\\{pair}' is not an escape (\\ and two hex digits)") from None
            if len(pair) != 2:
                raise BadFilter(f"'\\{pair}' is not an escape (\\ and two hex digits)")
            at += 3
        elif char in "()*":
            raise BadFilter(f"{char!r} in a value must be escaped")
        else:
            out += char.encode("utf-8")
            at += 1
    return bytes(out)


# ----------------------------------------------------------------------------- BER in


class Element:
    """One BER element of a message: its tag and content."""

    __slots__ = ("tag", "content")

    def __init__(self, tag: int, content: bytes) -> None:
        self.tag, self.content = tag, content

    def children(self) -> list[Element]:
        found, at = [], 0
        while at < len(self.content):
            element, at = _element(self.content, at)
            found.append(element)
        return found

    def number(self) -> int:
        if not self.content or len(self.content) > 8:
            raise ProtocolError("an INTEGER of no or too many bytes")
        return int.from_bytes(self.content, "big", signed=True)

    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


def _element(data: bytes, at: int) -> tuple[Element, int]:
    if at + 2 > len(data):
        raise ProtocolError("an element cut short")
    tag = data[at]
    if tag & 0x1F == 0x1F:
        raise ProtocolError("a multi-byte tag, which LDAP never uses")
    first = data[at + 1]
    at += 2
    if first < 0x80:
        size = first
    elif first == 0x80 or first > 0x84:
        raise ProtocolError("an indefinite or oversized length")
    else:
        count = first & 0x7F
        if at + count > len(data):
            raise ProtocolError("a length cut short")
        size = int.from_bytes(data[at : at + count], "big")
        at += count
    if at + size > len(data):
        raise ProtocolError("an element longer than its message")
    return Element(tag, data[at : at + size]), at + size


class Answer:
    """An LDAP message read: its id, the operation's tag, and, for a response that carries an
    LDAPResult, its code, name, matched DN and diagnostic message."""

    def __init__(self, message_id: int, tag: int, parts: list[Element]) -> None:
        self.id, self.tag = message_id, tag
        self.code, self.matched, self.diagnostic = -1, "", ""
        if tag in (BIND_RESPONSE, SEARCH_DONE, EXTENDED_RESPONSE):
            if len(parts) < 3 or parts[0].tag != 0x0A:
                raise ProtocolError("an LDAPResult without its code, DN and message")
            self.code = parts[0].number()
            self.matched = parts[1].text()
            self.diagnostic = parts[2].text().strip()

    @property
    def name(self) -> str:
        return RESULT_NAMES.get(self.code, str(self.code))


class Reader:
    """LDAP messages from a wire (which bounds the time and the bytes read), one at a time."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self._buffer = b""

    @property
    def idle(self) -> bool:
        """Nothing read ahead (StartTLS may switch the wire to TLS only then)."""
        return not self._buffer

    def _exactly(self, size: int) -> bytes:
        data = self._buffer
        while len(data) < size:
            chunk = self.wire.recv(max(size - len(data), 4096))
            if not chunk:
                raise EOFError("the server closed the connection")
            data += chunk
        self._buffer = data[size:]
        return data[:size]

    def message(self) -> Answer:
        head = self._exactly(2)
        if head[0] != 0x30:
            raise ProtocolError("a message that is not a BER SEQUENCE")
        if head[1] < 0x80:
            size = head[1]
        elif head[1] == 0x80 or head[1] > 0x84:
            raise ProtocolError("an indefinite or oversized length")
        else:
            size = int.from_bytes(self._exactly(head[1] & 0x7F), "big")
        if size > MAX_MESSAGE:
            raise TooLarge(size)
        body = Element(0x30, self._exactly(size)).children()
        if len(body) < 2 or body[0].tag != 0x02:
            raise ProtocolError("a message without its id and operation")
        operation = body[1]
        parts = operation.children() if operation.tag & 0x20 else []
        return Answer(body[0].number(), operation.tag, parts)
