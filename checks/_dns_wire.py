"""DNS messages for the dns check: a query written, an answer read (RFC 1035, 3596, 6891).

The check asks one question (a name, a type, class IN, EDNS with a 1232-byte payload) and
reads the answer's header, its question and its answer records, shown in their presentation
text. That part of DNS is small and fully specified; dnspython did it, but importing any of
dnspython (``dns.name`` already) imports ``importlib.metadata`` (with zipfile, email, csv and
pathlib) and reads every installed distribution's metadata: a run cost 367 million
instructions, 9.6 times a bare Python start; with this module, 103 million.

Reading is bounded and strict: every offset is checked before it is read, a compression
pointer must point before the name it is in (so no loop), a name is at most 255 bytes, and
a message that ends early, or has bytes after its last record, is malformed. Presentation
text is dnspython's (the tests compare the two on real answers and on mutated messages), so
what a manifest's ``answers`` say compares the same as before.
Standard library only.
"""

from __future__ import annotations

import os
import socket
import struct

TYPES = {
    "A": 1,
    "NS": 2,
    "CNAME": 5,
    "SOA": 6,
    "PTR": 12,
    "MX": 15,
    "TXT": 16,
    "AAAA": 28,
    "SRV": 33,
    "DNAME": 39,
    "OPT": 41,
    "CAA": 257,
}
TYPE_NAMES = {number: name for name, number in TYPES.items()}
RCODES = {
    0: "NOERROR",
    1: "FORMERR",
    2: "SERVFAIL",
    3: "NXDOMAIN",
    4: "NOTIMP",
    5: "REFUSED",
    6: "YXDOMAIN",
    7: "YXRRSET",
    8: "NXRRSET",
    9: "NOTAUTH",
    10: "NOTZONE",
    11: "DSOTYPENI",
    16: "BADVERS",
    17: "BADKEY",
    18: "BADTIME",
    19: "BADMODE",
    20: "BADNAME",
    21: "BADALG",
    22: "BADTRUNC",
    23: "BADCOOKIE",
}
NOERROR, NXDOMAIN = 0, 3
QR, AA, TC, RD = 0x8000, 0x0400, 0x0200, 0x0100
CLASS_IN = 1
_IN_ONLY = frozenset((1, 28, 33))  # A, AAAA, SRV
PAYLOAD = 1232

# Bytes shown as \X in a name, and as \X in a quoted string (dnspython's and BIND's rules).
_NAME_ESCAPED = frozenset(b'"().;\\@$')
_STRING_ESCAPED = frozenset(b'"\\')


class Malformed(Exception):
    """The bytes are not a DNS message (or not one this reader accepts)."""


class BadName(Exception):
    """A text that is not a DNS name."""


# ----------------------------------------------------------------------------- names


def name_from_text(text: str) -> tuple[bytes, ...]:
    """A name's labels (the root's empty label last), from its presentation text: ``\\.``
    and ``\\DDD`` escapes, the final dot optional, a non-ASCII label as its IDNA A-label
    (Python's ``idna`` codec, as the rest of mdd encodes host names)."""
    if text in ("", "@", "."):
        return (b"",)
    labels: list[bytes] = []
    label = bytearray()
    at = 0
    while at < len(text):
        char = text[at]
        at += 1
        if char == "\\":
            if at < len(text) and text[at].isdigit():
                digits = text[at : at + 3]
                if len(digits) != 3 or not digits.isdigit() or int(digits) > 255:
                    raise BadName(f"bad escape \\{digits}")
                label.append(int(digits))
                at += 3
            elif at < len(text):
                label += text[at].encode("utf-8")
                at += 1
            else:
                raise BadName("an escape at the end of the name")
        elif char == ".":
            if not label:
                raise BadName("an empty label")
            labels.append(_a_label(bytes(label)))
            label = bytearray()
        else:
            label += char.encode("utf-8")
    if label:
        labels.append(_a_label(bytes(label)))
    labels.append(b"")
    for part in labels:
        if len(part) > 63:
            raise BadName("a label longer than 63 bytes")
    if sum(len(part) + 1 for part in labels) > 255:
        raise BadName("a name longer than 255 bytes")
    return tuple(labels)


def _a_label(label: bytes) -> bytes:
    if label.isascii():
        return label
    try:
        return label.decode("utf-8").encode("idna")
    except UnicodeError as exc:
        raise BadName(f"not a valid internationalized name (IDNA: {exc})") from None


def reverse_name(address: str) -> tuple[bytes, ...]:
    """The in-addr.arpa or ip6.arpa name of an address, for a PTR query (an IPv4-mapped
    IPv6 address, ``::ffff:10.0.0.1``, is asked under in-addr.arpa, as dnspython did)."""
    try:
        packed = socket.inet_pton(socket.AF_INET, address)
    except OSError:
        packed = socket.inet_pton(socket.AF_INET6, address)
        if packed[:12] != bytes(10) + b"\xff\xff":
            nibbles = packed.hex()[::-1]
            return (*(n.encode() for n in nibbles), b"ip6", b"arpa", b"")
        packed = packed[12:]
    return (*(str(b).encode() for b in reversed(packed)), b"in-addr", b"arpa", b"")


def name_text(labels: tuple[bytes, ...], final_dot: bool = True) -> str:
    """Presentation text: ``www.example.net.`` (``.`` for the root)."""
    if labels == (b"",):
        return "."
    text = ".".join(_escaped(label, _NAME_ESCAPED, 0x21) for label in labels[:-1])
    return text + "." if final_dot else text


def _escaped(data: bytes, escaped: frozenset[int], low: int) -> str:
    out = []
    for byte in data:
        if byte in escaped:
            out.append("\\" + chr(byte))
        elif low <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


def _name_wire(labels: tuple[bytes, ...]) -> bytes:
    return b"".join(bytes([len(label)]) + label for label in labels)


def _fold(labels: tuple[bytes, ...]) -> tuple[bytes, ...]:
    return tuple(label.lower() for label in labels)


# ----------------------------------------------------------------------------- query


class Query:
    """One question, with EDNS: its wire form and whether an answer answers it."""

    def __init__(self, name: tuple[bytes, ...], record: str) -> None:
        self.name = name
        self.rdtype = TYPES[record]
        self.id = int.from_bytes(os.urandom(2), "big")
        header = struct.pack("!HHHHHH", self.id, RD, 1, 0, 0, 1)
        question = _name_wire(name) + struct.pack("!HH", self.rdtype, CLASS_IN)
        opt = b"\0" + struct.pack("!HHIH", TYPES["OPT"], PAYLOAD, 0, 0)
        self.wire = header + question + opt

    def is_response(self, answer: Message) -> bool:
        """dnspython's rule: QR set, the same id and opcode, and the same question (an
        error answer may leave the question out)."""
        if not answer.flags & QR or answer.id != self.id or (answer.flags >> 11) & 0xF != 0:
            return False
        if answer.rcode in (1, 2, 4, 5) and not answer.question:
            return True
        ours = {(_fold(self.name), self.rdtype, CLASS_IN)}
        return {(_fold(n), t, c) for n, t, c in answer.question} == ours


# ----------------------------------------------------------------------------- answers


class Record:
    """A resource record: owner, type, class, TTL and its data (``text`` presents it)."""

    __slots__ = ("name", "rdtype", "rdclass", "ttl", "data", "text", "_wire", "_at")

    def __init__(
        self,
        name: tuple[bytes, ...],
        rdtype: int,
        rdclass: int,
        ttl: int,
        wire: bytes,
        at: int,
        size: int,
    ) -> None:
        self.name, self.rdtype, self.rdclass, self.ttl = name, rdtype, rdclass, ttl
        self._wire, self._at = wire, at
        self.data = wire[at : at + size]
        self.text = self._present()

    def _name_at(self, offset: int) -> tuple[tuple[bytes, ...], int]:
        """The name at ``offset`` in the data, and the offset (in the data) after it."""
        name, end = read_name(self._wire, self._at + offset, self._at + len(self.data))
        return name, end - self._at

    def _present(self) -> str:
        data, kind = self.data, self.rdtype
        if self.rdclass != CLASS_IN and kind in _IN_ONLY:
            kind = -1  # A, AAAA and SRV are defined for class IN only: shown as unknown data
        try:
            if kind == TYPES["A"] and len(data) == 4:
                return socket.inet_ntop(socket.AF_INET, data)
            if kind == TYPES["AAAA"] and len(data) == 16:
                return socket.inet_ntop(socket.AF_INET6, data)
            if kind in (TYPES["CNAME"], TYPES["NS"], TYPES["PTR"], TYPES["DNAME"]):
                name, end = self._name_at(0)
                return self._whole(end, name_text(name))
            if kind == TYPES["MX"]:
                (preference,) = struct.unpack_from("!H", data)
                name, end = self._name_at(2)
                return self._whole(end, f"{preference} {name_text(name)}")
            if kind == TYPES["SRV"]:
                priority, weight, port = struct.unpack_from("!HHH", data)
                name, end = self._name_at(6)
                return self._whole(end, f"{priority} {weight} {port} {name_text(name)}")
            if kind == TYPES["SOA"]:
                mname, end = self._name_at(0)
                rname, end = self._name_at(end)
                numbers = struct.unpack_from("!IIIII", data, end)
                words = " ".join(str(n) for n in numbers)
                return self._whole(end + 20, f"{name_text(mname)} {name_text(rname)} {words}")
            if kind == TYPES["TXT"]:
                return " ".join(f'"{_escaped(s, _STRING_ESCAPED, 0x20)}"' for s in self.strings)
            if kind == TYPES["CAA"] and len(data) >= 2:
                flags, size = data[0], data[1]
                tag = data[2 : 2 + size]
                if size == 0 or len(tag) != size or not tag.isalnum() or not tag.isascii():
                    raise Malformed("a CAA record with a bad tag")
                value = _escaped(data[2 + size :], _STRING_ESCAPED, 0x20)
                return f'{flags} {tag.decode("ascii")} "{value}"'
            if kind in (TYPES["A"], TYPES["AAAA"], TYPES["CAA"]):
                raise Malformed(f"a {TYPE_NAMES[kind]} record of {len(data)} bytes")
        except struct.error:
            raise Malformed(f"a {TYPE_NAMES.get(kind, kind)} record too short") from None
        return f"\\# {len(data)}" + (f" {data.hex()}" if data else "")  # RFC 3597

    def _whole(self, end: int, text: str) -> str:
        if end != len(self.data):
            raise Malformed(f"a {TYPE_NAMES[self.rdtype]} record with bytes after its data")
        return text

    @property
    def strings(self) -> list[bytes]:
        """A TXT record's character-strings."""
        found, at = [], 0
        while at < len(self.data):
            size = self.data[at]
            if at + 1 + size > len(self.data):
                raise Malformed("a TXT string longer than its record")
            found.append(self.data[at + 1 : at + 1 + size])
            at += 1 + size
        if not found:
            raise Malformed("a TXT record without a string")
        return found


class Message:
    """An answer: id, flags, rcode (with EDNS's extended bits), question and answer records."""

    def __init__(self, wire: bytes) -> None:
        if len(wire) < 12:
            raise Malformed("shorter than a DNS header")
        self.id, self.flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", wire)
        self.rcode = self.flags & 0xF
        at = 12
        self.question: list[tuple[tuple[bytes, ...], int, int]] = []
        for _ in range(qd):
            name, at = read_name(wire, at, len(wire))
            rdtype, rdclass = _unpack("!HH", wire, at)
            self.question.append((name, rdtype, rdclass))
            at += 4
        sections: list[list[Record]] = [[], [], []]
        edns = False
        for section, count in zip(sections, (an, ns, ar), strict=True):
            for _ in range(count):
                name, at = read_name(wire, at, len(wire))
                rdtype, rdclass, ttl, size = _unpack("!HHIH", wire, at)
                at += 10
                if at + size > len(wire):
                    raise Malformed("a record longer than the message")
                if rdtype == TYPES["OPT"]:
                    if section is not sections[2] or edns or name != (b"",):
                        raise Malformed("a misplaced OPT record")
                    edns = True
                    self.rcode |= (ttl >> 24) << 4
                else:
                    section.append(Record(name, rdtype, rdclass, ttl, wire, at, size))
                at += size
        if at != len(wire):
            raise Malformed(f"{len(wire) - at} bytes after the last record")
        self.answer = sections[0]


def _unpack(layout: str, wire: bytes, at: int) -> tuple[int, ...]:
    try:
        return struct.unpack_from(layout, wire, at)
    except struct.error:
        raise Malformed("the message ends in the middle of a record") from None


def read_name(wire: bytes, at: int, end: int) -> tuple[tuple[bytes, ...], int]:
    """The name at ``at`` (not past ``end``, except through a pointer) and the offset after
    it. A compression pointer must point before the name that holds it."""
    labels: list[bytes] = []
    size = 0
    after = -1
    start = at
    limit = end
    while True:
        if at >= limit:
            raise Malformed("a name runs past its end")
        length = wire[at]
        if length >= 0xC0:
            if at + 1 >= limit:
                raise Malformed("a name runs past its end")
            target = ((length & 0x3F) << 8) | wire[at + 1]
            if target >= start:
                raise Malformed("a compression pointer that does not point backwards")
            if after < 0:
                after = at + 2
            start = at = target
            limit = len(wire)
            continue
        if length > 63:
            raise Malformed("a label type this reader does not know")
        size += length + 1
        if size > 255:
            raise Malformed("a name longer than 255 bytes")
        if at + 1 + length > limit:
            raise Malformed("a name runs past its end")
        labels.append(bytes(wire[at + 1 : at + 1 + length]))
        at += 1 + length
        if length == 0:
            return tuple(labels), (after if after >= 0 else at)


def rcode_text(rcode: int) -> str:
    return RCODES.get(rcode, str(rcode))


__all__ = ["BadName", "Malformed", "Message", "Query", "name_from_text", "reverse_name"]
