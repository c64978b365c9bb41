"""mdd's DNS messages (``mdd.checks._dns_wire``) against dnspython's, which the dns check used
before: the same query bytes, and the same reading of every answer.

* Real answers: dnsmasq on loopback (the dns check's own test records, and an authoritative
  zone for SOA and NS) answers each record type; both readers read each answer alike.
* Generated answers: hypothesis builds messages with dnspython (random names, compressed,
  every record type the check asks for, random rcodes and flags); both read them alike.
* Mutated answers: real answers with bytes flipped, cut or inserted; mdd's reader either
  reads the message or raises ``Malformed`` (never another exception), and when both
  readers accept a message they agree on what it says.

dnspython is a test dependency only: the check does not import it.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CAA
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.NS
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.rdtypes.IN.SRV
import dns.reversename
import dns.rrset
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdd.checks._dns_wire import (
    Malformed,
    Message,
    Query,
    name_from_text,
    name_text,
    rcode_text,
    read_name,
    reverse_name,
)
from tests.checks.net_servers import dnsmasq
from tests.checks.test_check_dns import RECORDS

IN = dns.rdataclass.IN
QUESTIONS = [
    ("www.test.example", "A"),
    ("v6.test.example", "AAAA"),
    ("txt.test.example", "TXT"),
    ("test.example", "MX"),
    ("_ldap._tcp.test.example", "SRV"),
    ("1.1.1.10.in-addr.arpa", "PTR"),
    ("alias.test.example", "CNAME"),
    ("alias.test.example", "A"),
    ("caa.test.example", "CAA"),
    ("many.test.example", "A"),
    ("gone.test.example", "A"),
    ("www.auth.example", "A"),
    ("auth.example", "SOA"),
    ("auth.example", "NS"),
    ("nothing.auth.example", "A"),
]


def exchange(port: int, wire: bytes) -> bytes:
    """One query over TCP (answers of any size), its answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(struct.pack("!H", len(wire)) + wire)
        data = b""
        while len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
            chunk = sock.recv(65536)
            assert chunk, "the server closed the connection"
            data += chunk
        return data[2:]


@pytest.fixture(scope="module")
def answers() -> Iterator[list[tuple[Query, bytes]]]:
    auth = (
        "--auth-server=ns.auth.example,127.0.0.1",
        "--auth-zone=auth.example",
        "--host-record=www.auth.example,10.2.2.2",
    )
    with dnsmasq(*RECORDS) as records, dnsmasq(*auth) as authoritative:
        found = []
        for text, record in QUESTIONS:
            query = Query(name_from_text(text), record)
            port = authoritative if text.endswith("auth.example") else records
            found.append((query, exchange(port, query.wire)))
        yield found


def assert_same_reading(ours: Message, theirs: dns.message.Message) -> None:
    assert ours.id == theirs.id
    assert ours.flags == theirs.flags
    assert ours.rcode == theirs.rcode()
    assert rcode_text(ours.rcode) == dns.rcode.to_text(theirs.rcode())
    assert [(name_text(n), t, c) for n, t, c in ours.question] == [
        (r.name.to_text(), r.rdtype, r.rdclass) for r in theirs.question
    ]
    # dnspython merges the records of one name and type into one set (dropping duplicates);
    # the check compares answers as a set too.
    expected = {
        (rrset.name.to_text(), rrset.rdtype, rdata.to_text())
        for rrset in theirs.answer
        for rdata in rrset
        if rrset.rdtype in KNOWN
    }
    found = {(name_text(r.name), r.rdtype, r.text) for r in ours.answer if r.rdtype in KNOWN}
    # Of a name's CNAME or SOA records (of which DNS allows one), dnspython keeps the last;
    # mdd shows them all (a server that sends two is shown as it is).
    assert {a for a in found if a[1] not in SINGLE} == {a for a in expected if a[1] not in SINGLE}
    assert {a for a in expected if a[1] in SINGLE} <= found


KNOWN = {1, 2, 5, 6, 12, 15, 16, 28, 33, 257}
SINGLE = {5, 6}  # CNAME, SOA


def test_the_query_is_dnspythons_query() -> None:
    for text, record in QUESTIONS:
        query = Query(name_from_text(text), record)
        theirs = dns.message.make_query(text, record, use_edns=0, payload=1232)
        theirs.id = query.id
        assert query.wire == theirs.to_wire(), (text, record)


@pytest.mark.parametrize(
    "text", ["www.Example.NET", "www.example.net.", "a\\.b.example", "\\065bc.x", "."]
)
def test_names_read_as_dnspython_reads_them(text: str) -> None:
    theirs = dns.name.from_text(text)
    assert name_from_text(text) == theirs.labels
    assert name_text(name_from_text(text)) == theirs.to_text()


@pytest.mark.parametrize("address", ["10.1.1.1", "2001:db8::1", "::ffff:10.0.0.1"])
def test_reverse_names_are_dnspythons(address: str) -> None:
    assert reverse_name(address) == dns.reversename.from_address(address).labels


def test_real_answers_read_alike(answers: list[tuple[Query, bytes]]) -> None:
    kinds = set()
    for query, wire in answers:
        ours = Message(wire)
        assert query.is_response(ours)
        assert_same_reading(ours, dns.message.from_wire(wire))
        kinds |= {r.rdtype for r in ours.answer}
        kinds.add(ours.rcode)
    # Every record type of the check was read, and NXDOMAIN (3) too.
    assert kinds >= KNOWN and 3 in kinds


# ------------------------------------------------------------------- generated messages

labels = st.binary(min_size=1, max_size=12)
names = st.lists(labels, min_size=0, max_size=4).map(lambda parts: dns.name.Name([*parts, b""]))
u16 = st.integers(0, 65535)
u32 = st.integers(0, 2**32 - 1)
rdatas = st.one_of(
    st.ip_addresses(v=4).map(lambda a: dns.rdtypes.IN.A.A(IN, 1, str(a))),
    st.ip_addresses(v=6).map(lambda a: dns.rdtypes.IN.AAAA.AAAA(IN, 28, str(a))),
    names.map(lambda n: dns.rdtypes.ANY.CNAME.CNAME(IN, 5, n)),
    names.map(lambda n: dns.rdtypes.ANY.NS.NS(IN, 2, n)),
    names.map(lambda n: dns.rdtypes.ANY.PTR.PTR(IN, 12, n)),
    st.builds(lambda p, n: dns.rdtypes.ANY.MX.MX(IN, 15, p, n), u16, names),
    st.builds(lambda a, b, c, n: dns.rdtypes.IN.SRV.SRV(IN, 33, a, b, c, n), u16, u16, u16, names),
    st.lists(st.binary(max_size=40), min_size=1, max_size=3).map(
        lambda s: dns.rdtypes.ANY.TXT.TXT(IN, 16, s)
    ),
    st.builds(
        lambda f, t, v: dns.rdtypes.ANY.CAA.CAA(IN, 257, f, t, v),
        st.integers(0, 255),
        st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=15).map(str.encode),
        st.binary(max_size=40),
    ),
    st.builds(
        lambda m, r, *n: dns.rdtypes.ANY.SOA.SOA(IN, 6, m, r, *n),
        names,
        names,
        u32,
        u32,
        u32,
        u32,
        u32,
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    owner=names,
    records=st.lists(rdatas, max_size=6),
    rcode=st.sampled_from([0, 2, 3, 5, 16, 23]),
    aa=st.booleans(),
)
def test_generated_answers_read_alike(
    owner: dns.name.Name, records: list[dns.rdata.Rdata], rcode: int, aa: bool
) -> None:
    query = dns.message.make_query(owner, "A", use_edns=0, payload=1232)
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    if aa:
        response.flags |= dns.flags.AA
    for rdata in records:
        response.answer.append(dns.rrset.from_rdata(owner, 300, rdata))
    wire = response.to_wire()
    assert_same_reading(Message(wire), dns.message.from_wire(wire))


# ------------------------------------------------------------------- mutated messages


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_answers_are_read_alike_or_refused(
    answers: list[tuple[Query, bytes]], data: st.DataObject
) -> None:
    _, wire = data.draw(st.sampled_from(answers))
    mutated = bytearray(wire)
    for _ in range(data.draw(st.integers(1, 4))):
        how = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, max(len(mutated) - 1, 0)))
        if how == "flip" and mutated:
            mutated[at] = data.draw(st.integers(0, 255))
        elif how == "cut":
            del mutated[at : at + data.draw(st.integers(1, 8))]
        else:
            mutated[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    try:
        ours = Message(bytes(mutated))
    except Malformed:
        return  # refused with a reason: what the check reports as a malformed answer
    try:
        theirs = dns.message.from_wire(bytes(mutated))
    except Exception:
        return  # dnspython reads some record types mdd only shows as \# (HINFO, ...)
    assert_same_reading(ours, theirs)


HEADER = struct.pack("!HHHHHH", 1, 0x8180, 1, 0, 0, 0)


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        (b"\xc0\x0c\x00\x01\x00\x01", "does not point backwards"),  # a pointer to itself
        (b"\xc0\x20\x00\x01\x00\x01" + bytes(30), "does not point backwards"),  # forwards
        (b"\x3f" + b"a" * 63 + b"\xc0\x0c\x00\x01\x00\x01", "does not point backwards"),
        (b"\x05abc", "runs past its end"),
        (b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01", "label type"),
        ((b"\x3f" + b"a" * 63) * 4 + b"\x00\x00\x01\x00\x01", "longer than 255 bytes"),
        (b"\x00\x00\x01\x00\x01\x00", "1 bytes after the last record"),
        (b"\x00\x00\x01", "ends in the middle"),
    ],
)
def test_hostile_names_are_malformed(question: bytes, reason: str) -> None:
    with pytest.raises(Malformed, match=reason):
        Message(HEADER + question)


def test_a_chain_of_pointers_is_bounded_by_the_name_length() -> None:
    # Each name points at the one before it, one label longer each time: past 255 bytes
    # the reader stops (a chain of pointers cannot grow a name without bound).
    wire = bytearray(HEADER[:4] + struct.pack("!HHHH", 0, 0, 0, 0))
    previous = len(wire)
    wire += b"\x3f" + b"a" * 63 + b"\x00"
    for _ in range(5):
        here = len(wire)
        wire += b"\x3f" + b"b" * 63 + struct.pack("!H", 0xC000 | previous)
        previous = here
    with pytest.raises(Malformed, match="longer than 255 bytes"):
        read_name(bytes(wire), previous, len(wire))
