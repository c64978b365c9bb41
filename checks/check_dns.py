"""dns: DNS servers answer a name with the expected records (or say it does not exist).

Asks every server in ``servers`` (``host``, ``host:port`` or ``[v6]:port``; port 53 by
default) for ``query`` and ``record`` (A by default), all at once, and judges each server on
its own: the message names every server that fails. Without ``servers`` the agent's own
resolvers are asked (the ``nameserver`` lines of /etc/resolv.conf). A ``PTR`` check may take
an address as ``query`` (``10.0.0.1`` asks ``1.0.0.10.in-addr.arpa``).

A server passes when it answers NOERROR with at least one record of the type, and:
``answers`` (the exact set, in any order), ``includes`` (each must be among the answers) and
``excludes`` (none may be) hold. With ``nxdomain: true`` it passes only when it answers
NXDOMAIN (the name must not exist). With ``authoritative: true`` the answer must carry the
AA flag (the server is authoritative for the zone, not a cache).

Answers compare as the record's presentation text, case-insensitive, with the trailing dot
of names optional: ``10 mx1.ams1.example.net`` for MX, ``0 issue "ca.example.net"`` for CAA
(quotes optional), addresses in any valid spelling. TXT answers compare as the text without
its quotes, the strings of one record joined. Names that are aliases (CNAME) are followed
by the server: an A check of an alias passes on the A records at the end of the chain.

Queries go over UDP (EDNS, 1232 bytes); a truncated answer is asked again over TCP, as a
resolver does; ``protocol: tcp`` asks over TCP only. CRITICAL when a server refuses, does not
answer within ``timeout``, answers SERVFAIL, REFUSED or NXDOMAIN (unless ``nxdomain: true``),
sends a malformed message, or answers other records than expected. ``warn`` and ``crit`` are
thresholds on each server's response time. Writes and reads DNS messages itself
(mdd.checks._dns_wire): every offset checked, every name bounded.
"""

from __future__ import annotations

import socket
import struct
import time

from mdd.checks._base import main_of
from mdd.checks._dns_wire import (
    AA,
    NOERROR,
    NXDOMAIN,
    BadName,
    Malformed,
    Message,
    Query,
    Record,
    name_from_text,
    name_text,
    rcode_text,
    reverse_name,
)
from mdd.checks._net import connect, host_port, split_address
from mdd.checks._options import (
    ADDRESS,
    BOOLEAN,
    DURATION,
    STRING,
    Kind,
    Option,
    choice,
    duration_text,
)
from mdd.checks._result import CheckError, Perf, Result, State, timed_result
from mdd.checks._servers import ask_all, combine, datagram_exchange, perf_label
from mdd.checks._shared import threshold_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    from mdd.checks._typed import Timed

    class Opts(Timed, Protocol):
        query: str
        record: str
        servers: list[str] | None
        answers: list[str] | None
        includes: list[str] | None
        excludes: list[str] | None
        nxdomain: bool
        authoritative: bool
        protocol: str


TYPE = "dns"
SUMMARY = "DNS servers answer a name with the expected records, or say it does not exist."
RECORDS = ("A", "AAAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT", "CAA", "SOA")


def _record(value: Any) -> str:
    text = choice(*RECORDS).load(value.upper() if isinstance(value, str) else value)
    return str(text)


RECORD = Kind(
    "choice",
    _record,
    _record,
    doc="one of " + ", ".join(RECORDS),
    schema={"type": "string"},
    metavar="{" + ",".join(RECORDS) + "}",
)
OPTIONS: tuple[Option, ...] = (
    Option("query", STRING, "The name to ask for (an address, for a PTR record).", required=True),
    Option("record", RECORD, "The record type to ask for (in any case: mx is MX).", default="A"),
    Option(
        "servers",
        ADDRESS,
        "DNS servers to ask, each host, host:port or [v6]:port (port 53); each is judged on "
        "its own. Default: the agent's resolvers (/etc/resolv.conf).",
        multiple=True,
    ),
    Option(
        "answers",
        STRING,
        "The exact set of answers, in any order (presentation text, e.g. 10 mx1.example.net).",
        multiple=True,
    ),
    Option("includes", STRING, "Answers that must be among those given.", multiple=True),
    Option("excludes", STRING, "Answers that must not be among those given.", multiple=True),
    Option("nxdomain", BOOLEAN, "The name must not exist (NXDOMAIN).", default=False),
    Option(
        "authoritative",
        BOOLEAN,
        "The answer must be authoritative (AA flag): the server serves the zone itself.",
        default=False,
    ),
    Option("protocol", choice("udp", "tcp"), "Ask over UDP or TCP.", default="udp"),
    Option("timeout", DURATION, "Give up waiting for the servers after this long.", default=10.0),
    Option("warn", DURATION, "WARNING when a server takes longer than this to answer."),
    Option("crit", DURATION, "CRITICAL when a server takes longer than this to answer."),
)
EXAMPLE = {
    "query": "ams1.example.net",
    "record": "MX",
    "servers": ["10.0.0.53", "10.0.1.53:53"],
    "includes": ["10 mx1.ams1.example.net"],
}
# The Debian packages its tests use (.ci/setup installs them): servers and plugins they run.
TEST_PACKAGES = ("dnsmasq-base", "bind9-dnsutils", "monitoring-plugins-standard")

PORT = 53
RESOLV_CONF = "/etc/resolv.conf"
SHOWN = 5  # answers quoted in a message, at most
_FAMILIES = {"A": socket.AF_INET, "AAAA": socket.AF_INET6}


def _is_address(text: str, family: int | None = None) -> bool:
    for fam in (family,) if family else (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(fam, text)
        except (OSError, ValueError):
            continue
        return True
    return False


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    problems = threshold_rules(values, OPTIONS)
    lists = [name for name in ("answers", "includes", "excludes") if name in values]
    if values.get("nxdomain"):
        for name in lists:
            problems.append((name, f"'{name}' has no meaning with nxdomain: true"))
    if "answers" in values and "includes" in values:
        problems.append(("includes", "'includes' has no meaning with answers (the exact set)"))
    record = str(values.get("record", "A"))
    family = _FAMILIES.get(record)
    for name in lists:
        items = values[name]
        for item in items if isinstance(items, list) else []:
            if family and not _is_address(str(item), family):
                kind = "an IPv4" if record == "A" else "an IPv6"
                problems.append((name, f"{item!r} is not {kind} address, as {record} answers are"))
    query = str(values.get("query", ""))
    if record == "PTR" and not _is_address(query) and not _is_reverse_name(query):
        problems.append(
            (
                "query",
                f"a PTR query is an address or a name under in-addr.arpa or ip6.arpa, "
                f"not {query!r}",
            )
        )
    if any(c.isspace() for c in query):
        problems.append(("query", f"{query!r} is not a DNS name: it contains white space"))
    return problems


def _is_reverse_name(name: str) -> bool:
    return name.lower().rstrip(".").endswith((".in-addr.arpa", ".ip6.arpa"))


def agent_resolvers(path: str = RESOLV_CONF) -> list[tuple[str, int]]:
    """The ``nameserver`` addresses of resolv.conf (at most 3, as the C library reads)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(65536)
    except OSError as exc:
        raise CheckError(
            f"no servers given and {path} cannot be read ({exc.strerror}): set servers"
        ) from None
    found: list[tuple[str, int]] = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            address = words[1].split("%", 1)[0]  # fe80::1%eth0: the scope is the host's
            if _is_address(address) and len(found) < 3:
                found.append((address, PORT))
    if not found:
        raise CheckError(f"no servers given and {path} names no nameserver: set servers")
    return found


def normalise(text: str, record: str) -> str:
    """An answer as compared: case-folded, names without their trailing dot."""
    if record in _FAMILIES:
        family = _FAMILIES[record]
        try:
            return socket.inet_ntop(family, socket.inet_pton(family, text.strip()))
        except (OSError, ValueError):
            return text.strip().casefold()
    if record == "TXT":
        return text.casefold()
    words = text.replace('"', "").split()
    return " ".join(w if w == "." else w.rstrip(".") for w in words).casefold()


def _answer_text(rdata: Record, record: str) -> str:
    if record == "TXT":
        return b"".join(rdata.strings).decode("utf-8", "replace")
    return rdata.text


def _shown(answers: list[str]) -> str:
    if not answers:
        return "(none)"
    quoted = ", ".join(answers[:SHOWN])
    if len(answers) > SHOWN:
        quoted += f" and {len(answers) - SHOWN} more"
    return quoted if len(quoted) <= 300 else quoted[:297] + "..."


def _exchange_tcp(host: str, port: int, wire: bytes, deadline: float) -> bytes:
    sock, _ = connect(host, port, deadline)
    with sock:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        sock.sendall(struct.pack("!H", len(wire)) + wire)
        (size,) = struct.unpack("!H", _read_exactly(sock, 2, deadline))
        return _read_exactly(sock, size, deadline)


def _read_exactly(sock: socket.socket, size: int, deadline: float) -> bytes:
    data = b""
    while len(data) < size:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        sock.settimeout(remaining)
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("the server closed the connection mid-answer")
        data += chunk
    return data


def query_name(opts: Opts) -> tuple[bytes, ...]:
    """The labels of the name asked for; ``CheckError`` when ``query`` is not a name."""
    if opts.record == "PTR" and _is_address(opts.query):
        return reverse_name(opts.query)
    try:
        return name_from_text(opts.query)
    except BadName as exc:
        raise CheckError(f"query {opts.query!r} is not a DNS name: {exc}") from None


def _query(
    host: str, port: int, wire: bytes, deadline: float, opts: Opts, asked: str
) -> bytes | Result:
    """The server's reply to ``wire`` (over UDP, again over TCP when truncated, or over TCP),
    or the CRITICAL result of not getting one."""
    server = host if port == PORT else host_port(host, port)
    via = opts.protocol
    try:
        if via == "udp":
            reply = datagram_exchange(host, port, wire, deadline, lambda r: r[:2] == wire[:2])
            if len(reply) >= 4 and reply[2] & 0x02:  # TC: truncated, ask again over TCP
                via = "tcp"
        if via == "tcp":
            reply = _exchange_tcp(host, port, wire, deadline)
    except socket.gaierror as exc:
        return Result(State.CRITICAL, f"cannot resolve the server {host}: {exc.strerror}")
    except ConnectionRefusedError:
        return Result(State.CRITICAL, f"{server} refused the {via.upper()} query {asked}")
    except TimeoutError:
        return Result(
            State.CRITICAL,
            f"{server} did not answer {asked} within {duration_text(opts.timeout)}"
            + (" over TCP" if via == "tcp" else ""),
        )
    except OSError as exc:
        return Result(State.CRITICAL, f"{server} failed on {asked}: {exc.strerror or exc}")
    return reply


def ask(
    host: str,
    port: int,
    opts: Opts,
    qname: tuple[bytes, ...],
    deadline: float,
    many: bool,
) -> Result:
    """One query to one server, judged."""
    server = host if port == PORT else host_port(host, port)
    record: str = opts.record
    name = name_text(qname, final_dot=False)
    asked = f"{name} {record}"
    query = Query(qname, record)
    wire = query.wire
    started = time.monotonic()
    reply = _query(host, port, wire, deadline, opts, asked)
    if isinstance(reply, Result):
        return reply
    elapsed = round(time.monotonic() - started, 6)
    perf = (Perf(perf_label("time", host, port, many), elapsed, "s", opts.warn, opts.crit, 0.0),)
    try:
        response = Message(reply)
    except Malformed as exc:
        return Result(State.CRITICAL, f"{server} sent a malformed answer to {asked}: {exc}", perf)
    if not query.is_response(response):
        return Result(State.CRITICAL, f"{server} answered another question than {asked}", perf)
    rcode = response.rcode
    if rcode == NXDOMAIN:
        if opts.nxdomain:
            message = f"{server}: {name} does not exist (NXDOMAIN), as required"
            return timed_result(message, elapsed, opts.warn, opts.crit, perf)
        return Result(
            State.CRITICAL, f"{server} answered {asked} with NXDOMAIN (no such name)", perf
        )
    if rcode != NOERROR:
        return Result(State.CRITICAL, f"{server} answered {asked} with {rcode_text(rcode)}", perf)
    try:
        texts = [_answer_text(r, record) for r in response.answer if r.rdtype == query.rdtype]
        answers = list(dict.fromkeys(texts))  # a record sent twice is one answer
    except Malformed as exc:
        return Result(State.CRITICAL, f"{server} sent a malformed answer to {asked}: {exc}", perf)
    if opts.authoritative and not response.flags & AA:
        return Result(
            State.CRITICAL,
            f"{server} answered {asked} but not authoritatively (no AA flag: a cache, or not "
            f"a server of the zone)",
            perf,
        )
    if opts.nxdomain:
        found = f"{record} {_shown(answers)}" if answers else f"no {record} record, NOERROR"
        return Result(State.CRITICAL, f"{server}: {name} exists ({found}) but must not", perf)
    if not answers:
        aliases = [r.text for r in response.answer]
        alias = f" (only {_shown(aliases)})" if aliases else ""
        return Result(State.CRITICAL, f"{server} has no {record} record for {name}{alias}", perf)
    problem = _compare(answers, opts, record)
    if problem:
        shown = _shown(sorted(answers))
        return Result(State.CRITICAL, f"{server} answered {asked} with {shown}: {problem}", perf)
    message = f"{server} answered {asked}: {_shown(answers)} in {elapsed * 1000:.1f} ms"
    return timed_result(message, elapsed, opts.warn, opts.crit, perf)


def _compare(answers: list[str], opts: Opts, record: str) -> str:
    """What is wrong with the answers (``missing x, unexpected y``), or ``""``."""
    got = {normalise(a, record) for a in answers}
    parts: list[str] = []
    if opts.answers:
        wanted = {normalise(a, record) for a in opts.answers}
        missing = sorted(a for a in opts.answers if normalise(a, record) not in got)
        extra = sorted(a for a in answers if normalise(a, record) not in wanted)
        if missing:
            parts.append(f"missing {_shown(missing)}")
        if extra:
            parts.append(f"unexpected {_shown(extra)}")
    missing = [a for a in opts.includes or () if normalise(a, record) not in got]
    if missing:
        parts.append(f"missing {_shown(missing)}")
    present = [a for a in opts.excludes or () if normalise(a, record) in got]
    if present:
        parts.append(f"excluded {_shown(present)} present")
    return ", ".join(parts)


def probe(opts: Opts) -> Result:
    deadline = time.monotonic() + opts.timeout
    if opts.servers:
        servers = [split_address(text, PORT) for text in opts.servers]
    else:
        servers = agent_resolvers()
    many = len(servers) > 1
    qname = query_name(opts)

    def one(host: str, port: int) -> Result:
        return ask(host, port, opts, qname, deadline, many)

    return combine(ask_all(servers, one, deadline, "the DNS server"))


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
