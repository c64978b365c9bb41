"""Checks that ask several servers the same question: addresses, and asking them all at once.

A dns or ntp check names several servers, and each is judged on its own: a dead first server
must not use up the time of the others. ``ask_all`` asks every server in its own thread, all
bound by the same deadline, and returns their results in the order given. Standard library
only; threads only (no signals, no process-wide state), so a probe stays usable in-process.
"""

from __future__ import annotations

import socket
import time

from mdd.checks._net import host_port, resolve
from mdd.checks._result import Result, State, worst

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


def udp_target(
    host: str, port: int, deadline: float
) -> tuple[socket.AddressFamily, tuple[str, int]]:
    """The first address of ``host`` (socket family, sockaddr), looked up before ``deadline``.

    Raises ``socket.gaierror`` (also when the resolver has not answered in time)."""
    family, _, _, _, address = resolve(host, port, deadline)[0]
    return family, address


def datagram_exchange(
    host: str, port: int, request: bytes, deadline: float, accept: Callable[[bytes], bool]
) -> bytes:
    """Send ``request`` to host:port over UDP and return the first reply ``accept`` takes.

    The socket is connected, so an ICMP port unreachable comes back as
    ``ConnectionRefusedError``; no accepted reply by ``deadline`` is ``TimeoutError``.
    Replies are read one datagram (at most 64 KiB) at a time; at most 64 are looked at.
    """
    family, address = udp_target(host, port, deadline)
    return datagram_to(family, address, request, deadline, accept)


def datagram_to(
    family: socket.AddressFamily,
    address: tuple[str, int] | tuple[str, int, int, int],
    request: bytes,
    deadline: float,
    accept: Callable[[bytes], bool],
) -> bytes:
    """``datagram_exchange`` with one address already looked up (family, sockaddr)."""
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.send(request)
        for _ in range(64):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            reply = sock.recv(65536)
            if accept(reply):
                return reply
    raise TimeoutError("timed out")


def ask_all(
    servers: Sequence[tuple[str, int]],
    ask: Callable[[str, int], Result],
    deadline: float,
    what: str = "the server",
) -> list[Result]:
    """``ask(host, port)`` for every server, each in its own thread, until ``deadline``.

    A server whose thread has not finished by then (or raised) gets a CRITICAL result.
    """
    if len(servers) == 1:
        host, port = servers[0]
        return [_guarded(ask, host, port, what)]

    import threading

    results: list[Result | None] = [None] * len(servers)

    def run(index: int, host: str, port: int) -> None:
        results[index] = _guarded(ask, host, port, what)

    threads = [
        threading.Thread(target=run, args=(i, host, port), daemon=True)
        for i, (host, port) in enumerate(servers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.0) + 0.2)
    return [
        result
        if result is not None
        else Result(State.CRITICAL, f"{host_port(host, port)} did not answer in time")
        for result, (host, port) in zip(results, servers, strict=True)
    ]


def _guarded(ask: Callable[[str, int], Result], host: str, port: int, what: str) -> Result:
    try:
        return ask(host, port)
    except Exception as exc:  # a bug must not be taken for a server's fault, nor crash others
        return Result(
            State.UNKNOWN,
            f"asking {what} {host_port(host, port)} failed: {type(exc).__name__}: {exc}",
        )


def combine(results: Sequence[Result], limit: int = 600) -> Result:
    """One result for several servers: the worst state; the servers in that state first."""
    state = worst(*(r.state for r in results))
    if len(results) == 1:
        return results[0]
    first = [r.message for r in results if r.state is state]
    rest = [r.message for r in results if r.state is not state]
    if state is State.OK:
        message = "; ".join(first)
    else:
        good = sum(r.state is State.OK for r in results)
        message = "; ".join(first + rest) + f" ({good} of {len(results)} servers OK)"
    if len(message) > limit:
        message = message[: limit - 3] + "..."
    perf = tuple(p for r in results for p in r.perfdata)
    return Result(state, message, perf)


def perf_label(base: str, host: str, port: int, many: bool) -> str:
    """``time``, or ``time_10.0.0.1_53`` when several servers report the same figure."""
    if not many:
        return base
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{host}_{port}")
    return f"{base}_{safe}"
