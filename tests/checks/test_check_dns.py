"""check-mdd-dns, run as Sensu runs it, against real dnsmasq servers on loopback."""

from __future__ import annotations

import shlex
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mdd.checks import check_dns
from mdd.core.command import check_command
from tests.checks.net_servers import (
    DNSMASQ,
    closed_udp_port,
    dnsmasq,
    dnsmasq_available,
    silent_udp_port,
    udp_server,
)
from tests.conftest import (
    accepting,
    load_values,
    run_argv,
    run_check,
    run_command,
    server_missing,
)
from tests.test_contract import assert_round_trip

RECORDS = (
    "--local=/test.example/",  # names under test.example that are not below: NXDOMAIN
    "--local-ttl=300",
    "--host-record=www.test.example,10.1.1.1",
    "--host-record=www.test.example,10.1.1.2",
    "--host-record=v6.test.example,2001:db8::1",
    "--txt-record=txt.test.example,v=spf1 ,-all",
    "--mx-host=test.example,mx1.test.example,10",
    "--srv-host=_ldap._tcp.test.example,ldap.test.example,389,0,100",
    "--ptr-record=1.1.1.10.in-addr.arpa,www.test.example",
    "--cname=alias.test.example,www.test.example",
    # CAA 0 issue "ca.test": flags 0, tag length 5, "issue", "ca.test"
    "--dns-rr=caa.test.example,257,0005" + b"issue".hex() + b"ca.test".hex(),
    # 100 addresses: more than fits in a 1232-byte UDP answer (TCP fallback tested below)
    *(f"--host-record=many.test.example,10.9.0.{i}" for i in range(1, 101)),
)


@pytest.fixture(scope="module")
def dns_port() -> Iterator[int]:
    with dnsmasq(*RECORDS) as port:
        yield port


@pytest.fixture(scope="module")
def auth_port() -> Iterator[int]:
    """dnsmasq authoritative for auth.example (SOA, NS, AA flag)."""
    with dnsmasq(
        "--auth-server=ns.auth.example,127.0.0.1",
        "--auth-zone=auth.example",
        "--host-record=www.auth.example,10.2.2.2",
    ) as port:
        yield port


@pytest.fixture(scope="module")
def cache_port(dns_port: int) -> Iterator[int]:
    """dnsmasq forwarding to ``dns_port``: its cached answers are not authoritative."""
    with dnsmasq(f"--server=127.0.0.1#{dns_port}") as port:
        yield port


def dns(port: int, **manifest: object):  # type: ignore[no-untyped-def]
    manifest.setdefault("timeout", "3s")
    return run_check("dns", servers=[f"127.0.0.1:{port}"], **manifest)


def test_a_records_are_ok(dns_port: int) -> None:
    run = run_check(
        "dns",
        point="www",
        servers=[f"127.0.0.1:{dns_port}"],
        query="www.test.example",
        answers=["10.1.1.2", "10.1.1.1"],
        timeout="3s",
    )
    assert run.code == 0, run.out
    assert run.line.startswith(
        f"DnsCheck OK: www: 127.0.0.1:{dns_port} answered www.test.example A: "
    )
    assert "10.1.1.1" in run.line and "10.1.1.2" in run.line and " | time=" in run.line


def test_wrong_answer_set_is_critical_and_says_what_differs(dns_port: int) -> None:
    run = dns(dns_port, query="www.test.example", answers=["10.1.1.1", "10.1.1.3"])
    assert run.code == 2, run.out
    assert "missing 10.1.1.3" in run.line and "unexpected 10.1.1.2" in run.line


def test_includes_and_excludes(dns_port: int) -> None:
    assert dns(dns_port, query="www.test.example", includes=["10.1.1.1"]).code == 0
    run = dns(dns_port, query="www.test.example", includes=["10.1.1.9"])
    assert run.code == 2 and "missing 10.1.1.9" in run.line, run.out
    assert dns(dns_port, query="www.test.example", excludes=["10.1.1.9"]).code == 0
    run = dns(dns_port, query="www.test.example", excludes=["10.1.1.2"])
    assert run.code == 2, run.out
    expected = "answered www.test.example A with 10.1.1.1, 10.1.1.2: excluded 10.1.1.2 present"
    assert expected in run.line


@pytest.mark.parametrize(
    ("query", "record", "answer"),
    [
        ("test.example", "MX", "10 MX1.test.example"),  # case and trailing dot don't matter
        ("test.example", "MX", "10 mx1.test.example."),
        ("txt.test.example", "TXT", "v=spf1 -all"),  # two strings, joined, without quotes
        ("_ldap._tcp.test.example", "SRV", "0 100 389 ldap.test.example"),
        ("10.1.1.1", "PTR", "www.test.example"),  # an address as the query of a PTR check
        ("1.1.1.10.in-addr.arpa", "PTR", "www.test.example."),
        ("alias.test.example", "CNAME", "www.test.example"),
        ("alias.test.example", "A", "10.1.1.1"),  # the alias is followed
        ("v6.test.example", "AAAA", "2001:DB8:0::1"),  # any spelling of the address
        ("caa.test.example", "CAA", '0 issue "ca.test"'),
        ("caa.test.example", "CAA", "0 issue ca.test"),
    ],
)
def test_record_types_compare_as_presentation_text(
    dns_port: int, query: str, record: str, answer: str
) -> None:
    run = dns(dns_port, query=query, record=record, includes=[answer])
    assert run.code == 0, run.out


def test_missing_record_type_is_critical(dns_port: int) -> None:
    run = dns(dns_port, query="www.test.example", record="AAAA")
    assert run.code == 2, run.out
    assert f"127.0.0.1:{dns_port} has no AAAA record for www.test.example" in run.line


def test_nxdomain(dns_port: int) -> None:
    run = dns(dns_port, query="gone.test.example")
    assert run.code == 2, run.out
    assert "answered gone.test.example A with NXDOMAIN (no such name)" in run.line
    run = dns(dns_port, query="gone.test.example", nxdomain=True)
    assert run.code == 0, run.out
    assert "gone.test.example does not exist (NXDOMAIN), as required" in run.line
    run = dns(dns_port, query="www.test.example", nxdomain=True)
    assert run.code == 2, run.out
    assert "www.test.example exists (A 10.1.1." in run.line and "but must not" in run.line


def test_refused_query_is_critical(dns_port: int) -> None:
    run = dns(dns_port, query="www.elsewhere.example")  # not its zone, no upstream: REFUSED
    assert run.code == 2, run.out
    assert "answered www.elsewhere.example A with REFUSED" in run.line


def test_authoritative(auth_port: int, cache_port: int) -> None:
    run = dns(auth_port, query="www.auth.example", authoritative=True, answers=["10.2.2.2"])
    assert run.code == 0, run.out
    run = dns(auth_port, query="auth.example", record="SOA", authoritative=True)
    assert run.code == 0, run.out
    assert "ns.auth.example. hostmaster" in run.line
    dns(cache_port, query="www.test.example")  # fill the cache
    run = dns(cache_port, query="www.test.example", authoritative=True)
    assert run.code == 2, run.out
    assert "but not authoritatively (no AA flag" in run.line


def test_tcp_and_the_fallback_for_truncated_answers(dns_port: int) -> None:
    run = dns(dns_port, query="www.test.example", protocol="tcp", includes=["10.1.1.1"])
    assert run.code == 0, run.out
    run = dns(dns_port, query="many.test.example", includes=["10.9.0.100"])
    assert run.code == 0, run.out
    assert "and 95 more" in run.line


def test_slow_answer_over_warn_is_warning(dns_port: int) -> None:
    run = dns(dns_port, query="www.test.example", warn="0.000001s")
    assert run.code == 1, run.out
    assert "(warning above 0.001 ms)" in run.line


def test_each_server_is_judged_on_its_own(dns_port: int) -> None:
    refused = closed_udp_port()
    with silent_udp_port() as silent:
        run = run_check(
            "dns",
            query="www.test.example",
            timeout="1s",
            servers=[f"127.0.0.1:{dns_port}", f"127.0.0.1:{silent}", f"127.0.0.1:{refused}"],
        )
    assert run.code == 2, run.out
    assert f"127.0.0.1:{silent} did not answer www.test.example A within 1s" in run.line
    assert f"127.0.0.1:{refused} refused the UDP query www.test.example A" in run.line
    assert "(1 of 3 servers OK)" in run.line


def test_tcp_server_that_never_answers_is_critical(unanswered_port: int) -> None:
    run = dns(unanswered_port, query="www.test.example", protocol="tcp", timeout="1s")
    assert run.code == 2, run.out
    assert "did not answer www.test.example A within 1s over TCP" in run.line


def test_wrong_protocol_over_tcp_is_critical() -> None:
    def http(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    with accepting(http) as port:
        run = dns(port, query="www.test.example", protocol="tcp", timeout="1s")
    assert run.code == 2, run.out
    assert run.out.count("\n") == 1 and len(run.line) < 300


def test_trickling_answer_ends_within_timeout() -> None:
    def trickle(conn: socket.socket) -> None:
        conn.recv(512)
        conn.sendall(b"\xff\xff")  # announces 65535 bytes, then sends them one by one
        for _ in range(100):
            conn.sendall(b"\0")
            time.sleep(0.05)

    with accepting(trickle) as port:
        run = dns(port, query="www.test.example", protocol="tcp", timeout="1s")
    assert run.code == 2, run.out
    assert "did not answer www.test.example A within 1s over TCP" in run.line


def test_garbage_with_the_right_id_is_a_malformed_answer() -> None:
    with udp_server(lambda query: query[:2] + b"\x81\x80" + b"\xff" * 40) as (port, _):
        run = dns(port, query="www.test.example", timeout="2s")
    assert run.code == 2, run.out
    assert f"127.0.0.1:{port} sent a malformed answer to www.test.example A: " in run.line
    assert run.out.count("\n") == 1 and len(run.line) < 400


def test_answer_to_another_question_is_critical() -> None:
    def other(query: bytes) -> bytes:  # the same id, but the question of www -> wwx
        return query[:2] + bytes([query[2] | 0x80]) + query[3:].replace(b"\x03www", b"\x03wwx")

    with udp_server(other) as (port, _):
        run = dns(port, query="www.test.example", timeout="2s")
    assert run.line.startswith(
        f"DnsCheck CRITICAL: 127.0.0.1:{port} answered another question than www.test.example A"
    )
    assert run.code == 2, run.out


def test_without_servers_the_agents_resolver_is_asked(tmp_path: Path) -> None:
    # A namespace of its own (network and mounts): its loopback runs dnsmasq on port 53 and
    # its /etc/resolv.conf names it. The check, run in there, finds it by itself.
    dnsmasq_available()
    if run_command("unshare -rnm true").code != 0:
        server_missing("network and mount namespaces (unshare -rnm)")
    conf = tmp_path / "resolv.conf"
    conf.write_text("search test.example\nnameserver 127.0.0.1\n")
    command = check_command("dns", load_values("dns", query="www.test.example", timeout="3s"))
    script = (
        f"ip link set lo up && mount --bind {shlex.quote(str(conf))} /etc/resolv.conf || exit 9; "
        f"{DNSMASQ} --keep-in-foreground --no-daemon --port=53 --listen-address=127.0.0.1 "
        "--bind-interfaces --no-resolv --no-hosts --conf-file=/dev/null --pid-file "
        "--log-facility=/dev/null --user=root --group=root "
        "--host-record=www.test.example,10.1.1.1 >/dev/null 2>&1 & "
        "for i in $(seq 50); do grep -q ':0035 ' /proc/net/udp && break; sleep 0.1; done; "
        f"{command}; code=$?; kill $!; exit $code"
    )
    run = run_command(f"unshare -rnm /bin/sh -c {shlex.quote(script)}")
    assert run.code == 0, run.out
    assert run.line.startswith("DnsCheck OK: 127.0.0.1 answered www.test.example A: 10.1.1.1 in ")


def test_default_servers_are_the_agents_resolvers(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text(
        "# a comment\nsearch example\nnameserver 10.0.0.53\nnameserver fe80::1%eth0\n"
        "nameserver 10.0.1.53\nnameserver 10.0.2.53\noptions ndots:2\n"
    )
    assert check_dns.agent_resolvers(str(conf)) == [
        ("10.0.0.53", 53),
        ("fe80::1", 53),
        ("10.0.1.53", 53),
    ]
    conf.write_text("search example\n")
    with pytest.raises(Exception, match="names no nameserver: set servers"):
        check_dns.agent_resolvers(str(conf))


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "the following arguments are required: --query"),
        (["--query", "x", "--record", "ANY"], "expected one of A, AAAA"),
        (["--query", "x", "--servers", "h:0"], "port must be 1-65535"),
        (["--query", "a..b", "--servers", "127.0.0.1:9"], "is not a DNS name"),
        (["--query", "x", "--protocol", "quic"], "expected one of udp, tcp"),
    ],
)
def test_bad_invocation_is_unknown_in_one_line(argv: list[str], expected: str) -> None:
    run = run_argv("check-mdd-dns", *argv)
    assert run.code == 3, run.out
    assert run.out.count("\n") == 1, run.out
    assert run.line.startswith("DnsCheck UNKNOWN: ") and expected in run.line


def test_manifest_values_parse_back_from_the_command() -> None:
    values = load_values(
        "dns",
        query="ams1.example.net",
        record="MX",
        protocol="tcp",
        servers=["10.0.0.53", "10.0.1.53:5353", "[2001:db8::53]:53"],
        answers=["10 mx1.ams1.example.net", "20 mx2.ams1.example.net"],
        excludes=["30 old.example.net"],
        authoritative=True,
        timeout="5s",
        warn="1s",
        crit="2s",
    )
    assert check_dns.validate(values) == []
    assert_round_trip("dns", values)
    values = load_values("dns", query="gone.example.net", nxdomain=True)
    assert_round_trip("dns", values)


def test_validate_rules() -> None:
    values = load_values("dns", query="x.example", nxdomain=True, includes=["10.0.0.1"])
    assert check_dns.validate(values) == [
        ("includes", "'includes' has no meaning with nxdomain: true")
    ]
    values = load_values("dns", query="x.example", record="AAAA", answers=["10.0.0.1"])
    assert check_dns.validate(values) == [
        ("answers", "'10.0.0.1' is not an IPv6 address, as AAAA answers are")
    ]
    values = load_values("dns", query="www.example", record="PTR")
    assert check_dns.validate(values)[0][0] == "query"
