"""mdd's LDAP messages (``mdd.checks._ldap_wire``) against ldap3's, which the ldap check used
before: the same filter bytes, the same result names, and BER read strictly.

The bind, StartTLS and search against a real slapd are in test_check_ldap.py. Here every
filter of a corpus and of a grammar (hypothesis) is encoded by both and compared byte for
byte; filters RFC 4515 refuses are refused; hostile BER raises ``ProtocolError``.
ldap3 is a test dependency only: the check does not import it.
"""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdd.checks._ldap_wire import RESULT_NAMES, BadFilter, ProtocolError, Reader, parse_filter

with warnings.catch_warnings():  # ldap3 uses names that pyasn1 0.6 deprecates
    warnings.simplefilter("ignore")
    from ldap3.core.results import RESULT_CODES
    from ldap3.operation.search import compile_filter
    from ldap3.operation.search import parse_filter as ldap3_parse
    from pyasn1.codec.ber import encoder


def ldap3_bytes(text: str) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ldap3_parse(text, None, True, True, None, False)
        encoded: bytes = encoder.encode(compile_filter(tree.elements[0]))
        return encoded


CORPUS = [
    "(objectClass=*)",
    "(cn=a)",
    "(uid=svc-platform)",
    "(&(objectClass=person)(uid=a*))",
    "(|(cn=a*b*c)(!(uid=x)))",
    "(!(&(a=1)(|(b=2)(c=3))))",
    "(cn>=5)",
    "(cn<=5)",
    "(cn~=x)",
    "(cn=*x*)",
    "(cn=x*)",
    "(cn=*x)",
    "(cn=a\\2ab)",
    "(cn=\\28paren\\29)",
    "(cn=é)",
    "(o;lang-en=x)",
    "(cn:=x)",
    "(cn:dn:2.5.13.5:=Fred)",
    "(:1.2.3:=a)",
    "(:dn:1.2.3:=a)",
    "(2.5.4.3=x)",
    "(memberOf=cn=admins,ou=groups,dc=example,dc=net)",
]


@pytest.mark.parametrize("text", CORPUS)
def test_filters_encode_as_ldap3_encoded_them(text: str) -> None:
    assert parse_filter(text) == ldap3_bytes(text)


@pytest.mark.parametrize(
    "text",
    ["(cn=a(cn=b))", "cn=a", "(cn=a", "(&)", "(=a)", "(cn=a\\zz)", "(cn=a)(sn=b)", "(cn=**)"],
)
def test_filters_rfc_4515_refuses_are_refused(text: str) -> None:
    with pytest.raises(BadFilter):
        parse_filter(text)


def test_result_names_are_ldap3s() -> None:
    known = {code: name for code, name in RESULT_CODES.items() if name != "reserved"}
    assert known == RESULT_NAMES


attributes = st.sampled_from(["cn", "uid", "objectClass", "o;lang-en", "2.5.4.3", "mail"])
# No whitespace in generated values: both parsers strip a value as Python's str.strip() does
# (so "(cn= a)" is "(cn=a)"), and ldap3 cannot encode a substring whose parts are only such
# characters ("(cn=\x1f*\x1f)" raises PyAsn1Error in ldap3, where mdd reads "(cn=*)"); that is
# ldap3's failure, not a difference to compare. Python's whitespace is more than " ": \x1c-\x1f,
# \x85, \xa0 and the Unicode spaces too (hypothesis found \x1f).
values = st.text(
    st.characters(blacklist_characters="()*\\\0", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=8,
).map(lambda v: "".join("x" if c.isspace() else c for c in v))
escaped = st.binary(min_size=1, max_size=3).map(lambda b: "".join(f"\\{x:02x}" for x in b))
assertion = st.one_of(values, escaped, st.tuples(values, escaped).map("".join))
items = st.one_of(
    st.builds(
        lambda a, op, v: f"({a}{op}{v})",
        attributes,
        st.sampled_from(["=", ">=", "<=", "~="]),
        assertion,
    ),
    attributes.map(lambda a: f"({a}=*)"),
    st.builds(
        lambda a, parts, head, tail: (
            f"({a}={'' if head else '*'}{'*'.join(parts)}{'' if tail else '*'})"
        ),
        attributes,
        st.lists(assertion, min_size=1, max_size=3),
        st.booleans(),
        st.booleans(),
    ),
    st.builds(lambda a, v: f"({a}:dn:2.5.13.5:={v})", attributes, assertion),
)
filters = st.recursive(
    items,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda f: "(&" + "".join(f) + ")"),
        st.lists(inner, min_size=1, max_size=3).map(lambda f: "(|" + "".join(f) + ")"),
        inner.map(lambda f: f"(!{f})"),
    ),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(filters)
def test_generated_filters_encode_as_ldap3_encoded_them(text: str) -> None:
    assert parse_filter(text) == ldap3_bytes(text)


class Bytes:
    """A wire that hands out given bytes, then nothing (the server closed)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def recv(self, size: int) -> bytes:
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk

    def sendall(self, data: bytes) -> None:
        raise AssertionError("nothing is sent here")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x04\x00", "not a BER SEQUENCE"),
        (b"\x30\x80\x00\x00", "indefinite"),
        (b"\x30\x85\x01\x00\x00\x00\x00", "oversized length"),
        (b"\x30\x84\x7f\xff\xff\xff", "claiming 2147483647 bytes"),
        (b"\x30\x03\x02\x01\x01", "without its id and operation"),
        (b"\x30\x05\x02\x01\x01\x61\x05", "longer than its message"),
        (b"\x30\x06\x02\x01\x01\x61\x01\x0a", "cut short"),
        (b"\x30\x05\x02\x01\x01\x61\x00", "LDAPResult without"),
        (b"\x30\x06\x02\x01\x01\x7f\x01\x00", "multi-byte tag"),
    ],
)
def test_hostile_ber_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        Reader(Bytes(data)).message()


def test_a_message_read_in_pieces_is_one_message() -> None:
    # BindResponse success, id 7, sent one byte at a time.
    data = b"\x30\x0c\x02\x01\x07\x61\x07\x0a\x01\x31\x04\x00\x04\x00"

    class Trickle(Bytes):
        def recv(self, size: int) -> bytes:
            return super().recv(1)

    answer = Reader(Trickle(data)).message()
    assert (answer.id, answer.code, answer.name) == (7, 49, "invalidCredentials")
