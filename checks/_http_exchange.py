"""One HTTP request and its response, for the http and proxy checks.

Connects (to the URL's host, to ``connect_to``, or to the proxy), opens a CONNECT tunnel
and TLS where the target needs them, writes the request and reads the response with
``_http_wire``. Whatever goes wrong raises ``CheckFailed`` with a message that says what.
``ssl`` is imported only for a target that needs TLS: a plain http:// run never loads it.
"""

from __future__ import annotations

import re
import socket
import time

from mdd.checks import _http_wire as wire
from mdd.checks._base import Deadline
from mdd.checks._net import connect, timeout_reason
from mdd.checks._options import duration_text
from mdd.checks._result import CheckError, CheckFailed, Record
from mdd.checks._shared import excerpt

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    import ssl
    from typing import Protocol

    from mdd.checks._typed import Common

    class ExchangeOpts(Common, Protocol):  # what an exchange reads of http's (proxy's) options
        url: str
        proxy: str | None
        connect_to: str | None
        ca_file: str | None
        client_cert: str | None


BODY_LIMIT = 1 << 20  # bytes of body read and checked
REASON_LIMIT = 100  # characters of a reason phrase quoted
LOCATION_LIMIT = 2048  # a longer Location is not followed


class Refused(CheckFailed):
    """The proxy answered CONNECT with a refusal (a non-2xx status)."""


class Target(Record):
    url: str
    scheme: str
    host: str  # without brackets
    port: int
    path: str  # origin-form request target

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def default_port(self) -> int:
        return 443 if self.scheme == "https" else 80

    @property
    def absolute(self) -> str:
        """The URL without user info or fragment: the request target for a proxy."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        netloc = host if self.port == self.default_port else f"{host}:{self.port}"
        return f"{self.scheme}://{netloc}{self.path}"


def target_of(url: str) -> Target:
    """The target of ``url``; ``CheckFailed`` for one that is not an http(s) URL."""
    simple = _simple_target(url)
    if simple is not None:
        return simple
    from urllib.parse import urlsplit  # for all but the plainest URLs

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CheckFailed(f"cannot follow a redirect to {url!r}: not an http:// or https:// URL")
    try:
        port = parts.port
    except ValueError:
        raise CheckFailed(f"cannot follow a redirect to {url!r}: bad port number") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    path = ascii_text(path, "utf-8")
    return Target(
        url, parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path
    )


_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")


def _simple_target(url: str) -> Target | None:
    """The target of a plain URL (``http[s]://name-or-IPv4[:port]/printable-ASCII``), as
    ``urlsplit`` reads it, without importing ``urllib.parse`` (with ``ipaddress``, a few ms a
    run); None for anything else (user info, IPv6, non-ASCII, white space), which
    ``urlsplit`` reads."""
    scheme, sep, rest = url.partition("://")
    if scheme not in ("http", "https") or not sep:
        return None
    if not (rest.isascii() and rest.isprintable()) or any(c in rest for c in " @\\[]"):
        return None
    rest = rest.partition("#")[0]
    end = len(rest)
    for mark in "/?":
        found = rest.find(mark)
        if 0 <= found < end:
            end = found
    netloc, tail = rest[:end], rest[end:]
    host, _, port_text = netloc.partition(":")
    if not host or not _NAME.issuperset(host) or not port_text.isdigit() and port_text:
        return None
    port = int(port_text) if port_text else (443 if scheme == "https" else 80)
    if not 0 < port <= 65535:
        return None
    path, _, query = tail.partition("?")
    path = (path or "/") + (f"?{query}" if query else "")
    return Target(url, scheme, host.lower(), port, path)


def ascii_text(text: str, encoding: str) -> str:
    """``text`` with each byte a request line cannot carry (anything but printable ASCII)
    percent-encoded, as browsers send it: ``/café`` -> ``/caf%C3%A9`` in UTF-8. A redirect's
    Location is read as latin-1, which gives back the bytes the server sent."""
    if text.isascii() and text.isprintable() and " " not in text:
        return text
    raw = text.encode(encoding, "replace")
    return "".join(chr(b) if 0x20 < b < 0x7F else f"%{b:02X}" for b in raw)


def split_address(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address -> (host, port)."""
    match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", text)
    if match:
        return match.group(1), int(match.group(2)) if match.group(2) else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, int(port)
    return text, None


def proxy_address(proxy: str) -> tuple[str, int]:
    """(host, port) of a proxy URL such as ``http://proxy:3128``."""
    from urllib.parse import urlsplit

    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return parts.hostname or "", parts.port or 80


def proxy_problems(proxy: str) -> list[tuple[str, str]]:
    """What is wrong with a proxy URL for ``proxy_address`` (a bad port, or none): the rule
    of the http and proxy checks' ``proxy`` option."""
    from urllib.parse import urlsplit

    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    try:
        port = parts.port
    except ValueError:
        return [("proxy", f"{proxy!r} has a bad port number")]
    if port is None:
        return [("proxy", f"give the proxy's port, such as http://{parts.hostname}:3128")]
    return []


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _location(value: str | None) -> str | None:
    """The Location to follow; None for one too long to be a real one (a cut URL could
    lead to a page that answers 200, and the check would say OK for a broken redirect)."""
    return value if value is None or len(value) <= LOCATION_LIMIT else None


def tls_reason(exc: ssl.SSLError, opts: ExchangeOpts) -> str:
    import ssl  # loaded already: the exception is ssl's

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


class Answer(Record):
    status: int
    reason: str
    location: str | None
    charset: str
    body: bytes
    truncated: bool


def remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError()
    return left


def open_connection(
    host: str, port: int, where: str, opts: ExchangeOpts, deadline: float
) -> socket.socket:
    try:
        return connect(host, port, deadline)[0]
    except ConnectionRefusedError:
        raise CheckFailed(f"{where} refused the connection") from None
    except TimeoutError as exc:
        raise CheckFailed(timeout_reason(where, opts.timeout, exc)) from None
    except socket.gaierror as exc:
        raise CheckFailed(f"cannot resolve {host}: {exc.strerror}") from None
    except OSError as exc:
        raise CheckFailed(f"{where} cannot be reached: {exc.strerror or exc}") from None


def tunnel(
    sock: socket.socket, target: Target, where: str, opts: ExchangeOpts, deadline: float
) -> None:
    """Open a CONNECT tunnel through the proxy on ``sock`` to the target."""
    request = f"CONNECT {target.hostport} HTTP/1.1\r\nHost: {target.hostport}\r\n\r\n"
    reply = b""
    try:
        sock.settimeout(remaining(deadline))
        sock.sendall(request.encode("ascii"))
        while b"\r\n\r\n" not in reply and len(reply) < 65536:
            sock.settimeout(remaining(deadline))
            chunk = sock.recv(4096)
            if not chunk:
                raise CheckFailed(
                    f"{where} closed the connection during CONNECT to {target.hostport}"
                )
            reply += chunk
    except (TimeoutError, Deadline):
        raise CheckFailed(
            f"{where} did not answer CONNECT to {target.hostport} "
            f"within {duration_text(opts.timeout)}"
        ) from None
    except OSError as exc:
        raise CheckFailed(
            f"{where} dropped CONNECT to {target.hostport}: {exc.strerror or exc}"
        ) from None
    status_line = reply.split(b"\r\n", 1)[0].decode("latin-1")
    match = re.match(r"HTTP/\d\.\d\s+(\d{3})\s*(.*)", status_line)
    if not match:
        raise CheckFailed(f"{where} did not answer CONNECT with HTTP (got {excerpt(status_line)})")
    if not match.group(1).startswith("2"):
        raise Refused(
            f"{where} refused CONNECT to {target.hostport}: "
            f"{match.group(1)} {match.group(2).strip()}".rstrip()
        )


def request_head(
    method: str, target: Target, request_target: str, headers: list[tuple[str, str]]
) -> bytes:
    """The request line and headers, as ``http.client`` wrote them."""
    names = {name.lower() for name, _ in headers}
    lines = [f"{method} {request_target} HTTP/1.1"]
    if "host" not in names:
        host = target.host if target.host.isascii() else target.host.encode("idna").decode()
        host = f"[{host}]" if ":" in host else host
        port = target.port
        lines.append(f"Host: {host}" if port == target.default_port else f"Host: {host}:{port}")
    if "accept-encoding" not in names:
        lines.append("Accept-Encoding: identity")
    if "user-agent" not in names:
        lines.append("User-Agent: mdd-check-http")
    lines.append("Connection: close")
    for name, value in headers:
        if any(c in name + value for c in "\r\n\0") or not name or ":" in name:
            raise CheckError(f"header {name!r} cannot be sent: a line break or colon in it")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def exchange(
    target: Target,
    method: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    opts: ExchangeOpts,
    context: ssl.SSLContext | None,
    deadline: float,
) -> Answer:
    """One request and its response; raises ``CheckFailed`` saying what went wrong."""
    if opts.proxy:
        phost, pport = proxy_address(opts.proxy)
        where = f"proxy {phost}:{pport}"
        sock = open_connection(phost, pport, where, opts, deadline)
    else:
        host, port = target.host, target.port
        where = target.hostport
        if opts.connect_to:
            first = target_of(opts.url)
            to_host, to_port = split_address(opts.connect_to)
            if (target.host, target.port) == (first.host, first.port) or (
                to_port is None and target.host == first.host
            ):
                host, port = to_host, to_port or target.port
                shown = f"[{host}]" if ":" in host else host
                where = f"{shown}:{port} (connect_to for {target.host})"
        sock = open_connection(host, port, where, opts, deadline)

    try:
        if opts.proxy and target.scheme == "https":
            tunnel(sock, target, where, opts, deadline)
        if target.scheme == "https":
            sock = _start_tls(sock, target, opts, context, deadline)
        response = _request(sock, target, method, headers, body, opts, deadline)
    finally:
        sock.close()

    status = response.status
    reason = _clip(response.reason.strip(), REASON_LIMIT)
    if not reason:
        from http import HTTPStatus

        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    location = response.get("Location")
    if location is not None and _location(location) is None:
        reason += f" (with a Location of {len(location):,} characters, not followed)"
    return Answer(
        status=status,
        reason=reason,
        location=_location(location),
        charset=response.charset() or "utf-8",
        body=response.body,
        truncated=response.truncated,
    )


def _start_tls(
    sock: socket.socket,
    target: Target,
    opts: ExchangeOpts,
    context: ssl.SSLContext | None,
    deadline: float,
) -> socket.socket:
    import ssl

    assert context is not None
    url = target.url
    # An ASCII name goes as bytes: ssl encodes a str with the idna codec (~1.5 ms a run).
    name: str | bytes = target.host.encode("ascii") if target.host.isascii() else target.host
    try:
        sock.settimeout(remaining(deadline))
        return context.wrap_socket(sock, server_hostname=name)
    except ssl.SSLError as exc:
        raise CheckFailed(f"{url} {tls_reason(exc, opts)}") from None
    except (TimeoutError, Deadline):
        waited = duration_text(opts.timeout)
        raise CheckFailed(f"{url} did not finish the TLS handshake within {waited}") from None
    except OSError as exc:
        raise CheckFailed(
            f"{url} dropped the connection during the TLS handshake: {exc.strerror or exc}"
        ) from None


def _request(
    sock: socket.socket,
    target: Target,
    method: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    opts: ExchangeOpts,
    deadline: float,
) -> wire.Response:
    """Send the request on ``sock`` and read the whole response."""
    url = target.url
    waited = duration_text(opts.timeout)
    request_target = target.absolute if opts.proxy and target.scheme == "http" else target.path
    if body is not None or method in ("POST", "PUT", "PATCH"):
        headers = [*headers, ("Content-Length", str(len(body or b"")))]
    line = wire.Wire(sock, deadline)
    try:
        line.send(request_head(method, target, request_target, headers) + (body or b""))
        response = wire.read_head(line)
        frame = wire.framing(response, method)
    except (TimeoutError, Deadline):  # Deadline: the answer trickled in past the timeout
        raise CheckFailed(f"{url} sent no response within {waited}") from None
    except wire.Disconnected:
        raise CheckFailed(f"{url} closed the connection without a response") from None
    except wire.NotHttp as exc:
        raise CheckFailed(f"{url} did not answer with HTTP (got {excerpt(str(exc))})") from None
    except wire.BadLength as exc:
        shown = _clip(str(exc), 60)
        raise CheckFailed(
            f"{url} returned {exc.status} with an invalid Content-Length ({shown!r}): the "
            f"body cannot be read reliably"
        ) from None
    except wire.WireError as exc:
        raise CheckFailed(f"{url} sent a malformed response: {exc}") from None
    except OSError as exc:
        if target.scheme == "https":  # ssl is loaded then, and only then
            import ssl

            if isinstance(exc, ssl.SSLError):
                raise CheckFailed(f"{url} {tls_reason(exc, opts)}") from None
        raise CheckFailed(f"{url} dropped the connection: {exc.strerror or exc}") from None

    status = response.status
    try:
        wire.read_body(line, response, frame, BODY_LIMIT)
    except (TimeoutError, Deadline):
        raise CheckFailed(
            f"{url} returned {status} but its body did not arrive within {waited}"
        ) from None
    except wire.BodyCut as exc:
        raise CheckFailed(f"{url} returned {status} but {exc}") from None
    except wire.WireError as exc:
        raise CheckFailed(f"{url} returned {status} but its body is malformed: {exc}") from None
    except OSError as exc:
        raise CheckFailed(f"{url} returned {status} but the body broke off: {exc}") from None
    return response


class GetFailed(Exception):
    """``get`` failed. ``stage``: where (``connect``, ``tls``, ``head``, ``body``,
    ``setup``); ``late``: the deadline passed there; the message is the reason alone."""

    def __init__(self, stage: str, reason: str, late: bool = False) -> None:
        super().__init__(reason)
        self.stage = stage
        self.late = late


def get(
    scheme: str,
    host: str,
    port: int,
    target: str,
    headers: list[tuple[str, str]],
    deadline: float,
    limit: int,
    ca_file: str | None = None,
) -> wire.Response:
    """One ``GET target`` (path and query) from ``host:port`` and its whole response, all of
    it by ``deadline`` (every read waits only for the time left: a server trickling a byte
    a second cannot stretch it), the head capped as ``_http_wire`` caps it and the body at
    ``limit`` bytes (``truncated`` past it). For mdd's own HTTP clients (``mdd status``):
    the same reader as the http check. Raises ``GetFailed``."""
    url = f"{scheme}://{host}:{port}{target}"
    try:
        head = request_head("GET", Target(url, scheme, host, port, target), target, headers)
    except CheckError:
        raise GetFailed("setup", "a header holds a line break: it cannot be sent") from None
    try:
        sock = connect(host, port, deadline)[0]
    except socket.gaierror as exc:
        raise GetFailed("connect", str(exc.strerror)) from None
    except TimeoutError:
        raise GetFailed("head", "timed out", late=True) from None
    except OSError as exc:
        raise GetFailed("connect", str(exc.strerror or exc)) from None
    stage = "tls" if scheme == "https" else "head"
    try:
        if scheme == "https":
            sock = _client_tls(sock, host, deadline, ca_file)
            stage = "head"
        line = wire.Wire(sock, deadline)
        line.send(head)
        response = wire.read_head(line)
        frame = wire.framing(response, "GET")
        stage = "body"
        wire.read_body(line, response, frame, limit)
    except TimeoutError:
        raise GetFailed("head" if stage == "tls" else stage, "timed out", late=True) from None
    except wire.WireError as exc:
        raise GetFailed(stage, f"a malformed HTTP response: {exc}") from None
    except OSError as exc:
        raise GetFailed(stage, str(exc.strerror or exc)) from None
    finally:
        sock.close()
    return response


def _client_tls(
    sock: socket.socket, host: str, deadline: float, ca_file: str | None
) -> socket.socket:
    import ssl

    from mdd.checks._tls import client_context

    try:
        context = client_context(ca_file=ca_file)
    except CheckError as exc:
        raise GetFailed("setup", str(exc)) from None
    try:
        sock.settimeout(remaining(deadline))
        return context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        raise GetFailed("tls", f"certificate verify failed: {exc.verify_message}") from None
    except ssl.SSLError as exc:
        raise GetFailed("tls", str(exc.reason or exc)) from None
