"""A configured check, in words: what exactly an integration point's monitor verifies.

Generated from the check type's own declaration, so it works for every type, including
types added later: each option is phrased by the convention of its name (the option names
are shared across types: `host`, `port`, `servers`, `expect`, `timeout`, `warn`, `crit`...)
or, failing that, by its name and value. What is particular to a type is declared in its
check module, each optional: ``describe_opening(values) -> str``, the opening words where
they read better than the type's SUMMARY and host; ``DESCRIBE_TIMED``, what ``warn`` and
``crit`` time ("connecting"; default "the check"); or ``describe(values) -> str``, the
whole sentence. Each gets the canonical option values with defaults filled in.
``DESCRIBE_PHRASES`` gives a type's own words for some of its options (as ``_PHRASES``).

Secret references are described by where the secret lives (a file, a variable), never by
a value: mdd never knows the value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mdd.checks.api import BOOLEAN, DURATION, SECRET, Option
from mdd.checks.registry import CHECK_TYPES
from mdd.core.model import IntegrationPoint

Values = dict[str, Any]


def _text(opt: Option, value: Any) -> str:
    if opt.kind is SECRET:
        source, where = value
        return f"the file {where}" if source == "file" else f"the variable ${where}"
    if opt.kind is BOOLEAN or isinstance(value, bool):
        return "yes" if value else "no"
    return opt.kind.text(value)


def _join(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 2:
        return " and ".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _quoted(text: str) -> str:
    return f"\u201c{text}\u201d"


def _item_texts(opt: Option, value: Any) -> list[str]:
    if opt.pairs:
        return [_text(opt, pair) for pair in value]
    if opt.multiple:
        return [_text(opt, item) for item in value]
    return [_text(opt, value)]


# --------------------------------------------------------------------------- options by name

# name -> how the option reads; {v} is its value (items joined), {n} its name in words.
_PHRASES: dict[str, str] = {
    "send": "after sending {q}",
    "expect": "answering to match /{v}/",
    "contains": "with a body containing {q}",
    "matches": "with a body matching /{v}/",
    "status": "answering status {v}",
    "json": "with JSON {v}",
    "headers": "sending the headers {v}",
    "secret_headers": "sending headers read from {v}",
    "body": "sending the body {q}",
    "servers": "from {v}",
    "answers": "answering exactly {v}",
    "includes": "with answers including {v}",
    "excludes": "with no answer among {v}",
    "connect_to": "connecting to {v}",
    "servername": "for the name {v}",
    "proxy": "through the proxy {v}",
    "ca_file": "trusting the CAs in {v}",
    "client_cert": "with the client certificate {v}",
    "client_key": "with the client key {v}",
    "password": "with the password from {v}",
    "user": "as user {v}",
    "username": "as user {v}",
    "bind_dn": "binding as {v}",
    "database": "in database {v}",
    "query": "querying {q}",
    "min_version": "with TLS {v} or newer",
    "starttls": "after STARTTLS ({v})",
    "vhost": "in virtual host {v}",
    "queue": "with the queue {v}",
    "exchange": "with the exchange {v}",
    "mail_from": "accepting mail from {v}",
    "rcpt_to": "to {v}",
    "ehlo": "announcing itself as {v}",
    "auth": "offering AUTH {v}",
    "role": "as {v}",
    "record": "{v} records",
    "filter": "searching {v}",
    "base": "under {v}",
}
# Booleans, when true ("with <name in words>" otherwise; "without ..." when false).
_TRUE = {
    "follow_redirects": "following redirects",
    "insecure": "without verifying the certificate",
    "starttls": "after STARTTLS",
    "tls": "over TLS",
    "nxdomain": "the name must not exist",
    "authoritative": "with an authoritative answer",
    "denied": "green only when the proxy refuses the request",
}
_ARGV = {"command", "argv", "args"}  # lists of words, shown as one command line
_SKIP = {"host", "port", "timeout", "warn", "crit", "state", "method", "url", "verify"}
_SKIP |= {"warn_days", "crit_days"}
_BOUNDS = (  # prefix of a threshold option, and how it reads
    ("warn_", "WARNING when {what} is over {v}"),
    ("crit_", "CRITICAL when {what} is over {v}"),
    ("min_", "at least {v} {what}"),
    ("max_", "at most {v} {what}"),
)


def _words(name: str) -> str:
    return name.replace("_", " ")


def _phrase(opt: Option, value: Any, phrases: Mapping[str, str] = _PHRASES) -> str:
    """One option with its value, in words; for any option of any type."""
    if opt.kind is BOOLEAN or isinstance(value, bool):
        if value:
            return _TRUE.get(opt.name, f"with {_words(opt.name)}")
        return f"without {_words(opt.name)}"
    items = _item_texts(opt, value)
    if opt.name in _ARGV:
        return f"running {_quoted(' '.join(items))}"
    template = phrases.get(opt.name)
    if template is None:
        for prefix, bound in _BOUNDS:
            if opt.name.startswith(prefix) and opt.name != prefix + "version":
                what = _words(opt.name.removeprefix(prefix))
                return bound.format(what=what, v=_join(items))
        return f"{_words(opt.name)} {_join(items)}"
    return template.format(v=_join(items), q=_join([_quoted(item) for item in items]), n=opt.name)


def _where(values: Values) -> str:
    host, port = values.get("host"), values.get("port")
    if host is None:
        return ""
    return f"{host} port {port}" if port is not None else str(host)


def _bands(values: Values, what: str) -> list[str]:
    bands = []
    if values.get("warn") is not None:
        bands.append(f"WARNING when {what} takes over {DURATION.text(values['warn'])}")
    if values.get("crit") is not None:
        bands.append(f"CRITICAL over {DURATION.text(values['crit'])}")
    return bands


# --------------------------------------------------------------------------- opening words


def _generic_opening(check_type: str, summary: str, values: Values) -> str:
    where = _where(values)
    return f"{check_type}: {summary.strip().rstrip('.')}" + (f", on {where}" if where else "")


def describe_declared(
    check_type: str,
    summary: str,
    declaration: Sequence[Option],
    options: Values,
    opening_of: Callable[[Values], str] | None = None,
    timed: str = "the check",
    phrases: Mapping[str, str] | None = None,
) -> str:
    """The sentence for a check type declared by ``declaration`` (its ``OPTIONS``), opened by
    ``opening_of(values)`` (else by its summary and host), ``timed`` being what its ``warn``
    and ``crit`` time, ``phrases`` its own words for some options (as ``_PHRASES``)."""
    phrases = {**_PHRASES, **(phrases or {})}
    declared = {opt.name: opt for opt in declaration}
    values = {o.name: o.default for o in declaration if o.default is not None}
    values.update(options)
    opening = opening_of(values) if opening_of else _generic_opening(check_type, summary, values)
    parts = [
        _phrase(declared[name], options[name], phrases)
        for name in declared
        if name in options and name not in _SKIP and options[name] != declared[name].default
    ]
    if opening_of is None:  # the generic opening leaves these to the phrases
        parts += [
            _phrase(declared[name], options[name])
            for name in ("state", "method", "url", "warn_days", "crit_days")
            if name in options and name in declared
        ]
    parts += _bands(values, timed)
    sentence = opening + "".join(f", {part}" for part in parts)
    if "timeout" in values:
        sentence += f", within {DURATION.text(values['timeout'])}"
    return sentence + "."


def describe_values(check_type: str, options: Values) -> str:
    """One sentence saying what a ``check_type`` check with these canonical options verifies."""
    module = CHECK_TYPES[check_type]
    custom: Callable[[Values], object] | None = getattr(module, "describe", None)
    if callable(custom):
        values = {o.name: o.default for o in module.OPTIONS if o.default is not None}
        return str(custom({**values, **options}))
    return describe_declared(
        check_type,
        module.SUMMARY,
        module.OPTIONS,
        options,
        getattr(module, "describe_opening", None),
        getattr(module, "DESCRIBE_TIMED", "the check"),
        getattr(module, "DESCRIBE_PHRASES", None),
    )


def describe(point: IntegrationPoint) -> str:
    return describe_values(point.type, point.options)
