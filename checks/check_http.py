"""http: an HTTP(S) endpoint answers with the expected status, body and timing.

Sends one request to ``url`` and checks the answer: the status must be one of ``status``
(default 200-299), the body must contain ``contains``, match the regular expression
``matches`` and hold the values given in ``json`` (dotted paths; a number indexes a list:
``items.0.name``). ``warn`` and ``crit`` are thresholds on the time the whole exchange took.

Redirects are not followed unless ``follow_redirects: true``; a redirect that is not
accepted is reported with where it leads. ``timeout`` bounds the whole exchange, redirects
included. HTTPS is verified against the system's CAs, or against ``ca_file``; ``insecure``
skips verification. ``client_cert`` (and ``client_key``) present a client certificate.

``proxy`` sends the request through an HTTP proxy (CONNECT for https). ``connect_to``
connects to another address (a VIP, one backend) while the Host header, SNI and certificate
check still use the URL's host, which is then never resolved.

Secrets never go into the manifest: ``secret_headers`` maps a header name to where the
agent holds its value: ``{file: /etc/mdd/artifacts.token}``, ``{env: ARTIFACTS_TOKEN}``,
or a plain file path (on the command line, ``secret_headers`` takes NAME=/PATH or
NAME=env:VARIABLE). It is read on every run, its value is never printed (nor any part
of it a server echoes back, whole, in part, JSON-escaped or percent-encoded), and it is not
sent on when a redirect leads to another host or port, or from https to http. The body is
read up to 1 MiB; ``matches`` sees that much at most.
"""

from __future__ import annotations

import time

from mdd.checks._base import main_of
from mdd.checks._budget import deadline as budget_deadline
from mdd.checks._http_body import content_problems, readable, redacted, text_of
from mdd.checks._http_exchange import (
    Answer,
    Target,
    ascii_text,
    exchange,
    proxy_problems,
    target_of,
)
from mdd.checks._options import (
    ADDRESS,
    BOOLEAN,
    HEADERS,
    JSON_EXPECT,
    PROXY_URL,
    REGEX,
    SECRET_FILES,
    STATUS,
    STRING,
    URL,
    Option,
    choice,
    duration_text,
    timed,
)
from mdd.checks._result import CheckError, CheckFailed, Perf, Result, State, timed_result
from mdd.checks._shared import excerpt, redacting, threshold_rules
from mdd.checks._tls_options import CA_FILE, CLIENT_CERT, CLIENT_KEY

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping
    from typing import Any, Protocol

    from mdd.checks._typed import Timed, Verifying

    class Opts(Timed, Verifying, Protocol):
        url: str
        method: str
        headers: list[tuple[str, str]] | None
        secret_headers: list[tuple[str, tuple[str, str]]] | None
        body: str | None
        status: list[tuple[int, int]] | None
        contains: str | None
        matches: str | None
        json: list[tuple[str, Any]] | None
        follow_redirects: bool
        insecure: bool
        client_cert: str | None
        client_key: str | None
        proxy: str | None
        connect_to: str | None


TYPE = "http"
SUMMARY = "An HTTP(S) endpoint answers with the expected status, body, JSON and response time."
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
DEFAULT_STATUS = [(200, 299)]
DESCRIBE_TIMED = "the exchange"  # what warn and crit time (their help; mdd docs)
OPTIONS: tuple[Option, ...] = (
    Option("url", URL, "The URL to request.", required=True),
    Option("method", choice(*METHODS), "HTTP method.", default="GET"),
    Option(
        "headers",
        HEADERS,
        "Request headers (not secrets: put those in secret_headers).",
        pairs=True,
    ),
    Option(
        "secret_headers",
        SECRET_FILES,
        "Request headers whose values are read, at run time, on the agent (Authorization, "
        "tokens, cookies); in the manifest, each header's value is {file: /path} or "
        "{env: VARIABLE}. The values are never printed.",
        pairs=True,
    ),
    Option("body", STRING, "Request body (UTF-8)."),
    Option(
        "status",
        STATUS,
        "Accepted status codes or ranges.",
        default=DEFAULT_STATUS,
        multiple=True,
    ),
    Option("contains", STRING, "Text the response body must contain."),
    Option("matches", REGEX, "Regular expression the response body must match."),
    Option(
        "json",
        JSON_EXPECT,
        "Values the JSON body must hold, by dotted path (a number indexes a list: items.0.name).",
        pairs=True,
    ),
    Option(
        "follow_redirects",
        BOOLEAN,
        "Follow redirects (within the timeout) and check the final answer.",
        default=False,
    ),
    CA_FILE,
    Option(
        "insecure",
        BOOLEAN,
        "Do not verify the server's certificate (the check then proves nothing about it).",
        default=False,
    ),
    CLIENT_CERT,
    CLIENT_KEY,
    Option("proxy", PROXY_URL, "HTTP proxy to send the request through (CONNECT for https)."),
    Option(
        "connect_to",
        ADDRESS,
        "Connect to this address (host[:port]) instead of the URL's host, keeping the URL's "
        "Host header, SNI and certificate name: test a VIP or one backend.",
    ),
    *timed(DESCRIBE_TIMED, "Give up after this long, redirects included."),
)
EXAMPLE: Mapping[str, Any] = {
    "url": "https://artifacts.ams1.example.net/health",
    "contains": "OK",
    "secret_headers": {"Authorization": {"file": "/etc/mdd/artifacts.token"}},
}
# The Debian packages its tests use (.ci/setup installs them): servers and plugins they run.
TEST_PACKAGES = ("monitoring-plugins-basic",)


def describe_opening(values: dict[str, Any]) -> str:
    """The first words of the sentence ``mdd docs`` writes for this check (``values``: its
    canonical options, defaults filled in)."""
    return f"answers {values.get('method', 'GET')} {values['url']}"


MAX_REDIRECTS = 10
_REDIRECTS = (301, 302, 303, 307, 308)
_SECRET_NAMES = {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"}
_SECRET_WORDS = ("token", "secret", "password", "passwd", "apikey", "api-key", "api_key")
_TLS_OPTIONS = ("ca_file", "insecure", "client_cert", "client_key")


def is_secret_header(name: str) -> bool:
    """Whether a header name says its value is a secret."""
    lower = name.lower()
    return lower in _SECRET_NAMES or any(word in lower for word in _SECRET_WORDS)


def _header_problems(values: dict[str, object]) -> list[tuple[str, str]]:
    """A secret in a literal header; a header both literal and secret."""
    problems: list[tuple[str, str]] = []
    headers = _pairs(values.get("headers"))
    for name, _ in headers:
        if is_secret_header(name):
            problems.append(
                (
                    "headers",
                    f"header {name} carries a secret, and secrets never go into a manifest: "
                    f"put the value in a file on the agent and write "
                    f"secret_headers: {{{name}: /path/to/file}}",
                )
            )
    literal = {name.lower() for name, _ in headers}
    for name, _ in _pairs(values.get("secret_headers")):
        if name.lower() in literal:
            problems.append(
                ("secret_headers", f"header {name} is in both headers and secret_headers")
            )
    return problems


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    problems = _header_problems(values)
    method = values.get("method", "GET")
    if method == "HEAD":
        for name in ("contains", "matches", "json", "body"):
            if values.get(name) is not None:
                problems.append((name, f"'{name}' has no meaning with method HEAD (no body)"))

    if values.get("insecure") and values.get("ca_file"):
        problems.append(
            (
                "insecure",
                "insecure: true skips certificate verification, so ca_file would be "
                "ignored: keep one",
            )
        )
    if values.get("client_key") and not values.get("client_cert"):
        problems.append(
            ("client_key", "client_key needs client_cert (the certificate it belongs to)")
        )
    url = values.get("url")
    if isinstance(url, str) and url.startswith("http:") and not values.get("follow_redirects"):
        for name in _TLS_OPTIONS:
            if values.get(name):
                problems.append((name, f"'{name}' has no meaning for an http:// URL (no TLS)"))

    proxy = values.get("proxy")
    if proxy is not None and values.get("connect_to") is not None:
        problems.append(
            (
                "connect_to",
                "connect_to cannot be combined with proxy: the proxy decides where to connect",
            )
        )
    if isinstance(proxy, str):
        problems += proxy_problems(proxy)
    problems += threshold_rules(values, OPTIONS)
    return problems


def _pairs(value: object) -> list[tuple[str, Any]]:
    if not isinstance(value, list):
        return []
    return [(str(pair[0]), pair[1]) for pair in value if isinstance(pair, tuple) and len(pair) == 2]


def _read_secrets(pairs: list[tuple[str, tuple[str, str]]]) -> list[tuple[str, str]]:
    """(header, value) for each secret header (``_secrets.read_secret``: a file that is no
    regular file, too large, missing or empty is UNKNOWN, never waited for)."""
    secrets: list[tuple[str, str]] = []
    if not pairs:
        return secrets
    from mdd.checks._secrets import read_secret

    for name, ref in pairs:
        what = f"the secret_headers value of {name}"
        value = read_secret(ref, what).strip()
        if not value:
            raise CheckError(f"{what} ({ref[1]}) is blank")
        if any(c in value for c in "\r\n\0"):
            raise CheckError(
                f"{what} ({ref[1]}) holds more than one line: it should hold one value"
            )
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise CheckError(
                f"{what} ({ref[1]}) holds characters an HTTP header cannot carry"
            ) from None
        secrets.append((name, value))
    return secrets


def _accepted(status: int, ranges: list[tuple[int, int]]) -> bool:
    return any(low <= status <= high for low, high in ranges)


def _ranges_text(ranges: list[tuple[int, int]]) -> str:
    return ", ".join(str(low) if low == high else f"{low}-{high}" for low, high in ranges)


def _keeps_secrets(origin: Target, following: Target) -> bool:
    """Whether a redirect may take the secret headers along: to the same host and port
    over the same scheme, or from http to https on their default ports."""
    if origin.host != following.host:
        return False
    if (origin.scheme, origin.port) == (following.scheme, following.port):
        return True
    upgrade = ("http", 80, "https", 443)
    return (origin.scheme, origin.port, following.scheme, following.port) == upgrade


# --------------------------------------------------------------------------- probe


def probe(opts: Opts) -> Result:
    secrets = _read_secrets(opts.secret_headers or [])
    return redacting(lambda: _probe(opts, secrets), lambda text: redacted(text, secrets))


def _tls_context(opts: Opts) -> ssl.SSLContext:
    from mdd.checks._tls import client_context  # ssl: only for https

    return client_context(
        verify=not opts.insecure,
        ca_file=opts.ca_file,
        client_cert=opts.client_cert,
        client_key=opts.client_key,
    )


def _redirected_request(status: int, method: str, body: bytes | None) -> tuple[str, bytes | None]:
    """The method and body of the request that follows a redirect: 303 (and 301/302 after a
    POST, as browsers do) becomes a GET without a body."""
    if status == 303 or (status in (301, 302) and method == "POST"):
        return ("GET" if method != "HEAD" else method), None
    return method, body


def _unexpected_status(
    response: Answer,
    target: Target,
    ranges: list[tuple[int, int]],
    opts: Opts,
    hidden: list[tuple[str, str]],
) -> str:
    """What follows "URL returned STATUS" when the status is not one expected."""
    expected = f"expected {_ranges_text(ranges)}"
    if response.status in _REDIRECTS and response.location:
        from urllib.parse import urljoin

        leads = urljoin(target.url, ascii_text(response.location, "latin-1"))
        hint = "" if opts.follow_redirects else "; set follow_redirects: true to follow it"
        return f", a redirect to {leads} ({expected}{hint})"
    text = readable(redacted(text_of(response)[:65536], hidden))
    tail = f": {excerpt(text, 60)}" if text else ""
    return f" ({expected}){tail}"


def _probe(opts: Opts, secrets: list[tuple[str, str]]) -> Result:
    started = time.monotonic()
    deadline = budget_deadline(opts.timeout)
    ranges: list[tuple[int, int]] = opts.status or DEFAULT_STATUS
    method: str = opts.method
    body = opts.body.encode("utf-8") if opts.body is not None else None
    literal: list[tuple[str, str]] = list(opts.headers or [])
    first = target_of(opts.url)
    hidden = secrets  # never quoted, even after a redirect to another host stops sending them
    context: ssl.SSLContext | None = None
    redirects: list[str] = []
    target = first
    while True:
        if target.scheme == "https" and context is None:
            context = _tls_context(opts)
        try:
            response = exchange(target, method, literal + secrets, body, opts, context, deadline)
        except CheckFailed as exc:
            message = str(exc)
            if redirects:
                message = f"{opts.url} redirected to {target.url}, then: {message}"
            return Result(State.CRITICAL, message)
        except TimeoutError:
            return Result(
                State.CRITICAL,
                f"{target.url} sent no response within {duration_text(opts.timeout)}",
            )
        if not (opts.follow_redirects and response.status in _REDIRECTS and response.location):
            break
        if len(redirects) >= MAX_REDIRECTS:
            return Result(
                State.CRITICAL,
                f"{opts.url} redirected more than {MAX_REDIRECTS} times (last to {target.url})",
            )
        try:
            from urllib.parse import urljoin

            following = target_of(urljoin(target.url, ascii_text(response.location, "latin-1")))
        except CheckFailed as exc:
            return Result(State.CRITICAL, f"{target.url} returned {response.status}: {exc}")
        method, body = _redirected_request(response.status, method, body)
        if not _keeps_secrets(target, following):
            secrets = []  # never send a secret on to another host or port, or over plain HTTP
        redirects.append(following.url)
        target = following
    elapsed = time.monotonic() - started

    who = opts.url if not redirects else f"{opts.url} redirected to {target.url}, which"
    answered = f"{who} returned {response.status} {response.reason}".rstrip()
    perf = (
        Perf("time", round(elapsed, 6), "s", opts.warn, opts.crit, 0.0, opts.timeout),
        Perf("size", len(response.body), "B"),
    )
    if not _accepted(response.status, ranges):
        reason = _unexpected_status(response, target, ranges, opts, hidden)
        return Result(State.CRITICAL, answered + reason, perf)

    problems, verified = content_problems(response, opts, hidden)
    if problems:
        return Result(State.CRITICAL, f"{answered} but its " + "; ".join(problems), perf)

    message = f"{answered} in {elapsed * 1000:.1f} ms"
    if verified:
        message += ", " + ", ".join(verified)
    if opts.connect_to:
        message += f" via connect_to {opts.connect_to}"
    if opts.insecure and any(url.startswith("https:") for url in [opts.url, *redirects]):
        message += " (certificate not verified: insecure)"
    return timed_result(message, elapsed, opts.warn, opts.crit, perf)


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
