"""One deadline over a conversation of several steps (connect, TLS, authenticate, query).

The data-store checks (postgres, mysql, redis, amqp) hand a socket to mdd's own protocol
client (``_pg_wire``, ``_mysql_wire``, ``_resp``, ``_amqp_wire``).
A per-call socket timeout does not bound the whole conversation: a server that trickles a
byte before each timeout runs out would keep the check waiting for ever. ``Steps`` starts a
watchdog timer that, when the check's time is up, shuts the watched sockets down: a call
blocked in ``recv`` returns at once and the client raises. No signal, no process-wide state:
probes can run side by side in threads. Standard library only.

Each step is named (``steps.now("authenticate")``) so that the message says which one failed.
Also the options and rules every data-store check shares (user, password, TLS, ca_file,
timeout, warn, crit; host and port are ``_options.endpoint``), each declared once here; what
differs by type (the server's name for itself, a default user) is an argument.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from mdd.checks._budget import within
from mdd.checks._net import host_port, open_connection
from mdd.checks._options import BOOLEAN, PATH, SECRET, STRING, Option, timed
from mdd.checks._result import CheckFailed, Perf, Result, State, timed_result
from mdd.checks._secrets import read_secret, redact

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from mdd.checks._typed import Store

    StoreT = TypeVar("StoreT", bound=Store)


def credentials(note: str = "", default: str | None = None) -> tuple[Option, Option]:
    """``user`` (required unless the type has a default user: AMQP's guest; ``note`` such as
    " (needs password)") and its ``password``."""
    user = Option(
        "user", STRING, f"User to log in as{note}.", required=default is None, default=default
    )
    return user, password_option()


def password_option(whose: str = "The user's") -> Option:
    """``password``, a secret reference (Redis may have a password without a user)."""
    return Option("password", SECRET, f"{whose} password (a secret reference).")


def tls_options(peer: str = "server") -> tuple[Option, Option]:
    """``tls`` as on or off (redis, amqp): with TLS the certificate is always verified; and
    ``ca_file``. The SQL checks have modes instead (``_sql.tls_option``)."""
    return (
        Option("tls", BOOLEAN, f"Speak TLS, verifying the {peer}'s certificate.", default=False),
        ca_file_option(),
    )


def ca_file_option(tls: str = "true") -> Option:
    """``ca_file``; ``tls``: the value of ``tls`` it is used with (the rule is
    ``login_problems``'s, or ``_sql.validate_sql``'s)."""
    return Option(
        "ca_file",
        PATH,
        f"PEM file of CA certificates to trust instead of the system's (with tls: {tls}).",
    )


def login_problems(
    values: dict[str, object], user: str, default: str | None = None
) -> list[tuple[str, str]]:
    """The rules of a data store with a ``tls`` flag (redis, amqp): the thresholds, the
    option ``user`` (unless it names the ``default`` user) without a password, ca_file
    without ``tls: true`` (it would not be used)."""
    problems = threshold_problems(values)
    if values.get(user, default) != default and "password" not in values:
        problems.append((user, f"a {user} needs a password to log in with"))
    if "ca_file" in values and not values.get("tls"):
        problems.append(("ca_file", "ca_file is used only with tls: true"))
    return problems


TIMING = timed("the whole check")  # timeout, warn, crit


def logging_in(server: str, values: dict[str, Any]) -> str:
    """The opening of ``mdd docs``' sentence for a check that logs in to ``server`` (its
    ``describe_opening``; ``values``: its canonical options, defaults filled in)."""
    return f"logs in to the {server} on {values['host']} port {values['port']}"


def threshold_problems(values: dict[str, object]) -> list[tuple[str, str]]:
    """warn not above crit, both below the timeout (``_shared.threshold_rules``)."""
    from mdd.checks._shared import threshold_rules

    return threshold_rules(values, TIMING)


def read_password(ref: tuple[str, str] | None) -> str | None:
    """The password a secret reference points at (``None`` without one); a secret that
    cannot be read raises ``CheckError`` (UNKNOWN)."""
    return None if ref is None else read_secret(ref, "the password")


class Steps:
    """The deadline, the step in progress, the sockets to cut when time is up, the secrets to
    keep out of every message. Use as a context manager: the watchdog stops on exit."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float,
        secrets: tuple[str, ...] = (),
        since: float | None = None,
    ):
        """``since``: when the probe started (``time.monotonic()``), before it read its
        password: the deadline counts from then, the time measured from now."""
        self.host = host
        self.port = port
        self.where = host_port(host, port)
        self.timeout = timeout
        self.started = time.monotonic()
        self.deadline = (self.started if since is None else since) + timeout
        self.step = "connect"
        self.secrets = secrets
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(self.deadline - self.started, 0.0), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Steps:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()

    def now(self, step: str) -> None:
        """The conversation moves on to ``step``; its socket calls get the time left."""
        self.step = step
        with self._lock:  # a socket wrapped in TLS (detached) or closed is dropped
            self._sockets = [sock for sock in self._sockets if sock.fileno() >= 0]
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.settimeout(self.left())
            except OSError:
                continue  # closed meanwhile by the client: nothing waits on it

    def left(self) -> float:
        """Seconds until the deadline, never zero (a zero timeout means non-blocking)."""
        return max(self.deadline - time.monotonic(), 0.001)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def watch(self, sock: socket.socket) -> socket.socket:
        """Cut ``sock`` when time is up (at once when it is up already); closed on exit."""
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        sock.settimeout(self.left())
        if expired:
            _cut(sock)
        return sock

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _cut(sock)

    def connect(self, tls: bool = False, ca_file: str | None = None) -> socket.socket:
        """A TCP connection to host:port within the deadline (step ``connect``); with ``tls``,
        TLS from the first byte, the server verified against ``ca_file`` or the system's CAs
        (redis, amqp: ``tls_options``)."""
        self.now("connect")
        sock, _ = open_connection(self.host, self.port, self.deadline, self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = self.watch(sock)
        if not tls:
            return sock
        from mdd.checks._watched_tls import watched_context, wrap

        return wrap(self, sock, watched_context(self, True, ca_file))

    def failed(self, exc: BaseException, what: str = "") -> CheckFailed:
        """The ``CheckFailed`` for an exception raised during the current step.

        A deadline that passed (the watchdog cut the socket, or a socket call timed out) says
        so; a closed connection says so; anything else is ``what`` or the exception's text.
        """
        if self.expired or _timed_out(exc):
            return self.timed_out()
        if not what:
            what = str(exc) or type(exc).__name__
        return CheckFailed(f"{self.where}: {self.step} failed: {what}")

    def failed_wire(
        self,
        exc: BaseException,
        server: str,
        protocol: str,
        closed: tuple[type[BaseException], ...],
        garbled: type[BaseException],
    ) -> CheckFailed:
        """``failed`` for an exception of a protocol client: a connection the server closed
        (one of ``closed``) asks whether it is ``server`` at all, a reply that breaks the
        protocol (``garbled``) says the server does not speak ``protocol``."""
        if isinstance(exc, closed):
            return self.failed(exc, f"the server closed the connection: is it {server}?")
        if isinstance(exc, garbled):
            return self.failed(exc, f"the server does not speak {protocol} ({exc})")
        return self.failed(exc)

    def timed_out(self) -> CheckFailed:
        """The ``CheckFailed`` for a conversation stopped at its deadline, in the current step."""
        waited = within(time.monotonic() - self.started, self.timeout)
        return CheckFailed(f"{self.where} did not complete the {self.step} step within {waited}")

    def overdue(self, slack: float = 0.01) -> bool:
        """Whether the deadline has passed (give or take ``slack`` seconds), whether or not
        the watchdog has run yet: a server told the time left (PostgreSQL's
        ``statement_timeout``) may answer before the watchdog thread gets the CPU."""
        return time.monotonic() >= self.deadline - slack

    def result(self, message: str, warn: float | None, crit: float | None) -> Result:
        """OK (or a threshold band) for the whole conversation, with its time as perfdata."""
        elapsed = round(self.elapsed(), 6)
        perf = (Perf("time", elapsed, "s", warn, crit, 0.0, self.timeout),)
        text = f"{message} in {elapsed * 1000:.1f} ms"
        return timed_result(self.redact(text), elapsed, warn, crit, perf)

    def critical(self, message: str) -> Result:
        """CRITICAL, with the time spent so far as perfdata, never quoting a secret."""
        elapsed = round(self.elapsed(), 6)
        perf = (Perf("time", elapsed, "s", None, None, 0.0, self.timeout),)
        return Result(State.CRITICAL, _bounded(self.redact(message)), perf)

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)


def close_quietly(close: Callable[[], object]) -> None:
    """Close a connection that may be broken already: there is nothing to tell about it."""
    try:
        close()
    except Exception:
        return


def _timed_out(exc: BaseException | None) -> bool:
    """Whether ``exc``, or an exception it was raised from, is a timeout."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _cut(sock: socket.socket) -> None:
    # socket.socket.shutdown, not the SSLSocket's: that one also drops the TLS object under
    # the thread still reading from it.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        return  # not connected (any more): nothing is blocked on it


def _bounded(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def converse(opts: StoreT, conversation: Callable[[StoreT, Steps, str | None], Result]) -> Result:
    """A data-store probe: within the check's timeout, read the password and hold
    ``conversation(opts, steps, password)`` to one deadline; a failed step is CRITICAL with
    the time spent."""
    from mdd.checks._budget import start
    from mdd.checks._net import out_of_time

    since = start()
    out_of_time(opts.host, opts.port, since + opts.timeout, opts.timeout)
    password = read_password(opts.password)
    with Steps(opts.host, opts.port, opts.timeout, (password,) if password else (), since) as steps:
        try:
            return conversation(opts, steps, password)
        except CheckFailed as exc:
            return steps.critical(str(exc))
