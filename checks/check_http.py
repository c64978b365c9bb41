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
or a plain file path. It is read on every run, its value is never printed (nor any part
of it a server echoes back, whole, in part, JSON-escaped or percent-encoded), and it is not
sent on when a redirect leads to another host or port, or from https to http. The body is
read up to 1 MiB; ``matches`` sees that much at most.
"""

from __future__ import annotations

import argparse
import re
import socket
import ssl
import time
from collections.abc import Mapping
from urllib.parse import SplitResult, urljoin, urlsplit

from mdd.checks._base import Deadline, MddCheck
from mdd.checks._net import DeadlineSocket, connect
from mdd.checks._options import (
    ADDRESS,
    BOOLEAN,
    DURATION,
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
)
from mdd.checks._result import CheckError, Perf, Result, State, timed_result
from mdd.checks._secrets import read_secret, redact
from mdd.checks._shared import threshold_rules
from mdd.checks._tls import CA_FILE, CLIENT_CERT, CLIENT_KEY, client_context

TYPE_CHECKING = False  # typing costs every run a few ms; annotations alone need it
if TYPE_CHECKING:
    from typing import Any

TYPE = "http"
SUMMARY = "An HTTP(S) endpoint answers with the expected status, body, JSON and response time."
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
DEFAULT_STATUS = [(200, 299)]
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
        "Request headers whose values are read, at run time, from the agent: "
        "{file: /path} or {env: VARIABLE} (Authorization, tokens, cookies). The values are "
        "never printed.",
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
    Option("timeout", DURATION, "Give up after this long, redirects included.", default=10.0),
    Option("warn", DURATION, "WARNING when the exchange takes longer than this."),
    Option("crit", DURATION, "CRITICAL when the exchange takes longer than this."),
)
EXAMPLE: Mapping[str, Any] = {
    "url": "https://artifacts.ams1.example.net/health",
    "contains": "OK",
    "secret_headers": {"Authorization": {"file": "/etc/mdd/artifacts.token"}},
}

BODY_LIMIT = 1 << 20  # bytes of body read and checked
MAX_REDIRECTS = 10
_REDIRECTS = (301, 302, 303, 307, 308)
_SECRET_NAMES = {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"}
_SECRET_WORDS = ("token", "secret", "password", "passwd", "apikey", "api-key", "api_key")
_TLS_OPTIONS = ("ca_file", "insecure", "client_cert", "client_key")


def is_secret_header(name: str) -> bool:
    """Whether a header name says its value is a secret."""
    lower = name.lower()
    return lower in _SECRET_NAMES or any(word in lower for word in _SECRET_WORDS)


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    problems: list[tuple[str, str]] = []
    headers = _pairs(values.get("headers"))
    secret_headers = _pairs(values.get("secret_headers"))
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
    for name, _ in secret_headers:
        if name.lower() in literal:
            problems.append(
                ("secret_headers", f"header {name} is in both headers and secret_headers")
            )

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
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        try:
            port = parts.port
        except ValueError:
            port = None
            problems.append(("proxy", f"{proxy!r} has a bad port number"))
        else:
            if port is None:
                problems.append(
                    ("proxy", f"give the proxy's port, such as http://{parts.hostname}:3128")
                )

    problems += threshold_rules(values, OPTIONS)
    return problems


def _pairs(value: object) -> list[tuple[str, Any]]:
    if not isinstance(value, list):
        return []
    return [(str(pair[0]), pair[1]) for pair in value if isinstance(pair, tuple) and len(pair) == 2]


# --------------------------------------------------------------------------- helpers


class _Failure(Exception):
    """The exchange failed: the message says how (CRITICAL)."""


class _Refused(_Failure):
    """The proxy answered CONNECT with a refusal (a non-2xx status)."""


class _Target:
    url: str
    scheme: str
    host: str  # without brackets
    port: int
    path: str  # origin-form request target

    __slots__ = ("url", "scheme", "host", "port", "path")

    def __init__(
        self,
        url: str,
        scheme: str,
        host: str,
        port: int,
        path: str,
    ) -> None:
        self.url = url
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def absolute(self) -> str:
        """The URL without user info or fragment: the request target for a proxy."""
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        netloc = host if self.port == default else f"{host}:{self.port}"
        return f"{self.scheme}://{netloc}{self.path}"


def _target(url: str) -> _Target:
    parts: SplitResult = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Failure(f"cannot follow a redirect to {url!r}: not an http:// or https:// URL")
    try:
        port = parts.port
    except ValueError:
        raise _Failure(f"cannot follow a redirect to {url!r}: bad port number") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    path = _ascii(path, "utf-8")
    return _Target(
        url, parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path
    )


def _ascii(text: str, encoding: str) -> str:
    """``text`` with each byte a request line cannot carry (anything but printable ASCII)
    percent-encoded, as browsers send it: ``/café`` -> ``/caf%C3%A9`` in UTF-8. A redirect's
    Location is read as latin-1, which gives back the bytes the server sent."""
    if text.isascii() and text.isprintable() and " " not in text:
        return text
    raw = text.encode(encoding, "replace")
    return "".join(chr(b) if 0x20 < b < 0x7F else f"%{b:02X}" for b in raw)


def _split_address(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address -> (host, port)."""
    match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", text)
    if match:
        return match.group(1), int(match.group(2)) if match.group(2) else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, int(port)
    return text, None


def _read_secrets(pairs: list[tuple[str, tuple[str, str]]]) -> list[tuple[str, str]]:
    """(header, value) for each secret header (``_secrets.read_secret``: a file that is no
    regular file, too large, missing or empty is UNKNOWN, never waited for)."""
    secrets: list[tuple[str, str]] = []
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


def _redact(text: str, secrets: list[tuple[str, str]]) -> str:
    """``text`` without the secret values, whole or in part, as is or escaped (``redact``)."""
    return redact(text, [value for _, value in secrets]) if secrets else text


REASON_LIMIT = 100  # characters of a reason phrase quoted
LOCATION_LIMIT = 2048  # a longer Location is not followed


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _location(value: str | None) -> str | None:
    """The Location to follow; None for one too long to be a real one (a cut URL could
    lead to a page that answers 200, and the check would say OK for a broken redirect)."""
    return value if value is None or len(value) <= LOCATION_LIMIT else None


def _excerpt(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _readable(text: str) -> str:
    """The words of an error page: HTML tags, scripts and styles taken out.

    One pass over at most the first 64 KiB (a page of unclosed tags costs no more).
    """
    text = text[:65536]
    if "<" in text[:512]:
        lower = text.lower()
        words: list[str] = []
        pos = 0
        while pos < len(text):
            start = text.find("<", pos)
            if start < 0:
                words.append(text[pos:])
                break
            words.append(text[pos:start])
            block = re.match(r"<(script|style|head)\b", lower[start : start + 8])
            if block:
                close = lower.find(f"</{block.group(1)}", start)
                end = lower.find(">", close) if close >= 0 else -1
            else:
                end = text.find(">", start)
            if end < 0:
                break
            words.append(" ")
            pos = end + 1
        text = re.sub(r"&(nbsp|amp|lt|gt|quot);", " ", "".join(words))
    return " ".join(text.split())


def _json_text(value: Any, secrets: list[tuple[str, str]], limit: int = 60) -> str:
    import json

    text = _redact(json.dumps(value, ensure_ascii=False, sort_keys=True)[: limit * 8], secrets)
    return text if len(text) <= limit else text[:limit] + "..."


def _same(found: Any, expected: Any) -> bool:
    """JSON equality that tells true from 1 and "1" from 1."""
    if isinstance(found, bool) or isinstance(expected, bool):
        return type(found) is type(expected) and found == expected
    if isinstance(found, int | float) and isinstance(expected, int | float):
        return found == expected
    if isinstance(found, dict) and isinstance(expected, dict):
        return found.keys() == expected.keys() and all(_same(found[k], expected[k]) for k in found)
    if isinstance(found, list) and isinstance(expected, list):
        return len(found) == len(expected) and all(map(_same, found, expected))
    return type(found) is type(expected) and found == expected


_MISSING = object()


def _lookup(document: Any, path: str) -> Any:
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _tls_reason(exc: ssl.SSLError, opts: argparse.Namespace) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = f"certificate verify failed: {exc.verify_message}"
        if exc.verify_code in (2, 19, 20, 21):  # issuer unknown, self-signed chain
            if opts.ca_file:
                message += f" (it is not issued by a CA in ca_file {opts.ca_file}"
            else:
                message += " (the system does not trust its CA: set ca_file to that CA"
            if exc.verify_code in (20, 21):  # the issuer of the last certificate sent is missing
                message += "; or the server does not send its intermediate certificate"
            message += ")"
        return message
    reason = str(exc.reason or "")
    if "CERTIFICATE_REQUIRED" in reason:
        return "requires a client certificate" + ("" if opts.client_cert else ": set client_cert")
    if reason in ("SSLV3_ALERT_BAD_CERTIFICATE", "TLSV1_ALERT_UNKNOWN_CA"):
        why = reason.lower().replace("_", " ")
        return f"rejected the client certificate {opts.client_cert} ({why})"
    if reason == "WRONG_VERSION_NUMBER":
        return "TLS handshake failed: wrong version number (is it plain HTTP, not HTTPS?)"
    if isinstance(exc, ssl.SSLEOFError) or reason == "UNEXPECTED_EOF_WHILE_READING":
        return "closed the connection during the TLS handshake"
    if reason == "SSLV3_ALERT_HANDSHAKE_FAILURE" and not opts.client_cert:
        return (  # TLS 1.2 servers say no more than this when a client certificate is missing
            "TLS handshake failed: sslv3 alert handshake failure (the server shares no cipher "
            "with this check, or requires a client certificate: set client_cert)"
        )
    if not reason:
        return f"TLS handshake failed: {exc}"
    return f"TLS handshake failed: {reason.lower().replace('_', ' ')}"


class _Response:
    status: int
    reason: str
    location: str | None
    charset: str
    body: bytes
    truncated: bool

    __slots__ = ("status", "reason", "location", "charset", "body", "truncated")

    def __init__(
        self,
        status: int,
        reason: str,
        location: str | None,
        charset: str,
        body: bytes,
        truncated: bool,
    ) -> None:
        self.status = status
        self.reason = reason
        self.location = location
        self.charset = charset
        self.body = body
        self.truncated = truncated


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError()
    return remaining


def _connect(
    host: str, port: int, where: str, opts: argparse.Namespace, deadline: float
) -> socket.socket:
    try:
        return connect(host, port, deadline)[0]
    except ConnectionRefusedError:
        raise _Failure(f"{where} refused the connection") from None
    except TimeoutError:
        raise _Failure(
            f"{where} did not answer within {duration_text(opts.timeout)} (host down or filtered)"
        ) from None
    except socket.gaierror as exc:
        raise _Failure(f"cannot resolve {host}: {exc.strerror}") from None
    except OSError as exc:
        raise _Failure(f"{where} cannot be reached: {exc.strerror or exc}") from None


def _tunnel(
    sock: socket.socket, target: _Target, where: str, opts: argparse.Namespace, deadline: float
) -> None:
    """Open a CONNECT tunnel through the proxy on ``sock`` to the target."""
    request = f"CONNECT {target.hostport} HTTP/1.1\r\nHost: {target.hostport}\r\n\r\n"
    reply = b""
    try:
        sock.settimeout(_remaining(deadline))
        sock.sendall(request.encode("ascii"))
        while b"\r\n\r\n" not in reply and len(reply) < 65536:
            sock.settimeout(_remaining(deadline))
            chunk = sock.recv(4096)
            if not chunk:
                raise _Failure(f"{where} closed the connection during CONNECT to {target.hostport}")
            reply += chunk
    except (TimeoutError, Deadline):
        raise _Failure(
            f"{where} did not answer CONNECT to {target.hostport} "
            f"within {duration_text(opts.timeout)}"
        ) from None
    except OSError as exc:
        raise _Failure(
            f"{where} dropped CONNECT to {target.hostport}: {exc.strerror or exc}"
        ) from None
    status_line = reply.split(b"\r\n", 1)[0].decode("latin-1")
    match = re.match(r"HTTP/\d\.\d\s+(\d{3})\s*(.*)", status_line)
    if not match:
        raise _Failure(f"{where} did not answer CONNECT with HTTP (got {_excerpt(status_line)})")
    if not match.group(1).startswith("2"):
        raise _Refused(
            f"{where} refused CONNECT to {target.hostport}: "
            f"{match.group(1)} {match.group(2).strip()}".rstrip()
        )


def _exchange(
    target: _Target,
    method: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    opts: argparse.Namespace,
    context: ssl.SSLContext | None,
    deadline: float,
) -> _Response:
    """One request and its response; raises ``_Failure`` saying what went wrong."""
    # Here, not at the top: http.client imports the email package (about 20 ms a run), and
    # the proxy check's paths that never read an HTTP response (denied: true) need none.
    import http.client

    url = target.url
    waited = duration_text(opts.timeout)
    if opts.proxy:
        proxy = urlsplit(opts.proxy if "://" in opts.proxy else f"http://{opts.proxy}")
        phost, pport = proxy.hostname or "", proxy.port or 80
        where = f"proxy {phost}:{pport}"
        sock = _connect(phost, pport, where, opts, deadline)
    else:
        host, port = target.host, target.port
        where = target.hostport
        if opts.connect_to:
            first = _target(opts.url)
            to_host, to_port = _split_address(opts.connect_to)
            if (target.host, target.port) == (first.host, first.port) or (
                to_port is None and target.host == first.host
            ):
                host, port = to_host, to_port or target.port
                shown = f"[{host}]" if ":" in host else host
                where = f"{shown}:{port} (connect_to for {target.host})"
        sock = _connect(host, port, where, opts, deadline)

    try:
        if opts.proxy and target.scheme == "https":
            _tunnel(sock, target, where, opts, deadline)
        if target.scheme == "https":
            assert context is not None
            try:
                sock.settimeout(_remaining(deadline))
                sock = context.wrap_socket(sock, server_hostname=target.host)
            except ssl.SSLError as exc:
                raise _Failure(f"{url} {_tls_reason(exc, opts)}") from None
            except (TimeoutError, Deadline):
                raise _Failure(f"{url} did not finish the TLS handshake within {waited}") from None
            except OSError as exc:
                raise _Failure(
                    f"{url} dropped the connection during the TLS handshake: {exc.strerror or exc}"
                ) from None

        conn = http.client.HTTPConnection(target.host, target.port)
        conn.default_port = 443 if target.scheme == "https" else 80
        conn.sock = DeadlineSocket(sock, deadline)
        names = {name.lower() for name, _ in headers}
        request_target = target.absolute if opts.proxy and target.scheme == "http" else target.path
        try:
            sock.settimeout(_remaining(deadline))
            conn.putrequest(method, request_target, skip_host="host" in names)
            if "user-agent" not in names:
                conn.putheader("User-Agent", "mdd-check-http")
            conn.putheader("Connection", "close")
            for name, value in headers:
                conn.putheader(name, value)
            if body is not None or method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body or b"")))
            conn.endheaders(body)
            sock.settimeout(_remaining(deadline))
            response = conn.getresponse()
            while 100 < response.status < 200 and response.status != 101:
                # An interim answer (103 Early Hints): the response follows it. begin() reads
                # the next status line and headers when it has none.
                response.headers = None  # type: ignore[assignment]
                response.begin()
        except (TimeoutError, Deadline):  # Deadline: the answer trickled in past the timeout
            raise _Failure(f"{url} sent no response within {waited}") from None
        except ssl.SSLError as exc:
            raise _Failure(f"{url} {_tls_reason(exc, opts)}") from None
        except http.client.RemoteDisconnected:
            raise _Failure(f"{url} closed the connection without a response") from None
        except http.client.BadStatusLine as exc:
            raise _Failure(f"{url} did not answer with HTTP (got {_excerpt(str(exc))})") from None
        except http.client.HTTPException as exc:
            raise _Failure(
                f"{url} sent a malformed response: {type(exc).__name__}: {exc}"
            ) from None
        except OSError as exc:
            raise _Failure(f"{url} dropped the connection: {exc.strerror or exc}") from None

        status = response.status
        lengths = response.headers.get_all("Content-Length") or []
        if (
            any(not re.fullmatch(r"\s*\d{1,18}\s*", v) for v in lengths)
            or len({v.strip() for v in lengths}) > 1
        ):
            shown = _clip(", ".join(lengths), 60)
            raise _Failure(
                f"{url} returned {status} with an invalid Content-Length ({shown!r}): the "
                f"body cannot be read reliably"
            )
        chunks: list[bytes] = []
        size = 0
        try:
            while size <= BODY_LIMIT and not response.isclosed():
                sock.settimeout(_remaining(deadline))
                chunk = response.read(min(65536, BODY_LIMIT + 1 - size))
                if not chunk:
                    # read() ends quietly where the server closed before Content-Length.
                    if response.length:
                        raise _Failure(
                            f"{url} returned {status} but closed the connection after {size} "
                            f"of {size + response.length} bytes of the body"
                        )
                    break
                chunks.append(chunk)
                size += len(chunk)
        except (TimeoutError, Deadline):
            raise _Failure(
                f"{url} returned {status} but its body did not arrive within {waited}"
            ) from None
        except http.client.IncompleteRead as exc:
            raise _Failure(
                f"{url} returned {status} but closed the connection after "
                f"{len(exc.partial) + size} bytes of the body"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Failure(f"{url} returned {status} but the body broke off: {exc}") from None
        data = b"".join(chunks)
        reason = _clip(response.reason.strip(), REASON_LIMIT)
        if not reason:
            try:
                reason = http.HTTPStatus(status).phrase
            except ValueError:
                reason = ""
        location = response.getheader("Location")
        if location is not None and _location(location) is None:
            reason += f" (with a Location of {len(location):,} characters, not followed)"
        return _Response(
            status=status,
            reason=reason,
            location=_location(location),
            charset=response.headers.get_content_charset() or "utf-8",
            body=data[:BODY_LIMIT],
            truncated=len(data) > BODY_LIMIT,
        )
    finally:
        sock.close()


def _accepted(status: int, ranges: list[tuple[int, int]]) -> bool:
    return any(low <= status <= high for low, high in ranges)


def _ranges_text(ranges: list[tuple[int, int]]) -> str:
    return ", ".join(str(low) if low == high else f"{low}-{high}" for low, high in ranges)


def _text(response: _Response) -> str:
    try:
        return response.body.decode(response.charset, "replace")
    except LookupError:
        return response.body.decode("utf-8", "replace")


def _content_problems(
    response: _Response, opts: argparse.Namespace, secrets: list[tuple[str, str]]
) -> tuple[list[str], list[str]]:
    """(problems, what was verified) for contains, matches and json; no secret is quoted."""
    problems: list[str] = []
    verified: list[str] = []
    if opts.contains is None and opts.matches is None and not opts.json:
        return problems, verified
    text = _text(response)
    # Redacted before the excerpt is cut: a cut through a secret would show its first part.
    found = (
        f"got {_excerpt(_redact(text[:4096], secrets))}" if text.strip() else "got an empty body"
    )
    scope = " in its first 1 MiB" if response.truncated else ""
    if opts.contains is not None:
        if opts.contains in text:
            verified.append(f"body contains {opts.contains!r}")
        else:
            problems.append(f"body does not contain {opts.contains!r}{scope} ({found})")
    if opts.matches is not None:
        if _search(opts.matches, text):
            verified.append(f"body matches /{opts.matches}/")
        else:
            problems.append(f"body does not match /{opts.matches}/{scope} ({found})")
    if opts.json:
        import json

        if response.truncated:
            problems.append("body is larger than 1 MiB, too large to check as JSON")
            return problems, verified
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(
                f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno} ({found})"
            )
            return problems, verified
        except (RecursionError, ValueError) as exc:  # nested too deeply; a 5000-digit number
            why = "nested too deeply" if isinstance(exc, RecursionError) else "a number too long"
            problems.append(f"body is not JSON this check can read ({why})")
            return problems, verified
        for path, expected in opts.json:
            value = _lookup(document, path)
            if value is _MISSING:
                problems.append(f"json has no {path}")
            elif not _same(value, expected):
                problems.append(
                    f"json {path} is {_json_text(value, secrets)}, "
                    f"expected {_json_text(expected, secrets)}"
                )
            else:
                verified.append(f"json {path} is {_json_text(value, secrets)}")
    return problems, verified


def _search(pattern: str, text: str) -> bool:
    """``re.search``; a pattern that backtracks past the timeout is the check's problem."""
    try:
        return re.search(pattern, text) is not None
    except Deadline:  # the backstop alarm interrupts the regex engine
        raise CheckError(
            f"matching /{pattern}/ against the body took longer than the timeout: the regex "
            f"backtracks catastrophically on this body; simplify it (e.g. no nested repeats)"
        ) from None


def _keeps_secrets(origin: _Target, following: _Target) -> bool:
    """Whether a redirect may take the secret headers along: to the same host and port
    over the same scheme, or from http to https on their default ports."""
    if origin.host != following.host:
        return False
    if (origin.scheme, origin.port) == (following.scheme, following.port):
        return True
    upgrade = ("http", 80, "https", 443)
    return (origin.scheme, origin.port, following.scheme, following.port) == upgrade


# --------------------------------------------------------------------------- probe


def probe(opts: argparse.Namespace) -> Result:
    secrets = _read_secrets(opts.secret_headers or [])
    try:
        result = _probe(opts, secrets)
    except Deadline:
        raise
    except CheckError as exc:
        raise CheckError(_redact(str(exc), secrets)) from None
    except Exception as exc:  # never let a secret out through an unexpected error
        raise CheckError(
            _redact(f"check failed to run: {type(exc).__name__}: {exc}", secrets)
        ) from None
    return Result(result.state, _redact(result.message, secrets), result.perfdata)


def _probe(opts: argparse.Namespace, secrets: list[tuple[str, str]]) -> Result:
    started = time.monotonic()
    deadline = started + opts.timeout
    ranges: list[tuple[int, int]] = opts.status or DEFAULT_STATUS
    method: str = opts.method
    body = opts.body.encode("utf-8") if opts.body is not None else None
    literal: list[tuple[str, str]] = list(opts.headers or [])
    first = _target(opts.url)
    hidden = secrets  # never quoted, even after a redirect to another host stops sending them
    context: ssl.SSLContext | None = None
    redirects: list[str] = []
    target = first
    while True:
        if target.scheme == "https" and context is None:
            context = client_context(
                verify=not opts.insecure,
                ca_file=opts.ca_file,
                client_cert=opts.client_cert,
                client_key=opts.client_key,
            )
        try:
            response = _exchange(target, method, literal + secrets, body, opts, context, deadline)
        except _Failure as exc:
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
            following = _target(urljoin(target.url, _ascii(response.location, "latin-1")))
        except _Failure as exc:
            return Result(State.CRITICAL, f"{target.url} returned {response.status}: {exc}")
        if response.status == 303 or (response.status in (301, 302) and method == "POST"):
            method = "GET" if method != "HEAD" else method
            body = None
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
        expected = f"expected {_ranges_text(ranges)}"
        if response.status in _REDIRECTS and response.location:
            leads = urljoin(target.url, _ascii(response.location, "latin-1"))
            hint = "" if opts.follow_redirects else "; set follow_redirects: true to follow it"
            return Result(
                State.CRITICAL, f"{answered}, a redirect to {leads} ({expected}{hint})", perf
            )
        text = _readable(_redact(_text(response)[:65536], hidden))
        tail = f": {_excerpt(text, 60)}" if text else ""
        return Result(State.CRITICAL, f"{answered} ({expected}){tail}", perf)

    problems, verified = _content_problems(response, opts, hidden)
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


class HttpCheck(MddCheck):
    DOC = __doc__ or ""
    OPTIONS = OPTIONS

    def probe(self, opts: argparse.Namespace) -> Result:
        return probe(opts)


def main() -> None:
    HttpCheck()


if __name__ == "__main__":
    main()
