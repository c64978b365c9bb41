"""Hand one point's result to the local Sensu agent, as if its own check had run.

* Sensu Classic: the client socket (TCP, 127.0.0.1:3030 by default): one connection per
  result, a JSON check result in, ``ok`` out (``invalid`` when the client refuses it). The
  result carries the point's check name and every attribute of its per-point definition
  (``source``, ``aggregate``, ``owner``, ``docs``, ``mdd``, ...), ``status``, ``output`` and
  a ``ttl``.
* Sensu Go: the agent API (HTTP, 127.0.0.1:3031 by default): ``POST /events`` with the event
  ``{"check": {...}, "entity": {...}}``; the agent answers ``202 Accepted``. The check carries
  the per-point check's metadata (name, labels, annotations) and the datacenter's proxy
  entity, so the web UI lists the same checks on the same entity.

Standard library only, and no ``http.client`` (its ``email`` imports cost more than the one
request line and status line needed here).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Mapping
from typing import Any

DEFAULT_SOCKET = ("127.0.0.1", 3030)
DEFAULT_AGENT_API = ("127.0.0.1", 3031)
TIMEOUT = 5.0  # seconds for one submission, at most
REPLY_LIMIT = 4096  # bytes of a reply read at most


class SubmitError(Exception):
    """The agent did not take the result; the message says why, in one line."""


def host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:3030`` for IPv6) as a pair; ``ValueError`` otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def _exchange(
    address: tuple[str, int], payload: bytes, until: bytes | None, deadline: float | None
) -> bytes:
    """Send ``payload``, read the reply until ``until`` is in it or the peer closes; all of
    it within ``TIMEOUT`` and by ``deadline`` (``time.monotonic()``; the runner's own),
    however the peer trickles its answer (each read waits only for the time left)."""
    start = time.monotonic()
    end = start + TIMEOUT
    late = f"did not answer within {TIMEOUT:g} s"
    if deadline is not None and deadline < end:
        end = deadline
        late = "did not answer before the runner's deadline (its Sensu timeout)"
    where = f"{address[0]}:{address[1]}"

    def left() -> float:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise TimeoutError()
        return remaining

    try:
        with socket.create_connection(address, timeout=left()) as conn:
            conn.settimeout(left())
            conn.sendall(payload)
            reply = b""
            while len(reply) < REPLY_LIMIT:
                conn.settimeout(left())
                chunk = conn.recv(REPLY_LIMIT - len(reply))
                if not chunk:
                    break
                reply += chunk
                if until is not None and until in reply:
                    break
            return reply
    except TimeoutError:
        raise SubmitError(f"{where} {late}") from None
    except OSError as exc:
        raise SubmitError(f"{where}: {exc.strerror or exc}") from None


def classic_result(static: Mapping[str, Any], status: int, output: str) -> dict[str, Any]:
    """The check result for the client socket."""
    return {**static, "status": status, "output": output}


def go_event(
    static: Mapping[str, Any], status: int, output: str, executed: int, duration: float
) -> dict[str, Any]:
    """The event for ``POST /events``."""
    check = dict(static["check"])
    check.update(status=status, output=output, executed=executed, duration=round(duration, 6))
    return {**static, "check": check}


def to_client_socket(
    address: tuple[str, int], result: Mapping[str, Any], deadline: float | None = None
) -> None:
    payload = json.dumps(result, ensure_ascii=True, allow_nan=False).encode()
    reply = _exchange(address, payload, b"ok", deadline).strip()
    if reply != b"ok":
        said = reply.decode("ascii", "replace")[:80] or "nothing"
        raise SubmitError(f"the client socket {address[0]}:{address[1]} answered {said!r}")


def to_agent_api(
    address: tuple[str, int], event: Mapping[str, Any], deadline: float | None = None
) -> None:
    body = json.dumps(event, ensure_ascii=True, allow_nan=False).encode()
    host = f"[{address[0]}]" if ":" in address[0] else address[0]
    head = (
        f"POST /events HTTP/1.1\r\nHost: {host}:{address[1]}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n\r\n"
    ).encode("ascii")
    reply = _exchange(address, head + body, b"\r\n", deadline)
    status_line = reply.split(b"\r\n", 1)[0].decode("ascii", "replace")
    words = status_line.split(" ", 2)
    if len(words) < 2 or not words[0].startswith("HTTP/") or not words[1].isdigit():
        raise SubmitError(
            f"the agent API {address[0]}:{address[1]} did not answer HTTP: {status_line[:80]!r}"
        )
    if not 200 <= int(words[1]) < 300:
        raise SubmitError(
            f"the agent API {address[0]}:{address[1]} refused the event: {status_line[:80]}"
        )
