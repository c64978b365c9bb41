"""Connecting to a host within the check's deadline, one address after another.

A name can have several addresses, and one of them can be dead (a firewall drops the
packets). ``socket.create_connection`` gives every address the whole timeout, so a dead first
address uses up the check's time and the next phase (TLS, the response) is blamed for it.
Here each address gets an equal share of the time left. Standard library only.
"""

from __future__ import annotations

import socket
import time

from mdd.checks import _budget
from mdd.checks._result import CheckFailed

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, Any]


def host_port(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets: ``[::1]:443`` (``split_address``
    reads it back)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def split_address(text: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address -> (host, port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, int(port)
    return text, default_port  # a name, an IPv4 address, or a bare IPv6 address


def _is_address(host: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return True
    return False


def resolve(host: str, port: int, deadline: float) -> Sequence[AddrInfo]:
    """The addresses to try for a TCP connection, found before ``deadline``.

    A name's addresses are those of the families the agent has an address of itself
    (``AI_ADDRCONFIG``, as clients resolve): an AAAA record is not asked on an agent without
    IPv6. Raises ``socket.gaierror``, also when the resolver has not answered by the deadline: the
    C resolver restarts its wait after a signal, so the check's backstop alarm cannot cut a
    hanging lookup short. A name is looked up in a thread the check stops waiting for.
    """
    # An ASCII name goes as bytes: a str would load the idna codec (~1 ms) on every run.
    name = host.encode() if host.isascii() else host
    if _is_address(host):
        return socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)

    import threading

    found: list[Sequence[AddrInfo]] = []
    failed: list[socket.gaierror] = []

    def lookup() -> None:
        try:
            # AI_ADDRCONFIG, as clients resolve: no AAAA address on an agent that has no
            # IPv6 address of its own (nor A without IPv4), which it could not reach anyway.
            found.append(
                socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, flags=socket.AI_ADDRCONFIG)
            )
        except socket.gaierror as exc:
            failed.append(exc)
        except UnicodeError:  # not IDNA; the manifest reader refuses such names
            failed.append(socket.gaierror(socket.EAI_NONAME, "not a valid host name (IDNA)"))

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(max(deadline - time.monotonic(), 0.0))
    if found:
        return found[0]
    if failed:
        raise failed[0]
    raise socket.gaierror(socket.EAI_AGAIN, "the DNS resolver did not answer in time")


def attempt(info: AddrInfo, deadline: float, left: int) -> socket.socket:
    """A socket connected to one address, allowed its share of the time left with ``left``
    addresses (this one included) still to try. Raises ``OSError``: ``TimeoutError`` when
    that share runs out."""
    share = (deadline - time.monotonic()) / left
    if share <= 0:
        raise TimeoutError("timed out")
    family, kind, proto, _, address = info
    sock = socket.socket(family, kind, proto)
    try:
        sock.settimeout(share)
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


class ConnectTimeout(TimeoutError):
    """No address answered before the deadline; ``left``: the seconds the target was given,
    what was left of the check's timeout when the first attempt began (0 or less: none was
    made; -0.2: the deadline had passed 0.2 s before)."""

    def __init__(self, left: float) -> None:
        super().__init__("timed out")
        self.left = left


def connect(host: str, port: int, deadline: float) -> tuple[socket.socket, list[str]]:
    """A socket connected to the first address of ``host`` that accepts, and a note on each
    address tried before it (``127.0.0.1 did not answer``). Raises ``socket.gaierror``,
    ``ConnectTimeout``, or the ``OSError`` of the last address tried."""
    _budget.phase = ""
    if time.monotonic() >= deadline:  # the time went before this check could try
        raise ConnectTimeout(deadline - time.monotonic())
    infos = resolve(host, port, deadline)
    left = deadline - time.monotonic()
    failed: list[str] = []
    error: OSError = ConnectTimeout(left)
    for index, info in enumerate(infos):
        try:
            return attempt(info, deadline, len(infos) - index), failed
        except OSError as exc:
            error = exc
            failed.append(f"{info[4][0]} {failure(exc)}")
    if isinstance(error, TimeoutError):
        raise ConnectTimeout(left) from None
    raise error


def open_connection(
    host: str, port: int, deadline: float, timeout: float, refused: str = "", where: str = ""
) -> tuple[socket.socket, list[str]]:
    """``connect``, each way it can fail raised as ``CheckFailed`` with its reason; ``refused``
    is added to the reason of a refused connection (`` (no SSH server there)``); ``where``:
    how the target is named (``host:port`` unless given, as ``ldap://host:port``)."""
    where = where or host_port(host, port)
    try:
        return connect(host, port, deadline)
    except socket.gaierror as exc:
        raise CheckFailed(f"cannot resolve {host}: {exc.strerror}") from None
    except ConnectionRefusedError:
        raise CheckFailed(f"{where} refused the connection{refused}") from None
    except TimeoutError as exc:
        raise CheckFailed(timeout_reason(where, timeout, exc)) from None
    except OSError as exc:
        raise CheckFailed(f"{where} cannot be reached: {exc.strerror or exc}") from None


def out_of_time(host: str, port: int, deadline: float, timeout: float) -> None:
    """Raise ``CheckFailed`` saying so when the check's time ran out before it could connect
    (before a probe pays for importing its protocol library)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise CheckFailed(timeout_reason(host_port(host, port), timeout, ConnectTimeout(left)))
    _budget.phase = "starting"


def timeout_reason(where: str, timeout: float, exc: TimeoutError) -> str:
    """Why connecting to ``where`` timed out, saying where the time went: the host is blamed
    only for the time it was actually given. ``timeout``: the check's whole timeout."""
    from mdd.checks._options import duration_text

    measured = _budget.measured

    left = exc.left if isinstance(exc, ConnectTimeout) else timeout
    given, spent = max(left, 0.0), timeout - left
    if given < 0.001:
        return (
            f"the check ran out of its {duration_text(timeout)} timeout before it could connect "
            f"to {where} ({measured(spent)} went by before it could try): the agent machine is "
            f"slow or overloaded, or the timeout is too short"
        )
    if spent > timeout / 4:
        return (
            f"{where} did not answer within {measured(given)}, what was left of the check's "
            f"{duration_text(timeout)} timeout after {measured(spent)} went by before it could "
            f"connect (host down or filtered, and the agent machine slow or overloaded)"
        )
    return f"{where} did not answer within {duration_text(timeout)} (host down or filtered)"


def failure(error: OSError) -> str:
    """What a failed connection attempt did: ``refused``, ``did not answer``, ..."""
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, TimeoutError):
        return "did not answer"
    return f"failed: {error.strerror or error}"
