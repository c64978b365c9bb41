"""The network probes called in-process, as a concurrent runner (``mdd verify``) calls them.

Each probe runs in a thread of this process, several at once, against loopback targets that
never answer: none may rely on SIGALRM (only the main thread gets it, and a runner sets none),
so each must come back by itself with a verdict that is not OK. The bound checked here is a
hang guard (ten times the timeout), not a timing.
"""

from __future__ import annotations

import argparse
import shlex
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mdd.checks._options import COMMON_OPTIONS, add_arguments
from mdd.checks._result import Result, State
from mdd.checks.registry import CHECK_TYPES
from mdd.core.command import check_argv
from tests.checks.net_servers import silent_udp_port
from tests.conftest import load_values


def options(check_type: str, **manifest: Any) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser, COMMON_OPTIONS + CHECK_TYPES[check_type].OPTIONS)
    argv = check_argv(check_type, load_values(check_type, **manifest))
    return parser.parse_args(shlex.split(shlex.join(argv[1:])))


@pytest.fixture
def silent_udp() -> Iterator[int]:
    with silent_udp_port() as port:
        yield port


def test_probes_run_concurrently_in_threads_and_end_by_themselves(
    silent_udp: int, silent_port: int, unanswered_port: int
) -> None:
    cases = {
        "dns udp": ("dns", {"query": "www.test.example", "servers": [f"127.0.0.1:{silent_udp}"]}),
        "dns tcp": (
            "dns",
            {"query": "x.test", "servers": [f"127.0.0.1:{unanswered_port}"], "protocol": "tcp"},
        ),
        "ntp": ("ntp", {"servers": [f"127.0.0.1:{silent_udp}", f"127.0.0.1:{unanswered_port}"]}),
        "ssh": ("ssh", {"host": "127.0.0.1", "port": silent_port}),
        "udp": ("udp", {"host": "127.0.0.1", "port": silent_udp, "send": "x"}),
        "command": ("command", {"command": ["/bin/sleep", "30"]}),
    }
    results: dict[str, Result] = {}

    def run(name: str, check_type: str, manifest: dict[str, Any]) -> None:
        opts = options(check_type, timeout="1s", **manifest)
        results[name] = CHECK_TYPES[check_type].probe(opts)

    threads = [
        threading.Thread(target=run, args=(name, *case), daemon=True)
        for name, case in cases.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not [t for t in threads if t.is_alive()], "a probe did not come back"
    assert set(results) == set(cases)
    for name, result in results.items():
        assert result.state in (State.CRITICAL, State.UNKNOWN), (name, result)
        assert "\n" not in result.message, (name, result)
    assert results["command"].state is State.UNKNOWN
    assert "did not finish within 1s" in results["command"].message
