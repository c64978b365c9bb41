"""The option readers a check runs on every start read what their documented patterns read,
without compiling those patterns (about a million instructions each, every run): durations
of the plain form, whole numbers, and the backslashes-and-dashes of argv words."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdd.checks import _kinds
from mdd.checks._kinds import _DURATION, _dashes, _int, _plain_duration, duration

pieces = st.sampled_from(
    ["1", "0", "10", "570", "1.5", ".", "5.", "ms", "s", "m", "h", "d", "sm", " ", "-", "٣", "x"]
)
texts = st.lists(pieces, max_size=5).map("".join)


def by_pattern(text: str) -> float | None:
    """The pattern's reading of ``text`` as one number and unit, or None."""
    match = re.fullmatch(_DURATION, text)
    if not match or text != text.strip():
        return None
    multiply, divide = _kinds._UNITS[match.group(2)]
    return float(match.group(1)) * multiply / divide


@settings(max_examples=2000, deadline=None)
@given(texts)
def test_a_plain_duration_reads_as_the_pattern_reads_it(text: str) -> None:
    plain = _plain_duration(text)
    if plain is not None:  # the fast path only ever answers for what the pattern reads alike
        assert plain == by_pattern(text)


@pytest.mark.parametrize(("text", "seconds"), [("10s", 10.0), ("570ms", 0.57), ("1.5m", 90.0)])
def test_generated_durations_take_the_fast_path(text: str, seconds: float) -> None:
    assert _plain_duration(text) == seconds == duration(text)


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(st.sampled_from(["1", "0", "-", " ", "٣", "x", "12345678901"]), max_size=5).map(
        "".join
    )
)
def test_whole_numbers_read_as_the_pattern_reads_them(text: str) -> None:
    if re.fullmatch(r"-?\d{1,30}", text.strip()):
        try:
            expected: int | str = int(text)
            if abs(expected) > _kinds.INT_LIMIT:
                expected = "too large"
        except ValueError:
            expected = "refused"
    else:
        expected = "refused"
    try:
        found: int | str = _int(text)
    except ValueError as exc:
        found = "too large" if "too large" in str(exc) else "refused"
    assert found == expected


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(["\\", "-", "--", "x", " "]), max_size=6).map("".join))
def test_dashes_are_the_pattern(text: str) -> None:
    assert _dashes(text) == bool(re.fullmatch(r"\\*--", text))
