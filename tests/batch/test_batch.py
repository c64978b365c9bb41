"""Batch mode end to end: `mdd generate --batch`, then the runner check's own command under
/bin/sh -c (as Sensu runs it) against real loopback targets, submitting to a loopback client
socket (Classic) or agent API (Sensu Go). Every submitted result is compared with what the
per-point definitions say and with what the per-point commands print on the same targets."""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.batch.sensu_agents import agent_api, client_socket
from tests.conftest import run_command
from tests.runner.helpers import free_port, listener, mdd, tcp, write_manifest

DC = "lab1"
# What only tells an agent how to run a command: the one thing a batch result leaves out.
CLASSIC_SCHEDULE = ("subscribers", "standalone", "stdin")
STATES = {
    "gateway": "green",
    "database": "pending",
    "api": "green",
    "broken-api": "pending",
    "reports": "blocked",
}


@contextlib.contextmanager
def web() -> Iterator[int]:
    """An HTTP server on 127.0.0.1: /ok answers 200 "healthy", anything else 500."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = b"healthy" if self.path == "/ok" else b"broken"
            self.send_response(200 if self.path == "/ok" else 500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def targets() -> Iterator[dict[str, int]]:
    open_port = free_port()
    sock = listener(open_port)
    with web() as http_port:
        yield {"open": open_port, "closed": free_port(), "http": http_port}
    sock.close()


def points(ports: dict[str, int]) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{ports['http']}"
    return [
        tcp("gateway", ports["open"], docs="https://wiki.example.net/gw", description="The gw"),
        tcp("database", ports["closed"], owner="dba"),
        {
            "name": "api",
            "type": "http",
            "owner": "web",
            "depends_on": ["gateway"],
            "sensu": {"interval": "30s"},  # the runner runs at the shortest interval
            "check": {"url": f"{url}/ok", "contains": "healthy", "timeout": "2s"},
        },
        {
            "name": "broken-api",
            "type": "http",
            "owner": "web",
            "check": {"url": f"{url}/bad", "timeout": "2s"},
        },
        tcp("reports", ports["closed"], owner="dba", depends_on=["database"]),
    ]


def normal(output: str) -> str:
    """An output with its timings (and so its performance data) taken out."""
    return re.sub(r"\d+(\.\d+)?", "N", output.strip())


def generate(tmp: Path, ports: dict[str, int], *extra: str) -> tuple[Path, Path]:
    manifests = write_manifest(tmp, points(ports), DC)
    per_point = tmp / "per-point.out"
    batch = tmp / "batch.out"
    for target, flags in ((per_point, ()), (batch, ("--batch",))):
        run = mdd(
            "generate",
            DC,
            "--manifests",
            str(manifests),
            *extra,
            *flags,
            "-o",
            str(target),
            cwd=tmp,
        )
        assert run.code == 0, run.err
    return per_point, batch


def per_point_runs(commands: dict[str, str]) -> dict[str, tuple[int, str]]:
    return {name: _run(command) for name, command in commands.items()}


def _run(command: str) -> tuple[int, str]:
    ran = run_command(command)
    return ran.code, ran.out


def test_classic_batch_submits_every_point_as_its_own_check(
    tmp_path: Path, targets: dict[str, int]
) -> None:
    per_point_file, batch_file = generate(tmp_path, targets)
    per_point = json.loads(per_point_file.read_text())["checks"]
    batch = json.loads(batch_file.read_text())["checks"]
    assert list(batch) == [f"mdd-batch-{DC}"]
    runner = batch[f"mdd-batch-{DC}"]
    assert runner["interval"] == 30
    plan = tmp_path / "batch.plan"
    assert shlex.split(runner["command"]) == [
        "check-mdd-batch",
        "--plan",
        str(plan),
        "--datacenter",
        DC,
    ]
    assert plan.is_file()

    with client_socket() as (port, received):
        ran = run_command(
            runner["command"] + f" --socket 127.0.0.1:{port} --state {tmp_path / 'state'}"
        )
    # the runner's own health (it ran, every result reached Sensu), never the worst point's
    assert ran.code == 0, ran.out
    assert ran.line == (
        f"MddBatch OK: {DC}: 2/5 green; not green: database, broken-api, reports; "
        f"5 probed and submitted"
    )

    assert sorted(r["name"] for r in received) == sorted(per_point)
    expected = per_point_runs({name: check["command"] for name, check in per_point.items()})
    for result in received:
        name = result["name"]
        definition = per_point[name]
        # every attribute of the per-point definition that Uchiwa shows (command, interval,
        # timeout, handlers, ...), as it is written there
        for key, value in definition.items():
            if key not in CLASSIC_SCHEDULE:
                assert result[key] == value, (name, key)
        assert set(result) - set(definition) - {"standalone"} == {
            "name",
            "ttl",
            "ttl_status",
            "status",
            "output",
            "mdd_state",
            "mdd_runner",
        }
        assert result["mdd_runner"] == f"mdd-batch-{DC}"  # Sensu keeps it in a stale result
        # standalone: no "Issue Request" in Uchiwa, which Sensu's /request would refuse
        assert result["standalone"] is True
        assert result["ttl"] >= 2 * result["interval"] and result["ttl_status"] == 2
        assert result["mdd_state"] == STATES[name.removeprefix(f"mdd_{DC}_")], name
        code, output = expected[name]
        assert result["status"] == code, (name, result["output"], output)
        if name != f"mdd_{DC}_reports":
            assert normal(result["output"]) == normal(output), name
        assert result["source"] == f"mdd-{DC}" and result["aggregate"] == f"mdd_{DC}"
    by_name = {r["name"]: r for r in received}
    assert by_name[f"mdd_{DC}_reports"]["output"].startswith(
        "TcpCheck CRITICAL: reports: blocked by database (not green); its own check: "
    )
    assert by_name[f"mdd_{DC}_gateway"]["docs"] == "https://wiki.example.net/gw"
    assert by_name[f"mdd_{DC}_reports"]["dependencies"] == [f"mdd-{DC}/mdd_{DC}_database"]
    assert by_name[f"mdd_{DC}_api"]["status"] == 0


def test_go_batch_posts_every_point_to_the_agent_api(
    tmp_path: Path, targets: dict[str, int]
) -> None:
    per_point_file, batch_file = generate(tmp_path, targets, "--format", "sensu-go-json")
    decoder = json.JSONDecoder()

    def stream(text: str) -> list[dict[str, Any]]:
        items, at = [], 0
        while at < len(text.rstrip()):
            item, at = decoder.raw_decode(text, at)
            items.append(item)
            while at < len(text) and text[at].isspace():
                at += 1
        return items

    per_point = {
        r["metadata"]["name"]: r
        for r in stream(per_point_file.read_text())
        if r["type"] == "CheckConfig"
    }
    runner, *others = stream(batch_file.read_text())
    assert [r["metadata"]["name"] for r in others if r["type"] == "EventFilter"] == ["mdd-alerting"]
    assert runner["type"] == "CheckConfig" and runner["metadata"]["name"] == f"mdd-batch-{DC}"
    command = runner["spec"]["command"]

    with agent_api() as (port, received):
        ran = run_command(command + f" --agent-api 127.0.0.1:{port} --state {tmp_path / 'state'}")
    assert ran.code == 0, ran.out
    assert ran.line.startswith(f"MddBatch OK: {DC}: 2/5 green;")

    names = [e["check"]["metadata"]["name"] for e in received]
    assert sorted(names) == sorted(per_point)
    expected = per_point_runs({n: r["spec"]["command"] for n, r in per_point.items()})
    for event in received:
        check = event["check"]
        resource = per_point[check["metadata"]["name"]]
        spec = resource["spec"]
        point = check["metadata"]["name"].removeprefix(f"mdd_{DC}_")
        labels = dict(check["metadata"]["labels"])
        assert labels.pop("mdd_state") == STATES[point]
        # name, namespace, labels, annotations
        metadata = {**check["metadata"], "labels": labels}
        annotations = dict(metadata.pop("annotations"))
        assert annotations.pop("mdd_runner") == f"mdd-batch-{DC}"
        if annotations:
            metadata["annotations"] = annotations
        assert metadata == spec["metadata"]
        for key in ("command", "timeout", "interval", "handlers", "output_metric_format"):
            assert check[key] == spec[key], key
        assert check["proxy_entity_name"] == spec["proxy_entity_name"] == f"mdd-{DC}"
        assert event["entity"] == {
            "entity_class": "proxy",
            "metadata": {"name": f"mdd-{DC}", "namespace": "default"},
        }
        assert check["handlers"] == spec["handlers"]
        assert check["ttl"] > check["interval"] > 0
        code, output = expected[check["metadata"]["name"]]
        assert check["status"] == code
        if point != "reports":
            assert normal(check["output"]) == normal(output)
        # the metrics the agent's nagios transformer would have extracted
        perfdata = check["output"].split("|")[1].split() if "|" in check["output"] else []
        names = [m.get("name") for m in event["metrics"]["points"]]
        assert names == [p.split("=")[0] for p in perfdata]
        assert all(m["timestamp"] == check["executed"] for m in event["metrics"]["points"])


def test_a_dead_socket_makes_the_runner_critical(tmp_path: Path, targets: dict[str, int]) -> None:
    _, batch_file = generate(tmp_path, targets)
    (runner,) = json.loads(batch_file.read_text())["checks"].values()
    state = tmp_path / "state"
    ran = run_command(runner["command"] + f" --socket 127.0.0.1:{free_port()} --state {state}")
    assert ran.code == 2
    assert "5 result(s) not submitted" in ran.line and "refused" in ran.line.lower()
    # nothing reached Sensu, so nothing counts as probed: the next run submits them all
    with client_socket() as (port, received):
        ran = run_command(runner["command"] + f" --socket 127.0.0.1:{port} --state {state}")
    assert ran.code == 0 and len(received) == 5, ran.out


def test_the_runner_refuses_another_plan(tmp_path: Path, targets: dict[str, int]) -> None:
    _, batch_file = generate(tmp_path, targets)
    (runner,) = json.loads(batch_file.read_text())["checks"].values()
    plan = tmp_path / "batch.plan"
    words = shlex.split(runner["command"])
    other = shlex.join([*words[:-1], "ams9"])
    ran = run_command(other)
    assert ran.code == 3
    assert "datacenter 'lab1''s, not 'ams9''s" in ran.line

    document = json.loads(plan.read_text())
    document["mdd_plan"] = 99
    plan.write_text(json.dumps(document))
    ran = run_command(runner["command"])
    assert ran.code == 3
    assert "plan version 99" in ran.line and "regenerate" in ran.line

    plan.unlink()
    ran = run_command(runner["command"])
    assert ran.code == 3 and "cannot read the plan" in ran.line


def test_plan_holds_secret_references_only(tmp_path: Path) -> None:
    document = {
        "datacenter": DC,
        "integration_points": [
            {
                "name": "db",
                "type": "postgres",
                "check": {"host": "127.0.0.1", "user": "mdd", "password": {"env": "PG_SECRET_VAR"}},
            }
        ],
    }
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / f"{DC}.yaml").write_text(json.dumps(document))
    run = mdd(
        "generate",
        DC,
        "--manifests",
        str(tmp_path / "manifests"),
        "--batch",
        "--plan",
        str(tmp_path / "db.plan"),
        cwd=tmp_path,
        env={"PG_SECRET_VAR": "s3cret-value"},
    )
    assert run.code == 0, run.err
    plan = (tmp_path / "db.plan").read_text()
    assert "--password-env" in plan and "PG_SECRET_VAR" in plan
    assert "s3cret-value" not in plan + run.out


def test_batch_needs_somewhere_for_its_plan(tmp_path: Path, targets: dict[str, int]) -> None:
    manifests = write_manifest(tmp_path, points(targets), DC)
    run = mdd("generate", DC, "--manifests", str(manifests), "--batch", cwd=tmp_path)
    assert run.code == 2 and "--batch also writes a plan" in run.err
    assert not list(tmp_path.glob("*.plan"))


def test_points_that_cannot_share_a_runner_are_problems(tmp_path: Path) -> None:
    document = {
        "datacenter": DC,
        "integration_points": [
            tcp("a", 1),
            {**tcp("b", 2), "sensu": {"subscribers": ["other"]}},
        ],
    }
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / f"{DC}.yaml").write_text(json.dumps(document))
    run = mdd(
        "generate",
        DC,
        "--manifests",
        str(tmp_path / "manifests"),
        "--batch",
        "-o",
        str(tmp_path / "out.json"),
        cwd=tmp_path,
    )
    assert run.code == 2
    assert "b: batch mode runs every point" in run.err and "subscribers" in run.err
    assert not (tmp_path / "out.json").exists() and not (tmp_path / "out.plan").exists()


def test_the_runner_imports_only_the_check_types_it_runs(
    tmp_path: Path, targets: dict[str, int]
) -> None:
    manifests = write_manifest(tmp_path, [tcp("gateway", targets["open"])], DC)
    run = mdd(
        "generate",
        DC,
        "--manifests",
        str(manifests),
        "--batch",
        "-o",
        str(tmp_path / "b.json"),
        cwd=tmp_path,
    )
    assert run.code == 0, run.err
    code = (
        "import sys\n"
        "from mdd.batch.main import main\n"
        "try:\n"
        f"    main(['--plan', {str(tmp_path / 'b.plan')!r}, '--datacenter', {DC!r},"
        f" '--socket', '127.0.0.1:{free_port()}', '--state', {str(tmp_path / 's')!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('mdd.checks.check_')"
        " or m == 'mdd.checks.registry'), file=sys.stderr)\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "MddBatch CRITICAL" in ran.stdout  # ran (the socket is closed)
    # The registry is the runner's one list of check types; it imports a type's module only
    # when a point of that type runs.
    assert ran.stderr.strip() == "['mdd.checks.check_tcp', 'mdd.checks.registry']"


def test_the_runner_reads_its_command_line_as_argparse_would(
    tmp_path: Path, targets: dict[str, int]
) -> None:
    # The command line mdd generate writes is read without argparse; each form of a flag
    # reads alike, and anything else goes to argparse, with its messages and exits.
    _, batch_file = generate(tmp_path, targets)
    (runner,) = json.loads(batch_file.read_text())["checks"].values()
    state = f"--state {tmp_path / 'state'}"
    for jobs in ("--jobs 0", "--jobs=0"):
        ran = run_command(f"{runner['command']} {jobs} {state}")
        assert ran.code == 3 and "--jobs must be at least 1" in ran.line, ran.out
    ran = run_command(f"{runner['command']} --events-rate-limit -1 {state}")
    assert ran.code == 3 and "--events-rate-limit must be 0 or more" in ran.line, ran.out
    ran = run_command(f"{runner['command']} --jobs many {state}")
    assert ran.code == 3 and "argument --jobs: invalid int value: 'many'" in ran.out, ran.out
    ran = run_command(f"{runner['command']} --sockets 127.0.0.1:1 {state}")
    assert ran.code == 3 and "unrecognized arguments" in ran.out, ran.out
    ran = run_command("check-mdd-batch --datacenter lab1")
    assert ran.code == 3 and "the following arguments are required: --plan" in ran.out, ran.out
    ran = run_command("check-mdd-batch --help")
    assert ran.code == 0 and "--events-burst-limit" in ran.out, ran.out
