"""``mdd status`` against a real HTTP server on loopback serving Sensu API bodies."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from tests.runner.helpers import SCHEMA, Run, board_states, mdd, write_manifest
from tests.runner.sensu_api import API_KEY, PASSWORD, USER, Api, sensu_api

# The datacenter the Classic bodies were recorded for (hosts never contacted: status only
# reads Sensu), plus "dns", which Sensu has no result for.
POINTS = [
    {
        "name": "artifact-repo",
        "type": "http",
        "owner": "build-infra",
        "check": {"url": "https://artifacts.ams1.example.net/health"},
    },
    {
        "name": "ldap-port",
        "type": "tcp",
        "owner": "identity",
        "check": {"host": "ldap.ams1.example.net", "port": 636},
    },
    {
        "name": "vault-cert",
        "type": "tls",
        "owner": "security",
        "depends_on": ["artifact-repo"],
        "check": {"host": "vault.ams1.example.net", "port": 8200},
    },
    {
        "name": "ntp",
        "type": "tcp",
        "owner": "netops",
        "check": {"host": "ntp.ams1.example.net", "port": 123},
    },
    {
        "name": "dns",
        "type": "tcp",
        "owner": "netops",
        "check": {"host": "ns1.ams1.example.net", "port": 53},
    },
]


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    with sensu_api() as running:
        yield running


@pytest.fixture
def folder(tmp_path: Path, api: Api) -> Path:
    api.mode = "ok"
    write_manifest(tmp_path, POINTS, dc="ams1")
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    (tmp_path / "key").write_text(API_KEY + "\n")
    return tmp_path


def status(
    folder: Path, api: Api, *args: str, go: bool = False, env: dict[str, str] | None = None
) -> Run:
    auth = (
        ["--api", "go", "--api-key-file", str(folder / "key")]
        if go
        else ["--user", USER, "--password-file", str(folder / "pw")]
    )
    return mdd(
        "status",
        "ams1",
        "--manifests",
        str(folder / "manifests"),
        "--sensu-api",
        api.url,
        "--request-timeout",
        "1s",
        "--no-color",
        *auth,
        *args,
        cwd=folder,
        env=env,
    )


def test_classic_board_from_recorded_results(folder: Path, api: Api) -> None:
    run = status(folder, api)
    assert run.code == 1, run.err
    assert board_states(run.out) == {
        "artifact-repo": "green",
        "ldap-port": "pending",
        "vault-cert": "pending",
        "ntp": "unknown",
        "dns": "pending",
    }
    lines = run.out.splitlines()
    assert any(
        line.startswith("PENDING   ldap-port")
        and line.endswith("ldap.ams1.example.net:636 refused the connection")
        for line in lines
    )
    assert any(
        line.endswith("certificate CN=vault.ams1.example.net expires in 15 days (warning below 21)")
        for line in lines
    )
    assert any("no result in Sensu for mdd_ams1_dns yet" in line for line in lines)
    assert lines[-1] == "ams1: 1/5 integration points green (20%); 1 unknown, 3 pending"
    assert "Sensu: 1 of 5 points ok (1 without a result)" in run.err
    assert PASSWORD not in run.out + run.err
    paths = [path for path, _ in api.requests]
    assert {"/info", "/results", "/aggregates/mdd_ams1"} <= set(paths)


def test_classic_json_and_password_from_env(folder: Path, api: Api) -> None:
    run = mdd(
        "status",
        "ams1",
        "--manifests",
        str(folder / "manifests"),
        "--sensu-api",
        api.url,
        "--user",
        USER,
        "--password-env",
        "SENSU_PW",
        "--format",
        "json",
        cwd=folder,
        env={"SENSU_PW": PASSWORD},
    )
    assert run.code == 1, run.err
    document = json.loads(run.out)
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    assert document["source"] == "status"
    points = {p["name"]: p for p in document["points"]}
    assert points["vault-cert"]["status"] == 1 and points["ntp"]["status_name"] == "UNKNOWN"
    assert points["dns"]["status"] is None


def test_state_file_tells_regressed_from_pending(folder: Path, api: Api) -> None:
    state = folder / "ams1-state.json"
    state.write_text(
        json.dumps(
            {
                "format": "mdd-state",
                "version": 1,
                "datacenter": "ams1",
                "history": [],
                "points": {
                    "ldap-port": {
                        "state": "green",
                        "first_green": "2026-12-01T10:00:00Z",
                        "last_change": "2026-12-01T10:00:00Z",
                    }
                },
            }
        )
    )
    run = status(folder, api, "--state", str(state))
    assert run.code == 1
    assert board_states(run.out)["ldap-port"] == "regressed"
    assert run.out.splitlines()[0].startswith("REGRESSED ldap-port")
    saved = json.loads(state.read_text())
    assert saved["points"]["ldap-port"]["state"] == "regressed"
    assert saved["history"][-1]["green"] == 1 and saved["history"][-1]["total"] == 5


def test_stale_results_are_said_and_never_green(folder: Path, api: Api) -> None:
    """A Sensu whose results stopped arriving (the newest is 2 minutes old, the checks run
    every 10 s): no point is shown green, each says it is stale and where to look."""
    api.age = 120
    try:
        run = status(folder, api)
    finally:
        api.age = 0
    assert run.code == 1
    states = board_states(run.out)
    assert states["artifact-repo"] != "green"  # its last result was OK, 2 minutes ago
    line = next(line for line in run.out.splitlines() if " artifact-repo " in line)
    assert re.search(
        r"stale: no result for 1[2-9]\ds \(twice its interval, 20s\): look at the agent that "
        r"runs mdd_ams1_artifact-repo; last: ",
        line,
    ), line
    assert "Sensu: 0 of 5 points ok (4 stale; 1 without a result)" in run.err


def test_the_batch_runners_health(folder: Path, api: Api) -> None:
    now = int(time.time())
    runner = {
        "client": "bastion-ams1",
        "check": {
            "name": "mdd-batch-ams1",
            "command": "check-mdd-batch --plan /etc/sensu/conf.d/mdd-ams1.plan --datacenter ams1",
            "interval": 10,
            "ttl": 60,
            "ttl_status": 2,
            "status": 0,
            "output": "MddBatch OK: ams1: 1/5 green; not green: ldap-port; 4 probed and "
            "submitted\n",
            "executed": now - 2,
        },
    }
    api.extra = [runner]
    try:
        run = status(folder, api)
        assert "runner mdd-batch-ams1: OK, ran " in run.err
        assert "ago: MddBatch OK: ams1: 1/5 green" in run.err
        runner["check"]["executed"] = now - 600
        run = status(folder, api)
        assert re.search(
            r"runner mdd-batch-ams1: STALE, last ran 6\d\ds ago \(60s allowed\)", run.err
        )
    finally:
        api.extra = []


def test_the_aggregate_line_counts_the_manifests_points(folder: Path, api: Api) -> None:
    """Sensu's aggregate mdd_ams1 still counts ntp's result; the manifest dropped ntp."""
    write_manifest(folder, [p for p in POINTS if p["name"] != "ntp"], dc="ams1")
    run = status(folder, api)
    assert (
        "Sensu: 1 of 4 points ok (1 without a result; Sensu's aggregate mdd_ams1 counts " in run.err
    )
    assert "4 results: it holds checks this manifest no longer has" in run.err


def test_sensu_go_events_paged(folder: Path, api: Api) -> None:
    run = status(folder, api, go=True)
    assert run.code == 1, run.err
    assert board_states(run.out) == {
        "artifact-repo": "green",
        "ldap-port": "regressed",  # Sensu's history shows it was green
        "vault-cert": "pending",
        "ntp": "pending",
        "dns": "pending",
    }
    assert "ldap.ams1.example.net:636 refused the connection" in run.out
    sent = [(path, headers) for path, headers in api.requests if path.startswith("/api/")]
    assert sent[-2][0] == "/api/core/v2/namespaces/default/events?limit=500"
    assert sent[-1][0] == "/api/core/v2/namespaces/default/events?limit=500&continue=page2token"
    assert sent[-1][1]["authorization"] == f"Key {API_KEY}"
    assert API_KEY not in run.out + run.err


def test_filters_apply_to_status(folder: Path, api: Api) -> None:
    run = status(folder, api, "--owner", "build-infra")
    assert run.code == 0 and board_states(run.out) == {"artifact-repo": "green"}


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("401", "refused GET /info: 401 Unauthorized (--user and its password)"),
        ("404", "is not a Sensu Classic API (GET /info has no sensu.version)"),
        (
            "500",
            "answered GET /info with 500 Internal Server Error: "
            '\'{"error": "redis is not connected"}\'',
        ),
        ("timeout", "did not answer GET /info within 1s"),
        (
            "garbage",
            "answered GET /info with something that is not JSON: '<html>login portal</html>'",
        ),
        ("version", "is Sensu 0.29.0; mdd status reads the Sensu Classic 1.x API"),
    ],
)
def test_classic_api_failures(folder: Path, api: Api, mode: str, says: str) -> None:
    api.mode = mode
    run = status(folder, api)
    assert run.code == 3, run.err
    assert says in run.err, run.err
    assert "Traceback" not in run.err and run.out == ""
    assert PASSWORD not in run.err


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        (
            "401",
            "refused GET /api/core/v2/namespaces/default/events: 401 Unauthorized (the API key)",
        ),
        ("500", "with 500 Internal Server Error"),
        ("timeout", "did not answer GET /api/core/v2/namespaces/default/events within 1s"),
        ("garbage", "something that is not JSON"),
    ],
)
def test_go_api_failures(folder: Path, api: Api, mode: str, says: str) -> None:
    api.mode = mode
    run = status(folder, api, go=True)
    assert run.code == 3 and says in run.err, run.err
    assert API_KEY not in run.err


def test_go_wrong_namespace_is_a_clear_404(folder: Path, api: Api) -> None:
    run = status(folder, api, "--namespace", "prod", go=True)
    assert run.code == 3 and "no Sensu Go events API" in run.err and "'prod'" in run.err


def test_unreachable_api(folder: Path, api: Api) -> None:
    from tests.runner.helpers import free_port

    run = mdd(
        "status",
        "ams1",
        "--manifests",
        str(folder / "manifests"),
        "--sensu-api",
        f"http://127.0.0.1:{free_port()}",
        cwd=folder,
    )
    assert run.code == 3 and "cannot reach the Sensu API at http://127.0.0.1:" in run.err
    assert "Connection refused" in run.err, run.err


@pytest.mark.parametrize(
    "args",
    [
        ["--user", USER],  # no password
        ["--password-env", "NOPE_NOT_SET", "--user", USER],
        ["--api", "go", "--user", USER],
        ["--api-key-env", "X"],  # a key for Classic
    ],
)
def test_credential_usage_errors(folder: Path, api: Api, args: list[str]) -> None:
    run = mdd(
        "status",
        "ams1",
        "--manifests",
        str(folder / "manifests"),
        "--sensu-api",
        api.url,
        *args,
        cwd=folder,
    )
    assert run.code == 2 and run.err.startswith("mdd: ") and "Traceback" not in run.err


def test_a_password_in_the_url_is_refused(folder: Path, api: Api) -> None:
    run = mdd(
        "status",
        "ams1",
        "--manifests",
        str(folder / "manifests"),
        "--sensu-api",
        f"http://admin:{PASSWORD}@127.0.0.1:{api.port}",
        cwd=folder,
    )
    assert run.code == 2 and "must not hold a user or password" in run.err
    assert PASSWORD not in run.err


@pytest.mark.parametrize("fleet", [False, True])
def test_a_document_standard_output_cannot_take_is_said_as_such(
    folder: Path, api: Api, fleet: bool
) -> None:
    """``--format json`` to a full standard output: the command group's one line about
    standard output, not a file error naming ``None``."""
    import subprocess

    from tests.runner.helpers import BIN

    with open("/dev/full", "w") as sink:
        done = subprocess.run(
            [str(BIN / "mdd"), "status", "ams1", *(["--all"] if fleet else []), "--manifests",
             str(folder / "manifests"), "--sensu-api", api.url, "--request-timeout", "1s",
             "--user", USER, "--password-file", str(folder / "pw"), "--format", "json"],
            stdout=sink, stderr=subprocess.PIPE, text=True, timeout=60, cwd=folder,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last == "mdd: cannot write to standard output: No space left on device", done.stderr
