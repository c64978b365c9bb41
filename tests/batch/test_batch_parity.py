"""Batch mode as per-point mode in real Sensu (issue 16): each point probed on its own
cadence, its deployment state (``mdd_state``) on every result, the runner's state file, the
runner's own health and ttl, the Sensu Go agent's rules (ttl, refusals with their message,
rate limit, metrics) and the handlers rule. The runner check's command runs under
/bin/sh -c, as Sensu runs it, against loopback targets and the loopback stand-ins of the
Classic client socket and the Sensu Go agent API (tests/batch/sensu_agents.py)."""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from mdd.batch import submit
from mdd.batch.cron import Schedule, is_due
from mdd.batch.state import LIMIT as BATCH_STATE_LIMIT
from tests.batch.sensu_agents import Limiter, agent_api, client_socket
from tests.conftest import run_command
from tests.runner.helpers import free_port, listener, mdd, tcp, write_manifest

DC = "lab1"
FIXTURES = Path("/work/shared/fixtures/sensu-go-6.12")


def fixture(name: str) -> Any:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"fixture {path} not present")
    return json.loads(path.read_text())


@pytest.fixture
def open_port() -> Iterator[int]:
    port = free_port()
    sock = listener(port)
    yield port
    sock.close()


def generate(tmp: Path, points: list[dict[str, Any]], *extra: str) -> tuple[dict[str, Any], Run]:
    manifests = write_manifest(tmp, points, DC)
    out = tmp / "batch.json"
    run = mdd(
        "generate", DC, "--manifests", str(manifests), "--batch", *extra, "-o", str(out), cwd=tmp
    )
    assert run.code == 0, run.err
    text = out.read_text()
    if "--format" in extra:  # sensu-go-json: the runner's CheckConfig, then the EventFilter
        decoder, resources, at = json.JSONDecoder(), [], 0
        while text[at:].strip():
            resource, end = decoder.raw_decode(text, at + len(text[at:]) - len(text[at:].lstrip()))
            resources.append(resource)
            at = end
        (check,) = [r for r in resources if r["type"] == "CheckConfig"]
        return check, run
    (runner,) = json.loads(text)["checks"].values()
    return runner, run


Run = Any


def command_of(runner: dict[str, Any]) -> str:
    return str(runner["spec"]["command"] if "spec" in runner else runner["command"])


def shift(state: Path, seconds: float, *points: str) -> None:
    """Move the recorded probe times of ``points`` back by ``seconds``, as if that much time
    had passed since (the state file is the runner's memory; editing it is the clock)."""
    document = json.loads(state.read_text())
    for point in points:
        document["points"][f"mdd_{DC}_{point}"]["probed"] -= seconds
    state.write_text(json.dumps(document))


def names(received: list[dict[str, Any]]) -> list[str]:
    return sorted(r["name"].removeprefix(f"mdd_{DC}_") for r in received)


# --------------------------------------------------------------------------- cadence


def test_each_point_is_probed_on_its_own_interval(tmp_path: Path, open_port: int) -> None:
    runner, _ = generate(
        tmp_path,
        [
            {**tcp("fast", open_port), "sensu": {"interval": "10s"}},
            {**tcp("slow", open_port), "sensu": {"interval": "60s"}},
            {**tcp("yearly", open_port), "sensu": {"cron": "0 3 1 1 *"}},
        ],
    )
    assert runner["interval"] == 10  # the greatest common cadence of 10 s, 60 s and a cron
    state = tmp_path / "state"
    command = command_of(runner) + f" --state {state} --socket 127.0.0.1:"
    with client_socket() as (port, first):
        ran = run_command(command + str(port))
    assert ran.code == 0 and names(first) == ["fast", "slow", "yearly"], ran.out
    by_name = {r["name"]: r for r in first}
    assert by_name[f"mdd_{DC}_slow"]["interval"] == 60  # its own, not the runner's
    yearly = by_name[f"mdd_{DC}_yearly"]
    assert yearly["cron"] == "0 3 1 1 *" and "interval" not in yearly
    assert yearly["ttl"] >= 2 * 365 * 86400  # twice the longest gap between two of its runs

    shift(state, 15, "fast", "slow")  # 15 s later: the 10 s point is due, the 60 s one not
    with client_socket() as (port, second):
        ran = run_command(command + str(port))
    assert ran.code == 0, ran.out
    assert "fast" in names(second) and "slow" not in names(second)
    assert ran.line.startswith(f"MddBatch OK: {DC}: 3/3 green;")  # every point, due or not

    shift(state, 60, "fast", "slow")
    with client_socket() as (port, third):
        run_command(command + str(port))
    assert {"fast", "slow"} <= set(names(third))


def test_when_a_point_is_due() -> None:
    at = datetime(2026, 3, 4, 10, 0, 0).timestamp()  # local time, as the agent's scheduler
    assert is_due(60, None, None, at, 5)  # never probed
    assert not is_due(60, None, at - 50, at, 5)
    assert is_due(60, None, at - 55, at, 5)  # the runner may start a little early
    every_5 = "*/5 * * * *"
    assert is_due(None, every_5, at - 120, at, 5)  # 10:00 fell since 09:58
    assert not is_due(None, every_5, at - 60 * 3, at - 60, 5)  # 09:57 to 09:59: none
    assert is_due(None, "0 10 * * 3", at - 3600, at, 5)  # Wednesday 4 March 2026, 10:00
    assert not is_due(None, "0 10 * * 4", at - 3600, at, 5)
    assert Schedule("0 3 * * *").longest_gap(at) == 86400
    assert Schedule("*/15 9-17 * * mon-fri").longest_gap(at) >= 2 * 86400  # the weekend
    assert Schedule("@hourly").longest_gap(at) == 3600


# --------------------------------------------------------------------------- mdd_state


def test_mdd_state_follows_each_point_between_runs(tmp_path: Path) -> None:
    web_port, base_port = free_port(), free_port()
    web, base = listener(web_port), listener(base_port)
    try:
        runner, _ = generate(
            tmp_path,
            [
                {**tcp("base", base_port), "sensu": {"interval": "60s"}},
                {**tcp("web", web_port), "sensu": {"interval": "10s"}},
                {**tcp("app", base_port, depends_on=["base"]), "sensu": {"interval": "10s"}},
                {**tcp("never", free_port()), "sensu": {"interval": "10s"}},
            ],
        )
        state = tmp_path / "state"
        command = command_of(runner) + f" --state {state} --socket 127.0.0.1:"
        with client_socket() as (port, first):
            run_command(command + str(port))
        states = {r["name"].removeprefix(f"mdd_{DC}_"): r["mdd_state"] for r in first}
        assert states == {"app": "green", "base": "green", "never": "pending", "web": "green"}
        web.close()  # web regresses
        shift(state, 15, "base", "web", "app", "never")
        with client_socket() as (port, second):
            ran = run_command(command + str(port))
    finally:
        web.close()
        base.close()
    got = {r["name"].removeprefix(f"mdd_{DC}_"): r for r in second}
    assert set(got) == {"web", "app", "never"}  # base (60 s) is not due
    assert got["web"]["mdd_state"] == "regressed" and got["web"]["status"] == 2
    assert got["never"]["mdd_state"] == "pending"
    # app's dependency was not probed in this run: it is judged by its last result (green)
    assert got["app"]["mdd_state"] == "green"
    assert ran.code == 0 and ran.line.startswith(
        f"MddBatch OK: {DC}: 2/4 green; not green: web, never"
    )
    saved = json.loads(state.read_text())
    assert set(saved["points"]) == {f"mdd_{DC}_{p}" for p in ("base", "web", "app", "never")}


def test_a_blocked_and_an_unknown_point(tmp_path: Path) -> None:
    runner, _ = generate(
        tmp_path,
        [
            tcp("db", free_port()),
            tcp("reports", free_port(), depends_on=["db"]),
            {**tcp("odd", free_port()), "check": {"host": "127.0.0.1", "port": 1, "timeout": "1s"}},
        ],
        "--format",
        "sensu-go-json",
    )
    plan = tmp_path / "batch.plan"
    document = json.loads(plan.read_text())
    document["points"][2]["argv"].append("--no-such-flag")  # a check that cannot decide
    plan.write_text(json.dumps(document))
    with agent_api() as (port, events):
        ran = run_command(
            command_of(runner) + f" --state {tmp_path / 's'} --agent-api 127.0.0.1:{port}"
        )
    assert ran.code == 0, ran.out
    got = {e["check"]["metadata"]["name"].removeprefix(f"mdd_{DC}_"): e["check"] for e in events}
    assert got["reports"]["metadata"]["labels"]["mdd_state"] == "blocked"
    assert "reports: blocked by db (not green); its own check: " in got["reports"]["output"]
    assert got["odd"]["status"] == 3 and got["odd"]["metadata"]["labels"]["mdd_state"] == "unknown"
    assert got["db"]["metadata"]["labels"]["mdd_state"] == "pending"


def test_a_damaged_state_file_is_the_runners_unknown(tmp_path: Path, open_port: int) -> None:
    runner, _ = generate(tmp_path, [tcp("gateway", open_port)])
    state = tmp_path / "state"
    for damage in (b"{not json", json.dumps({"format": "other"}).encode(), b"\xff" * 10):
        state.write_bytes(damage)
        with client_socket() as (port, received):
            ran = run_command(command_of(runner) + f" --state {state} --socket 127.0.0.1:{port}")
        assert ran.code == 3 and ran.line.startswith("MddBatch UNKNOWN: "), ran.out
        assert str(state) in ran.line and "Traceback" not in ran.out
        assert received == [] and state.read_bytes() == damage  # left as it is


# --------------------------------------------------------------------------- the runner itself


def test_the_runner_check_has_its_own_ttl(tmp_path: Path, open_port: int) -> None:
    points = [{**tcp("a", open_port), "sensu": {"interval": "2s"}}]
    classic, _ = generate(tmp_path, points)
    assert classic["interval"] == 2 and classic["ttl"] >= 5 and classic["ttl_status"] == 2
    go, _ = generate(
        tmp_path,
        [{**points[0], "sensu": {"interval": "2s", "subscribers": ["x"], "round_robin": True}}],
        "--format",
        "sensu-go-json",
    )
    spec = go["spec"]
    assert spec["ttl"] >= 5 and spec["ttl"] > spec["interval"]
    assert spec["proxy_entity_name"] == f"mdd-{DC}"  # Sensu Go: a round-robin ttl needs one


def test_sensu_go_ttl_is_never_under_5_seconds(tmp_path: Path, open_port: int) -> None:
    runner, _ = generate(
        tmp_path,
        [{**tcp("a", open_port), "sensu": {"interval": "2s"}}],
        "--format",
        "sensu-go-json",
    )
    with agent_api() as (port, events):
        ran = run_command(
            command_of(runner) + f" --state {tmp_path / 's'} --agent-api 127.0.0.1:{port}"
        )
    assert ran.code == 0, ran.out
    (event,) = events
    assert event["check"]["ttl"] >= 5 and event["check"]["interval"] == 2


def test_a_refused_event_names_the_agents_message(tmp_path: Path, open_port: int) -> None:
    runner, _ = generate(tmp_path, [tcp("a", open_port)], "--format", "sensu-go-json")
    plan = tmp_path / "batch.plan"
    document = json.loads(plan.read_text())
    check = document["points"][0]["result"]["check"]
    check.update(interval=2, ttl=4)  # as an older mdd wrote a 2 s point's

    plan.write_text(json.dumps(document))
    with agent_api() as (port, events):
        ran = run_command(
            command_of(runner) + f" --state {tmp_path / 's'} --agent-api 127.0.0.1:{port}"
        )
    assert ran.code == 2 and events == []
    assert "400 Bad Request: minimum ttl is 5 seconds" in ran.line, ran.out


def test_the_runner_paces_its_events_to_the_agents_rate_limit(
    tmp_path: Path, open_port: int
) -> None:
    runner, _ = generate(
        tmp_path, [tcp(f"p{i}", open_port) for i in range(40)], "--format", "sensu-go-json"
    )
    limiter = Limiter()  # the agent's default: 10 events a second, burst 10
    with agent_api(limiter) as (port, events):
        ran = run_command(
            command_of(runner) + f" --state {tmp_path / 's'} --agent-api 127.0.0.1:{port}"
        )
    assert ran.code == 0 and len(events) == 40, ran.out
    # No backlog builds on the agent's limiter: an event may wait there only as long as the
    # jitter of a loopback round trip (the agent's clock starts at the first arrival, the
    # runner's at its first send). Unpaced, the 40th event would wait 3 s (30 tokens short).
    assert max(limiter.waits, default=0.0) < 0.5, limiter.waits


def test_generate_warns_when_points_outrun_the_agents_rate_limit(tmp_path: Path) -> None:
    points = [{**tcp(f"p{i}", 1), "sensu": {"interval": "10s"}} for i in range(120)]
    _, run = generate(tmp_path, points, "--format", "sensu-go-json")
    assert "120 points submit 12.0 results a second" in run.err
    assert (
        "sensu-agent with --events-rate-limit 12" in run.err and "--events-burst-limit" in run.err
    )
    _, run = generate(tmp_path, points[:100])
    assert "warning" not in run.err  # Sensu Classic's client socket has no such limit
    _, run = generate(tmp_path, points[:100], "--format", "sensu-go-json")
    assert "warning" not in run.err  # 10 a second: the default holds


def test_points_with_different_handlers_cannot_share_a_runner(tmp_path: Path) -> None:
    manifests = write_manifest(
        tmp_path,
        [tcp("a", 1), {**tcp("b", 2), "sensu": {"handlers": ["pager"]}}],
        DC,
    )
    run = mdd(
        "generate",
        DC,
        "--manifests",
        str(manifests),
        "--batch",
        "-o",
        str(tmp_path / "o.json"),
        cwd=tmp_path,
    )
    assert run.code == 2 and "b: batch mode runs every point" in run.err and "handlers" in run.err
    assert not (tmp_path / "o.json").exists()


def test_validate_refuses_a_ttl_sensu_go_refuses(tmp_path: Path) -> None:
    manifests = write_manifest(
        tmp_path, [{**tcp("a", 1), "sensu": {"interval": "2s", "ttl": "4s"}}], DC
    )
    run = mdd("validate", DC, "--manifests", str(manifests), cwd=tmp_path)
    assert run.code == 2
    assert "ttl: Sensu Go refuses every event of a check whose ttl is under 5s" in run.err


# --------------------------------------------------------------------------- Sensu Go's code


def test_metrics_are_the_agents_nagios_transformer(tmp_path: Path) -> None:
    for case in fixture("nagios-perfdata-metrics.json")["cases"]:
        got = submit.nagios_points(
            case["check_output"], case["executed"], case["output_metric_tags"]
        )
        assert got == case["points"], case["case"]


def test_go_events_carry_the_metrics_the_agent_would_extract() -> None:
    (case, _) = fixture("agent-event-proxy.json")["cases"]
    posted = case["posted"]
    static = {
        "check": {
            k: v
            for k, v in posted["check"].items()
            if k not in ("status", "output", "executed", "duration")
        },
        "entity": posted["entity"],
    }
    event = submit.go_event(
        static,
        0,
        posted["check"]["output"],
        posted["check"]["executed"],
        posted["check"]["duration"],
        "green",
    )
    assert event["metrics"]["points"] == case["agent_forwards"]["metrics"]["points"]


def test_the_agent_stand_in_answers_as_the_recorded_agent() -> None:
    recorded = (
        fixture("agent-event-refused.json")["cases"] + fixture("agent-event-proxy.json")["cases"]
    )
    with agent_api() as (port, _):
        for case in recorded:
            answer = requests.post(
                f"http://127.0.0.1:{port}/events", json=case["posted"], timeout=10
            )
            assert (answer.status_code, answer.text) == (
                case["http_status"],
                case["response_body"],
            ), case["case"]


def test_the_client_socket_error_is_reported(tmp_path: Path, open_port: int) -> None:
    runner, _ = generate(tmp_path, [tcp("a", open_port)])
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    import threading

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"invalid")  # what sensu-client 1.9 answers a result it refuses

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    ran = run_command(command_of(runner) + f" --state {tmp_path / 's'} --socket 127.0.0.1:{port}")
    thread.join(10)
    server.close()
    assert ran.code == 2 and "answered 'invalid'" in ran.line, ran.out


@pytest.mark.parametrize(
    ("name", "make", "words"),
    [
        ("fifo", lambda p: os.mkfifo(p), "is a FIFO (named pipe), not a file"),
        ("deep", lambda p: p.write_text("[" * 100_000), "nested too deeply"),
        ("big", lambda p: p.write_bytes(b" " * (BATCH_STATE_LIMIT + 1)), "over the limit"),
    ],
)
def test_a_state_file_that_cannot_be_one_is_refused_at_once(
    tmp_path: Path, name: str, make: Any, words: str
) -> None:
    from mdd.batch.state import BatchState, BatchStateError

    path = tmp_path / name
    make(path)
    with pytest.raises(BatchStateError, match=re.escape(words)):
        BatchState.load(str(path), DC)
