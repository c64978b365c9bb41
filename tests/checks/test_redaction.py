"""Redaction hides the secret in every form a server or library echoes it, and nothing else
(issue 18: case, base64, percent-encoding, before any cut; issue 17: the names a human needs
stay readable)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from mdd.checks._secrets import MASK, redact

SECRETS = [
    "payments-2024-x7",
    "Pa55-w0rd-\u00e9t\u00e9-horse",
    "s3cr3t/t0k+n=",
    "\u5bc6\u7801\u5bc6\u7801\u5bc6",
]


def forms(secret: str) -> list[str]:
    data = secret.encode()
    return [
        secret,
        secret.upper(),
        secret.lower(),
        secret.swapcase(),
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        base64.b64encode(data).decode(),
        base64.urlsafe_b64encode(data).decode(),
        ascii(secret)[1:-1],
        data.decode("latin-1"),
    ]


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("index", range(11))
def test_every_form_of_the_secret_is_hidden(secret: str, index: int) -> None:
    form = forms(secret)[index]
    text = f"server said: <{form}> go away"
    shown = redact(text, [secret])
    assert form not in shown and MASK in shown, shown
    assert shown.startswith("server said: <") and shown.endswith("> go away")


@pytest.mark.parametrize("user", ["admin", "svc", "a", "payments-operator"])
@pytest.mark.parametrize("secret", SECRETS)
def test_a_basic_token_of_user_and_secret_is_hidden_at_any_alignment(
    user: str, secret: str
) -> None:
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    shown = redact(f"Authorization: Basic {token}", [secret])
    assert MASK in shown
    # what is left of the token is no more than the user's part of it
    left = shown.split("Basic ", 1)[1].split(MASK, 1)[0]
    assert len(left) <= (len(user) + 1) * 4 // 3 + 1, shown


@pytest.mark.parametrize("secret", SECRETS)
def test_a_start_of_the_secret_cut_by_an_excerpt_is_hidden(secret: str) -> None:
    cut = f"body: 'key={secret[: len(secret) // 2 + 2]}...'"
    shown = redact(cut, [secret])
    assert secret[:4] not in shown, shown
    assert shown == f"body: 'key={MASK}...'"


def test_names_that_share_characters_with_the_secret_stay_readable() -> None:
    """Issue 17: a password payments-2024-x7 hid the database payments and the user."""
    secret = "payments-2024-x7"
    text = "login as payments rejected; database payments_nosuch does not exist (2024)"
    assert redact(text, [secret]) == text
    assert redact(f"{text}: {secret}", [secret]) == f"{text}: {MASK}"


def test_the_token_of_an_authorization_value_is_hidden_without_its_scheme() -> None:
    secret = "Bearer s3cr3t-t0ken-value-4711"
    assert redact("you are S3CR3T-T0KEN-VALUE-4711", [secret]) == f"you are {MASK}"
    assert redact("Bearer tokens are refused", [secret]) == "Bearer tokens are refused"
