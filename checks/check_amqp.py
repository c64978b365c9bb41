"""amqp: an AMQP 0-9-1 broker (RabbitMQ) lets the platform's user in, with its queue and exchange.

Connects to ``host:port`` (with ``tls: true``, TLS from the first byte, as on RabbitMQ's
5671, the certificate chain and host name verified against ``ca_file`` or the system's CAs),
logs in as ``user`` with ``password`` (a secret reference read on the agent when the check
runs) and opens ``vhost``. With ``queue`` and ``exchange``, each must exist: they are declared
passively, which never creates anything. The message says which step failed: connect, TLS
handshake, authenticate (login and vhost), queue or exchange. ``warn`` and ``crit`` are
thresholds on the time the whole check took.

Without ``user`` and ``password`` the check logs in as ``guest``/``guest``, RabbitMQ's
default account, which RabbitMQ accepts only over loopback. Speaks AMQP 0-9-1 itself
(mdd.checks._amqp_wire): every frame size the broker announces is capped, every read
bounded by the deadline.
"""

from __future__ import annotations

from mdd.checks._amqp_wire import BrokerClosed, Closed, Connection, ProtocolError
from mdd.checks._base import main_of
from mdd.checks._options import STRING, Option, endpoint
from mdd.checks._result import CheckFailed, Result
from mdd.checks._shared import excerpt
from mdd.checks._steps import (
    TIMING,
    Steps,
    close_quietly,
    converse,
    credentials,
    logging_in,
    login_problems,
    tls_options,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    from mdd.checks._typed import Login, TlsFlag

    class Opts(Login, TlsFlag, Protocol):
        vhost: str
        queue: str | None
        exchange: str | None


TYPE = "amqp"
SUMMARY = "An AMQP 0-9-1 broker lets the platform's user into its vhost; its queue/exchange exist."
OPTIONS: tuple[Option, ...] = (
    *endpoint(5672, "of the broker", "TCP port (5671 is the usual one for TLS)."),
    Option("vhost", STRING, "Virtual host to open.", default="/"),
    *credentials(" (needs password)", default="guest"),
    *tls_options("broker"),
    Option("queue", STRING, "A queue that must exist in the vhost (never created)."),
    Option("exchange", STRING, "An exchange that must exist in the vhost (never created)."),
    *TIMING,
)
EXAMPLE = {
    "host": "mq.ams1.example.net",
    "vhost": "platform",
    "user": "platform",
    "password": {"file": "/etc/sensu/mdd/mq-platform.pw"},
    "queue": "deployments",
    "exchange": "events",
}
# The Debian package of the shared server its tests reach on 127.0.0.1 (.ci/setup installs it,
# .ci/services starts it).
TEST_SERVICES = ("rabbitmq-server",)


def describe_opening(values: dict[str, Any]) -> str:
    """The first words of the sentence ``mdd docs`` writes for this check (``values``: its
    canonical options, defaults filled in)."""
    return logging_in("AMQP broker", values)


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    return login_problems(values, "user", default="guest")


def probe(opts: Opts) -> Result:
    return converse(opts, _converse)


def _converse(opts: Opts, steps: Steps, given: str | None) -> Result:
    password = "guest" if given is None else given  # RabbitMQ's default account: no secret
    conn = Connection(steps.connect(opts.tls, opts.ca_file), steps.deadline)
    steps.now("authenticate")
    found = []
    try:
        try:
            conn.login(opts.user, password, opts.vhost)
        except BrokerClosed as exc:
            if exc.code == ACCESS_REFUSED:
                raise CheckFailed(f"{steps.where}: login as {opts.user} rejected: {exc}") from None
            if exc.code == NOT_ALLOWED:
                raise CheckFailed(
                    f"{steps.where}: vhost {opts.vhost} refused to {opts.user}: {exc}"
                ) from None
            raise
        for channel, kind, name in ((1, "queue", opts.queue), (2, "exchange", opts.exchange)):
            if name is None:
                continue
            steps.now(kind)
            found.append(_exists(conn, channel, kind, name, opts, steps))
        close_quietly(conn.close)  # politely: the broker logs a connection dropped without
    except BrokerClosed as exc:
        raise CheckFailed(
            f"{steps.where}: {steps.step} failed: the broker closed the connection: {exc}"
        ) from None
    except ValueError as exc:  # a queue or vhost name longer than AMQP allows: nothing sent
        raise CheckFailed(f"{steps.where}: {steps.step} failed: {exc}") from None
    except (ProtocolError, OSError) as exc:
        closed = (Closed, ConnectionResetError, BrokenPipeError)
        raise steps.failed_wire(
            exc, "an AMQP broker", "AMQP 0-9-1", closed, ProtocolError
        ) from None
    done = f"{steps.where}: logged in to vhost {opts.vhost} as {opts.user}"
    done += " over TLS" if opts.tls else ""
    if found:
        done += ", " + " and ".join(found)
    return steps.result(done, opts.warn, opts.crit)


ACCESS_REFUSED, NOT_FOUND, NOT_ALLOWED = 403, 404, 530


def _exists(conn: Connection, channel: int, kind: str, name: str, opts: Opts, steps: Steps) -> str:
    """``queue q exists (...)`` or raises ``CheckFailed``; passive declares create nothing."""
    try:
        messages, consumers = conn.declare(channel, kind, name)
    except BrokerClosed as exc:
        if exc.channel == 0:
            raise
        if exc.code == NOT_FOUND:
            raise CheckFailed(
                f"{steps.where}: {kind} {excerpt(name)} does not exist in vhost {opts.vhost}"
            ) from None
        if exc.code == ACCESS_REFUSED:
            raise CheckFailed(
                f"{steps.where}: {kind} {excerpt(name)}: access refused to {opts.user}: {exc}"
            ) from None
        raise CheckFailed(f"{steps.where}: {kind} {excerpt(name)}: {exc}") from None
    if kind == "queue":
        return f"queue {name} exists ({messages} messages, {consumers} consumers)"
    return f"exchange {name} exists"


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
