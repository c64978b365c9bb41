"""check-mdd-http's own HTTP/1.1 response reader (checks/_http_wire.py), run as Sensu runs it
(/bin/sh -c) against loopback servers that write exact bytes: the framings a real server
sends, and the answers no server library would write."""

from __future__ import annotations

import pytest

from tests.checks.http_servers import raw_http
from tests.conftest import CheckRun, run_check


def one_line(run: CheckRun) -> str:
    assert run.out.count("\n") == 1, run.out
    assert "Traceback" not in run.out
    return run.line


def check(*pieces: bytes, pause: float = 0.0, **manifest: object) -> tuple[int, str, str]:
    """(exit code, line, base URL) of one run against a server answering ``pieces``."""
    manifest.setdefault("timeout", "2s")
    with raw_http(*pieces, pause=pause) as base:
        run = run_check("http", url=f"{base}/health", **manifest)
    return run.code, one_line(run), base


# --------------------------------------------------------------------------- framings


def test_chunked_body_with_extensions_and_trailers() -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;name=value;other\r\nall \r\n"
        b'A ; spaced="quoted"\r\nsystems OK\r\n'
        b"0;last\r\nX-Checksum: abc\r\nX-Other: def\r\n\r\n"
    )
    code, line, base = check(answer, contains="all systems OK")
    assert code == 0, line
    assert f"{base}/health returned 200 OK" in line
    assert "size=14B" in line


def test_close_delimited_body() -> None:
    answer = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall systems OK, the whole way"
    code, line, _ = check(answer, contains="the whole way")
    assert code == 0, line
    assert "size=29B" in line


def test_http_1_0_response_without_content_length() -> None:
    code, line, _ = check(b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nall systems OK", contains="OK")
    assert code == 0, line
    assert "returned 200 OK" in line


def test_100_continue_and_103_early_hints_then_200() -> None:
    code, line, _ = check(
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nall systems OK",
        contains="all systems OK",
    )
    assert code == 0, line
    assert "returned 200 OK" in line


def test_header_names_are_read_in_any_case_and_charset_is_used() -> None:
    body = "café OK".encode("latin-1")
    answer = (
        b'HTTP/1.1 200 OK\r\ncontent-LENGTH: %d\r\nCONTENT-TYPE: text/plain; Charset="ISO-8859-1"'
        b"\r\n\r\n" % len(body) + body
    )
    code, line, _ = check(answer, contains="café OK")
    assert code == 0, line


def test_repeated_equal_content_lengths_are_one() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nOK"
    code, line, _ = check(answer, contains="OK")
    assert code == 0, line


@pytest.mark.parametrize(
    ("status", "accepted"), [(b"204 No Content", "204"), (b"304 Not Modified", "304")]
)
def test_no_body_is_read_for_204_and_304(status: bytes, accepted: str) -> None:
    # Content-Length describes a body that never comes: reading it would wait, then fail.
    answer = b"HTTP/1.1 " + status + b"\r\nContent-Length: 100\r\n\r\n"
    code, line, _ = check(answer, status=[accepted])
    assert code == 0, line
    assert "size=0B" in line


def test_no_body_is_read_for_head() -> None:
    code, line, _ = check(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", method="HEAD")
    assert code == 0, line
    assert "returned 200 OK" in line


# --------------------------------------------------------------------------- refused answers


def test_conflicting_content_lengths_are_refused() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 14\r\n\r\nOK"
    code, line, base = check(answer, contains="OK")
    assert code == 2, line
    assert (
        f"{base}/health returned 200 with an invalid Content-Length ('2, 14'): the body "
        f"cannot be read reliably"
    ) in line


def test_an_oversized_header_block_is_refused() -> None:
    headers = b"".join(b"X-Big-%d: %s\r\n" % (i, b"v" * 60_000) for i in range(5))
    code, line, base = check(b"HTTP/1.1 200 OK\r\n" + headers + b"\r\nOK")
    assert code == 2, line
    assert f"{base}/health sent a malformed response: a header block larger than 256 KiB" in line


def test_too_many_headers_are_refused() -> None:
    headers = b"".join(b"X-H-%d: v\r\n" % i for i in range(150))
    code, line, base = check(b"HTTP/1.1 200 OK\r\n" + headers + b"Content-Length: 0\r\n\r\n")
    assert code == 2, line
    assert f"{base}/health sent a malformed response: more than 100 headers" in line


def test_a_bad_chunk_size_is_refused() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    answer = chunked + b"2\r\nOK\r\nzz\r\nmore\r\n0\r\n\r\n"
    code, line, base = check(answer, contains="OK")
    assert code == 2, line
    assert f"{base}/health returned 200 but its body is malformed: a bad chunk size ('zz')" in line


def test_a_chunk_longer_than_its_size_is_refused() -> None:
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK, and more\r\n0\r\n\r\n"
    code, line, _ = check(answer, contains="OK")
    assert code == 2, line
    assert "returned 200 but its body is malformed: a chunk longer than its size (2 bytes)" in line


@pytest.mark.parametrize(
    "status_line", [b"HTTP/1.1 2x0 OK", b"HTTP/1.1", b"HTTP/x.y 200 OK", b"HTTP/1.1 099 Low"]
)
def test_a_malformed_status_line_is_refused(status_line: str) -> None:
    code, line, base = check(status_line + b"\r\nContent-Length: 0\r\n\r\n")
    assert code == 2, line
    assert f"{base}/health sent a malformed response: a malformed status line (" in line


def test_a_header_line_without_a_colon_is_refused() -> None:
    code, line, base = check(b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n")
    assert code == 2, line
    assert (
        f"{base}/health sent a malformed response: a header line that is not 'Name: value' "
        f"('no colon here')"
    ) in line


def test_a_connection_closed_inside_the_headers_is_critical() -> None:
    code, line, base = check(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")
    assert code == 2, line
    assert f"{base}/health sent a malformed response: the connection closed in the middle" in line


def test_a_non_http_reply_is_critical() -> None:
    code, line, base = check(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n")
    assert code == 2, line
    assert f"{base}/health did not answer with HTTP (got 'SSH-2.0-OpenSSH_9.2p1 Debian')" in line


def test_no_answer_at_all_is_critical() -> None:
    code, line, base = check()
    assert code == 2, line
    assert f"{base}/health closed the connection without a response" in line


def test_endless_interim_answers_are_refused() -> None:
    code, line, base = check(b"HTTP/1.1 103 Early Hints\r\n\r\n" * 40)
    assert code == 2, line
    assert f"{base}/health sent a malformed response: more than 32 interim (1xx) answers" in line


def test_a_chunked_body_that_trickles_past_the_timeout() -> None:
    pieces = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", *[b"1\r\nx\r\n"] * 10]
    code, line, base = check(*pieces, pause=0.25, timeout="1s")
    assert code == 2, line
    assert f"{base}/health returned 200 but its body did not arrive within 1s" in line


def test_a_chunked_body_cut_short_in_a_chunk() -> None:
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nall systems"
    code, line, base = check(answer, contains="OK")
    assert code == 2, line
    assert f"{base}/health returned 200 but closed the connection after 11 bytes" in line


# --------------------------------------------------------------------------- URL splitting

PLAIN_URLS = [
    "http://127.0.0.1/",
    "http://127.0.0.1",
    "https://Artifacts.AMS1.example.net:8443/health?full=1&x=y#top",
    "http://host:00080/a/b;c?d?e",
    "http://host:/path",
    "http://h/?",
    "http://h?q=1",
    "http://h#frag/x",
    "https://under_score.example/%C3%A9?a=%20",
    "http://host:65535/",
]
OTHER_URLS = [
    "http://user@host/",
    "http://[::1]:8080/x",
    "http://host:65536/",
    "http://host:0/",
    "http://host:8x/",
    "http://hést/",
    "http://host/a b",
    "http://host/a\tb",
    "HTTP://host/",
    "ftp://host/",
    "http:///path",
    "http://host\\@evil/",
]


def _reference(url: str) -> tuple[str, str, int, str] | str:
    """What urlsplit makes of ``url``, as check_http used it before its fast path."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http:// or https:// URL"
    try:
        port = parts.port
    except ValueError:
        return "bad port number"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path)


@pytest.mark.parametrize("url", PLAIN_URLS + OTHER_URLS)
def test_a_url_is_split_as_urlsplit_splits_it(url: str) -> None:
    from mdd.checks._http_exchange import _simple_target, ascii_text, target_of
    from mdd.checks.api import CheckFailed

    simple = _simple_target(url)
    assert (simple is not None) == (url in PLAIN_URLS)  # the fast path takes the plain ones
    expected = _reference(url)
    try:
        target = target_of(url)
    except CheckFailed as exc:
        assert isinstance(expected, str), exc
        assert str(exc).endswith(f": {expected}"), exc
        return
    assert not isinstance(expected, str), (url, target.host)
    scheme, host, port, path = expected
    assert (target.scheme, target.host, target.port, target.path) == (
        scheme,
        host,
        port,
        ascii_text(path, "utf-8"),
    )
