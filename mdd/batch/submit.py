"""Hand one point's result to the local Sensu agent, as if its own check had run.

* Sensu Classic: the client socket (TCP, 127.0.0.1:3030 by default): one connection per
  result, a JSON check result in, ``ok`` out (``invalid`` when the client refuses it). One
  result a connection is the client's own rule, not a choice here: it answers the first
  JSON document it parses and closes the connection (sensu/sensu 1.x
  lib/sensu/client/socket.rb, ``Socket#respond``: ``send_data`` then
  ``close_connection_after_writing``), and an array is no check result. The
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
import re
import socket
import time

from mdd.checks.api import split_address

TYPE_CHECKING = False  # check-mdd-batch imports this on every run: typing is not paid for
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

DEFAULT_SOCKET = ("127.0.0.1", 3030)
DEFAULT_AGENT_API = ("127.0.0.1", 3031)
TIMEOUT = 5.0  # seconds for one submission, at most
REPLY_LIMIT = 4096  # bytes of a reply read at most


class SubmitError(Exception):
    """The agent did not take the result; the message says why, in one line."""


def host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:3030`` for IPv6) as a pair, read as the checks read an address
    (``split_address``); ``ValueError`` without a port or with a bad one."""
    try:
        host, port = split_address(text, 0)
    except ValueError:
        raise ValueError(f"{text!r} is not HOST:PORT") from None
    if not host or not 0 < port < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host, port


class _Exchange:
    """One request to the agent: sent at once (``SubmitError`` when it cannot be), its
    answer read by ``answer``, later if the caller likes; all of it within ``TIMEOUT`` and by
    ``deadline`` (``time.monotonic()``; the runner's own), counted from the send, however
    the peer trickles its answer (each read waits only for the time left)."""

    def __init__(self, address: tuple[str, int], payload: bytes, deadline: float | None) -> None:
        self.where = f"{address[0]}:{address[1]}"
        self.end = time.monotonic() + TIMEOUT
        self.late = f"did not answer within {TIMEOUT:g} s"
        if deadline is not None and deadline < self.end:
            self.end = deadline
            self.late = "did not answer before the runner's deadline (its Sensu timeout)"
        # An ASCII host goes as bytes: a str would load the idna codec on every run.
        host: str | bytes = address[0].encode() if address[0].isascii() else address[0]
        # (create_connection hands the host to getaddrinfo, which takes bytes; typeshed
        # says str only)
        where_to = (host, address[1])
        try:
            self.conn = socket.create_connection(where_to, timeout=self._left())  # type: ignore[arg-type]
        except (TimeoutError, OSError) as exc:
            raise self._failed(exc) from None
        try:
            self.conn.settimeout(self._left())
            self.conn.sendall(payload)
        except (TimeoutError, OSError) as exc:
            self.conn.close()
            raise self._failed(exc) from None

    def _left(self) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise TimeoutError()
        return remaining

    def _failed(self, exc: OSError) -> SubmitError:
        if isinstance(exc, TimeoutError):
            return SubmitError(f"{self.where} {self.late}")
        return SubmitError(f"{self.where}: {exc.strerror or exc}")

    def answer(self, until: bytes | None) -> bytes:
        """The reply, read until ``until`` is in it or the peer closes (at most
        ``REPLY_LIMIT`` bytes); the connection is closed after."""
        reply = b""
        try:
            with self.conn:
                while len(reply) < REPLY_LIMIT:
                    self.conn.settimeout(self._left())
                    chunk = self.conn.recv(REPLY_LIMIT - len(reply))
                    if not chunk:
                        break
                    reply += chunk
                    if until is not None and until in reply:
                        break
        except (TimeoutError, OSError) as exc:
            raise self._failed(exc) from None
        return reply


def classic_result(
    static: Mapping[str, Any], status: int, output: str, mdd_state: str
) -> dict[str, Any]:
    """The check result for the client socket: ``mdd_state`` is a result attribute."""
    return {**static, "status": status, "output": output, "mdd_state": mdd_state}


_NOT_NUMERIC = re.compile(r"[^-0-9.]")


def nagios_points(output: str, executed: int, tags: Any) -> list[dict[str, Any]]:
    """The metric points the Sensu Go agent's nagios transformer extracts from an output
    (sensu-go 6.12 agent/transformers/nagios.go, which the agent runs only for the checks it
    schedules itself): exactly one ``|``; each space-separated token's part before ``;``
    split on ``=`` into exactly two; the value stripped of all but ``-``, digits and ``.``;
    timestamp ``executed``, tags the check's ``output_metric_tags``."""
    parts = output.split("|")
    if len(parts) != 2:
        return []
    points: list[dict[str, Any]] = []
    for token in parts[1].strip().split(" "):
        token = token.strip()
        if not token:
            continue
        pair = token.split(";")[0].split("=")
        if len(pair) != 2:
            continue
        try:
            value = float(_NOT_NUMERIC.sub("", pair[1]))
        except ValueError:
            continue
        point: dict[str, Any] = {"value": int(value) if value.is_integer() else value}
        label = pair[0].replace(" ", "_")
        if label:  # Go's JSON leaves an empty name out
            point = {"name": label, **point}
        point.update(timestamp=executed, tags=list(tags or []))
        points.append(point)
    return points


def go_event(
    static: Mapping[str, Any],
    status: int,
    output: str,
    executed: int,
    duration: float,
    mdd_state: str,
) -> dict[str, Any]:
    """The event for ``POST /events``: ``mdd_state`` is a check label; with an
    ``output_metric_format`` the metrics the agent would have extracted (``nagios_points``)."""
    check = dict(static["check"])
    metadata = dict(check["metadata"])
    metadata["labels"] = {**metadata.get("labels", {}), "mdd_state": mdd_state}
    check["metadata"] = metadata
    check.update(status=status, output=output, executed=executed, duration=round(duration, 6))
    event = {**static, "check": check}
    if check.get("output_metric_format") or check.get("output_metric_handlers"):
        metrics: dict[str, Any] = {}
        if check.get("output_metric_handlers"):
            metrics["handlers"] = list(check["output_metric_handlers"])
        if check.get("output_metric_format") == "nagios_perfdata":
            metrics["points"] = nagios_points(output, executed, check.get("output_metric_tags"))
        event["metrics"] = metrics
    return event


class Pacer:
    """Paces submissions as the Sensu Go agent's events API limiter does
    (golang.org/x/time/rate: ``rate`` a second, ``burst`` at once; agent/config.go
    ``DefaultEventsAPIRateLimit`` 10, ``DefaultEventsAPIBurstLimit`` 10), so results never
    queue behind the agent's limiter. A rate of 0: no pacing."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.last = time.monotonic()

    def wait(self) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            pause = (1 - self.tokens) / self.rate
            time.sleep(pause)
            self.last = time.monotonic()
            self.tokens = 1.0
        self.tokens -= 1


class ClientSocketAnswer:
    """A result sent to the client socket, its answer not read yet: ``confirm`` reads it."""

    def __init__(self, address: tuple[str, int], exchange: _Exchange) -> None:
        self.address = address
        self.exchange = exchange

    def confirm(self) -> None:
        """Return once the client said ``ok``; ``SubmitError`` if it said anything else or
        nothing in time."""
        reply = self.exchange.answer(b"ok").strip()
        if reply != b"ok":
            said = reply.decode("ascii", "replace")[:80] or "nothing"
            raise SubmitError(
                f"the client socket {self.address[0]}:{self.address[1]} answered {said!r}"
            )


def send_to_client_socket(
    address: tuple[str, int], result: Mapping[str, Any], deadline: float | None = None
) -> ClientSocketAnswer:
    """Send a result to the client socket, and return at once: its answer is read by the
    returned ``confirm`` (within the same ``TIMEOUT`` and ``deadline``), so the runner can
    send the next result meanwhile, each on its own connection (the client's rule: see
    above)."""
    payload = json.dumps(result, ensure_ascii=True, allow_nan=False).encode()
    return ClientSocketAnswer(address, _Exchange(address, payload, deadline))


def to_client_socket(
    address: tuple[str, int], result: Mapping[str, Any], deadline: float | None = None
) -> None:
    send_to_client_socket(address, result, deadline).confirm()


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
    reply = _Exchange(address, head + body, deadline).answer(None)  # Connection: close: all
    status_line = reply.split(b"\r\n", 1)[0].decode("ascii", "replace")
    words = status_line.split(" ", 2)
    if len(words) < 2 or not words[0].startswith("HTTP/") or not words[1].isdigit():
        raise SubmitError(
            f"the agent API {address[0]}:{address[1]} did not answer HTTP: {status_line[:80]!r}"
        )
    if not 200 <= int(words[1]) < 300:
        said = reply.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")
        said = " ".join(said.split())[:200]  # http.Error: the agent's message and a newline
        raise SubmitError(
            f"the agent API {address[0]}:{address[1]} refused the event: {status_line[:80]}"
            + (f": {said}" if said else "")
        )
