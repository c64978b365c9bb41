"""proxy: the egress proxy lets the platform reach a URL, or, with ``denied: true``, refuses it.

Sends one GET for ``url`` through the HTTP proxy ``proxy`` (``http://host:port``): an
absolute-URI request for an ``http://`` URL, a CONNECT tunnel and then TLS for an
``https://`` URL (verified against the system's CAs, or ``ca_file``, for the URL's host).
The answer's status must be one of ``status`` (default 200-299). This is the http check's
own request machinery, so its messages read the same.

With ``denied: true`` the check proves an egress policy: it is green only when the proxy
itself refuses the request, that is when it answers CONNECT with a non-2xx status (for an
``https://`` URL; no TLS is attempted), or answers a plain ``http://`` request with 403 or
407. A proxy that forwards the request (whatever the destination answers), or that cannot be
reached at all, is CRITICAL: an unreachable proxy never counts as a refusal.

Limits of ``denied`` worth knowing: for a plain ``http://`` URL a 403 that the destination
itself sent through the proxy cannot be told from the proxy's own 403, so point the check
at a destination that never answers 403 (or use an ``https://`` URL, where the refusal is
the proxy's answer to CONNECT and cannot come from the destination). A proxy that refuses by
closing the connection or with another status (a 5xx) is reported CRITICAL, with what it
did, rather than green. A proxy that asks every client to authenticate answers CONNECT with
407 whatever the destination, so ``denied: true`` proves nothing about such a proxy's policy.

``timeout`` bounds the whole exchange; ``warn`` and ``crit`` are thresholds on its time.

Beside monitoring-plugins' ``check_http`` through a proxy (``-I proxy -p port -u
http://...``, and ``-j CONNECT -S``): the same colour for an allowed and a refused
destination (tested). ``check_http`` has no ``denied`` mode, asks CONNECT for port 443
whatever the URL says, and does not verify the destination's certificate.
"""

from __future__ import annotations

import time

from mdd.checks import _http_exchange as http_exchange
from mdd.checks import check_http
from mdd.checks._argv import Options
from mdd.checks._base import main_of
from mdd.checks._budget import deadline as budget_deadline
from mdd.checks._options import (
    ABSOLUTE_PATH,
    BOOLEAN,
    PROXY_URL,
    STATUS,
    URL,
    Option,
    timed,
)
from mdd.checks._result import CheckFailed, Perf, Result, State, timed_result
from mdd.checks._shared import threshold_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping
    from typing import Any, Protocol

    from mdd.checks._typed import Timed, Verifying

    class Opts(Timed, Verifying, Protocol):
        proxy: str
        url: str
        status: list[tuple[int, int]] | None
        denied: bool


TYPE = "proxy"
SUMMARY = "The egress proxy lets a URL through, or (denied: true) refuses it."
DEFAULT_STATUS = check_http.DEFAULT_STATUS  # what the http check, which it runs, accepts
OPTIONS: tuple[Option, ...] = (
    Option("proxy", PROXY_URL, "The HTTP proxy, http://host:port.", required=True),
    Option("url", URL, "The URL to request through the proxy.", required=True),
    Option(
        "status",
        STATUS,
        "Accepted status codes or ranges of the answer.",
        default=DEFAULT_STATUS,
        multiple=True,
    ),
    Option(
        "denied",
        BOOLEAN,
        "Green only when the proxy itself refuses the request (an egress-policy check).",
        default=False,
    ),
    Option(
        "ca_file",
        ABSOLUTE_PATH,
        "PEM file of CA certificates to trust for an https:// URL instead of the system's.",
    ),
    *timed("the exchange"),
)
EXAMPLE: Mapping[str, Any] = {
    "proxy": "http://proxy.ams1.example.net:3128",
    "url": "https://repo.example.net/",
    "status": ["200-399"],
}
# The Debian packages its tests use (.ci/setup installs them): servers and plugins they run.
TEST_PACKAGES = ("monitoring-plugins-basic",)

DENIAL_STATUSES = (403, 407)  # a plain http:// request the proxy refuses
_DEFAULTS = {opt.name: opt.default for opt in OPTIONS}


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    problems: list[tuple[str, str]] = []
    url = values.get("url")
    denied = bool(values.get("denied"))
    if denied and "status" in values:
        problems.append(
            ("status", "'status' has no meaning with denied: true (the proxy must refuse)")
        )
    if values.get("ca_file"):
        if isinstance(url, str) and url.startswith("http:"):
            problems.append(("ca_file", "'ca_file' has no meaning for an http:// URL (no TLS)"))
        elif denied:
            problems.append(
                ("ca_file", "'ca_file' has no meaning with denied: true (no TLS is attempted)")
            )
    proxy = values.get("proxy")
    if isinstance(proxy, str):
        problems += http_exchange.proxy_problems(proxy)
    problems += threshold_rules(values, OPTIONS)
    return problems


def _http_options(opts: Opts) -> argparse.Namespace:
    """The http check's options for one GET of ``url`` through ``proxy``."""
    values = {opt.name: opt.default for opt in check_http.OPTIONS}
    values.update(
        url=opts.url,
        proxy=opts.proxy,
        status=opts.status or DEFAULT_STATUS,
        ca_file=opts.ca_file,
        timeout=opts.timeout,
        warn=opts.warn,
        crit=opts.crit,
    )
    return Options(**values)


def _proxy_where(proxy: str) -> tuple[str, int, str]:
    host, port = http_exchange.proxy_address(proxy)
    shown = f"[{host}]" if ":" in host else host
    return host, port, f"proxy {shown}:{port}"


def probe(opts: Opts) -> Result:
    http_opts = _http_options(opts)
    if not opts.denied:
        result = check_http.probe(http_opts)
        _, _, where = _proxy_where(opts.proxy)
        if where in result.message:
            return result
        return Result(result.state, f"{result.message} (through {where})", result.perfdata)
    return _denied(opts, http_opts)


def _denied(opts: Opts, http_opts: argparse.Namespace) -> Result:
    """OK only when the proxy itself refuses the request."""
    started = time.monotonic()
    deadline = budget_deadline(opts.timeout)
    host, port, where = _proxy_where(opts.proxy)
    target = http_exchange.target_of(opts.url)
    try:
        if target.scheme == "https":
            sock = http_exchange.open_connection(host, port, where, http_opts, deadline)
            try:
                http_exchange.tunnel(sock, target, where, http_opts, deadline)
            except http_exchange.Refused as exc:
                return _refused(opts, started, f"{exc}, as required")
            finally:
                sock.close()
            return Result(
                State.CRITICAL,
                f"{where} opened a tunnel to {target.hostport} (CONNECT accepted): "
                f"it must refuse it",
            )
        response = http_exchange.exchange(target, "GET", [], None, http_opts, None, deadline)
    except CheckFailed as exc:
        return Result(State.CRITICAL, f"{exc} (with denied: true the proxy must answer a refusal)")
    answered = f"{response.status} {response.reason}".rstrip()
    if response.status in DENIAL_STATUSES:
        return _refused(opts, started, f"{where} refused GET {opts.url}: {answered}, as required")
    return Result(
        State.CRITICAL,
        f"{where} forwarded GET {opts.url}, which returned {answered}: the proxy must refuse it",
    )


def _refused(opts: Opts, started: float, message: str) -> Result:
    elapsed = time.monotonic() - started
    perf = (Perf("time", round(elapsed, 6), "s", opts.warn, opts.crit, 0.0, opts.timeout),)
    return timed_result(message, elapsed, opts.warn, opts.crit, perf)


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
