"""Records (checks/_result.py ``Record``): the one constructor of the checks' value classes
(``Perf``, ``Result``, ``Cert`` and the http exchange's ``Target`` and ``Answer``) behaves as
the hand-written ones it replaced: slots, arguments by position or keyword, defaults, the errors
of a wrong call, equality by fields where a class asks for it, identity elsewhere."""

from __future__ import annotations

import types

import pytest

from mdd.checks._certificates import Cert
from mdd.checks._http_exchange import Target
from mdd.checks._result import Perf, Record, Result, State
from mdd.checks.check_command import _RawPerf


def test_fields_are_set_by_position_keyword_and_default() -> None:
    perf = Perf("time", 0.5, warn=1.0, max=5)
    assert (perf.label, perf.value, perf.uom, perf.warn, perf.crit, perf.min, perf.max) == (
        "time",
        0.5,
        "",
        1.0,
        None,
        None,
        5,
    )
    assert str(perf) == "time=0.5;1;;;5"
    assert repr(perf) == "Perf('time=0.5;1;;;5')"
    target = Target("http://a:80/", "http", host="a", port=80, path="/")
    assert (target.url, target.scheme, target.host, target.port, target.path) == (
        "http://a:80/",
        "http",
        "a",
        80,
        "/",
    )


def test_records_are_slotted() -> None:
    perf = Perf("time", 0.5)
    assert Perf.__slots__ == ("label", "value", "uom", "warn", "crit", "min", "max")
    assert not hasattr(perf, "__dict__")
    with pytest.raises(AttributeError):
        perf.colour = "red"  # type: ignore[attr-defined]
    # A default lives in the record's table: the class attribute is the slot itself.
    assert isinstance(vars(Perf)["uom"], types.MemberDescriptorType)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Perf(), "Perf() missing required arguments: label, value"),
        (lambda: Perf("x"), "Perf() missing required arguments: value"),
        (lambda: Perf("x", 1, "", 1, 2, 3, 4, 5), "Perf() takes 7 arguments but 8 were given"),
        (lambda: Perf("x", 1, label="y"), "Perf() got multiple values for argument 'label'"),
        (lambda: Perf("x", 1, colour="y"), "Perf() got an unexpected keyword argument 'colour'"),
    ],
)
def test_a_wrong_call_is_a_type_error(call: object, message: str) -> None:
    with pytest.raises(TypeError) as raised:
        call()  # type: ignore[operator]
    assert str(raised.value) == message


def test_eq_compares_and_hashes_by_fields_in_order() -> None:
    assert Perf("x", 1.0, "s") == Perf("x", 1.0, uom="s")
    assert hash(Perf("x", 1.0, "s")) == hash(Perf("x", 1.0, uom="s"))
    assert Perf("x", 1.0) != Perf("x", 2.0)
    assert Perf("x", 1.0) != ("x", 1.0, "", None, None, None, None)
    assert hash(Perf("x", 1.0)) == hash(("x", 1.0, "", None, None, None, None))
    ok = Result(State.OK, "fine", (Perf("x", 1.0),))
    assert ok == Result(State.OK, "fine", (Perf("x", 1.0),))
    assert ok != Result(State.WARNING, "fine", (Perf("x", 1.0),))
    assert len({ok, Result(State.OK, "fine", (Perf("x", 1.0),))}) == 1
    cert = Cert((("CN", "a"),), (("CN", "a"),), 0.0, 1.0, ("DNS:a",), "01")
    assert cert == Cert((("CN", "a"),), (("CN", "a"),), 0.0, 1.0, ("DNS:a",), "01")
    assert cert != Cert((("CN", "a"),), (("CN", "a"),), 0.0, 1.0, ("DNS:a",), "02")


def test_a_subclass_compares_as_the_class_that_asked_for_equality() -> None:
    raw = _RawPerf("anything=1")
    assert raw.text == "anything=1" and (raw.label, raw.value) == ("raw", 0.0)
    assert raw == Perf("raw", 0.0) and Perf("raw", 0.0) == raw  # Perf's fields, both ways


def test_without_eq_a_record_is_itself_only() -> None:
    assert Target("u", "http", "a", 80, "/") != Target("u", "http", "a", 80, "/")
    target = Target("u", "http", "a", 80, "/")
    assert target == target and hash(target) == object.__hash__(target)


class Named(Record):
    name: str
    metavar: str = ""

    def __post_init__(self) -> None:
        self.metavar = self.metavar or self.name.upper().replace(" ", "_")


def test_post_init_runs_after_the_fields_are_set() -> None:
    assert Named("dns name").metavar == "DNS_NAME"
    assert Named("dns name", metavar="NAME").metavar == "NAME"


def test_a_field_without_default_after_one_with_is_refused() -> None:
    with pytest.raises(TypeError, match="Bad.b has no default but follows a field with one"):

        class Bad(Record):
            a: int = 1
            b: int
