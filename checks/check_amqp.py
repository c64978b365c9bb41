"""amqp: an AMQP 0-9-1 broker (RabbitMQ) lets the platform's user in, with its queue and exchange.

Connects to ``host:port`` (with ``tls: true``, TLS from the first byte, as on RabbitMQ's
5671, the certificate chain and host name verified against ``ca_file`` or the system's CAs),
logs in as ``user`` with ``password`` (a secret reference read on the agent when the check
runs) and opens ``vhost``. With ``queue`` and ``exchange``, each must exist: they are declared
passively, which never creates anything. The message says which step failed: connect, TLS
handshake, authenticate (login and vhost), queue or exchange. ``warn`` and ``crit`` are
thresholds on the time the whole check took.

Without ``user`` and ``password`` the check logs in as ``guest``/``guest``, RabbitMQ's
default account, which RabbitMQ accepts only over loopback. Uses py-amqp.
"""

from __future__ import annotations

from mdd.checks._base import main_of
from mdd.checks._net import host_port
from mdd.checks._options import STRING, Option
from mdd.checks._result import CheckError, CheckFailed, Result
from mdd.checks._shared import excerpt
from mdd.checks._steps import (
    CRIT,
    TIMEOUT,
    WARN,
    Steps,
    ca_file_option,
    ca_file_problems,
    close_quietly,
    converse,
    host_option,
    password_option,
    port_option,
    threshold_problems,
    tls_flag,
    user_option,
)

TYPE_CHECKING = False  # for mypy only (the options' types among them): no cost at run time
if TYPE_CHECKING:
    from typing import Any, Protocol

    from mdd.checks._typed import Endpoint

    class Opts(Endpoint, Protocol):
        """The parsed options, as OPTIONS declares them (tests/test_typed_options.py)."""

        vhost: str
        user: str
        password: tuple[str, str] | None
        tls: bool
        ca_file: str | None
        queue: str | None
        exchange: str | None


TYPE = "amqp"
SUMMARY = "An AMQP 0-9-1 broker lets the platform's user into its vhost; its queue/exchange exist."
# What the probe imports when it runs (never at import: tests/test_imports.py; benchmarks).
LIBRARIES = ("amqp",)
OPTIONS: tuple[Option, ...] = (
    host_option("broker"),
    port_option(5672, " (5671 is the usual one for TLS)"),
    Option("vhost", STRING, "Virtual host to open.", default="/"),
    user_option(" (needs password)", default="guest"),
    password_option(),
    tls_flag("broker"),
    ca_file_option(),
    Option("queue", STRING, "A queue that must exist in the vhost (never created)."),
    Option("exchange", STRING, "An exchange that must exist in the vhost (never created)."),
    TIMEOUT,
    WARN,
    CRIT,
)
EXAMPLE = {
    "host": "mq.ams1.example.net",
    "vhost": "platform",
    "user": "platform",
    "password": {"file": "/etc/sensu/mdd/mq-platform.pw"},
    "queue": "deployments",
    "exchange": "events",
}
# The Debian package of the shared server its tests reach on 127.0.0.1 (.ci/run installs it,
# .ci/services starts it).
TEST_SERVICES = ("rabbitmq-server",)


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    problems = threshold_problems(values)
    if values.get("user", "guest") != "guest" and "password" not in values:
        problems.append(("user", "a user needs a password to log in with"))
    problems += ca_file_problems(values)
    return problems


def _import() -> Any:
    try:
        import amqp
        import amqp.exceptions
        import amqp.transport
    except ImportError as exc:
        raise CheckError(f"the amqp check needs py-amqp (pip install amqp): {exc}") from None
    return amqp


def probe(opts: Opts) -> Result:
    return converse(opts, _import, _converse)


def _converse(amqp: Any, opts: Opts, steps: Steps, given: str | None) -> Result:
    password = "guest" if given is None else given  # RabbitMQ's default account: no secret
    sock = steps.connect()
    if opts.tls:
        from mdd.checks._watched_tls import watched_context, wrap

        sock = wrap(steps, sock, watched_context(steps, True, opts.ca_file))

    class GivenTransport(amqp.transport.TCPTransport):  # type: ignore[misc]
        """py-amqp's transport over the socket this check opened (within its deadline)."""

        def _connect(self, host: str, port: int, timeout: float | None) -> None:
            self.sock = sock

        def _set_socket_options(self, socket_settings: Any) -> None:
            # py-amqp re-applies every TCP option it reads back (TCP_MAXSEG and all), which
            # the kernel can refuse (EINVAL); a check needs none of them.
            pass

    class Given(amqp.Connection):  # type: ignore[misc]
        def Transport(self, host: str, connect_timeout: float | None, *args: Any, **kw: Any) -> Any:  # noqa: N802 - py-amqp's name
            kw.pop("ssl", None)
            return GivenTransport(host, connect_timeout, **kw)

    conn = Given(
        host=host_port(opts.host, opts.port),
        userid=opts.user,
        password=password,
        virtual_host=opts.vhost,
        connect_timeout=steps.left(),
        read_timeout=steps.left(),
        write_timeout=steps.left(),
        heartbeat=0,
    )
    errors = amqp.exceptions
    steps.now("authenticate")
    try:
        try:
            conn.connect()
        except errors.AccessRefused as exc:
            raise CheckFailed(
                f"{steps.where}: login as {opts.user} rejected: {_reply(exc)}"
            ) from None
        except errors.NotAllowed as exc:
            raise CheckFailed(
                f"{steps.where}: vhost {opts.vhost} refused to {opts.user}: {_reply(exc)}"
            ) from None
        found = []
        for kind, name in (("queue", opts.queue), ("exchange", opts.exchange)):
            if name is None:
                continue
            steps.now(kind)
            found.append(_exists(conn, errors, kind, name, opts, steps))
    except CheckFailed:
        raise
    except (errors.AMQPError, OSError) as exc:
        raise _failed(steps, exc) from None
    except Exception as exc:  # bad frames of a server that is not an AMQP broker
        raise steps.failed(
            exc, f"the server does not speak AMQP 0-9-1 ({type(exc).__name__}: {exc})"
        ) from None
    finally:
        # A logged-in connection is closed politely (the broker logs every connection dropped
        # without Connection.Close); anything else is dropped.
        if conn.connected and not steps.expired:
            close_quietly(conn.close)
        close_quietly(conn.collect)
    done = f"{steps.where}: logged in to vhost {opts.vhost} as {opts.user}"
    done += " over TLS" if opts.tls else ""
    if found:
        done += ", " + " and ".join(found)
    return steps.result(done, opts.warn, opts.crit)


def _exists(conn: Any, errors: Any, kind: str, name: str, opts: Opts, steps: Steps) -> str:
    """``queue q exists (...)`` or raises ``CheckFailed``; passive declares create nothing."""
    channel = conn.channel()
    try:
        if kind == "queue":
            _, messages, consumers = channel.queue_declare(queue=name, passive=True)
            return f"queue {name} exists ({messages} messages, {consumers} consumers)"
        channel.exchange_declare(exchange=name, type="direct", passive=True)
        return f"exchange {name} exists"
    except errors.NotFound:
        raise CheckFailed(
            f"{steps.where}: {kind} {excerpt(name)} does not exist in vhost {opts.vhost}"
        ) from None
    except errors.AccessRefused as exc:
        raise CheckFailed(
            f"{steps.where}: {kind} {excerpt(name)}: access refused to {opts.user}: {_reply(exc)}"
        ) from None
    except errors.ChannelError as exc:
        raise CheckFailed(f"{steps.where}: {kind} {excerpt(name)}: {_reply(exc)}") from None


def _reply(exc: Exception) -> str:
    """The broker's reply text of an AMQP error, without py-amqp's decoration."""
    text = getattr(exc, "reply_text", None) or str(exc)
    code = getattr(exc, "reply_code", None) or getattr(exc, "code", None)
    return f"{text} ({code})" if code and str(code) not in text else text


def _failed(steps: Steps, exc: Exception) -> CheckFailed:
    """A timeout, a closed connection, or a server that is not an AMQP broker."""
    if steps.expired:
        return steps.failed(exc)
    text = str(exc)
    if "closed" in text.lower() or isinstance(exc, ConnectionResetError | BrokenPipeError):
        return steps.failed(exc, "the server closed the connection: is it an AMQP broker?")
    if exc.__class__.__module__.startswith("amqp") and not isinstance(exc, OSError):
        return steps.failed(exc, f"the server does not speak AMQP 0-9-1 ({excerpt(text)})")
    return steps.failed(exc)


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
