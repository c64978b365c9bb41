"""The escaped forms of a secret that redaction hides are exactly what json and urllib.parse
write: ``mdd.checks._secrets`` writes them itself, so that a check run does not pay for
importing those modules."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st

from mdd.checks._secrets import _SHORTEST, _folded, _forms, redact

secrets = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)


@settings(max_examples=500, deadline=None)
@given(secrets)
def test_the_forms_are_the_standard_librarys(secret: str) -> None:
    expected = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret, safe=""),
    }
    shortest = min(len(secret), _SHORTEST)
    assert {_folded(form) for form in expected if len(form) >= shortest} <= _forms(secret)


def test_every_form_is_hidden() -> None:
    secret = 'p"w/é ü\n%+'
    for form in _forms(secret):
        text = redact(f"server said <{form}>", [secret])
        assert form not in text and "[secret]" in text
