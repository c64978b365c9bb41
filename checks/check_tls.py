"""tls: a TLS endpoint serves a trusted certificate chain that is not about to expire.

Connects to ``host:port`` (for ``starttls: smtp``, first speaks SMTP: EHLO, which must
offer STARTTLS, then STARTTLS) and does a TLS handshake with ``servername`` as SNI.

With ``verify`` (the default) the chain must lead to a trusted CA (the system's, or the
ones in ``ca_file``) and the certificate must be valid for ``servername``; a failure is
CRITICAL with the reason: untrusted issuer, self-signed, the names the certificate is for.

Whether verified or not, the leaf **and every chain certificate the server sends** are
checked for expiry: WARNING when one expires in less than ``warn_days``, CRITICAL in less
than ``crit_days`` or when it has expired. The message names the certificate
(``intermediate CN=Example Issuing CA expires in 10 days (warning below 21)``) and the
performance data ``days`` is the lowest number of days left in the chain.

``min_version`` is the lowest TLS version the server may negotiate: the check offers every
version it can and reports the one the server picks. ``timeout`` bounds the whole check.
"""

from __future__ import annotations

import ssl
import time

from mdd.checks._base import main_of
from mdd.checks._budget import deadline as budget_deadline
from mdd.checks._certificates import dedupe, peer_chain, some
from mdd.checks._net import host_port
from mdd.checks._options import (
    BOOLEAN,
    DAYS,
    DURATION,
    HOST,
    Option,
    choice,
    endpoint,
)
from mdd.checks._result import CheckError, CheckFailed, Perf, Result, State, worst
from mdd.checks._tls import CA_FILE, MIN_VERSION, NEGOTIATED, client_context, sni
from mdd.checks._tls_connection import shake_hands

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, Protocol

    from mdd.checks._certificates import Cert
    from mdd.checks._typed import Common, Server, Verifying

    class Opts(Common, Server, Verifying, Protocol):
        servername: str | None
        warn_days: int
        crit_days: int
        verify: bool
        min_version: str | None
        starttls: str | None


TYPE = "tls"
SUMMARY = (
    "A TLS endpoint (optionally via SMTP STARTTLS) serves a verified certificate chain "
    "whose certificates all stay valid for more than warn_days."
)
OPTIONS: tuple[Option, ...] = (
    *endpoint(443),
    Option(
        "servername",
        HOST,
        "Name sent as SNI and verified against the certificate (default: host). Set it to "
        "test a VIP or a backend by address.",
    ),
    Option(
        "warn_days",
        DAYS,
        "WARNING when a certificate of the chain expires in fewer days than this.",
        default=21,
    ),
    Option(
        "crit_days",
        DAYS,
        "CRITICAL when a certificate of the chain expires in fewer days than this.",
        default=7,
    ),
    Option(
        "verify",
        BOOLEAN,
        "Verify the chain up to a trusted CA and the certificate's names against servername.",
        default=True,
    ),
    CA_FILE,
    MIN_VERSION,
    Option(
        "starttls",
        choice("smtp"),
        "Speak this protocol first and upgrade the connection with STARTTLS.",
    ),
    Option("timeout", DURATION, "Give up after this long (the whole check).", default=10.0),
)
EXAMPLE: Mapping[str, Any] = {"host": "vault.ams1.example.net", "port": 8200}
# Its tests start their own servers in Python: no Debian package needed.
TEST_PACKAGES: tuple[str, ...] = ()


def describe_opening(values: dict[str, Any]) -> str:
    """The first words of the sentence ``mdd docs`` writes for this check (``values``: its
    canonical options, defaults filled in; mdd/living/describe.py phrases the others)."""
    text = f"serves a certificate chain on {values['host']} port {values['port']}"
    if values.get("verify", True):
        text += " that verifies against trusted CAs"
    warn, crit = values.get("warn_days"), values.get("crit_days")
    if warn is not None:
        text += f", every certificate valid for more than {warn} days"
        if crit is not None:
            text += f" (CRITICAL under {crit})"
    return text


_DAY = 86400.0


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    problems: list[tuple[str, str]] = []
    default = {opt.name: opt.default for opt in OPTIONS}
    warn = values.get("warn_days", default["warn_days"])
    crit = values.get("crit_days", default["crit_days"])
    if isinstance(warn, int) and isinstance(crit, int) and crit >= warn:
        problems.append(
            (
                "crit_days",
                f"crit_days ({crit}) must be less than warn_days ({warn}): a certificate turns "
                f"WARNING below warn_days, then CRITICAL below crit_days",
            )
        )
    if values.get("verify") is False and "ca_file" in values:
        problems.append(
            (
                "ca_file",
                "ca_file has no effect with verify: false (nothing is checked against a CA); "
                "remove one of them",
            )
        )
    if "starttls" in values and "port" not in values:
        problems.append(
            (
                "port",
                f"starttls: {values['starttls']} needs the port of that service (e.g. 25 or "
                f"587 for smtp); the default {default['port']} speaks TLS from the first byte",
            )
        )
    return problems


def _role(index: int, cert: Cert) -> str:
    if index == 0:
        return "certificate"
    return "root" if cert.self_issued else "intermediate"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _span(seconds: float) -> str:
    """``3 days``, or hours below one day."""
    if seconds >= _DAY:
        return _plural(int(seconds // _DAY), "day")
    hours = int(seconds // 3600)
    return _plural(hours, "hour") if hours else "less than an hour"


def _date(epoch: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


class _Problem:
    __slots__ = ("state", "text", "order")

    def __init__(self, state: State, text: str, order: float = 0.0) -> None:
        self.state = state
        self.text = text
        self.order = order


def _expiry_problems(
    chain: Sequence[Cert], now: float, warn_days: int, crit_days: int
) -> list[_Problem]:
    problems = []
    for index, cert in enumerate(chain):
        what = f"{_role(index, cert)} {cert.label}"
        left = cert.not_after - now
        if left <= 0:
            problems.append(_Problem(State.CRITICAL, f"{what} expired {_span(-left)} ago", left))
        elif cert.not_before > now:
            problems.append(
                _Problem(
                    State.CRITICAL,
                    f"{what} is not valid before {_date(cert.not_before)} "
                    f"(in {_span(cert.not_before - now)})",
                    left,
                )
            )
        elif left < crit_days * _DAY:
            text = f"{what} expires in {_span(left)} (critical below {crit_days})"
            problems.append(_Problem(State.CRITICAL, text, left))
        elif left < warn_days * _DAY:
            text = f"{what} expires in {_span(left)} (warning below {warn_days})"
            problems.append(_Problem(State.WARNING, text, left))
    return sorted(problems, key=lambda p: p.order)


def _verify_reason(
    error: ssl.SSLCertVerificationError,
    chain: Sequence[Cert],
    servername: str,
    ca_file: str | None,
) -> str | None:
    """Why verification failed, naming certificates; None when expiry problems say it."""
    code = error.verify_code
    message = error.verify_message or str(error)
    trust = f"ca_file {ca_file}" if ca_file else "the system's CA store"
    if not chain:
        return f"certificate verification failed: {message}"
    leaf = chain[0]
    if code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
        names = some(leaf.names, 10) or f"no subjectAltName, subject {leaf.label}"
        return f"certificate {leaf.label} is not valid for {servername}: it is for {names}"
    if code == 18:  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
        return f"certificate {leaf.label} is self-signed and not trusted by {trust}"
    if code == 19:  # X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
        roots = [c for c in chain if c.self_issued] or [chain[-1]]
        return f"the chain ends in the self-signed {roots[-1].label}, not trusted by {trust}"
    if code in (2, 20, 21):  # cannot find the issuer among the trusted CAs
        last = chain[-1]
        role = _role(len(chain) - 1, last)
        reason = (
            f"{role} {last.label} is issued by {last.issuer_label}, which is not trusted by {trust}"
        )
        if len(chain) == 1:  # public CAs issue from intermediates, which servers must send
            reason += (
                f"; the server sent no intermediate certificate: if {last.issuer_label} is one, "
                f"the server must send it (incomplete chain)"
            )
        return reason
    if code in (9, 10):  # not yet valid, expired: the expiry problems name the certificate
        return None
    return f"certificate verification failed: {message}"


# --------------------------------------------------------------------------- probe


def _where(opts: Opts, servername: str) -> str:
    """How the messages name the endpoint: ``host:port``, ``as NAME``, ``(smtp STARTTLS)``."""
    where = host_port(opts.host, opts.port)
    if servername != opts.host:
        where += f" as {servername}"
    if opts.starttls:
        where += f" ({opts.starttls} STARTTLS)"
    return where


def probe(opts: Opts) -> Result:
    deadline = budget_deadline(opts.timeout)
    servername = opts.servername or opts.host
    where = _where(opts, servername)
    if opts.ca_file and not opts.verify:
        (no_verify,) = [opt.argv(False)[0] for opt in OPTIONS if opt.name == "verify"]
        raise CheckError(f"ca_file has no effect with {no_verify}; remove one of them")
    server_name = sni(servername)  # before connecting: a name that cannot be sent is UNKNOWN
    # No minimum here: the check sees what the server negotiates; min_version is the policy.
    context = client_context(verify=opts.verify, ca_file=opts.ca_file)

    failure: ssl.SSLCertVerificationError | None = None
    try:
        try:
            sock = shake_hands(opts, context, server_name, where, deadline)
        except ssl.SSLCertVerificationError as error:
            failure = error
            # Connect again without verification, to name the certificates in the message.
            try:
                unverified = client_context(verify=False)
                sock = shake_hands(opts, unverified, server_name, where, deadline)
            except CheckFailed:
                why = error.verify_message or str(error)
                return Result(State.CRITICAL, f"{where}: certificate verification failed: {why}")
        with sock:
            chain, whole = peer_chain(sock)
            version = sock.version() or "?"
    except CheckFailed as failed:
        return Result(State.CRITICAL, str(failed))

    chain = dedupe(chain)
    if not chain:
        return Result(State.UNKNOWN, f"{where}: the server sent no certificate the check can read")
    now = time.time()
    problems = _expiry_problems(chain, now, opts.warn_days, opts.crit_days)
    if failure is not None:
        reason = _verify_reason(failure, chain, servername, opts.ca_file)
        if reason is None and not any(p.state is State.CRITICAL for p in problems):
            reason = f"certificate verification failed: {failure.verify_message or failure}"
        if reason is not None:
            problems.insert(0, _Problem(State.CRITICAL, reason))
    if opts.min_version and NEGOTIATED.get(version, "0") < opts.min_version:
        problems.insert(
            0,
            _Problem(
                State.CRITICAL,
                f"the server negotiated {version}, below min_version {opts.min_version}",
            ),
        )
    # Whole days, cut toward zero as in the message: -2 is 'expired 2 days ago'.
    days = min(int((cert.not_after - now) / _DAY) for cert in chain)
    perf = (Perf("days", days, "", opts.warn_days, opts.crit_days, 0),)

    notes = [version]
    if not opts.verify:
        notes.append("not verified (verify: false)")
    elif failure is None:
        notes.append(f"chain verified for {servername}")
    notes.append(_plural(len(chain), "certificate") + " checked")
    if not whole:
        notes.append("leaf only: this Python cannot read the chain the server sent")
    tail = f"; {', '.join(notes)}"

    if problems:
        state = worst(*(p.state for p in problems))
        return Result(state, f"{where}: {'; '.join(p.text for p in problems)}{tail}", perf)

    leaf = chain[0]
    text = (
        f"certificate {leaf.label} expires in {_span(leaf.not_after - now)} "
        f"({_date(leaf.not_after)})"
    )
    earliest = min(range(len(chain)), key=lambda i: chain[i].not_after)
    if earliest != 0:
        first = chain[earliest]
        text += (
            f", earliest in the chain: {_role(earliest, first)} {first.label} in "
            f"{_span(first.not_after - now)}"
        )
    return Result(State.OK, f"{where}: {text}{tail}", perf)


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
