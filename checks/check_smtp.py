"""smtp: a mail relay greets, offers STARTTLS and AUTH, and accepts the platform's envelope.

Connects to ``host:port`` (default 25; 465 with ``implicit_tls``) and reads the greeting,
which must be a 220 and, with ``expect``, match that regular expression (searched in the
whole greeting, code included: ``220 mx1.example.net ESMTP Postfix``). Then it says EHLO
(as ``ehlo``, default this machine's host name). With ``starttls: true`` the server must
offer STARTTLS and the TLS handshake must succeed with a certificate for ``host`` trusted by
``ca_file`` or the system store; the check then says EHLO again. ``auth`` lists SASL
mechanisms that must be offered (judged after STARTTLS when ``starttls`` is set: servers
offer AUTH only then); nothing is authenticated.

With ``implicit_tls: true`` (SMTP over TLS from the first byte, RFC 8314, usually port 465)
the TLS handshake, verified the same way, comes right after connecting; the greeting and
everything after it are then read over TLS. A server that answers the handshake in plain
text did not speak TLS: most likely a STARTTLS port (25, 587), which takes ``starttls:
true`` instead. ``starttls`` and ``implicit_tls`` exclude each other.

With ``mail_from`` and ``rcpt_to`` the server must accept ``MAIL FROM`` and each ``RCPT
TO``; the check then resets the transaction (RSET) and says QUIT: DATA is never sent, so no
mail is ever delivered. ``warn`` and ``crit`` are thresholds on the time the whole exchange
took; ``timeout`` bounds it all, however slowly the server answers. Each answer is read up
to 8 KiB a line and 100 lines.

Beside monitoring-plugins' ``check_smtp``: the same colour for a good relay, a dead one and a
missing STARTTLS (tested); ``check_smtp`` says WARNING where the greeting does not match
``-e``, where this check says CRITICAL, and ``check_smtp -S`` does not verify the
certificate, so it is green for an untrusted one that this check reports CRITICAL.
"""

from __future__ import annotations

import re
import socket
import time

from mdd.checks._base import main_of
from mdd.checks._budget import deadline as budget_deadline
from mdd.checks._net import host_port, open_connection
from mdd.checks._options import (
    ABSOLUTE_PATH,
    BOOLEAN,
    HOST,
    PORT,
    REGEX,
    Kind,
    Option,
    duration_text,
    timed,
)
from mdd.checks._result import CheckFailed, Perf, Result, State, timed_result
from mdd.checks._shared import threshold_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping
    from typing import Any, Protocol

    from mdd.checks._handshake import HandshakeFailed
    from mdd.checks._smtp_session import Session
    from mdd.checks._typed import Timed, Verifying

    class Opts(Timed, Verifying, Protocol):
        host: str
        port: int | None
        expect: str | None
        ehlo: str | None
        starttls: bool
        implicit_tls: bool
        auth: list[str] | None
        mail_from: str | None
        rcpt_to: list[str] | None


TYPE = "smtp"
SUMMARY = "A mail relay greets, offers STARTTLS and AUTH, and accepts the platform's envelope."


def _address(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a mail address such as alerts@example.net")
    text = value.strip()
    if any(c.isspace() for c in text) or any(c in text for c in "<>\0"):
        raise ValueError(
            f"{text!r} is not a mail address: write it bare, without spaces or <>, such as "
            f"alerts@example.net"
        )
    if not text.isascii():
        raise ValueError(f"{text!r} is not an ASCII mail address")
    return text


def _mechanism(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,20}", value.strip()):
        raise ValueError(f"{value!r} is not a SASL mechanism name such as PLAIN or LOGIN")
    return value.strip().upper()


MAIL_ADDRESS = Kind("mail address", _address, _address, doc="a mail address, such as a@example.net")
MECHANISM = Kind("mechanism", _mechanism, _mechanism, doc="a SASL mechanism: PLAIN, LOGIN, ...")

OPTIONS: tuple[Option, ...] = (
    Option("host", HOST, "The mail server.", required=True),
    Option("port", PORT, "SMTP port (default: 25, or 465 with implicit_tls)."),
    Option(
        "expect",
        REGEX,
        "Regular expression the greeting must match, code included (220 mx1 ESMTP).",
    ),
    Option("ehlo", HOST, "Name to announce in EHLO (default: this machine's host name)."),
    Option(
        "starttls",
        BOOLEAN,
        "STARTTLS must be offered and the handshake must succeed with a trusted certificate.",
        default=False,
    ),
    Option(
        "implicit_tls",
        BOOLEAN,
        "TLS from the first byte (SMTPS, port 465): the handshake must succeed with a trusted "
        "certificate before the greeting.",
        default=False,
    ),
    Option(
        "auth",
        MECHANISM,
        "SASL mechanisms that must be offered (after STARTTLS when starttls is set).",
        multiple=True,
    ),
    Option("mail_from", MAIL_ADDRESS, "Envelope sender the server must accept (MAIL FROM)."),
    Option(
        "rcpt_to",
        MAIL_ADDRESS,
        "Envelope recipients the server must accept (RCPT TO); DATA is never sent.",
        multiple=True,
    ),
    Option(
        "ca_file",
        ABSOLUTE_PATH,
        "PEM file of CA certificates to trust for STARTTLS or implicit TLS instead of the "
        "system's.",
    ),
    *timed("the exchange", "Give up after this long, all steps together."),
)
EXAMPLE: Mapping[str, Any] = {
    "host": "relay.ams1.example.net",
    "port": 587,
    "expect": "^220 .*ESMTP",
    "starttls": True,
    "auth": ["PLAIN"],
    "mail_from": "alerts@ams1.example.net",
    "rcpt_to": ["oncall@example.net"],
}
# The Debian packages its tests use (.ci/setup installs them): servers and plugins they run.
TEST_PACKAGES = ("monitoring-plugins-basic",)

_DEFAULTS = {opt.name: opt.default for opt in OPTIONS}


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    problems: list[tuple[str, str]] = []
    if values.get("starttls") and values.get("implicit_tls"):
        problems.append(
            (
                "implicit_tls",
                "implicit_tls and starttls exclude each other: implicit_tls: true for a port "
                "that speaks TLS from the first byte (465), starttls: true for one that "
                "upgrades plain SMTP (25, 587)",
            )
        )
    if values.get("ca_file") and not (values.get("starttls") or values.get("implicit_tls")):
        problems.append(
            ("ca_file", "'ca_file' has no meaning without starttls: true or implicit_tls: true")
        )
    if values.get("mail_from") and not values.get("rcpt_to"):
        problems.append(("mail_from", "mail_from needs rcpt_to (the recipients to try)"))
    if values.get("rcpt_to") and not values.get("mail_from"):
        problems.append(("rcpt_to", "rcpt_to needs mail_from (the envelope sender)"))
    problems += threshold_rules(values, OPTIONS)
    return problems


# --------------------------------------------------------------------------- the session


def _said(session: Session, limit: int = 100) -> str:
    """The last reply as the server wrote it, on one line, bounded."""
    text = " / ".join(line for line in session.raw if line) or "nothing"
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _features(session: Session) -> str:
    names = sorted(name.upper() for name in session.esmtp_features)
    text = ", ".join(names) if names else "no extensions"
    return text if len(text) <= 80 else text[:77] + "..."


# --------------------------------------------------------------------------- probe


def probe(opts: Opts) -> Result:
    started = time.monotonic()
    deadline = budget_deadline(opts.timeout)
    port = opts.port or (465 if opts.implicit_tls else 25)
    where = host_port(opts.host, port)
    waited = duration_text(opts.timeout)
    context: ssl.SSLContext | None = None
    if opts.starttls or opts.implicit_tls:
        from mdd.checks._tls import client_context

        context = client_context(ca_file=opts.ca_file)
    sock, _ = open_connection(opts.host, port, deadline, opts.timeout)

    from mdd.checks._handshake import HandshakeFailed
    from mdd.checks._smtp_session import BadReply, Disconnected, Session

    session = Session(sock, opts.host, deadline, opts.ehlo or socket.gethostname())
    try:
        try:
            if opts.implicit_tls:
                assert context is not None
                session.step = "the TLS handshake"
                session.upgrade(context, opts.timeout, opts.ca_file)
        except HandshakeFailed as exc:
            return Result(State.CRITICAL, _implicit_tls_failed(where, exc))
        try:
            done = _conversation(opts, session, context, where)
        except HandshakeFailed as exc:  # before CheckFailed, which it is
            return Result(State.CRITICAL, f"{where} offered STARTTLS but {exc}")
        except CheckFailed as exc:
            return Result(State.CRITICAL, str(exc))
        except Disconnected as exc:
            step = session.step
            if session.timed_out:
                message = f"{where} sent no answer to {step} within {waited}"
                if step == "the greeting" and port == 465 and not opts.implicit_tls:
                    message += " (port 465 speaks TLS from the first byte: set implicit_tls: true)"
                return Result(State.CRITICAL, message)
            return Result(State.CRITICAL, f"{where} {exc} during {step}")
        except BadReply as exc:
            return Result(State.CRITICAL, f"{where} sent {exc} in answer to {session.step}")
        elapsed = time.monotonic() - started
        session.step = "QUIT"
        try:  # noqa: SIM105 - contextlib.suppress would cost every run its import
            session.command("QUIT")
        except (Disconnected, BadReply):
            pass  # the verdict is made; a server that hangs up on QUIT changes nothing
    finally:
        session.close()

    perf = (Perf("time", round(elapsed, 6), "s", opts.warn, opts.crit, 0.0, opts.timeout),)
    message = f"{where} {done} in {elapsed * 1000:.1f} ms"
    return timed_result(message, elapsed, opts.warn, opts.crit, perf)


def _implicit_tls_failed(where: str, exc: HandshakeFailed) -> str:
    """Why the handshake that opens an implicit-TLS session failed, naming that step."""
    if exc.not_tls:
        return (
            f"{where} did not speak TLS: it answered the TLS handshake in plain text (plain "
            f"SMTP? a STARTTLS port, such as 25 or 587, takes starttls: true instead of "
            f"implicit_tls)"
        )
    reason = str(exc)
    if reason.startswith("certificate"):
        reason = f"failed the TLS handshake: {reason}"
    return f"{where} {reason}"


def _offers_auth(opts: Opts, session: Session, where: str) -> None:
    """``CheckFailed`` unless the server offers every mechanism of ``auth``."""
    offered = session.esmtp_features.get("auth", "").upper().split()
    missing = [mech for mech in opts.auth or () if mech not in offered]
    if missing:
        after = " after STARTTLS" if opts.starttls else ""
        has = f"it offers {' '.join(sorted(set(offered)))}" if offered else "it offers no AUTH"
        hint = (
            "; servers often offer AUTH only after STARTTLS: set starttls: true"
            if not (opts.starttls or opts.implicit_tls or offered)
            else ""
        )
        raise CheckFailed(f"{where} does not offer AUTH {' '.join(missing)}{after} ({has}{hint})")


def _conversation(opts: Opts, session: Session, context: ssl.SSLContext | None, where: str) -> str:
    """The SMTP dialogue; what was verified, or ``CheckFailed`` saying what was not."""
    session.step = "the greeting"
    code = session.getreply()
    greeting = "\n".join(session.raw)
    if code == -1:
        raise CheckFailed(f"{where} does not speak SMTP: it greeted with {_said(session)}")
    if code != 220:
        raise CheckFailed(
            f"{where} greeted with {_said(session)} (expected 220: it refuses service)"
        )
    verified = ["implicit TLS verified"] if opts.implicit_tls else []
    verified.append("greets with 220")
    if opts.expect is not None:
        if not re.search(opts.expect, greeting):
            raise CheckFailed(f"{where} greeting {_said(session)} does not match /{opts.expect}/")
        verified[-1] = f"greeting matches /{opts.expect}/"

    name = session.local_hostname
    session.step = f"EHLO {name}"
    code = session.ehlo()
    if code != 250:
        raise CheckFailed(f"{where} answered EHLO {name} with {_said(session)}")

    if opts.starttls:
        assert context is not None
        if not session.has_extn("starttls"):
            raise CheckFailed(f"{where} does not offer STARTTLS (it offers {_features(session)})")
        session.step = "STARTTLS"
        code = session.command("STARTTLS")
        if code != 220:
            raise CheckFailed(f"{where} refused STARTTLS: {_said(session)}")
        session.upgrade(context, opts.timeout, opts.ca_file)
        session.step = f"EHLO {name} after STARTTLS"
        code = session.ehlo()
        if code != 250:
            raise CheckFailed(f"{where} answered EHLO {name} after STARTTLS with {_said(session)}")
        verified.append("STARTTLS verified")

    if opts.auth:
        _offers_auth(opts, session, where)
        verified.append(f"offers AUTH {' '.join(opts.auth)}")

    if opts.mail_from:
        session.step = f"MAIL FROM:<{opts.mail_from}>"
        code = session.command(f"MAIL FROM:<{opts.mail_from}>")
        if code != 250:
            raise CheckFailed(f"{where} refused MAIL FROM:<{opts.mail_from}>: {_said(session)}")
        for rcpt in opts.rcpt_to or ():
            session.step = f"RCPT TO:<{rcpt}>"
            code = session.command(f"RCPT TO:<{rcpt}>")
            if code not in (250, 251):
                raise CheckFailed(f"{where} refused RCPT TO:<{rcpt}>: {_said(session)}")
        verified.append(f"accepts mail from {opts.mail_from} to {', '.join(opts.rcpt_to or ())}")
        session.step = "RSET"
        session.command("RSET")
    return ", ".join(verified)


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
